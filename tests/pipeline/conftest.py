"""Fixtures for the pipeline tests: the template's resources on moto's server and the
inspect function from the `sam build` output."""

from __future__ import annotations

import pytest

from .deployment import INSPECT_FUNCTION, LocalDeployment, deploy
from .drift_harness import DRIFT_FUNCTION, DriftPipeline
from .harness import Pipeline
from .runtime import BuiltFunction, ensure_built


@pytest.fixture(scope="session")
def built_inspect() -> BuiltFunction:
    ensure_built()
    return BuiltFunction(INSPECT_FUNCTION)


@pytest.fixture
def stack(endpoint_url) -> LocalDeployment:
    return deploy(endpoint_url)


@pytest.fixture
def pipeline(stack, built_inspect) -> Pipeline:
    return Pipeline(stack, built_inspect)


@pytest.fixture(scope="session")
def built_drift() -> BuiltFunction:
    ensure_built()
    return BuiltFunction(DRIFT_FUNCTION)


@pytest.fixture
def drift(pipeline, built_drift) -> DriftPipeline:
    return DriftPipeline(pipeline, built_drift)
