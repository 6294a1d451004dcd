"""What every report format shares: the `Writer` each format implements, fed one
SubjectReport at a time so that `vpcguard scan --all` holds no more than the format needs;
`BufferingWriter` for the formats that need every report at once; `write_all`; `Tally`,
which computes the summary, the exit code and the one stderr error line incrementally, from
every result evaluated; and `ResultFilter` (`--status`, `--severity`), which then decides what
the writers are given, once for every format.

The formats themselves are one module each in this package (see `__init__`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from ..model import Severity, Status
from ..results import RESOLUTION_CHECK_ID, CheckResult, SubjectReport, summarize
from .statuses import FAILING

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

ErrorFilter = Callable[[SubjectReport, CheckResult], bool]
# A result a format leaves out (sarif) or reports as skipped (junit).
Skip = Callable[[SubjectReport, CheckResult], bool]


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


def skip_uncounted_error(ignore_error: ErrorFilter | None) -> Skip:
    """True for an ERROR result the run does not count (preflight without a role): sarif
    leaves it out, junit reports it as skipped rather than as an error."""

    def skip(report: SubjectReport, result: CheckResult) -> bool:
        return bool(ignore_error and result.status == Status.ERROR and ignore_error(report, result))

    return skip
