"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) runs the page's
script, and scripts/report_screenshot.py saves what a person sees as a PNG.

These tests need a Chromium on PATH (or VPCGUARD_CHROMIUM); without one they are skipped,
saying so. Nothing is installed by the tests.
"""

from __future__ import annotations

import html
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_reports import reports  # noqa: F401 (the fixture)
from vpcguard.formats.html import render_html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import report_screenshot  # noqa: E402

try:
    BROWSER: str | None = report_screenshot.find_chromium()
    WHY_NOT = ""
except report_screenshot.NoBrowser as exc:
    BROWSER, WHY_NOT = None, str(exc)

needs_chromium = pytest.mark.skipif(BROWSER is None, reason=f"skipped: {WHY_NOT}")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@needs_chromium
def test_screenshot_script_writes_a_png_of_the_report(reports, tmp_path):  # noqa: F811
    page = tmp_path / "scan.html"
    page.write_text(render_html(reports), encoding="utf-8")

    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "report_screenshot.py"),
            "--html",
            str(page),
            "--out-dir",
            str(tmp_path / "out"),
            "--width",
            "1280",
            "--height",
            "900",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    png = tmp_path / "out" / "scan.png"
    assert f"Screenshot: {png}" in run.stdout
    assert png_size(png) == (1280, 900)
    assert png.stat().st_size > 10_000  # a rendered page, not a blank image


def test_no_browser_is_a_clear_error_and_exit_code(tmp_path, reports):  # noqa: F811
    page = tmp_path / "scan.html"
    page.write_text(render_html(reports), encoding="utf-8")
    env = {"PATH": str(tmp_path), "VPCGUARD_CHROMIUM": ""}
    with pytest.raises(report_screenshot.NoBrowser, match=r"apt-get install -y chromium"):
        report_screenshot.find_chromium(env)
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "report_screenshot.py"),
            "--html",
            str(page),
            "--out-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert run.returncode == report_screenshot.NO_BROWSER_EXIT
    assert "no screenshot: no headless Chromium found" in run.stderr


def in_browser(page: str, tmp_path: Path, scenarios: dict[str, str]) -> dict[str, dict]:
    """Open `page` in Chromium; for each scenario, reset the filters, run its JS, and note
    which finding rows are visible (status, severity), which subjects are hidden, and
    the "Showing N of M" counter. One browser start for all scenarios."""
    probe = """
    function reset() {
      document.querySelectorAll('nav.toolbar input[type=checkbox]').forEach(function (b) { b.checked = true; });
      search('');
    }
    function toggle(name, value) {
      var box = document.querySelector('input[name=' + name + '][value=' + value + ']');
      box.checked = !box.checked; box.dispatchEvent(new Event('change'));
    }
    function search(text) {
      var box = document.getElementById('search'); box.value = text; box.dispatchEvent(new Event('input'));
    }
    var out = {};
    SCENARIOS.forEach(function (s) {
      reset(); eval(s[1]);
      var rows = [];
      document.querySelectorAll('tr.finding').forEach(function (r) {
        if (!r.hidden) { rows.push([r.getAttribute('data-status'), r.getAttribute('data-severity')]); }
      });
      var hidden = [];
      document.querySelectorAll('details.subject').forEach(function (d) {
        if (d.hidden) { hidden.push(d.querySelector('summary').textContent.split(' (')[0]); }
      });
      out[s[0]] = {rows: rows.sort(), hidden: hidden, shown: document.getElementById('shown').textContent};
    });
    var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
    """.replace("SCENARIOS", json.dumps(list(scenarios.items())))
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", f"<script>{probe}</script></body>"), encoding="utf-8")
    run = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, "the page's script did not run: " + run.stderr[-500:]
    return json.loads(html.unescape(found.group(1)))


@needs_chromium
def test_filters_and_search_hide_findings_in_a_real_browser(reports, tmp_path):  # noqa: F811
    seen = in_browser(
        render_html(reports),
        tmp_path,
        {
            "everything": "",
            "no FAIL": "toggle('status', 'FAIL')",
            "no CRITICAL": "toggle('severity', 'CRITICAL')",
            "team": "search('growth')",
            "evidence": "search('throttlingexception')",
            "nothing": "search('no such text')",
        },
    )

    assert seen["everything"]["rows"] == [["ERROR", "HIGH"], ["FAIL", "CRITICAL"], ["FAIL", "MEDIUM"]]
    assert seen["everything"]["shown"] == "Showing 3 of 3 findings"
    # A subject left with no visible finding is hidden as a whole.
    assert seen["no FAIL"] == {
        "rows": [["ERROR", "HIGH"]],
        "hidden": ["transform job nightly", "model churn"],
        "shown": "Showing 1 of 3 findings",
    }
    assert seen["no CRITICAL"]["rows"] == [["ERROR", "HIGH"], ["FAIL", "MEDIUM"]]
    # The search box matches the subject (name, VPC, team) and the finding's text, in any case.
    assert seen["team"]["rows"] == [["FAIL", "MEDIUM"]]
    assert seen["evidence"]["rows"] == [["ERROR", "HIGH"]]
    assert seen["nothing"]["shown"] == "Showing 0 of 3 findings"
