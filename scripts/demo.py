"""`make demo`: a realistic account on a local AWS, scanned by the real `vpcguard` CLI.

Starts moto's server on a free loopback port, builds the demo account
(tests/localaws/demo_account.py), runs `vpcguard scan` over every model and transform
job (the console script from this venv, as a user would), prints its table, then a matrix
of PASS and FAIL counts per check id taken from the CLI's JSON output, and stops the
server. Run from the repository root.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.localaws

from tests.localaws.builders import Builder  # noqa: E402
from tests.localaws.demo_account import DemoAccount, build_demo_account  # noqa: E402
from tests.localaws.server import REGION, LocalAws  # noqa: E402
from vpcguard.checks.base import all_checks  # noqa: E402


def vpcguard_command() -> list[str]:
    """The console script next to this interpreter (the venv's), else `python -m vpcguard`."""
    script = Path(sys.executable).with_name("vpcguard")
    if script.exists():
        return [str(script)]
    found = shutil.which("vpcguard")
    return [found] if found else [sys.executable, "-m", "vpcguard"]


def scan(endpoint_url: str, account: DemoAccount, fmt: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        *vpcguard_command(),
        "scan",
        "--endpoint-url",
        endpoint_url,
        "--region",
        REGION,
        "--format",
        fmt,
        "--model",
        *account.models,
        "--transform-job",
        *account.transform_jobs,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    # 1 means "something failed at or above --fail-on": the point of the demo. 2 does not.
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stderr)
        raise SystemExit(f"vpcguard scan exited {result.returncode}")
    return result


def matrix(document: dict) -> tuple[str, list[str]]:
    """Per check id: how many subjects PASS, FAIL, and the rest; and the ids that did not
    both pass and fail somewhere."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for subject in document["subjects"]:
        for result in subject["results"]:
            counts[result["check_id"]][result["status"]] += 1
    columns = ["PASS", "FAIL", "EXEMPT", "NOT_APPLICABLE", "ERROR"]
    width = max(len(c.meta.id) for c in all_checks())
    lines = [f"{'check id':<{width}}  " + "  ".join(f"{c:>14}" for c in columns) + "  both?"]
    lines.append("-" * len(lines[0]))
    missing = []
    for check in all_checks():
        row = counts[check.meta.id]
        both = row["PASS"] > 0 and row["FAIL"] > 0
        if both:
            mark = "yes"
        else:
            mark = "NO"
            missing.append(check.meta.id)
        lines.append(f"{check.meta.id:<{width}}  " + "  ".join(f"{row[c]:>14}" for c in columns) + f"  {mark}")
    return "\n".join(lines), missing


def main() -> int:
    # moto's server logs every request through werkzeug; the demo shows vpcguard's output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = LocalAws().start()
    try:
        print(f"Local AWS (moto) on {server.endpoint_url}; building the demo account ...")
        account = build_demo_account(Builder(server.endpoint_url))
        print(f"  {len(account.vpcs)} VPCs: " + ", ".join(f"{k} {v}" for k, v in account.vpcs.items()))
        print(f"  {len(account.models)} models, {len(account.transform_jobs)} transform jobs:")
        for name, note in account.notes.items():
            print(f"    {name:<22} {note}")
        print()
        command = " ".join(["vpcguard", "scan", "--endpoint-url", server.endpoint_url, "--model", "...",
                            "--transform-job", "..."])
        print(f"$ {command}\n")
        table = scan(server.endpoint_url, account, "table")
        print(table.stdout)
        if table.stderr.strip():
            print(table.stderr.strip())
        print(f"(exit code {table.returncode}: 1 means a check failed at or above --fail-on)\n")

        document = json.loads(scan(server.endpoint_url, account, "json").stdout)
        text, missing = matrix(document)
        print(f"Per-check results over {len(document['subjects'])} subjects (from `--format json`):\n")
        print(text)
        print()
        if missing:
            print(f"\nDEMO INCOMPLETE: these checks did not both pass and fail: {', '.join(missing)}")
            return 1
        print("\nEvery check id passes somewhere and fails somewhere.")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
