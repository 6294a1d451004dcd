"""The Slack message for one subject: Block Kit blocks, and the same message as plain text.

Blocks are built through slack-sdk's block models, whose `to_dict()` validates them, so a
block Slack would reject raises here instead of failing at Slack. Limits the models do not
enforce (field and context text) are enforced by `fit`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
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

from ..console import resource_link, role_name
from ..model import Status
from ..results import CheckResult, SubjectReport
from .findings import Suppressed, digest_text, escape, fit, headline, what_to_do
from .subject import by_severity, console_url, kind_label, parse_subject

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

# Caps inside one FAIL section. The commands get what the rest leaves of MAX_SECTION_TEXT
# (the evidence gives way to them down to _EVIDENCE_FLOOR): a command cut short cannot be
# run, so one that does not fit whole is left out and the message says where to find it.
_EVIDENCE_CAP = 1200
_EVIDENCE_FLOOR = 300
_RESOURCES_CAP = 600
# --- text helpers ----------------------------------------------------------------------


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def code_list(ids: Iterable[str], cap: int) -> str:
    return fit(", ".join(f"`{escape(i)}`" for i in ids), cap)


def resource_list(ids: Sequence[str], region: str, cap: int) -> str:
    """The ids as console links where there is a console page (security groups, subnets,
    endpoints, route tables, VPCs, roles), else as code; whole items only (a link cut in
    the middle is broken markup), then "and N more"."""
    items = []
    for resource_id in ids:
        found = resource_link(region, resource_id)
        if found is None:
            items.append(f"`{escape(resource_id)}`")
        elif found.kind == "role":
            items.append(link(found.url, f"role {role_name(resource_id)}"))
        else:
            items.append(link(found.url, resource_id))
    text = ""
    for n, item in enumerate(items):
        candidate = f"{text}, {item}" if text else item
        rest = len(items) - n - 1
        if len(candidate) + (len(f" and {rest} more") if rest else 0) > cap:
            return f"{text} and {len(items) - n} more" if text else f"{len(items)} resources"
        text = candidate
    return text


def actor_text(actor: str) -> str:
    """`arn:aws:sts::1:assumed-role/deployer/ana` -> `ana (role deployer)`, with the ARN."""
    match = re.match(r"arn:aws[\w-]*:sts::\d+:assumed-role/([^/]+)/(.+)$", actor)
    if match:
        return f"{escape(match.group(2))} (role {escape(match.group(1))}) `{escape(actor)}`"
    match = re.match(r"arn:aws[\w-]*:iam::\d+:user/(?:.*/)?([^/]+)$", actor)
    if match:
        return f"{escape(match.group(1))} (IAM user) `{escape(actor)}`"
    return f"`{escape(actor)}`"


# --- blocks -----------------------------------------------------------------------------


def _header(subject: SubjectReport) -> HeaderBlock:
    text = f"{headline(subject)}: {kind_label(subject)} {subject.name}"
    return HeaderBlock(text=PlainTextObject(text=fit(text, MAX_HEADER_TEXT), emoji=False))


def _facts(subject: SubjectReport) -> SectionBlock:
    kind = kind_label(subject)
    lines = [
        f"*{kind.capitalize()}* {link(console_url(subject.region, subject.type, subject.name), subject.name)}"
    ]
    if subject.type == "transform_job" and subject.model_name:
        lines.append(
            f"*Model* {link(console_url(subject.region, 'model', subject.model_name), subject.model_name)}"
        )
    role = execution_role(subject)
    if role:
        found = resource_link(subject.region, role)
        lines.append(f"*Execution role* {link(found.url, role_name(role)) if found else escape(role)}")
    if subject.created_by:
        lines.append(f"*Created by* {actor_text(subject.created_by)}")
    vpc = subject.vpc_id or "none"
    vpc_link = resource_link(subject.region, subject.vpc_id) if subject.vpc_id else None
    fields = [("Account", subject.account), ("Region", subject.region)]
    if subject.type == "transform_job":
        fields.append(("Instances", str(subject.instance_count)))
    team = subject.tags.get("vpcguard:team")
    if team:
        fields.append(("Team", team))
    texts = [fit(f"*{name}*\n{escape(value)}", MAX_FIELD_TEXT) for name, value in fields]
    texts.insert(2, f"*VPC*\n{link(vpc_link.url, vpc) if vpc_link else escape(vpc)}")
    return SectionBlock(
        text=MarkdownTextObject(text=fit("\n".join(lines), MAX_SECTION_TEXT)),
        fields=[MarkdownTextObject(text=t) for t in texts[:MAX_FIELDS]],
    )


def execution_role(subject: SubjectReport) -> str | None:
    """The execution role ARN, as the role check names it (any status)."""
    for result in subject.results:
        for resource_id in result.resource_ids:
            if resource_id.startswith("arn:") and ":iam::" in resource_id and ":role/" in resource_id:
                return resource_id
    return None


def fail_section_text(result: CheckResult, region: str = "") -> str:
    head = f"*{result.severity.value}* · *{escape(result.title)}* (`{result.check_id}`)"
    resources = (
        f"*Resources:* {resource_list(result.resource_ids, region, _RESOURCES_CAP)}"
        if result.resource_ids
        else ""
    )
    fixed_part = len(head) + len(resources) + len("*Evidence:* ") + len("*What to do:* ") + 4
    todo = what_to_do(result, region, MAX_SECTION_TEXT - fixed_part - _EVIDENCE_FLOOR)
    evidence_room = max(_EVIDENCE_FLOOR, min(_EVIDENCE_CAP, MAX_SECTION_TEXT - fixed_part - len(todo or "")))
    lines = [head, f"*Evidence:* {fit(escape(result.detail), evidence_room)}"]
    if resources:
        lines.append(resources)
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
        text = fail_section_text(result, subject.region)
        if len(shown) >= room or len(text) > budget:
            break
        shown.append(SectionBlock(text=MarkdownTextObject(text=text)))
        budget -= len(text)
    more: list[Block] = []
    hidden = fails[len(shown) :]
    if hidden:
        ids = ", ".join(f"`{r.check_id}`" for r in hidden)
        more.append(
            _context(f"…and {len(hidden)} more failing check{'s' if len(hidden) != 1 else ''}: {ids}")
        )
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
        f"vpcguard {headline(subject)}: {kind_label(subject)} {subject.name} in {subject.account}/"
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
        text = fit(
            f"{text} after {change['change']} by {change.get('changed_by') or 'unknown'}", MAX_SECTION_TEXT
        )
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
