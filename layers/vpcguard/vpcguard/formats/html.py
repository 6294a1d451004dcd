"""`vpcguard scan --format html`: one self-contained page for a person (inline CSS and JS,
no external assets, so it can be mailed or attached to a ticket and opened offline; the
only links are to the AWS console).

Top to bottom: the account(s) and region(s) scanned, with totals; a sticky toolbar (search
box, status and severity filters); every subject with a finding (worst first), with its
console links (job, model, VPC with its Name tag, subnets, security groups, endpoints,
execution role) and one row per finding: evidence, linked resources, and the fix as a
sentence and a copyable AWS CLI command (`remedy_text`); one table per VPC; counts by
severity and by check. Every table sorts by clicking a header. All text from AWS or from
checks goes through `html.escape`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import TextIO

from .. import __version__
from ..console import resource_link, role_name, sagemaker_url
from ..model import Severity, Status
from ..remedy_text import remedy_for
from ..results import CheckResult, SubjectReport
from .account import NO_VPC, account_summary, subject_label
from .statuses import SEVERITY_ORDER, STATUS_ORDER, error_results, failing_results, worst_severity
from .text import summary_line
from .writers import SummaryBufferingWriter

_CSS = """
body{font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{padding:0 24px 32px;max-width:1400px}
header.top{background:#24292f;color:#fff;padding:16px 24px}
header.top h1{font-size:22px;margin:0 0 4px}header.top .where{margin:0;color:#d0d7de}
header.top .where b{color:#fff;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0 0}
.card{background:#fff;color:#1f2328;border-radius:6px;padding:6px 12px;min-width:84px;border-left:5px solid #8c959f}
.card b{display:block;font-size:20px}.card span{font-size:12px;color:#656d76}
.card.c-FAIL{border-color:#cf222e}.card.c-ERROR{border-color:#8250df}.card.c-WOULD_FIX{border-color:#bf8700}
.card.c-FIXED{border-color:#0969da}.card.c-EXEMPT{border-color:#0550ae}
nav.toolbar{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #d0d7de;padding:8px 24px;
display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center}
nav.toolbar input[type=search]{font:inherit;padding:5px 8px;width:320px;border:1px solid #8c959f;border-radius:6px}
nav.toolbar fieldset{border:0;margin:0;padding:0;display:flex;gap:4px;align-items:center;flex-wrap:wrap}
nav.toolbar legend{float:left;font-weight:600;margin-right:6px;font-size:13px}
.chip{border:1px solid #d0d7de;border-radius:12px;padding:1px 8px;font-size:12px;cursor:pointer;user-select:none;
background:#f6f8fa}.chip input{margin:0 4px 0 0;vertical-align:-1px}.chip .n{color:#656d76;margin-left:3px}
#shown{color:#656d76;font-size:13px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#656d76}
table{border-collapse:collapse;margin:4px 0 12px;font-size:13px;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.s-FAIL{color:#cf222e;font-weight:600}.s-ERROR{color:#8250df;font-weight:600}
.s-WOULD_FIX{color:#9a6700;font-weight:600}.s-FIXED{color:#0969da;font-weight:600}.s-PASS{color:#1a7f37}
.s-EXEMPT{color:#0550ae}.s-NOT_APPLICABLE{color:#656d76}
.v-CRITICAL{background:#ffebe9}.v-HIGH{background:#fff1e5}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;margin:0}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
details.subject{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:8px 12px}
details.subject>summary{cursor:pointer;font-weight:600;font-size:15px}
.facts{margin:6px 0 8px;font-size:13px;display:flex;flex-wrap:wrap;gap:4px 18px}.facts b{color:#656d76;font-weight:600}
table.findings{width:100%}table.findings td.detail{max-width:420px}
td.fix{min-width:380px;max-width:560px}td.fix p{margin:0 0 4px}
.cmd{position:relative;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:6px 64px 6px 8px;margin:4px 0}
.cmd pre{overflow-wrap:anywhere}
button.copy{position:absolute;top:4px;right:4px;font:12px inherit;padding:2px 8px;border:1px solid #8c959f;
border-radius:6px;background:#fff;cursor:pointer}
.done{color:#0969da}.note{color:#656d76;font-size:12px}
details.doc>summary{cursor:pointer;color:#0969da;font-size:12px}
[hidden]{display:none!important}
"""

# Sorts the table whose header was clicked: numbers as numbers (a cell's data-sort wins over
# its text, so severities sort by rank), text case-insensitively; a second click reverses.
# Filters the findings by the search box and the status and severity boxes (a subject with
# no finding left is hidden too), and copies a command to the clipboard.
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

  var search = document.getElementById("search");
  var counter = document.getElementById("shown");
  function checked(name) {
    var values = {};
    document.querySelectorAll("input[name=" + name + "]:checked").forEach(function (box) {
      values[box.value] = true;
    });
    return values;
  }
  function filter() {
    var query = search ? search.value.trim().toLowerCase() : "";
    var statuses = checked("status"), severities = checked("severity");
    var shown = 0, total = 0;
    document.querySelectorAll("details.subject").forEach(function (subject) {
      var head = (subject.getAttribute("data-search") || "").toLowerCase();
      var any = false;
      subject.querySelectorAll("tr.finding").forEach(function (row) {
        total += 1;
        var text = head + " " + row.textContent.toLowerCase();
        var keep = statuses[row.getAttribute("data-status")] === true &&
          severities[row.getAttribute("data-severity")] === true &&
          (query === "" || text.indexOf(query) !== -1);
        row.hidden = !keep;
        if (keep) { shown += 1; any = true; }
      });
      subject.hidden = !any;
    });
    document.querySelectorAll("table.vpc tbody tr").forEach(function (row) {
      row.hidden = query !== "" && row.textContent.toLowerCase().indexOf(query) === -1;
    });
    if (counter) { counter.textContent = "Showing " + shown + " of " + total + " findings"; }
  }
  if (search) { search.addEventListener("input", filter); }
  document.querySelectorAll("nav.toolbar input[type=checkbox]").forEach(function (box) {
    box.addEventListener("change", filter);
  });

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
    return Promise.resolve();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) { return; }
    copy(button.parentNode.querySelector("code").textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
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


def _table(
    headers: Iterable[str], rows: Iterable[str], css: str = "sortable", *, raw_rows: bool = False, **data: str
) -> str:
    """`rows` are the cells of each row, or (`raw_rows`) whole `<tr>` elements."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{_text(v)}"' for k, v in data.items())
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(rows) if raw_rows else "".join(f"<tr>{row}</tr>" for row in rows)
    return f'<table class="{_text(css)}"{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _status(result: CheckResult) -> str:
    return _cell(result.status.value, css=f"s-{result.status.value}")


def _severity(severity: Severity | None) -> str:
    if severity is None:
        return _cell("", sort=-1)
    return _cell(severity.value, sort=severity.rank, css=f"v-{severity.value}")


# Results a person is shown one by one; PASS and NOT_APPLICABLE only count.
SHOWN_STATUSES = (Status.FAIL, Status.WOULD_FIX, Status.FIXED, Status.ERROR, Status.EXEMPT)


def _link(url: str, label: str, *, title: str | None = None) -> str:
    tip = f' title="{_text(title)}"' if title else ""
    return f'<a href="{_text(url)}" target="_blank" rel="noopener"{tip}>{_text(label)}</a>'


def _resource(region: str, resource_id: str) -> str:
    """An id as a console link when it has a console page, else as code."""
    found = resource_link(region, resource_id)
    if found is None:
        return f"<code>{_text(resource_id)}</code>"
    label = f"role {role_name(resource_id)}" if found.kind == "role" else resource_id
    return _link(found.url, label, title=f"{found.kind} {resource_id} in the AWS console")


def _fix_cell(result: CheckResult, region: str) -> str:
    remedy = remedy_for(result, region)
    if remedy is None:
        if result.status in (Status.FAIL, Status.WOULD_FIX):
            return '<td class="fix"><p class="note">No command for this one: the detail says what to change.</p></td>'
        return '<td class="fix"></td>'
    parts = [f'<p class="{"done" if remedy.applied else "todo"}">{_text(remedy.text)}</p>']
    if remedy.document:
        parts.append(
            '<details class="doc" open><summary class="doc">Statement to add</summary>'
            f"<pre>{_text(remedy.document)}</pre></details>"
        )
    for command in remedy.commands:
        parts.append(
            f'<div class="cmd"><pre><code>{_text(command)}</code></pre>'
            '<button class="copy" type="button" title="Copy the command">Copy</button></div>'
        )
    if remedy.note:
        parts.append(f'<p class="note">{_text(remedy.note)}</p>')
    if remedy.action:
        parts.append(f'<p class="note">AWS API action: <code>{_text(remedy.action)}</code></p>')
    return f'<td class="fix">{"".join(parts)}</td>'


def _finding_row(result: CheckResult, region: str) -> str:
    ids = " ".join(_resource(region, i) for i in result.resource_ids)
    return (
        f'<tr class="finding" data-status="{_text(result.status.value)}" '
        f'data-severity="{_text(result.severity.value)}">'
        f"{_status(result)}{_severity(result.severity)}"
        f'<td><strong>{_text(result.title)}</strong><br><code class="muted">{_text(result.check_id)}</code></td>'
        f'<td class="detail">{_text(" ".join(result.detail.split()))}</td><td>{ids}</td>'
        f"{_fix_cell(result, region)}</tr>"
    )


def _role(report: SubjectReport) -> str | None:
    for result in report.results:
        for resource_id in result.resource_ids:
            found = resource_link(report.region, resource_id)
            if found is not None and found.kind == "role":
                return resource_id
    return None


def _facts(report: SubjectReport, vpc_names: Mapping[str, str]) -> str:
    """What the subject is and where it runs, each with its console page."""
    region = report.region
    facts: list[tuple[str, str]] = []
    if report.type == "transform_job":
        facts.append(
            ("Transform job", _link(sagemaker_url(region, "transform_job", report.name), report.name))
        )
    if report.model_name:
        facts.append(("Model", _link(sagemaker_url(region, "model", report.model_name), report.model_name)))
    if report.vpc_id:
        name = vpc_names.get(report.vpc_id)
        facts.append(("VPC", _resource(region, report.vpc_id) + (f" {_text(name)}" if name else "")))
    ids = list(dict.fromkeys(i for r in report.results for i in r.resource_ids))
    for kind, label in (
        ("subnet", "Subnets"),
        ("security group", "Security groups"),
        ("endpoint", "Endpoints"),
    ):
        found = [i for i in ids if (link := resource_link(region, i)) is not None and link.kind == kind]
        if found:
            facts.append((label, " ".join(_resource(region, i) for i in found)))
    role = _role(report)
    if role:
        facts.append(("Execution role", _resource(region, role)))
    if report.type == "transform_job":
        facts.append(("Instances", _text(report.instance_count)))
    team = report.tags.get("vpcguard:team")
    if team:
        facts.append(("Team", _text(team)))
    facts.append(("Account / region", f"{_text(report.account or '?')} / {_text(region)}"))
    return '<div class="facts">' + "".join(f"<span><b>{k}</b> {v}</span>" for k, v in facts) + "</div>"


def _header(
    reports: Sequence[SubjectReport],
    title: str,
    generated: datetime,
    vpcs: int,
    totals: Mapping[str, int] | None = None,
) -> list[str]:
    accounts = sorted({r.account for r in reports if r.account})
    regions = sorted({r.region for r in reports if r.region})

    def named(label: str, values: list[str]) -> str:
        plural = label + ("s" if len(values) > 1 else "")
        return f"{plural} <b>{_text(', '.join(values) or 'unknown')}</b>"

    totals = totals or account_summary(reports).totals
    cards = [("Subjects", totals.get("subjects", 0), "")] + [
        (label, totals.get(key, 0), f"c-{status.value}")
        for label, key, status in (
            ("Failing results", "fail", Status.FAIL),
            ("Would fix", "would_fix", Status.WOULD_FIX),
            ("Fixed", "fixed", Status.FIXED),
            ("Errors", "error", Status.ERROR),
            ("Exempt", "exempt", Status.EXEMPT),
        )
    ]
    return [
        '<header class="top">',
        f"<h1>{_text(title)}</h1>",
        f'<p class="where">{named("Account", accounts)} · {named("Region", regions)} · '
        f"{len(reports)} subject{'' if len(reports) == 1 else 's'} in {vpcs} VPC{'' if vpcs == 1 else 's'} · "
        f"generated {_text(generated.strftime('%Y-%m-%d %H:%M UTC'))} by vpcguard {_text(__version__)}</p>",
        '<div class="cards">'
        + "".join(
            f'<div class="card {css}"><b>{n}</b><span>{_text(label)}</span></div>' for label, n, css in cards
        )
        + "</div>",
        "</header>",
    ]


def _toolbar(findings: Sequence[CheckResult]) -> str:
    statuses = Counter(r.status for r in findings)
    severities = Counter(r.severity for r in findings)

    def chips(name: str, values: Iterable[tuple[str, int]]) -> str:
        return "".join(
            f'<label class="chip"><input type="checkbox" name="{name}" value="{_text(v)}" checked>'
            f'{_text(v)}<span class="n">{n}</span></label>'
            for v, n in values
        )

    return (
        '<nav class="toolbar" aria-label="Filter the findings">'
        '<input type="search" id="search" placeholder="Search subjects, checks, resources, text" '
        'aria-label="Search the findings">'
        f"<fieldset><legend>Status</legend>{chips('status', ((s.value, statuses[s]) for s in SHOWN_STATUSES))}"
        "</fieldset>"
        f"<fieldset><legend>Severity</legend>{chips('severity', ((s.value, severities[s]) for s in SEVERITY_ORDER))}"
        "</fieldset>"
        f'<span id="shown" aria-live="polite">Showing {len(findings)} of {len(findings)} findings</span>'
        "</nav>"
    )


def vpc_names_of(reports: Iterable[SubjectReport]) -> dict[str, str]:
    """VPC id -> Name tag, as the engine read it with the VPC's facts."""
    return {r.vpc_id: r.vpc_name for r in reports if r.vpc_id and r.vpc_name}


def render_html(
    reports: Sequence[SubjectReport],
    *,
    title: str = "vpcguard scan",
    generated: datetime | None = None,
    vpc_names: Mapping[str, str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> str:
    """The page. `vpc_names` (VPC id -> Name tag) adds to the names the reports carry.
    `totals`: the run's summary, which counts what --status/--severity left out too (default:
    the reports' own)."""
    summary = account_summary(reports)
    totals = totals or summary.totals
    generated = generated or datetime.now(UTC)
    names = {**vpc_names_of(reports), **(vpc_names or {})}
    flagged = [r for r in reports if any(x.status in SHOWN_STATUSES for x in r.results)]
    findings = [x for r in flagged for x in r.results if x.status in SHOWN_STATUSES]
    vpc_count = sum(1 for v in summary.vpcs if v.vpc_id != NO_VPC)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title><style>{_CSS}</style></head><body>",
        *_header(reports, title, generated, vpc_count, totals),
        _toolbar(findings),
        "<main>",
        f"<p><strong>{_text(summary_line(totals))}</strong> "
        '<span class="muted">Links open the AWS console; click a column header to sort.</span></p>',
    ]

    parts.append(
        f'<h2 id="findings">Findings ({len(findings)} on {len(flagged)} subject{"" if len(flagged) == 1 else "s"})</h2>'
    )
    if not flagged:
        parts.append("<p>None: every evaluated check passed or was not applicable.</p>")
    for report in by_worst(flagged):
        shown = sorted(
            (r for r in report.results if r.status in SHOWN_STATUSES),
            key=lambda r: (STATUS_ORDER.index(r.status), -r.severity.rank, r.check_id),
        )
        arn = f' <code class="muted">{_text(report.arn)}</code>' if report.arn else ""
        vpc_label = report.vpc_id or "no VPC"
        if report.vpc_id and names.get(report.vpc_id):
            vpc_label = f"{report.vpc_id} {names[report.vpc_id]}"
        search = " ".join(
            x
            for x in (
                report.name,
                report.model_name,
                report.vpc_id or "",
                names.get(report.vpc_id or "", ""),
                report.tags.get("vpcguard:team", ""),
                report.arn,
            )
            if x
        )
        parts.append(
            f'<details open class="subject" data-search="{_text(search)}"><summary>{_text(subject_label(report))} '
            f"({_text(vpc_label)}){arn}</summary>"
        )
        parts.append(_facts(report, names))
        parts.append(
            _table(
                ["Status", "Severity", "Check", "Detail", "Resources", "Fix"],
                (_finding_row(r, report.region) for r in shown),
                css="sortable findings",
                raw_rows=True,
            )
        )
        parts.append("</details>")

    parts.append(f'<h2 id="vpcs">By VPC ({len(summary.vpcs)})</h2>')
    for vpc in summary.vpcs:
        region = vpc.subjects[0].region if vpc.subjects else ""
        name = names.get(vpc.vpc_id)
        heading = _resource(region, vpc.vpc_id) if vpc.vpc_id != NO_VPC else _text(vpc.vpc_id)
        parts.append(
            f'<h3>{heading}{f" {_text(name)}" if name else ""} <span class="muted">{len(vpc.subjects)} '
            f"subject{'' if len(vpc.subjects) == 1 else 's'}, "
            f"{vpc.failing} failing, {vpc.errored} with errors</span></h3>"
        )
        rows = []
        for report in vpc.subjects:
            failing = failing_results(report)
            errors = error_results(report)
            url = sagemaker_url(report.region, report.type, report.name)
            model = (
                _link(sagemaker_url(report.region, "model", report.model_name), report.model_name)
                if report.model_name
                else ""
            )
            rows.append(
                f"{_cell(report.type)}<td>{_link(url, report.name)}</td><td>{model}</td>"
                f"{_count(report.instance_count)}{_severity(worst_severity(failing))}"
                f"{_count(len(failing))}{_count(len(errors))}"
                f"{_cell(', '.join(r.check_id for r in failing + errors))}"
                f"{_cell(report.tags.get('vpcguard:team', ''))}"
            )
        parts.append(
            _table(
                [
                    "Type",
                    "Name",
                    "Model",
                    "Instances",
                    "Worst",
                    "Failing",
                    "Errors",
                    "Checks failing or errored",
                    "Team",
                ],
                rows,
                css="sortable vpc",
                vpc=vpc.vpc_id,
            )
        )

    parts.append('<h2 id="severities">Failing results by severity</h2>')
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

    parts.append('<h2 id="checks">By check</h2>')
    check_rows = []
    for tally in summary.checks:
        present = [s for s, n in tally.failing_by_severity.items() if n]
        worst = max(present, key=lambda s: s.rank) if present else None
        counts = "".join(_count(tally.statuses.get(s, 0)) for s in STATUS_ORDER)
        check_rows.append(f"{_cell(tally.check_id)}{_cell(tally.title)}{_severity(worst)}{counts}")
    parts.append(
        _table(
            ["Check", "Title", "Worst failing", *(s.value for s in STATUS_ORDER)],
            check_rows,
            css="sortable checks",
        )
    )

    parts.append(f"</main><script>{_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def by_worst(reports: Iterable[SubjectReport]) -> list[SubjectReport]:
    """Subjects with the worst failing result first (then errors), each group by name."""

    def rank(report: SubjectReport) -> tuple[int, int, int, str]:
        failing = failing_results(report)
        worst = worst_severity(failing)
        at_worst = sum(1 for r in failing if r.severity == worst)
        return (
            -(worst.rank + 1) if worst else 0,
            -at_worst,
            -len(error_results(report)),
            subject_label(report),
        )

    return sorted(reports, key=rank)


def html_writer(stream: TextIO, *, account: bool) -> SummaryBufferingWriter:
    """The page needs every report at once (sections by VPC, by severity, by check); its
    totals are the run's, which count what --status/--severity left out too."""
    title = "vpcguard account scan" if account else "vpcguard scan"
    return SummaryBufferingWriter(
        stream, lambda reports, summary: render_html(reports, title=title, totals=summary or None)
    )
