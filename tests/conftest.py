"""Shared fixtures: one moto server per test session (per xdist worker), reset before each test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.localaws import speed
from tests.localaws.builders import Builder
from tests.localaws.in_process import WsgiSender
from tests.localaws.organization import OrgSetup
from tests.localaws.server import REGION, LocalAws
from tests.localaws.worlds import WorldCache
from vpcguard import cli
from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.settings import Settings

# Caches that make the suite faster; the AWS calls and answers are unchanged.
speed.install()


# The JSON contract's subject object and result object: the keys a consumer may rely on
# (docs/architecture.md); a test that reads real output asserts exactly these.
SUBJECT_KEYS = {
    "type",
    "name",
    "arn",
    "region",
    "account",
    "vpc_id",
    "instance_count",
    "model_name",
    "tags",
    "results",
}
RESULT_KEYS = {"check_id", "status", "severity", "title", "detail", "resource_ids", "fixable", "remediation"}
# The document's metadata object (issue 14; also on jsonl's summary line).
METADATA_KEYS = {"tool", "version", "time", "account", "region", "checks"}


@pytest.fixture(scope="session")
def local_aws():
    server = LocalAws().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint_url(local_aws) -> str:
    local_aws.reset()
    return local_aws.endpoint_url


@pytest.fixture(scope="session")
def builder_clients() -> dict[str, Any]:
    """The builders' boto3 clients, shared by every test of the session (one endpoint)."""
    return {}


@pytest.fixture(scope="session")
def setup_sender(local_aws) -> WsgiSender:
    """Sends the builder's requests to the local AWS's app in this process: a test's
    arrangement skips the socket (about half of the suite's calls; tests/localaws/
    in_process.py). What vpcguard calls goes over HTTP."""
    return WsgiSender(local_aws.app)


@pytest.fixture(scope="session")
def worlds(local_aws) -> WorldCache:
    """The starting worlds built in this process, for the next test that starts the same
    way (tests/localaws/worlds.py)."""
    return WorldCache(local_aws)


@pytest.fixture
def builder(endpoint_url, builder_clients, setup_sender, worlds) -> Builder:
    return Builder(endpoint_url, clients=builder_clients, send=setup_sender, worlds=worlds)


@pytest.fixture(scope="session")
def org_builders() -> dict[tuple[str | None, str], Builder]:
    """The organization tests' builders per (account, region), shared like builder_clients."""
    return {}


@pytest.fixture
def org(endpoint_url, org_builders, setup_sender, worlds) -> OrgSetup:
    return OrgSetup(endpoint_url, org_builders, setup_sender, worlds)


@pytest.fixture
def clients(endpoint_url) -> AwsClients:
    return AwsClients(region=REGION, endpoint_url=endpoint_url)


@pytest.fixture
def make_engine(clients):
    """A fresh engine (fresh inventory) per call, so a re-scan reads AWS again."""

    def make(settings: Settings | None = None, **kwargs) -> Engine:
        return Engine(
            AwsClients(region=REGION, endpoint_url=clients.endpoint_url), settings or Settings(), **kwargs
        )

    return make


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine()


def result_of(report, check_id: str):
    """The one result for `check_id` in a SubjectReport."""
    matches = [r for r in report.results if r.check_id == check_id]
    assert len(matches) == 1, f"{check_id} appears {len(matches)} times"
    return matches[0]


# --- the command line, run in-process -------------------------------------------------------


@pytest.fixture
def aws_args(endpoint_url) -> list[str]:
    """The flags that point the CLI at the local AWS."""
    return ["--region", REGION, "--endpoint-url", endpoint_url]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """`vpcguard ARGV...` in-process: (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> tuple[int, dict, str]:
    """`vpcguard ARGV... --format json`: (exit code, the parsed document, stderr)."""
    code, out, err = run(capsys, *argv, "--format", "json")
    return code, json.loads(out), err


def console_script() -> str:
    """The installed `vpcguard` entry point of the venv running the tests."""
    found = Path(sys.executable).with_name("vpcguard")
    if found.exists():
        return str(found)
    which = shutil.which("vpcguard")
    assert which, "the vpcguard console script is not installed (pip install -e .)"
    return which


def run_console_script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`vpcguard ARGV...` in a process of its own, as a user runs it (colour off unless `env`
    is given whole)."""
    return subprocess.run(
        [console_script(), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else {**os.environ, "NO_COLOR": "1"},
    )
