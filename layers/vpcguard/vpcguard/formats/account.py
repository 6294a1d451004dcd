"""`vpcguard scan --all`'s table: an account scan's summary (counts by check, by severity
and by VPC, the failing subjects, the ERROR results), since one block per subject would run to
thousands of lines; and `account_summary`, the same counts over reports at hand, which the
HTML page shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from ..checks.base import all_checks
from ..model import Severity, Status
from ..results import SubjectReport, scan_document, summarize
from .statuses import FAILING, SEVERITY_ORDER, STATUS_ORDER, error_results, failing_results, worst_severity
from .text import BOLD, SEVERITY_WIDTH, STATUS_COLOUR, paint, summary_line, terminal_width, wrap_words
from .writers import Writer

NO_VPC = "(no VPC)"


@dataclass
class CheckTally:
    check_id: str
    title: str
    statuses: Counter[Status] = field(default_factory=Counter)
    failing_by_severity: Counter[Severity] = field(default_factory=Counter)


@dataclass
class VpcTally:
    vpc_id: str  # NO_VPC for subjects without one (or not resolved)
    subjects: list[SubjectReport] = field(default_factory=list)

    @property
    def failing(self) -> int:
        return sum(1 for s in self.subjects if failing_results(s))

    @property
    def errored(self) -> int:
        return sum(1 for s in self.subjects if error_results(s))

    @property
    def failing_results(self) -> int:
        return sum(len(failing_results(s)) for s in self.subjects)


@dataclass
class AccountSummary:
    checks: list[CheckTally]
    # failing results (FAIL, WOULD_FIX) by severity, and how many subjects have one
    severity_results: Counter[Severity]
    severity_subjects: Counter[Severity]
    vpcs: list[VpcTally]
    failing: list[SubjectReport]
    errored: list[SubjectReport]
    totals: dict[str, int]


def subject_label(report: SubjectReport) -> str:
    kind = "transform job" if report.type == "transform_job" else "model"
    return f"{kind} {report.name}"


def account_summary(reports: Sequence[SubjectReport]) -> AccountSummary:
    """Counts by check, by severity and by VPC, and the subjects that fail or errored."""
    titles = {c.meta.id: c.meta.title for c in all_checks()}
    order = {check_id: n for n, check_id in enumerate(titles)}
    checks: dict[str, CheckTally] = {}
    vpcs: dict[str, VpcTally] = {}
    severity_results: Counter[Severity] = Counter()
    severity_subjects: Counter[Severity] = Counter()
    for report in reports:
        vpcs.setdefault(report.vpc_id or NO_VPC, VpcTally(report.vpc_id or NO_VPC)).subjects.append(report)
        for r in report.results:
            tally = checks.setdefault(r.check_id, CheckTally(r.check_id, titles.get(r.check_id, r.title)))
            tally.statuses[r.status] += 1
            if r.status in FAILING:
                tally.failing_by_severity[r.severity] += 1
                severity_results[r.severity] += 1
        for severity in {r.severity for r in failing_results(report)}:
            severity_subjects[severity] += 1
    return AccountSummary(
        checks=sorted(checks.values(), key=lambda t: (order.get(t.check_id, len(order)), t.check_id)),
        severity_results=severity_results,
        severity_subjects=severity_subjects,
        vpcs=sorted(vpcs.values(), key=lambda v: (v.vpc_id == NO_VPC, v.vpc_id)),
        failing=[r for r in reports if failing_results(r)],
        errored=[r for r in reports if error_results(r)],
        totals=scan_document(reports)["summary"],
    )


def _columns(rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    """Rows as aligned columns: text left-aligned, the `right` columns (counts) right-aligned."""
    right = set(right)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


_STATUS_HEADING = {Status.NOT_APPLICABLE: "N/A", Status.WOULD_FIX: "WOULD_FIX"}


@dataclass
class _VpcCounts:
    subjects: int = 0
    failing: int = 0
    errored: int = 0
    failing_results: int = 0


class AccountTable:
    """`vpcguard scan --all`'s table, built one report at a time: counts by check, by
    severity and by VPC, then one line per failing subject and one per ERROR result (what
    could not be verified, and why), then the summary line. It keeps those lines and the
    counts, never the reports. Every result in full: --format jsonl, json, csv or html."""

    def __init__(self) -> None:
        titles = {c.meta.id: c.meta.title for c in all_checks()}
        self._order = {check_id: n for n, check_id in enumerate(titles)}
        self._titles = titles
        self.checks: dict[str, CheckTally] = {}
        self.vpcs: dict[str, _VpcCounts] = {}
        self.severity_results: Counter[Severity] = Counter()
        self.severity_subjects: Counter[Severity] = Counter()
        # (worst severity, label, vpc, failing check ids) per failing subject
        self.failing: list[tuple[Severity | None, str, str, str]] = []
        # (label, check id, detail) per ERROR result
        self.errors: list[tuple[str, str, str]] = []
        self.errored_subjects = 0
        self.totals = summarize([])

    def add(self, report: SubjectReport) -> None:
        failing = failing_results(report)
        errors = error_results(report)
        vpc = self.vpcs.setdefault(report.vpc_id or NO_VPC, _VpcCounts())
        vpc.subjects += 1
        vpc.failing += bool(failing)
        vpc.errored += bool(errors)
        vpc.failing_results += len(failing)
        for r in report.results:
            tally = self.checks.get(r.check_id)
            if tally is None:
                tally = self.checks[r.check_id] = CheckTally(
                    r.check_id, self._titles.get(r.check_id, r.title)
                )
            tally.statuses[r.status] += 1
            if r.status in FAILING:
                tally.failing_by_severity[r.severity] += 1
                self.severity_results[r.severity] += 1
        for severity in {r.severity for r in failing}:
            self.severity_subjects[severity] += 1
        if failing:
            ids = ", ".join(r.check_id for r in sorted(failing, key=lambda r: -r.severity.rank))
            self.failing.append(
                (worst_severity(failing), subject_label(report), report.vpc_id or "no VPC", ids)
            )
        if errors:
            self.errored_subjects += 1
            self.errors.extend(
                (subject_label(report), r.check_id, " ".join(r.detail.split())) for r in errors
            )
        for key, n in summarize([report]).items():
            self.totals[key] += n

    def render(self, width: int | None = None, colour: bool = False) -> str:
        width = terminal_width() if width is None else width
        blocks: list[str] = []
        checks = sorted(
            self.checks.values(), key=lambda t: (self._order.get(t.check_id, len(self._order)), t.check_id)
        )
        heading = ["CHECK", *(_STATUS_HEADING.get(s, s.value) for s in STATUS_ORDER)]
        rows = [heading] + [[t.check_id, *(str(t.statuses.get(s, 0)) for s in STATUS_ORDER)] for t in checks]
        blocks.append(
            "\n".join([paint("By check", BOLD, colour), *_columns(rows, right=range(1, len(heading)))])
        )

        rows = [["SEVERITY", "FAILING RESULTS", "SUBJECTS"]] + [
            [s.value, str(self.severity_results.get(s, 0)), str(self.severity_subjects.get(s, 0))]
            for s in SEVERITY_ORDER
        ]
        blocks.append("\n".join([paint("By severity", BOLD, colour), *_columns(rows, right=(1, 2))]))

        vpcs = sorted(self.vpcs.items(), key=lambda kv: (kv[0] == NO_VPC, kv[0]))
        rows = [["VPC", "SUBJECTS", "FAILING", "ERROR", "FAILING RESULTS"]] + [
            [vpc_id, str(v.subjects), str(v.failing), str(v.errored), str(v.failing_results)]
            for vpc_id, v in vpcs
        ]
        blocks.append("\n".join([paint("By VPC", BOLD, colour), *_columns(rows, right=(1, 2, 3, 4))]))

        if self.failing:
            lines = [paint(f"Failing subjects ({len(self.failing)})", BOLD, colour)]
            for worst, label, vpc_id, ids in self.failing:
                head = f"  {worst.value if worst else '':<{SEVERITY_WIDTH}} {label} ({vpc_id}): "
                lines.extend(wrap_words(head + ids, width, " " * (SEVERITY_WIDTH + 5)))
            blocks.append("\n".join(lines))

        if self.errors:
            count, subjects = len(self.errors), self.errored_subjects
            lines = [
                paint(
                    f"Errors: {count} result{'' if count == 1 else 's'} on {subjects} "
                    f"subject{'' if subjects == 1 else 's'} could not be verified",
                    STATUS_COLOUR[Status.ERROR],
                    colour,
                )
            ]
            for label, check_id, detail in self.errors:
                lines.extend(wrap_words(f"  {label}: {check_id}: {detail}", width, "      "))
            blocks.append("\n".join(lines))

        blocks.append(summary_line(self.totals))
        return "\n\n".join(blocks) + "\n"


def render_account_table(
    reports: Iterable[SubjectReport], width: int | None = None, colour: bool = False
) -> str:
    """`vpcguard scan --all`'s table for reports at hand (see AccountTable)."""
    table = AccountTable()
    for report in reports:
        table.add(report)
    return table.render(width, colour)


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
