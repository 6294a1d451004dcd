"""`--format asff`: AWS Security Finding Format, a JSON list of findings for
`aws securityhub batch-import-findings --findings file://...` (at most 100 a call).

Each finding is the one the notify function imports into Security Hub (one mapping:
`notify.securityhub.to_asff`), with the same stable Id, so a file imported by hand and the
stack's own import update the same finding. Title is at most 256 characters and Description
at most 1,024 (cut with an ellipsis): Security Hub refuses longer ones.

Which results: FAIL and WOULD_FIX (FAILED, ACTIVE, Workflow NEW), PASS and FIXED (PASSED,
ARCHIVED: importing them archives an earlier failure of the same Id) and EXEMPT (FAILED,
Workflow SUPPRESSED). ERROR and NOT_APPLICABLE are left out, as the notify function leaves
them out: an unknown state must neither resolve nor reopen a finding. A subject with no AWS
account (a preflight without --role-arn) has no finding either, since a finding must name its
account; the CLI says so on stderr.

A finding's AwsAccountId and ProductArn are the subject's own account and region: import the
file with that account's credentials in that region (for an organization scan, each account's
findings with its own credentials, or through a Security Hub administrator's integration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TextIO

from ..model import Status
from ..notify.securityhub import to_asff
from ..results import SubjectReport
from .json import JsonListWriter

EXPORTED_STATUSES = frozenset({Status.FAIL, Status.WOULD_FIX, Status.PASS, Status.FIXED, Status.EXEMPT})


def asff_findings(report: SubjectReport, now: str) -> list[dict[str, Any]]:
    """The findings of one subject (see the module docstring for which results)."""
    if not report.account:
        return []
    return [
        to_asff(report, result, now=now) for result in report.results if result.status in EXPORTED_STATUSES
    ]


def timestamp(moment: datetime | None = None) -> str:
    """ASFF's timestamp: ISO 8601 UTC with milliseconds and a Z."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AsffWriter(JsonListWriter):
    """The findings as a JSON list, written subject by subject (holds nothing)."""

    def __init__(self, stream: TextIO, pretty: bool = False) -> None:
        super().__init__(stream, self._findings, pretty=pretty)
        self.now = timestamp()
        self.unaccounted = 0

    def _findings(self, report: SubjectReport) -> list[dict[str, Any]]:
        if not report.account:
            self.unaccounted += sum(1 for r in report.results if r.status in EXPORTED_STATUSES)
        return asff_findings(report, self.now)

    def finish(self, summary: dict[str, int]) -> None:
        super().finish(summary)
        if self.unaccounted:
            self.notes.append(
                f"asff: {self.unaccounted} result(s) left out: their subject names no AWS account "
                "(give preflight --role-arn), and a Security Hub finding must"
            )
