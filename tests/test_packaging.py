"""`pip install vpcguard` is the CLI: it must neither pull nor import the Lambda-only packages
(Powertools, which the stack takes from AWS's layer, and slack-sdk, the notifier's)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_ONLY = {"aws-lambda-powertools": "aws_lambda_powertools", "slack-sdk": "slack_sdk"}

# Runs in a fresh interpreter where importing a Lambda-only package fails, as it would
# after a plain `pip install vpcguard`; then the CLI's commands run in-process.
_CLI_WITHOUT_LAMBDA_PACKAGES = """
import importlib.abc, sys
BLOCKED = {blocked!r}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed (blocked by the test)")
        return None

sys.meta_path.insert(0, Block())
from vpcguard import cli
codes = [cli.main(["checks", "--format", "json"])]
for argv in (["--help"], ["scan", "--help"], ["preflight", "--help"], ["checks", "--help"]):
    try:
        cli.main(argv)
    except SystemExit as stop:
        codes.append(stop.code)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("RESULT", codes, leaked, file=sys.stderr)
"""


def test_the_cli_runs_and_imports_no_lambda_only_package():
    code = _CLI_WITHOUT_LAMBDA_PACKAGES.format(blocked=sorted(LAMBDA_ONLY.values()))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = next(line for line in done.stderr.splitlines() if line.startswith("RESULT"))
    assert result == "RESULT [0, 0, 0, 0, 0] []"
    assert '"id": "vpc_dns_support"' in done.stdout


def test_lambda_only_packages_are_extras_not_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower() for req in project["dependencies"]}
    assert not names & set(LAMBDA_ONLY)
    extras = project["optional-dependencies"]
    assert any(req.startswith("aws-lambda-powertools") for req in extras["lambda"])
    assert any(req.startswith("slack-sdk") for req in extras["slack"])
    dev_names = {req.split("==")[0] for req in extras["dev"]}
    assert set(LAMBDA_ONLY) <= dev_names  # the tests run the functions too


def test_the_package_is_apache_2_licensed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text().splitlines()[0]
