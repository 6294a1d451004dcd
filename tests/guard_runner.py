"""Run CloudFormation Guard rules through its Python binding, cfn-guard-rs (a dev dependency).

cfn-guard-rs 0.3.3 returns a garbled report (the start of the JSON is lost) once the report
grows past a few KiB, which a single model failing several rules can reach: Guard's messages
quote the whole resource. So each rule runs on each resource separately (the rules' `let`
lines kept in front, a template of one resource), which keeps every report small and says
which resource broke which rule. The `cfn-guard` command line has no such limit and runs the
same rules at once. Rules that depend on other named rules cannot be split like this; the
rules `vpcguard guardrails --format guard` writes do not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cfn_guard_rs import run_checks


@dataclass
class GuardOutcome:
    status: str  # PASS, FAIL or SKIP over the whole template
    failing: dict[str, list[str]] = field(default_factory=dict)  # logical id -> failing rule names


def split_rules(rules: str) -> list[str]:
    """Each named rule as a rules text of its own, with every `let` of the file."""
    header, *blocks = re.split(r"(?m)^(?=rule )", rules)
    return [header + block for block in blocks]


def run_guard(template: Mapping[str, Any], rules: str) -> GuardOutcome:
    statuses = []
    failing: dict[str, list[str]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        for one_rule in split_rules(rules):
            report = run_checks({**template, "Resources": {logical_id: resource}}, one_rule)
            statuses.append(report.status)
            failing.setdefault(logical_id, []).extend(clause.Rule.name for clause in report.not_compliant)
    failing = {logical_id: sorted(set(names)) for logical_id, names in failing.items() if names}
    if "FAIL" in statuses:
        status = "FAIL"
    elif "PASS" in statuses:
        status = "PASS"
    else:
        status = "SKIP"
    return GuardOutcome(status, failing)
