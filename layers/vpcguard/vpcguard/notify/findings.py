"""What every channel says about a finding, without any channel's SDK: the text helpers,
what to do about a result, and the digest of suppressed repeats.

Slack, Chatbot and Security Hub (the last also from the inspect function, which must not
import slack-sdk) share these; `notify/slack.py` builds Slack's blocks from them. The text is
Slack mrkdwn-safe (escaped), which the other channels either keep or undo.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Status
from ..results import CheckResult

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


# --- the digest of suppressed repeats ---------------------------------------------------


def digest_text(suppressed: Sequence[Suppressed]) -> str:
    total = sum(s.count for s in suppressed)
    items = ", ".join(
        f"{s.count} × `{s.check_id}` {s.status}" for s in sorted(suppressed, key=lambda s: (-s.count, s.check_id))
    )
    return f"Suppressed since last message: {total} repeat{'s' if total != 1 else ''} ({items})"
