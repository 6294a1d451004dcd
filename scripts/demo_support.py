"""Shared by scripts/demo.py and scripts/pipeline_demo.py: printing, the demo's
expectations (a failed one makes the demo exit non-zero), and one-line descriptions of the
AWS state that audit records hold before and after a fix."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

RULE = "=" * 78


def say(text: str = "") -> None:
    print(text, flush=True)


def heading(number: int, title: str) -> None:
    say()
    say(RULE)
    say(f" {number}. {title}")
    say(RULE)


def first_sentence(text: str, limit: int = 120) -> str:
    """The first sentence of a result's detail, cut to `limit` characters: enough to
    recognise a finding on one line."""
    text = " ".join(text.split())
    end = text.find(". ")
    if end != -1:
        text = text[: end + 1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Expectations:
    """What the demo promises to show. Each miss is printed where it happens and counted."""

    def __init__(self) -> None:
        self.held = 0
        self.missed: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.held += 1
        else:
            self.missed.append(what)
            say(f"  !! expectation failed: {what}")
        return ok


# --- before/after state of the three fixes, as audit records carry it ----------------------


def _ports(permission: dict[str, Any]) -> str:
    protocol = str(permission.get("IpProtocol", "-1"))
    if protocol == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if low is None or (low, high) in ((0, 65535), (-1, -1)):
        return f"{protocol} all ports"
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _inbound(permissions: Iterable[dict[str, Any]]) -> str:
    rules = []
    for permission in permissions:
        sources = [pair["GroupId"] for pair in permission.get("UserIdGroupPairs", [])]
        sources += [r["CidrIp"] for r in permission.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
        sources += [p["PrefixListId"] for p in permission.get("PrefixListIds", [])]
        rules.append(f"{_ports(permission)} from {', '.join(sources) or 'nowhere'}")
    return "inbound: " + ("; ".join(rules) if rules else "no rules")


def _flow_logs(logs: Iterable[dict[str, Any]]) -> str:
    described = []
    for log in logs:
        where = log.get("LogGroupName") or log.get("LogDestination") or "?"
        described.append(
            f"{log.get('FlowLogId')} {log.get('TrafficType')} -> {where} "
            f"(delivery {log.get('DeliverLogsStatus')})"
        )
    return "flow logs: " + ("; ".join(described) if described else "none")


def describe_state(state: dict[str, Any]) -> str:
    """One line for the state a fix saw or left: a group's inbound rules, an endpoint's
    route tables, a VPC's flow logs; anything else as compact JSON."""
    if not state:
        return "(nothing recorded)"
    if "IpPermissions" in state:
        return _inbound(state["IpPermissions"])
    if "RouteTableIds" in state:
        return "route tables: " + (", ".join(state["RouteTableIds"]) or "none")
    if "FlowLogs" in state:
        return _flow_logs(state["FlowLogs"])
    text = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 160 else text[:159] + "…"


def print_audit_record(record: dict[str, Any], indent: str = "  ") -> None:
    """action on resource (outcome), its trigger, and before -> after."""
    dry = " [dry run]" if record.get("dry_run") else ""
    say(
        f"{indent}{record['check_id']}: {record['action']} on {record['resource_id']} "
        f"-> {record['outcome']}{dry}"
    )
    subject = str(record.get("subject_arn", "")).split(":")[-1]
    say(f"{indent}    trigger: {record['trigger']}   subject: {subject}   at {record['time']}")
    say(f"{indent}    before: {describe_state(record.get('before') or {})}")
    if record.get("outcome") == "applied":
        say(f"{indent}    after:  {describe_state(record.get('after') or {})}")
