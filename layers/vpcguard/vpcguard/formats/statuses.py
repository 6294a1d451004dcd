"""What the formats agree on about statuses: which ones fail, the order statuses and
severities are shown in, and a subject's failing and ERROR results."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Severity, Status
from ..results import SubjectReport

# Statuses that leave the resource non-compliant: a dry run's WOULD_FIX changed nothing.
FAILING = frozenset({Status.FAIL, Status.WOULD_FIX})
# The order statuses are shown in (a subject's results, the columns of per-check counts).
STATUS_ORDER = (
    Status.FAIL,
    Status.WOULD_FIX,
    Status.FIXED,
    Status.ERROR,
    Status.EXEMPT,
    Status.PASS,
    Status.NOT_APPLICABLE,
)
SEVERITY_ORDER = tuple(sorted(Severity, key=lambda s: -s.rank))


def failing_results(report: SubjectReport) -> list[Any]:
    return [r for r in report.results if r.status in FAILING]


def error_results(report: SubjectReport) -> list[Any]:
    return [r for r in report.results if r.status == Status.ERROR]


def worst_severity(results: Iterable[Any]) -> Severity | None:
    severities = [r.severity for r in results]
    return max(severities, key=lambda s: s.rank) if severities else None
