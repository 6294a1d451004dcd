"""The layers hold at run time: what a cold start imports (import-linter checks the source in
`make lint`; these check what a fresh interpreter really loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_LOADED = """
import json, sys
{statement}
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(statement: str, *path: Path) -> set[str]:
    """The modules a fresh interpreter holds after `statement`."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*map(str, path), os.environ.get("PYTHONPATH", "")]),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(statement=statement)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_resolving_security_hub_findings_on_the_inspect_path_does_not_import_slack_sdk():
    modules = loaded_modules(
        "from vpcguard.inspection import Inspector\n"
        "from vpcguard.notify.securityhub import SecurityHubPublisher  # what resolve_security_hub imports"
    )
    assert "vpcguard.notify.securityhub" in modules
    assert not {m for m in modules if m.split(".")[0] == "slack_sdk"}


def test_the_notify_function_cold_import_loads_no_engine_checks_or_inventory():
    modules = loaded_modules("import app", ROOT / "functions" / "notify")
    ours = {m for m in modules if m.startswith("vpcguard")}
    assert "vpcguard.notify.notifier" in ours
    assert not {m for m in ours if m.split(".")[1:2] in (["engine"], ["checks"], ["inventory"])}
