"""The HTML report of a scan, and a headless-Chromium screenshot of it, to look at.

By default it starts a local AWS (moto's server), builds the demo account
(tests/localaws/demo_account.py: four VPCs with Name tags, models and jobs that pass and
fail every check), scans it, and writes

    reports/vpcguard-report.html   the page, as `vpcguard scan --all --format html` writes it
    reports/vpcguard-report.png    what a person sees when opening it

Run from the repository root: `.venv/bin/python scripts/report_screenshot.py [--out-dir DIR]`.
`--html FILE` screenshots an existing report instead. `--no-screenshot` only writes the page.

The screenshot needs Debian's `chromium` (`apt-get install -y chromium`) or
`chromium-headless-shell` on PATH, or VPCGUARD_CHROMIUM naming the browser. Without one it
says so and exits 3 (the page is still written).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.localaws

BROWSERS = (
    "chromium-headless-shell",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
NO_BROWSER_EXIT = 3
DEFAULT_SIZE = (1440, 2000)


class NoBrowser(RuntimeError):
    """No headless Chromium on this machine."""


def find_chromium(env: dict[str, str] | None = None) -> str:
    """The browser to use: VPCGUARD_CHROMIUM, else the first of BROWSERS on PATH."""
    env = dict(os.environ if env is None else env)
    chosen = env.get("VPCGUARD_CHROMIUM")
    if chosen:
        found = shutil.which(chosen)
        if not found:
            raise NoBrowser(f"VPCGUARD_CHROMIUM={chosen} is not an executable")
        return found
    for name in BROWSERS:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    raise NoBrowser(
        f"no headless Chromium found (looked for {', '.join(BROWSERS)} on PATH): install Debian's "
        "`chromium` (apt-get install -y chromium) or set VPCGUARD_CHROMIUM to the browser"
    )


def screenshot(
    html: Path, png: Path, *, size: tuple[int, int] = DEFAULT_SIZE, browser: str | None = None
) -> Path:
    """Open `html` in headless Chromium and save what it shows (width x height) as `png`."""
    browser = browser or find_chromium()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    with tempfile.TemporaryDirectory(prefix="vpcguard-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace to sandbox with
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={png}",
            html.resolve().as_uri(),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0 or not png.exists() or png.stat().st_size == 0:
        raise RuntimeError(
            f"{Path(browser).name} exited {run.returncode} without a screenshot: {run.stderr[-800:]}"
        )
    return png


def demo_report_html() -> str:
    """The demo account on a local AWS, scanned as `vpcguard scan --all --jobs all` does."""
    from tests.localaws.builders import Builder
    from tests.localaws.demo_account import build_demo_account
    from tests.localaws.server import REGION, LocalAws
    from vpcguard.aws import AwsClients
    from vpcguard.backfill import scan_account
    from vpcguard.formats.html import render_html

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = LocalAws().start()
    try:
        build_demo_account(Builder(server.endpoint_url))
        reports = scan_account(AwsClients(region=REGION, endpoint_url=server.endpoint_url), jobs="all")
    finally:
        server.stop()
    return render_html(reports, title="vpcguard scan: demo account")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "reports", help="where the page and PNG go")
    parser.add_argument(
        "--html", type=Path, help="screenshot this report instead of scanning the demo account"
    )
    parser.add_argument("--no-screenshot", action="store_true", help="write the page only")
    parser.add_argument("--width", type=int, default=DEFAULT_SIZE[0], help="browser window width in pixels")
    parser.add_argument("--height", type=int, default=DEFAULT_SIZE[1], help="browser window height in pixels")
    args = parser.parse_args(argv)

    if args.html:
        if not args.html.is_file():
            parser.error(f"--html {args.html}: no such file")
        html = args.html
    else:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        html = args.out_dir / "vpcguard-report.html"
        html.write_text(demo_report_html(), encoding="utf-8")
        print(f"HTML report: {html}")
    if args.no_screenshot:
        return 0
    png = args.out_dir / (html.stem + ".png")
    try:
        screenshot(html, png, size=(args.width, args.height))
    except NoBrowser as exc:
        print(f"no screenshot: {exc}", file=sys.stderr)
        return NO_BROWSER_EXIT
    print(f"Screenshot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
