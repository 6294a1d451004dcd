"""Fixtures for the pipeline tests: the template's resources on moto's server and the
inspect function from the `sam build` output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .deployment import INSPECT_FUNCTION, LocalDeployment, deploy
from .drift_harness import DRIFT_FUNCTION, DriftPipeline
from .harness import Pipeline
from .runtime import BuiltFunction, ensure_built


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that runs a built function (in Python processes of its own) is
    `slow`, whether or not its module says so: `make unit` leaves them out."""
    for item in items:
        if "built_inspect" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def built_inspect() -> BuiltFunction:
    ensure_built()
    return BuiltFunction(INSPECT_FUNCTION)


@pytest.fixture
def stack(endpoint_url, worlds) -> LocalDeployment:
    # Deployed by its calls once per process, then a copy (tests/localaws/worlds.py).
    return worlds.restore_or_build("stack", lambda: deploy(endpoint_url))


@pytest.fixture
def pipeline(stack, built_inspect) -> Iterator[Pipeline]:
    yield Pipeline(stack, built_inspect)
    built_inspect.retire()  # no test meets another's warm environment


@pytest.fixture(scope="session")
def built_drift() -> BuiltFunction:
    ensure_built()
    return BuiltFunction(DRIFT_FUNCTION)


@pytest.fixture
def drift(pipeline, built_drift) -> Iterator[DriftPipeline]:
    yield DriftPipeline(pipeline, built_drift)
    built_drift.retire()
