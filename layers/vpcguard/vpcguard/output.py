"""Writing scan reports as they come: one writer per `--format`, fed one SubjectReport at a
time, so `vpcguard scan --all` holds no more than the format needs.

- jsonl: one subject object per line as it is evaluated, then `{"summary": {...}}`; holds
  nothing (bar the audit records of fixes, printed before the summary);
- json: the contract document written incrementally (compact unless pretty);
- csv: rows as they come;
- table (an account scan's summary): counts, plus one line per failing subject and per ERROR;
- html: buffers every report (one page with sections that need all of them).

`Tally` computes the summary, the exit code and the one stderr error line incrementally, from
every result evaluated; `ResultFilter` (`--status`, `--severity`) then decides what the writers
are given, once for every format.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from .engine import RESOLUTION_CHECK_ID
from .model import Severity, Status
from .report import (
    CSV_COLUMNS,
    CSV_ID_SEPARATOR,
    AccountTable,
    render_table,
)
from .results import CheckResult, SubjectReport, summarize

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

# Statuses that leave the resource non-compliant: a dry run's WOULD_FIX changed nothing.
FAILING = frozenset({Status.FAIL, Status.WOULD_FIX})

ErrorFilter = Callable[[SubjectReport, CheckResult], bool]


class Tally:
    """What the exit code, the summary and the stderr line need, kept as counts."""

    def __init__(self, fail_on: Severity = Severity.LOW, ignore_error: ErrorFilter | None = None) -> None:
        self.fail_on = fail_on
        self.ignore_error = ignore_error
        self.summary = summarize([])
        self.failing = False
        self.errors = 0
        self.first_error: str | None = None

    def add(self, report: SubjectReport) -> None:
        for key, n in summarize([report]).items():
            self.summary[key] += n
        for result in report.results:
            if result.status == Status.ERROR and not (
                self.ignore_error and self.ignore_error(report, result)
            ):
                self.errors += 1
                if self.first_error is None:
                    self.first_error = _error_text(report, result)
            elif result.status in FAILING and result.severity.rank >= self.fail_on.rank:
                self.failing = True

    @property
    def exit_code(self) -> int:
        """2 for any counted ERROR result, else 1 for a failing result at or above
        fail_on, else 0."""
        if self.errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if self.failing else EXIT_OK

    def error_line(self) -> str | None:
        """The one stderr line for ERROR results: the first one in full, and how many more."""
        if self.first_error is None:
            return None
        line = self.first_error
        more = self.errors - 1
        if more:
            line += f" (and {more} more ERROR result{'s' if more > 1 else ''})"
        return line


def _error_text(report: SubjectReport, result: CheckResult) -> str:
    detail = " ".join(result.detail.split())
    unresolved = len(report.results) == 1 and result.check_id == RESOLUTION_CHECK_ID
    if unresolved:  # the subject itself could not be read; the detail says which and why
        return f"vpcguard: {detail}"
    kind = "transform job" if report.type == "transform_job" else "model"
    return f"vpcguard: {kind} {report.name}: {result.check_id} could not be evaluated: {detail}"


# --- what is shown -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFilter:
    """`--status` and `--severity`: which results the reports show (empty: all). Filtering
    happens after the Tally has counted the report, so the exit code and the summary still
    cover everything evaluated. As in Prowler, whose reports hold only the findings that
    match, a subject with no result left is not shown at all (in any format)."""

    statuses: frozenset[Status] = frozenset()
    severities: frozenset[Severity] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.severities)

    def keeps(self, result: CheckResult) -> bool:
        return (not self.statuses or result.status in self.statuses) and (
            not self.severities or result.severity in self.severities
        )

    def apply(self, report: SubjectReport) -> SubjectReport | None:
        """The report with only the results shown; None when none is left."""
        if not self.active:
            return report
        results = [r for r in report.results if self.keeps(r)]
        if not results:
            return None
        return report if len(results) == len(report.results) else replace(report, results=results)


def parse_choices(text: str, kind: type[Status] | type[Severity], flag: str) -> list[Any]:
    """`FAIL,error` -> [Status.FAIL, Status.ERROR]: comma-separated, case-insensitive. Raises
    ValueError naming the bad value and every valid one."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    valid: Collection[str] = [member.value for member in kind]
    out = []
    for value in values:
        if value.upper() not in valid:
            raise ValueError(f"{flag} {value!r}: not one of {', '.join(valid)}")
        out.append(kind(value.upper()))
    if not out:
        raise ValueError(f"{flag}: no value given (one or more of {', '.join(valid)})")
    return out


# --- writers ---------------------------------------------------------------------------------


class Writer:
    """Fed reports one at a time; `finish` writes what comes after the last one."""

    # True when the format keeps every report until the end (said in --help).
    buffers = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # Keys a machine format adds after the summary (an organization scan's targets and
        # the targets that failed); text a table puts before and after itself.
        self.extra: dict[str, Any] = {}
        # The run's metadata object (tool, version, time, account, region, checks), set by
        # the CLI before `finish`: account and region are known once the subjects are.
        self.metadata: dict[str, Any] | None = None
        # One-line notes for stderr about what the format could not carry (said by the CLI).
        self.notes: list[str] = []
        self.header = ""
        self.footer = ""

    def start(self) -> None:
        """Called once, before the first report."""

    def write(self, report: SubjectReport) -> None:
        raise NotImplementedError

    def finish(self, summary: dict[str, int]) -> None:
        """Called once, after the last report."""

    def omit(self, report: SubjectReport) -> None:
        """A report the filters left nothing of: not written, but the changes its fixes made
        (audit records) are still reported by the formats that carry them."""


def _compact(value: Any) -> str:
    # The C encoder: no indent, and separators without spaces (jsonl lines, json documents).
    return json.dumps(value, separators=(",", ":"))


class _AuditMixin:
    audit: list[dict[str, Any]]

    def _keep_audit(self, report: SubjectReport) -> None:
        # Only fixes (made or planned) leave records: a read-only scan keeps none.
        self.audit.extend(record.to_dict() for record in report.audit)

    def omit(self, report: SubjectReport) -> None:
        self._keep_audit(report)


class JsonlWriter(_AuditMixin, Writer):
    def start(self) -> None:
        self.audit = []

    def write(self, report: SubjectReport) -> None:
        self.stream.write(_compact(report.to_dict()) + "\n")
        self._keep_audit(report)

    def finish(self, summary: dict[str, int]) -> None:
        if self.audit:
            self.stream.write(_compact({"audit": self.audit}) + "\n")
        if self.extra:
            self.stream.write(_compact(self.extra) + "\n")
        last: dict[str, Any] = {"summary": summary}
        if self.metadata is not None:
            last["metadata"] = self.metadata
        self.stream.write(_compact(last) + "\n")


class JsonWriter(_AuditMixin, Writer):
    """The contract document, written subject by subject. `pretty`: the same text as
    `json.dumps(document, indent=2)`."""

    def __init__(self, stream: TextIO, pretty: bool = False) -> None:
        super().__init__(stream)
        self.pretty = pretty

    def start(self) -> None:
        self.audit = []
        self.count = 0

    def _dump(self, value: Any, pad: str) -> str:
        if not self.pretty:
            return _compact(value)
        # JSON strings escape their newlines, so every "\n" here is the layout's own.
        return json.dumps(value, indent=2).replace("\n", "\n" + pad)

    def write(self, report: SubjectReport) -> None:
        if self.pretty:
            lead = '{\n  "subjects": [\n    ' if self.count == 0 else ",\n    "
        else:
            lead = '{"subjects":[' if self.count == 0 else ","
        self.stream.write(lead + self._dump(report.to_dict(), "    "))
        self.count += 1
        self._keep_audit(report)

    def finish(self, summary: dict[str, int]) -> None:
        tail: dict[str, Any] = {"summary": summary}
        if self.metadata is not None:
            tail["metadata"] = self.metadata
        if self.audit:
            tail["audit"] = self.audit
        tail.update(self.extra)
        if self.pretty:
            head = '{\n  "subjects": [],\n' if self.count == 0 else "\n  ],\n"
            body = ",\n".join(f'  "{key}": {self._dump(value, "  ")}' for key, value in tail.items())
            self.stream.write(head + body + "\n}\n")
        else:
            head = '{"subjects":[],' if self.count == 0 else "],"
            body = ",".join(f'"{key}":{_compact(value)}' for key, value in tail.items())
            self.stream.write(head + body + "}\n")


class JsonListWriter(Writer):
    """A JSON list of the objects `items` makes of each report (ASFF findings, OCSF events),
    written as they come: `[`, the objects, `]`. Compact, one object a line, unless pretty."""

    def __init__(
        self, stream: TextIO, items: Callable[[SubjectReport], Iterable[dict[str, Any]]], pretty: bool = False
    ) -> None:
        super().__init__(stream)
        self.items = items
        self.pretty = pretty

    def start(self) -> None:
        self.count = 0
        self.stream.write("[")

    def write(self, report: SubjectReport) -> None:
        for item in self.items(report):
            text = json.dumps(item, indent=2).replace("\n", "\n  ") if self.pretty else _compact(item)
            self.stream.write(("\n  " if self.count == 0 else ",\n  ") + text)
            self.count += 1

    def finish(self, summary: dict[str, int]) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")


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


class AccountTableWriter(Writer):
    def __init__(self, stream: TextIO, width: int | None = None, colour: bool = False) -> None:
        super().__init__(stream)
        self.table = AccountTable()
        self.width, self.colour = width, colour

    def write(self, report: SubjectReport) -> None:
        self.table.add(report)

    def finish(self, summary: dict[str, int]) -> None:
        # The summary line counts every result evaluated, shown or filtered out.
        self.table.totals = dict(summary)
        self.stream.write(self.header + self.table.render(self.width, self.colour) + self.footer)


class BufferingWriter(Writer):
    """For the formats that need every report at once (a named scan's table, html)."""

    buffers = True

    def __init__(self, stream: TextIO, render: Callable[[list[SubjectReport]], str]) -> None:
        super().__init__(stream)
        self.render = render
        self.reports: list[SubjectReport] = []

    def write(self, report: SubjectReport) -> None:
        self.reports.append(report)

    def finish(self, summary: dict[str, int]) -> None:
        self.stream.write(self.render(self.reports))


class SummaryBufferingWriter(BufferingWriter):
    """A buffering format with a summary of its own (table, html): the run's summary, which
    counts every result evaluated, not only those the filters left."""

    def __init__(self, stream: TextIO, render: Callable[[list[SubjectReport], dict[str, int]], str]) -> None:
        super().__init__(stream, lambda reports: render(reports, {}))
        self.render_with_summary = render

    def finish(self, summary: dict[str, int]) -> None:
        self.stream.write(self.render_with_summary(self.reports, summary))


def table_writer(stream: TextIO, *, account: bool, width: int | None, colour: bool) -> Writer:
    if account:
        return AccountTableWriter(stream, width, colour)
    return SummaryBufferingWriter(
        stream, lambda reports, summary: render_table(reports, width=width, colour=colour, summary=summary)
    )


def write_all(
    writer: Writer,
    reports: Iterable[SubjectReport],
    tally: Tally | None = None,
    shown: ResultFilter | None = None,
) -> Tally:
    """Feed every report to `writer` (dropping each once written) and finish it."""
    tally = tally or Tally()
    writer.start()
    for report in reports:
        tally.add(report)
        kept = shown.apply(report) if shown else report
        if kept is None:
            writer.omit(report)
        else:
            writer.write(kept)
    writer.finish(dict(tally.summary))
    return tally
