"""`vpcguard scan --format html`: one self-contained page (inline CSS and JS, no external
assets, so it can be mailed or attached to a ticket and opened offline).

Sections: totals; failing results by severity; counts per check; one table per VPC; every
failing or errored subject with its evidence (detail, resource ids, planned fix). Every
table sorts by clicking a header (a few lines of inline JS; no server). All text from AWS
or from checks goes through `html.escape`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape

from . import __version__
from .model import Severity, Status
from .report import (
    FAILING,
    SEVERITY_ORDER,
    STATUS_ORDER,
    account_summary,
    error_results,
    failing_results,
    subject_label,
    summary_line,
    worst_severity,
)
from .results import CheckResult, SubjectReport

_CSS = """
body{font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#656d76}
table{border-collapse:collapse;margin:4px 0 12px;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.s-FAIL{color:#cf222e;font-weight:600}.s-ERROR{color:#8250df;font-weight:600}
.s-WOULD_FIX{color:#9a6700;font-weight:600}.s-FIXED{color:#0969da}.s-PASS{color:#1a7f37}
.s-EXEMPT{color:#0550ae}.s-NOT_APPLICABLE{color:#656d76}
.v-CRITICAL{background:#ffebe9}.v-HIGH{background:#fff1e5}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;margin:0}
details{margin:6px 0 10px}summary{cursor:pointer;font-weight:600}
"""

# Sorts the table whose header was clicked: numbers as numbers (a cell's data-sort wins over
# its text, so severities sort by rank), text case-insensitively; a second click reverses.
_JS = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent.trim(); }
    var n = Number(v);
    return (v !== "" && !isNaN(n)) ? n : v.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    return String(a).localeCompare(String(b));
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, column) {
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var order = compare(key(x.cells[column]), key(y.cells[column]));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _cell(value: object, *, sort: object | None = None, css: str | None = None) -> str:
    attrs = ""
    if sort is not None:
        attrs += f' data-sort="{_text(sort)}"'
    if css:
        attrs += f' class="{_text(css)}"'
    return f"<td{attrs}>{_text(value)}</td>"


def _count(n: int) -> str:
    return f'<td class="n">{n}</td>'


def _table(headers: Iterable[str], rows: Iterable[str], css: str = "sortable", **data: str) -> str:
    attrs = "".join(f' data-{k.replace("_", "-")}="{_text(v)}"' for k, v in data.items())
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return f'<table class="{_text(css)}"{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _status(result: CheckResult) -> str:
    return _cell(result.status.value, css=f"s-{result.status.value}")


def _severity(severity: Severity | None) -> str:
    if severity is None:
        return _cell("", sort=-1)
    return _cell(severity.value, sort=severity.rank, css=f"v-{severity.value}")


def _evidence_cells(result: CheckResult) -> str:
    ids = "".join(f"<code>{_text(i)}</code> " for i in result.resource_ids)
    fix = ""
    if result.remediation:
        fix = f"<pre>{_text(json.dumps(result.remediation, indent=2, sort_keys=True, default=str))}</pre>"
    return (
        f"{_status(result)}{_severity(result.severity)}{_cell(result.check_id)}"
        f"<td>{_text(' '.join(result.detail.split()))}</td><td>{ids}</td><td>{fix}</td>"
    )


def render_html(reports: Sequence[SubjectReport], *, title: str = "vpcguard scan", generated: datetime | None = None) -> str:
    summary = account_summary(reports)
    generated = generated or datetime.now(UTC)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="muted">vpcguard {_text(__version__)}, {_text(generated.strftime("%Y-%m-%d %H:%M:%S UTC"))}. '
        f"Click a column header to sort.</p>",
        f"<p><strong>{_text(summary_line(summary.totals))}</strong></p>",
    ]

    parts.append("<h2>Failing results by severity</h2>")
    parts.append(
        _table(
            ["Severity", "Failing results", "Subjects"],
            (
                f"{_severity(s)}{_count(summary.severity_results.get(s, 0))}{_count(summary.severity_subjects.get(s, 0))}"
                for s in SEVERITY_ORDER
            ),
            css="sortable severities",
        )
    )

    parts.append("<h2>By check</h2>")
    check_rows = []
    for tally in summary.checks:
        present = [s for s, n in tally.failing_by_severity.items() if n]
        worst = max(present, key=lambda s: s.rank) if present else None
        counts = "".join(_count(tally.statuses.get(s, 0)) for s in STATUS_ORDER)
        check_rows.append(f"{_cell(tally.check_id)}{_cell(tally.title)}{_severity(worst)}{counts}")
    parts.append(
        _table(["Check", "Title", "Worst failing", *(s.value for s in STATUS_ORDER)], check_rows, css="sortable checks")
    )

    parts.append(f"<h2>By VPC ({len(summary.vpcs)})</h2>")
    for vpc in summary.vpcs:
        parts.append(
            f"<h3>{_text(vpc.vpc_id)} <span class=\"muted\">{len(vpc.subjects)} subjects, "
            f"{vpc.failing} failing, {vpc.errored} with errors</span></h3>"
        )
        rows = []
        for report in vpc.subjects:
            failing = failing_results(report)
            errors = error_results(report)
            rows.append(
                f"{_cell(report.type)}{_cell(report.name)}{_cell(report.model_name)}"
                f"{_count(report.instance_count)}{_severity(worst_severity(failing))}"
                f"{_count(len(failing))}{_count(len(errors))}"
                f"{_cell(', '.join(r.check_id for r in failing + errors))}"
                f"{_cell(report.tags.get('vpcguard:team', ''))}"
            )
        parts.append(
            _table(
                ["Type", "Name", "Model", "Instances", "Worst", "Failing", "Errors", "Checks failing or errored", "Team"],
                rows,
                css="sortable vpc",
                vpc=vpc.vpc_id,
            )
        )

    flagged = [r for r in reports if failing_results(r) or error_results(r)]
    parts.append(f"<h2>Failing and errored subjects ({len(flagged)})</h2>")
    if not flagged:
        parts.append("<p>None: every evaluated check passed, was fixed, exempt or not applicable.</p>")
    for report in flagged:
        shown = [r for r in report.results if r.status in FAILING or r.status == Status.ERROR]
        arn = f' <code class="muted">{_text(report.arn)}</code>' if report.arn else ""
        parts.append(
            f'<details open class="subject"><summary>{_text(subject_label(report))} '
            f"({_text(report.vpc_id or 'no VPC')}){arn}</summary>"
        )
        parts.append(
            _table(["Status", "Severity", "Check", "Detail", "Resources", "Fix"], (_evidence_cells(r) for r in shown))
        )
        parts.append("</details>")

    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts) + "\n"
