"""The Slack message for one subject: Block Kit blocks, and the same message as plain text.

Blocks are built through slack-sdk's block models, whose `to_dict()` validates them, so a
block Slack would reject raises here instead of failing at Slack. Limits the models do not
enforce (field and context text) are enforced by `fit`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from ..engine import CheckResult, SubjectReport
from ..model import Status
from .subject import by_severity, console_url, kind_label, parse_subject, worst_severity

# Slack's limits (Block Kit reference).
MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
# Ours: all text in one message. A message is read by a person, and Slack truncates very
# long messages in the channel anyway; past this the rest is summarised as "and N more".
MESSAGE_TEXT_BUDGET = 12000

# Caps inside one FAIL section; together they stay under MAX_SECTION_TEXT.
_EVIDENCE_CAP = 1200
_RESOURCES_CAP = 300
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


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def code_list(ids: Iterable[str], cap: int) -> str:
    return fit(", ".join(f"`{escape(i)}`" for i in ids), cap)


# --- what to do ------------------------------------------------------------------------


def what_to_do(result: CheckResult) -> str | None:
    """From the result itself: its remediation (what a fix did or would do, or a
    suggestion such as a policy to paste); for a fixable check without one, how to let
    vpcguard fix it; otherwise the guidance section the check comes from."""
    remediation = result.remediation or {}
    parts: list[str] = []
    if remediation.get("description"):
        parts.append(fit(escape(str(remediation["description"])), _TODO_CAP))
    elif remediation.get("action"):
        target = f" on `{escape(str(remediation['resource_id']))}`" if remediation.get("resource_id") else ""
        parts.append(f"`{escape(str(remediation['action']))}`{target}")
    suggestion = remediation.get("suggestion")
    if suggestion is not None:
        text = suggestion if isinstance(suggestion, str) else json.dumps(suggestion, indent=1)
        parts.append("```" + fit(escape(text), _SUGGESTION_CAP) + "```")
    if parts:
        return "\n".join(parts)
    if result.fixable and result.status == Status.FAIL:
        return (
            f"vpcguard can fix this: set the check to fix mode "
            f"(`VPCGUARD_MODES={result.check_id}=fix`) with remediation on."
        )
    section = _guidance_section(result.check_id)
    # Sections quoted in the catalog are headings of the AWS guidance; others are notes.
    if section and section.startswith('"'):
        return f"follow the AWS guidance, section {escape(section)}."
    return None


def _guidance_section(check_id: str) -> str | None:
    from ..checks.base import get_check

    try:
        return get_check(check_id).meta.section
    except KeyError:
        return None


# --- blocks -----------------------------------------------------------------------------


def _headline(subject: SubjectReport) -> str:
    worst = worst_severity(subject.results)
    if worst is not None:
        return worst.value
    statuses = {r.status for r in subject.results}
    if Status.ERROR in statuses:
        return "COULD NOT CHECK"
    if Status.WOULD_FIX in statuses:
        return "WOULD FIX (dry run)"
    if Status.FIXED in statuses:
        return "AUTO-FIXED"
    return "OK"


def _header(subject: SubjectReport) -> HeaderBlock:
    text = f"{_headline(subject)}: {kind_label(subject)} {subject.name}"
    return HeaderBlock(text=PlainTextObject(text=fit(text, MAX_HEADER_TEXT), emoji=False))


def _facts(subject: SubjectReport) -> SectionBlock:
    kind = kind_label(subject)
    lines = [f"*{kind.capitalize()}* {link(console_url(subject.region, subject.type, subject.name), subject.name)}"]
    if subject.type == "transform_job" and subject.model_name:
        lines.append(f"*Model* {link(console_url(subject.region, 'model', subject.model_name), subject.model_name)}")
    fields = [("Account", subject.account), ("Region", subject.region), ("VPC", subject.vpc_id or "none")]
    if subject.type == "transform_job":
        fields.append(("Instances", str(subject.instance_count)))
    team = subject.tags.get("vpcguard:team")
    if team:
        fields.append(("Team", team))
    return SectionBlock(
        text=MarkdownTextObject(text=fit("\n".join(lines), MAX_SECTION_TEXT)),
        fields=[
            MarkdownTextObject(text=fit(f"*{name}*\n{escape(value)}", MAX_FIELD_TEXT))
            for name, value in fields[:MAX_FIELDS]
        ],
    )


def fail_section_text(result: CheckResult) -> str:
    lines = [
        f"*{result.severity.value}* · *{escape(result.title)}* (`{result.check_id}`)",
        f"*Evidence:* {fit(escape(result.detail), _EVIDENCE_CAP)}",
    ]
    if result.resource_ids:
        lines.append(f"*Resources:* {code_list(result.resource_ids, _RESOURCES_CAP)}")
    todo = what_to_do(result)
    if todo:
        lines.append(f"*What to do:* {todo}")
    return fit("\n".join(lines), MAX_SECTION_TEXT)


_LIST_TITLES = {
    Status.FIXED: "Auto-fixed",
    Status.WOULD_FIX: "Would fix (dry run)",
    Status.ERROR: "Could not check",
}


def _list_line(result: CheckResult) -> str:
    remediation = result.remediation or {}
    if result.status in (Status.FIXED, Status.WOULD_FIX) and remediation.get("description"):
        what = str(remediation["description"])
    else:
        what = result.detail
    return f"• *{escape(result.title)}* (`{result.check_id}`): {fit(escape(what), 400)}"


def list_section_text(status: Status, results: Sequence[CheckResult], limit: int = MAX_SECTION_TEXT) -> str:
    """One section listing FIXED, WOULD_FIX or ERROR results; "and N more" when full."""
    text = f"*{_LIST_TITLES[status]}* ({len(results)})"
    for i, result in enumerate(results):
        line = "\n" + _list_line(result)
        rest = len(results) - i - 1
        reserve = len(f"\n…and {len(results)} more") if rest else 0
        if len(text) + len(line) + reserve > limit:
            return text + f"\n…and {len(results) - i} more"
        text += line
    return text


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, MAX_SECTION_TEXT))])


def digest_text(suppressed: Sequence[Suppressed]) -> str:
    total = sum(s.count for s in suppressed)
    items = ", ".join(
        f"{s.count} × `{s.check_id}` {s.status}" for s in sorted(suppressed, key=lambda s: (-s.count, s.check_id))
    )
    return f"Suppressed since last message: {total} repeat{'s' if total != 1 else ''} ({items})"


def _footer(subject: SubjectReport) -> ContextBlock:
    counts = {s: sum(1 for r in subject.results if r.status == s) for s in Status}
    text = (
        f"vpcguard · {counts[Status.PASS]} passed · {counts[Status.NOT_APPLICABLE]} not applicable · "
        f"{counts[Status.EXEMPT]} exempt · `{escape(subject.arn or subject.name)}`"
    )
    return _context(text)


def change_text(change: Mapping[str, str]) -> str:
    """`Changed: RevokeSecurityGroupIngress on sg-0123 by arn:aws:sts::...` (drift)."""
    who = change.get("changed_by")
    return f"*Changed:* {escape(change['change'])}" + (f" by `{escape(who)}`" if who else "")


def build_blocks(
    subject: SubjectReport, suppressed: Sequence[Suppressed] = (), change: Mapping[str, str] | None = None
) -> list[Block]:
    """The message's blocks, inside Slack's limits whatever the number of results. `change`:
    for a drift re-evaluation, what changed and who changed it (shown under the facts)."""
    head: list[Block] = [_header(subject), _facts(subject)]
    if change:
        head.append(_context(change_text(change)))
    if suppressed:
        head.append(_context(digest_text(suppressed)))
    head.append(DividerBlock())

    fails = by_severity(r for r in subject.results if r.status == Status.FAIL)
    lists: list[Block] = []
    for status in (Status.FIXED, Status.WOULD_FIX, Status.ERROR):
        group = by_severity(r for r in subject.results if r.status == status)
        if group:
            lists.append(SectionBlock(text=MarkdownTextObject(text=list_section_text(status, group))))
    tail: list[Block] = [_footer(subject)]

    # One block is kept back for "and N more", in case not every FAIL fits.
    room = MAX_BLOCKS - len(head) - len(lists) - len(tail) - 1
    budget = MESSAGE_TEXT_BUDGET - sum(_text_size(b) for b in (*head, *lists, *tail))
    shown: list[Block] = []
    for result in fails:
        text = fail_section_text(result)
        if len(shown) >= room or len(text) > budget:
            break
        shown.append(SectionBlock(text=MarkdownTextObject(text=text)))
        budget -= len(text)
    more: list[Block] = []
    hidden = fails[len(shown) :]
    if hidden:
        ids = ", ".join(f"`{r.check_id}`" for r in hidden)
        more.append(_context(f"…and {len(hidden)} more failing check{'s' if len(hidden) != 1 else ''}: {ids}"))
    blocks = [*head, *shown, *more, *lists, *tail]
    for block in blocks:
        block.validate_json()
    return blocks


def _text_size(block: Block) -> int:
    return len(json.dumps(block.to_dict()))


def _fallback_text(subject: SubjectReport) -> str:
    fails = sum(1 for r in subject.results if r.status == Status.FAIL)
    fixed = sum(1 for r in subject.results if r.status == Status.FIXED)
    return fit(
        f"vpcguard {_headline(subject)}: {kind_label(subject)} {subject.name} in {subject.account}/"
        f"{subject.region}: {fails} failing, {fixed} auto-fixed",
        MAX_SECTION_TEXT,
    )


def build_message(
    subject: SubjectReport | dict[str, Any],
    suppressed: Sequence[Suppressed] = (),
    change: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The webhook payload: `text` (notification fallback) and `blocks`."""
    report = subject if isinstance(subject, SubjectReport) else parse_subject(subject)
    text = _fallback_text(report)
    if change:
        text = fit(f"{text} after {change['change']} by {change.get('changed_by') or 'unknown'}", MAX_SECTION_TEXT)
    return {
        "text": text,
        "blocks": [b.to_dict() for b in build_blocks(report, suppressed, change)],
    }


# --- the same message as plain text (make demo) -----------------------------------------

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def mrkdwn_to_text(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BOLD.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: Sequence[dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * min(len(title), 78)]
        elif kind == "section":
            if "text" in block:
                lines.append(mrkdwn_to_text(block["text"]["text"]))
            fields = [mrkdwn_to_text(f["text"]).replace("\n", ": ", 1) for f in block.get("fields", [])]
            if fields:
                lines.append("   ".join(fields))
            lines.append("")
        elif kind == "context":
            lines.append("  " + " ".join(mrkdwn_to_text(e.get("text", "")) for e in block["elements"]))
        elif kind == "divider":
            lines.append("-" * 78)
    return "\n".join(lines).rstrip() + "\n"


def render_text(subject: SubjectReport | dict[str, Any], suppressed: Sequence[Suppressed] = ()) -> str:
    """The Slack message for `subject`, as a terminal shows it (used by `make demo`)."""
    return blocks_to_text(build_message(subject, suppressed)["blocks"])
