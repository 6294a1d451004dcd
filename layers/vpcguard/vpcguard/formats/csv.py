"""`--format csv`: one row per result (RFC 4180 quoting), with the subject it belongs to,
written as the reports come."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from ..results import SubjectReport
from .writers import Writer

CSV_COLUMNS = (
    "subject_type",
    "subject_name",
    "subject_arn",
    "vpc_id",
    "check_id",
    "status",
    "severity",
    "detail",
    "resource_ids",
)
# resource_ids in one cell; ids never contain it.
CSV_ID_SEPARATOR = ";"


class CsvWriter(Writer):
    """One row per result (RFC 4180 quoting), with the subject it belongs to."""

    def start(self) -> None:
        self.csv = csv.writer(self.stream)
        self.csv.writerow(CSV_COLUMNS)

    def write(self, report: SubjectReport) -> None:
        for r in report.results:
            self.csv.writerow(
                (
                    report.type,
                    report.name,
                    report.arn,
                    report.vpc_id or "",
                    r.check_id,
                    r.status.value,
                    r.severity.value,
                    " ".join(r.detail.split()),
                    CSV_ID_SEPARATOR.join(r.resource_ids),
                )
            )


def render_csv(reports: Sequence[SubjectReport]) -> str:
    """The CSV of reports at hand, as text."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.start()
    for report in reports:
        writer.write(report)
    return out.getvalue()
