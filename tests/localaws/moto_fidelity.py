"""Small corrections that make moto answer like AWS where our checks depend on it.

Each patch names the moto gap it closes. They apply to moto's server running in this
process (tests, demo); they change the fake AWS, never vpcguard's code.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _keep_enable_network_isolation()
    _applied = True


def _keep_enable_network_isolation() -> None:
    """moto 5.2.5 drops CreateModel's EnableNetworkIsolation (DescribeModel always says
    false); AWS stores it and DescribeModel returns it."""
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.create_model

    def create_model(self: Any) -> Any:
        result = original(self)
        model = self.sagemaker_backend._models.get(self._get_param("ModelName"))
        if model is not None:
            model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerResponse.create_model = create_model
