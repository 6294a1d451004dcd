"""What every channel says about a finding, without any channel's SDK: the text helpers,
what to do about a result, the headline, and the digest of suppressed repeats.

Slack, Chatbot and Security Hub (the last also from the inspect function, which must not
import slack-sdk) share these; `notify/slack.py` builds Slack's blocks from them. The text is
Slack mrkdwn-safe (escaped), which the other channels either keep or undo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Severity, Status
from ..remedy_text import Remedy, remedy_for
from ..results import CheckResult, SubjectReport

# What to do fits one Slack section (Block Kit's text limit), the tightest channel's room.
TEXT_ROOM = 3000
_TODO_CAP = 600
_SUGGESTION_CAP = 700

ELLIPSIS = "…"


@dataclass(frozen=True)
class Suppressed:
    """Repeats of one (check, status) that were not notified since the last message."""

    check_id: str
    status: str
    count: int


# --- text helpers ----------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, never inside an &entity;."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


# --- what to do ------------------------------------------------------------------------


def what_to_do(result: CheckResult, region: str = "", room: int = TEXT_ROOM) -> str | None:
    """What a person can do, from the result itself (the shared `remedy_text`): a sentence,
    a document to paste, the `aws ...` command(s) in code blocks, each whole or left out;
    for a fixable check without a remediation, also how to let vpcguard fix it; otherwise
    the guidance section the check comes from. At most `room` characters."""
    remedy = remedy_for(result, region or "us-east-1")
    sentence = ""
    extras: list[str] = []  # shown whole or not at all
    if remedy is not None:
        sentence = fit(escape(remedy.text), _TODO_CAP)
        if remedy.document:
            extras.append("```" + fit(escape(remedy.document), _SUGGESTION_CAP) + "```")
        if remedy.note:
            extras.append(f"_{fit(escape(remedy.note), _TODO_CAP)}_")
    elif result.remediation and result.remediation.get("suggestion") is not None:
        suggestion = result.remediation["suggestion"]
        text = suggestion if isinstance(suggestion, str) else json.dumps(suggestion, indent=1)
        extras.append("```" + fit(escape(text), _SUGGESTION_CAP) + "```")
    after = ""
    if result.fixable and result.status == Status.FAIL and not result.remediation:
        after = (
            f"Or let vpcguard fix it: set the check to fix mode "
            f"(`VPCGUARD_MODES={result.check_id}=fix`) with remediation on."
        )
    if sentence or extras or after:
        return _compose(sentence, extras, command_blocks(remedy), after, room)
    section = _guidance_section(result.check_id)
    # Sections quoted in the catalog are headings of the AWS guidance; others are notes.
    if section and section.startswith('"'):
        return f"follow the AWS guidance, section {escape(section)}."
    return None


_TOO_LONG = "_(the command is too long for Slack: `vpcguard scan --format html` shows it)_"


def command_blocks(remedy: Remedy | None) -> list[str]:
    return ["```" + escape(command) + "```" for command in (remedy.commands if remedy else ())]


def _compose(sentence: str, extras: list[str], commands: list[str], after: str, room: int) -> str:
    """The sentence, the extras (a document, a note), the commands, then `after`, in at
    most `room` characters. Commands come first in the budget and are whole or replaced
    by a pointer to the HTML report; extras are whole or left out; the sentence is cut
    last. Nothing cut ever leaves a code block open."""
    left = room - len(after) - 1 - min(len(sentence), 200) - 1
    shown_commands: list[str] = []
    for block in commands:
        if len(block) + 1 > left - len(_TOO_LONG) - 1:
            shown_commands.append(_TOO_LONG)
            left -= len(_TOO_LONG) + 1
            break
        shown_commands.append(block)
        left -= len(block) + 1
    shown_extras = []
    for extra in extras:
        if len(extra) + 1 <= left - max(len(sentence) - 200, 0):
            shown_extras.append(extra)
            left -= len(extra) + 1
    tail = [*shown_extras, *shown_commands, after]
    used = sum(len(t) + 1 for t in tail if t)
    return "\n".join(p for p in (fit(sentence, max(room - used, 0)), *tail) if p)


def _guidance_section(check_id: str) -> str | None:
    from ..checks.base import get_check

    try:
        return get_check(check_id).meta.section
    except KeyError:
        return None


# --- the headline ----------------------------------------------------------------------


def _worst(results: Sequence[CheckResult]) -> Severity:
    return max((r.severity for r in results), key=lambda s: s.rank)


def headline(subject: SubjectReport) -> str:
    """What happened, worst first: "HIGH auto-fixed (1), LOW still failing (2)". With only
    failures, their worst severity ("HIGH"), so a fix never hides behind a lower failure
    and a failure never hides behind a fix."""
    by_status = {s: [r for r in subject.results if r.status == s] for s in Status}
    fixed, planned, fails = by_status[Status.FIXED], by_status[Status.WOULD_FIX], by_status[Status.FAIL]
    parts: list[str] = []
    if fixed:
        parts.append(f"{_worst(fixed).value} auto-fixed ({len(fixed)})")
    if planned:
        parts.append(f"{_worst(planned).value} would be fixed, dry run ({len(planned)})")
    if fails:
        parts.append(f"{_worst(fails).value} still failing ({len(fails)})" if parts else _worst(fails).value)
    if parts and by_status[Status.ERROR] and (fixed or planned):
        parts.append(f"could not check ({len(by_status[Status.ERROR])})")
    if parts:
        return ", ".join(parts)
    if by_status[Status.ERROR]:
        return "COULD NOT CHECK"
    return "OK"


# --- the digest of suppressed repeats ---------------------------------------------------


def digest_text(suppressed: Sequence[Suppressed]) -> str:
    total = sum(s.count for s in suppressed)
    items = ", ".join(
        f"{s.count} × `{s.check_id}` {s.status}"
        for s in sorted(suppressed, key=lambda s: (-s.count, s.check_id))
    )
    return f"Suppressed since last message: {total} repeat{'s' if total != 1 else ''} ({items})"
