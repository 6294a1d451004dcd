"""Shared fixtures: one moto server per test session, reset before each test."""

from __future__ import annotations

import pytest

from tests.localaws.builders import Builder
from tests.localaws.server import REGION, LocalAws
from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.settings import Settings


@pytest.fixture(scope="session")
def local_aws():
    server = LocalAws().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint_url(local_aws) -> str:
    local_aws.reset()
    return local_aws.endpoint_url


@pytest.fixture
def builder(endpoint_url) -> Builder:
    return Builder(endpoint_url)


@pytest.fixture
def clients(endpoint_url) -> AwsClients:
    return AwsClients(region=REGION, endpoint_url=endpoint_url)


@pytest.fixture
def make_engine(clients):
    """A fresh engine (fresh inventory) per call, so a re-scan reads AWS again."""

    def make(settings: Settings | None = None, **kwargs) -> Engine:
        return Engine(AwsClients(region=REGION, endpoint_url=clients.endpoint_url), settings or Settings(), **kwargs)

    return make


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine()


def result_of(report, check_id: str):
    """The one result for `check_id` in a SubjectReport."""
    matches = [r for r in report.results if r.check_id == check_id]
    assert len(matches) == 1, f"{check_id} appears {len(matches)} times"
    return matches[0]
