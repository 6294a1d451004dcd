"""The same findings in AWS Chatbot's custom-notification format, published to an SNS topic
that Chatbot (Amazon Q Developer in chat applications) subscribes to.

Format: {"version": "1.0", "source": "custom", "content": {"textType": "client-markdown",
"title", "description", "nextSteps", "keywords"}, "metadata": {...}}.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Status
from ..results import SubjectReport
from .findings import ELLIPSIS, Suppressed, digest_text, fit, what_to_do
from .findings import headline as slack_headline
from .subject import by_severity, console_url, kind_label, worst_severity

MAX_TITLE = 250
MAX_DESCRIPTION = 8000
MAX_NEXT_STEPS = 10
MAX_KEYWORDS = 10


def _plain(text: str) -> str:
    # Chatbot's client-markdown is not Slack mrkdwn: undo the entity escaping.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def chatbot_notification(subject: SubjectReport, suppressed: list[Suppressed] | tuple = ()) -> dict[str, Any]:
    worst = worst_severity(subject.results)
    kind = kind_label(subject)
    fails = by_severity(r for r in subject.results if r.status == Status.FAIL)
    fixed = [r for r in subject.results if r.status == Status.FIXED]
    would = [r for r in subject.results if r.status == Status.WOULD_FIX]
    errors = [r for r in subject.results if r.status == Status.ERROR]
    # The Slack message's headline: what was fixed as well as what still fails.
    headline = slack_headline(subject) if subject.results else "vpcguard"
    title = fit(f"{headline}: {kind} {subject.name} ({subject.account}, {subject.region})", MAX_TITLE)

    lines = [
        f"*{kind.capitalize()}* [{subject.name}]({console_url(subject.region, subject.type, subject.name)})"
    ]
    for label, group in (
        ("Failing", fails),
        ("Auto-fixed", fixed),
        ("Would fix (dry run)", would),
        ("Could not check", errors),
    ):
        if group:
            lines.append(f"*{label}:*")
            lines += [f"• {r.severity.value} {r.title} (`{r.check_id}`): {r.detail}" for r in group]
    if suppressed:
        lines.append(_plain(digest_text(suppressed)))
    description = _fit_lines(lines, MAX_DESCRIPTION)

    steps = []
    for result in fails:
        # Room for the whole step, so a command is there whole or not at all.
        todo = what_to_do(result, subject.region, 500 - len(result.check_id) - 2)
        if todo:
            steps.append(fit(f"{result.check_id}: {_plain(todo)}", 500))
    if len(steps) > MAX_NEXT_STEPS:
        steps = [*steps[: MAX_NEXT_STEPS - 1], f"…and {len(steps) - MAX_NEXT_STEPS + 1} more"]

    keywords = [k for k in (worst.value if worst else None, subject.account, subject.region) if k]
    keywords += [r.check_id for r in fails][: MAX_KEYWORDS - len(keywords)]
    return {
        "version": "1.0",
        "source": "custom",
        "id": subject.arn or subject.name,
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description,
            "nextSteps": steps,
            "keywords": keywords,
        },
        "metadata": {
            # One thread per subject, so later messages about it land together.
            "threadId": subject.arn or subject.name,
            "summary": title,
            "eventType": "VpcguardFindings",
            "relatedResources": [x for x in (subject.arn, subject.vpc_id) if x],
            "additionalContext": {
                "account": subject.account,
                "region": subject.region,
                "severity": worst.value if worst else "NONE",
                "check_ids": ",".join(r.check_id for r in fails),
            },
        },
    }


def _fit_lines(lines: list[str], limit: int) -> str:
    """Whole lines up to `limit`, then "…and N more lines"."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        line = fit(line, 1000)
        if size + len(line) + 1 > limit - 40:
            out.append(f"{ELLIPSIS}and {len(lines) - i} more lines")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def publish_chatbot(
    sns_client: Any, topic_arn: str, subject: SubjectReport, suppressed: list[Suppressed] | tuple = ()
) -> str:
    """Publish to the Chatbot topic; returns the SNS MessageId."""
    body = chatbot_notification(subject, suppressed)
    return sns_client.publish(TopicArn=topic_arn, Message=json.dumps(body))["MessageId"]
