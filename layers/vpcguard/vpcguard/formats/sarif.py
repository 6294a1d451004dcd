"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF reader).

`sarif_log(reports, locate)` turns evaluated subjects into one SARIF log: one rule per check
of the catalog (all of them, so `ruleIndex` is stable), one result per FAIL, WOULD_FIX, ERROR
and EXEMPT (as a suppressed result) check result. PASS and NOT_APPLICABLE results are left
out, as code scanning lists problems only.

`locate(report)` says where a subject is written down: a file (relative to the repository
root, forward slashes) and the line of the resource; `vpcguard preflight --template` knows
both. A subject with no file location (a scan of deployed resources) gets a logical location
only (its ARN or name): SARIF allows that, but GitHub code scanning shows only results that
have a file location.

Levels: a result's level follows its severity (CRITICAL/HIGH error, MEDIUM warning,
LOW/INFORMATIONAL note); an ERROR result (nothing could be verified) is a warning whose message
starts "could not be evaluated". Each rule carries `security-severity`, GitHub's 0-10 scale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from .. import __version__
from ..checks.base import all_checks
from ..model import Severity, Status
from ..results import CheckResult, SubjectReport
from .writers import BufferingWriter, Skip

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

REPORTED_STATUSES = (Status.FAIL, Status.WOULD_FIX, Status.ERROR, Status.EXEMPT)

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
# GitHub: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "1.0",
}


@dataclass(frozen=True)
class Location:
    """Where a subject is written down. Any part may be missing."""

    uri: str | None = None  # a file, relative to the repository root
    line: int | None = None  # 1-based
    logical_name: str | None = None  # e.g. the template's logical id or the resource ARN
    logical_kind: str = "resource"


Locate = Callable[[SubjectReport], Location | None]


def artifact_uri(path: str) -> str:
    """A path as SARIF wants it: relative to the current directory (the repository root in
    CI) when it lies under it, with forward slashes."""
    if os.path.isabs(path):
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            path = relative
    return path.replace(os.sep, "/")


def _rule(check: Any) -> dict[str, Any]:
    meta = check.meta
    return {
        "id": meta.id,
        "name": "".join(part.capitalize() for part in meta.id.split("_")),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": f"{meta.title} (guidance: {meta.section})."},
        "help": {
            "text": f"{meta.title}. `vpcguard checks` lists the catalog; each result says what to change."
        },
        "defaultConfiguration": {"level": LEVELS[meta.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[meta.severity],
            "precision": "high",
            "tags": ["security", "sagemaker", "vpc"],
        },
    }


def _location(report: SubjectReport, where: Location | None) -> dict[str, Any]:
    where = where or Location()
    location: dict[str, Any] = {}
    if where.uri:
        physical: dict[str, Any] = {"artifactLocation": {"uri": where.uri}}
        if where.line:
            physical["region"] = {"startLine": where.line}
        location["physicalLocation"] = physical
    name = where.logical_name or report.arn or report.name
    location["logicalLocations"] = [{"name": name, "kind": where.logical_kind}]
    return location


def _message(report: SubjectReport, result: CheckResult) -> str:
    kind = "transform job" if report.type == "transform_job" else "model"
    detail = " ".join(result.detail.split())
    if result.status == Status.ERROR:
        return f"{kind} {report.name}: {result.title}: could not be evaluated: {detail}"
    return f"{kind} {report.name}: {result.title}: {detail}"


def sarif_log(
    reports: Iterable[SubjectReport], locate: Locate | None = None, *, skip: Skip | None = None
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of `reports` (see the module docstring)."""
    checks = all_checks()
    rule_index = {check.meta.id: position for position, check in enumerate(checks)}
    results = []
    for report in reports:
        where = locate(report) if locate else None
        for result in report.results:
            if result.status not in REPORTED_STATUSES or (skip and skip(report, result)):
                continue
            entry: dict[str, Any] = {"ruleId": result.check_id}
            if result.check_id in rule_index:
                entry["ruleIndex"] = rule_index[result.check_id]
            entry |= {
                "level": "warning" if result.status == Status.ERROR else LEVELS[result.severity],
                "message": {"text": _message(report, result)},
                "locations": [_location(report, where)],
                "properties": {
                    "status": result.status.value,
                    "severity": result.severity.value,
                    "resourceIds": list(result.resource_ids),
                },
            }
            if result.status == Status.EXEMPT:
                entry["suppressions"] = [{"kind": "external", "justification": result.detail}]
            results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vpcguard",
                        "version": __version__,
                        "rules": [_rule(check) for check in checks],
                    }
                },
                "results": results,
            }
        ],
    }


def sarif_writer(stream: TextIO, locate: Locate | None, skip: Skip | None) -> BufferingWriter:
    """The log needs every report at once (one run, its results after its rules)."""

    def render_sarif(reports: list[SubjectReport]) -> str:
        return json.dumps(sarif_log(reports, locate, skip=skip), indent=2) + "\n"

    return BufferingWriter(stream, render_sarif)
