"""Drift fixtures: the stack's tables and queues on moto's server (from template.yaml), and
the index written by evaluating the test world's subjects."""

from __future__ import annotations

import pytest

from tests.localaws.server import REGION
from tests.pipeline.deployment import LocalDeployment, deploy
from vpcguard.aws import AwsClients
from vpcguard.drift.index import DependencyIndex
from vpcguard.engine import Engine

from .world import World, build_world


def deploy_drift_resources(endpoint_url: str) -> LocalDeployment:
    # The drift library's resources: the index table and the re-evaluation queue (and its DLQ).
    deployed = deploy(endpoint_url, kinds={"AWS::SQS::Queue", "AWS::DynamoDB::Table"})
    # moto's clock does not move: the re-evaluation queue's delay (the coalescing window) is
    # set to 0 so a test can read what was queued at once.
    deployed.client("sqs").set_queue_attributes(
        QueueUrl=deployed.refs["ReevaluationQueue"], Attributes={"DelaySeconds": "0"}
    )
    return deployed


@pytest.fixture
def stack(endpoint_url, worlds) -> LocalDeployment:
    # Deployed by its calls once per process, then a copy (tests/localaws/worlds.py).
    return worlds.restore_or_build("drift resources", lambda: deploy_drift_resources(endpoint_url))


@pytest.fixture
def index_table(stack) -> str:
    return stack.refs["DependencyIndexTable"]


@pytest.fixture
def world(builder) -> World:
    return build_world(builder)


@pytest.fixture
def fresh_clients(endpoint_url):
    def make() -> AwsClients:
        return AwsClients(region=REGION, endpoint_url=endpoint_url)

    return make


@pytest.fixture
def indexed_world(world, index_table, fresh_clients) -> World:
    """Every subject of the world evaluated once, writing the index (as the inspect path does)."""
    clients = fresh_clients()
    engine = Engine(clients, index_sink=DependencyIndex(clients, index_table))
    for name in ("m1", "m2", "m3", "m4"):
        engine.evaluate_model(name)
    engine.evaluate_transform_job("j1")
    return world
