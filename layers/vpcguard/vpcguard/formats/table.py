"""`--format table` of a scan of named subjects and of preflight: per subject a header line,
then one line per result (STATUS SEVERITY check_id detail), then the summary line. An account
scan's table is its summary instead (`account.py`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from ..model import Status
from ..results import SubjectReport, scan_document
from .statuses import STATUS_ORDER
from .text import (
    BOLD,
    MIN_DETAIL_WIDTH,
    NO_WRAP,
    SEVERITY_WIDTH,
    STATUS_COLOUR,
    STATUS_WIDTH,
    paint,
    summary_line,
    terminal_width,
    wrap_words,
)
from .writers import SummaryBufferingWriter

# Statuses whose detail is worth reading in full; the others get one truncated line so a
# clean subject does not fill the screen.
_LOUD = {Status.FAIL, Status.ERROR, Status.FIXED, Status.WOULD_FIX, Status.EXEMPT}


def _subject_header(report: SubjectReport, colour: bool) -> str:
    kind = "transform job" if report.type == "transform_job" else "model"
    name = report.name
    if report.type == "transform_job" and report.model_name and report.model_name != report.name:
        name = f"{name} (model {report.model_name})"
    instances = f"{report.instance_count} instance" + ("" if report.instance_count == 1 else "s")
    parts = [f"{paint(kind.upper(), BOLD, colour)} {name}", report.vpc_id or "no VPC", instances]
    return "  ".join(parts)


def sorted_results(results: Iterable[Any]) -> list[Any]:
    """A subject's results as people read them: by status (FAIL first, as STATUS_ORDER),
    then by severity, highest first; checks in catalog order within that."""
    rank = {s: n for n, s in enumerate(STATUS_ORDER)}
    return sorted(results, key=lambda r: (rank.get(r.status, len(rank)), -r.severity.rank))


def _rows(report: SubjectReport, width: int, colour: bool, id_width: int) -> list[str]:
    indent = "  "
    prefix_width = len(indent) + STATUS_WIDTH + 1 + SEVERITY_WIDTH + 1 + id_width + 1
    detail_width = NO_WRAP if width == NO_WRAP else max(MIN_DETAIL_WIDTH, width - prefix_width)
    lines: list[str] = []
    for result in sorted_results(report.results):
        status = paint(result.status.value.ljust(STATUS_WIDTH), STATUS_COLOUR.get(result.status), colour)
        head = f"{indent}{status} {result.severity.value.ljust(SEVERITY_WIDTH)} {result.check_id.ljust(id_width)} "
        detail = " ".join(result.detail.split())  # one paragraph, whatever the check wrote
        if result.status in _LOUD or detail_width == NO_WRAP:
            wrapped = wrap_words(detail, detail_width)
        else:
            wrapped = [textwrap.shorten(detail, detail_width, placeholder="…")] if detail else [""]
        lines.append(head + wrapped[0])
        lines.extend(" " * prefix_width + more for more in wrapped[1:])
    for record in report.audit:
        lines.append(
            f"{indent}change: {record.action} on {record.resource_id} for {record.check_id}: {record.outcome}"
        )
    return lines


def render_table(
    reports: Sequence[SubjectReport],
    width: int | None = None,
    colour: bool = False,
    summary: Mapping[str, int] | None = None,
) -> str:
    """Per subject a header line, then STATUS SEVERITY check_id detail (sorted by status,
    then severity); a summary at the end (`summary` when given: the run's, which counts what
    --status/--severity left out too). `width` None: the terminal's; NO_WRAP: none."""
    width = terminal_width() if width is None else width
    ids = [r.check_id for report in reports for r in report.results]
    id_width = max((len(i) for i in ids), default=0)
    blocks: list[str] = []
    for report in reports:
        blocks.append("\n".join([_subject_header(report, colour), *_rows(report, width, colour, id_width)]))
    blocks.append(summary_line(summary or scan_document(reports)["summary"]))
    return "\n\n".join(blocks) + "\n"


def table_writer(stream: TextIO, width: int | None, colour: bool) -> SummaryBufferingWriter:
    """The table needs every report at once (its check id column is as wide as the widest)."""
    return SummaryBufferingWriter(
        stream, lambda reports, summary: render_table(reports, width=width, colour=colour, summary=summary)
    )
