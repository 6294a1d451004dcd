"""Render scan results for people (a terminal table, an account summary, an HTML page in
`reports_html`) and for programs (the JSON contract, CSV).

Stdlib only: this module ships in the Lambda layer, so no rich/tabulate.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .checks.base import Check, all_checks
from .model import Severity, Status
from .results import SubjectReport, scan_document, summarize

# Statuses whose detail is worth reading in full; the others get one truncated line so a
# clean subject does not fill the screen.
_LOUD = {Status.FAIL, Status.ERROR, Status.FIXED, Status.WOULD_FIX, Status.EXEMPT}

_RESET = "\033[0m"
_STATUS_COLOUR = {
    Status.PASS: "\033[32m",  # green
    Status.FAIL: "\033[1;31m",  # bold red
    Status.ERROR: "\033[1;35m",  # bold magenta: not a finding, but nothing was verified
    Status.FIXED: "\033[36m",  # cyan
    Status.WOULD_FIX: "\033[33m",  # yellow
    Status.EXEMPT: "\033[34m",  # blue
    Status.NOT_APPLICABLE: "\033[2m",  # dim
}
_BOLD = "\033[1m"

STATUS_WIDTH = max(len(s.value) for s in Status)  # NOT_APPLICABLE
SEVERITY_WIDTH = len("INFORMATIONAL")
MIN_DETAIL_WIDTH = 30
DEFAULT_TERMINAL = (100, 24)


def use_colour(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    stream = stream or sys.stdout
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# A width of NO_WRAP: every line whole, as a pipe, a log or a file wants it.
NO_WRAP = 0


def terminal_width() -> int:
    return shutil.get_terminal_size(DEFAULT_TERMINAL).columns


def output_width(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> int:
    """The terminal's width for a terminal; for anything else NO_WRAP (grep and diff want
    one finding per line), unless COLUMNS is exported: shells set it without exporting it,
    so in a pipe it is someone asking for that width."""
    stream = stream or sys.stdout
    env = os.environ if env is None else env
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        return terminal_width()
    columns = env.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else NO_WRAP


def wrap_words(text: str, width: int, subsequent_indent: str = "") -> list[str]:
    """`text` in lines of at most `width` columns, broken at spaces only: an identifier (a
    subnet id, an ARN, `ec2:CreateNetworkInterface`, `us-east-1a`) is never split, even
    when it is longer than the line. NO_WRAP: one line."""
    if width == NO_WRAP:
        return [text]
    return textwrap.wrap(
        text, width, subsequent_indent=subsequent_indent, break_long_words=False, break_on_hyphens=False
    ) or [text]


def _paint(text: str, code: str | None, colour: bool) -> str:
    return f"{code}{text}{_RESET}" if colour and code else text


def scan_json_document(reports: Sequence[SubjectReport]) -> dict[str, Any]:
    """`vpcguard scan --format json`: the contract document, plus a top-level "audit" list
    (the changes made or, in a dry run, planned) only when there is one."""
    document = scan_document(reports)
    audit = [record.to_dict() for report in reports for record in report.audit]
    if audit:
        document["audit"] = audit
    return document


def _subject_header(report: SubjectReport, colour: bool) -> str:
    kind = "transform job" if report.type == "transform_job" else "model"
    name = report.name
    if report.type == "transform_job" and report.model_name and report.model_name != report.name:
        name = f"{name} (model {report.model_name})"
    instances = f"{report.instance_count} instance" + ("" if report.instance_count == 1 else "s")
    parts = [f"{_paint(kind.upper(), _BOLD, colour)} {name}", report.vpc_id or "no VPC", instances]
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
        status = _paint(result.status.value.ljust(STATUS_WIDTH), _STATUS_COLOUR.get(result.status), colour)
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


def summary_line(summary: Mapping[str, int]) -> str:
    n = summary.get("subjects", 0)
    return (
        f"{n} subject{'' if n == 1 else 's'}: {summary.get('fail', 0)} fail, "
        f"{summary.get('error', 0)} error, {summary.get('fixed', 0)} fixed, "
        f"{summary.get('would_fix', 0)} would fix, {summary.get('exempt', 0)} exempt"
    )


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


def _fix_label(check: Check) -> str:
    return {"fix": "yes", "notify": "opt-in"}.get(check.meta.fix_default or "", "no")


def catalog_rows(checks: Iterable[Check]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.meta.id,
            "title": c.meta.title,
            "severity": c.meta.severity.value,
            "fixable": c.meta.fixable,
            "fix": _fix_label(c),
            "default_mode": c.meta.fix_default or "notify",
            "section": c.meta.section,
        }
        for c in checks
    ]


def render_catalog(checks: Iterable[Check], width: int | None = None) -> str:
    """`vpcguard checks`: id, severity, fixable, default mode, title."""
    width = terminal_width() if width is None else width
    rows = catalog_rows(checks)
    id_width = max([len("CHECK"), *(len(r["id"]) for r in rows)])
    header = f"{'CHECK'.ljust(id_width)} {'SEVERITY'.ljust(SEVERITY_WIDTH)} {'FIX'.ljust(6)} {'MODE'.ljust(6)} TITLE"
    title_width = (
        NO_WRAP if width == NO_WRAP else max(MIN_DETAIL_WIDTH, width - (id_width + SEVERITY_WIDTH + 16))
    )
    indent = " " * (id_width + SEVERITY_WIDTH + 6 + 6 + 4)
    lines = [header]
    for r in rows:
        title = wrap_words(r["title"], title_width)
        lines.append(
            f"{r['id'].ljust(id_width)} {r['severity'].ljust(SEVERITY_WIDTH)} {r['fix'].ljust(6)} "
            f"{r['default_mode'].ljust(6)} {title[0]}"
        )
        lines.extend(indent + more for more in title[1:])
    return "\n".join(lines) + "\n"


# --- CSV -------------------------------------------------------------------------------------

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


def render_csv(reports: Sequence[SubjectReport]) -> str:
    """One row per result (RFC 4180 quoting), with the subject it belongs to."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        for r in report.results:
            writer.writerow(
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
    return out.getvalue()


# --- the account summary (scan --all) --------------------------------------------------------

# Statuses that leave a subject non-compliant: a dry run's WOULD_FIX changed nothing.
FAILING = frozenset({Status.FAIL, Status.WOULD_FIX})
# Column order of the per-check counts.
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


def failing_results(report: SubjectReport) -> list[Any]:
    return [r for r in report.results if r.status in FAILING]


def error_results(report: SubjectReport) -> list[Any]:
    return [r for r in report.results if r.status == Status.ERROR]


def worst_severity(results: Iterable[Any]) -> Severity | None:
    severities = [r.severity for r in results]
    return max(severities, key=lambda s: s.rank) if severities else None


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
            "\n".join([_paint("By check", _BOLD, colour), *_columns(rows, right=range(1, len(heading)))])
        )

        rows = [["SEVERITY", "FAILING RESULTS", "SUBJECTS"]] + [
            [s.value, str(self.severity_results.get(s, 0)), str(self.severity_subjects.get(s, 0))]
            for s in SEVERITY_ORDER
        ]
        blocks.append("\n".join([_paint("By severity", _BOLD, colour), *_columns(rows, right=(1, 2))]))

        vpcs = sorted(self.vpcs.items(), key=lambda kv: (kv[0] == NO_VPC, kv[0]))
        rows = [["VPC", "SUBJECTS", "FAILING", "ERROR", "FAILING RESULTS"]] + [
            [vpc_id, str(v.subjects), str(v.failing), str(v.errored), str(v.failing_results)]
            for vpc_id, v in vpcs
        ]
        blocks.append("\n".join([_paint("By VPC", _BOLD, colour), *_columns(rows, right=(1, 2, 3, 4))]))

        if self.failing:
            lines = [_paint(f"Failing subjects ({len(self.failing)})", _BOLD, colour)]
            for worst, label, vpc_id, ids in self.failing:
                head = f"  {worst.value if worst else '':<{SEVERITY_WIDTH}} {label} ({vpc_id}): "
                lines.extend(wrap_words(head + ids, width, " " * (SEVERITY_WIDTH + 5)))
            blocks.append("\n".join(lines))

        if self.errors:
            count, subjects = len(self.errors), self.errored_subjects
            lines = [
                _paint(
                    f"Errors: {count} result{'' if count == 1 else 's'} on {subjects} "
                    f"subject{'' if subjects == 1 else 's'} could not be verified",
                    _STATUS_COLOUR[Status.ERROR],
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
