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
    _assume_role_checks_the_role()
    _forwarded_events_keep_their_origin()
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


def _assume_role_checks_the_role() -> None:
    """moto 5.2.5 hands out credentials for any role ARN, even one that does not exist; AWS
    refuses AssumeRole (AccessDenied) unless the role exists, its trust policy names the
    caller's account (or a principal in it), and any sts:ExternalId condition matches. The
    organization tests need a broken member role to fail as it does in AWS."""
    import json

    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        caller = self.current_account
        parts = role_arn.split(":", 5)
        denied = STSClientError(
            "AccessDenied",
            f"User: arn:aws:sts::{caller}:assumed-role/caller is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
        )
        if len(parts) != 6 or not parts[5].startswith("role/"):
            raise denied
        account, name = parts[4], parts[5].rsplit("/", 1)[-1]
        backend = iam_backends[account]["aws"]
        role = next((r for r in backend.roles.values() if r.name == name), None)
        if role is None:
            raise denied
        trust = json.loads(role.assume_role_policy_document)
        if not any(
            _trusts(statement, caller, self._get_param("ExternalId")) for statement in trust["Statement"]
        ):
            raise denied
        return original(self)

    TokenResponse.assume_role = assume_role


def _trusts(statement: dict[str, Any], caller: str, external_id: str | None) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    principals = (statement.get("Principal") or {}).get("AWS", [])
    principals = [principals] if isinstance(principals, str) else principals
    if not any(p == caller or p.split(":")[4:5] == [caller] for p in principals):
        return False
    wanted = (statement.get("Condition") or {}).get("StringEquals", {}).get("sts:ExternalId")
    return wanted is None or wanted == external_id


def _forwarded_events_keep_their_origin() -> None:
    """moto 5.2.5 re-puts an event that a rule sends to another account's bus as a new event
    of the receiving account and region; AWS delivers it with its own envelope, so the hub
    sees the member account and region the event happened in."""
    import threading

    from moto.events.models import Rule

    origin = threading.local()
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> Any:
        forwarded_from = getattr(origin, "envelope", None)
        if forwarded_from is not None:
            original_event = {**original_event, **forwarded_from}
        forwards = any(":event-bus/" in target["Arn"] for target in self.targets)
        if not forwards:
            return original(self, original_event, transform_input)
        origin.envelope = {key: original_event[key] for key in ("id", "time", "account", "region")}
        try:
            return original(self, original_event, transform_input)
        finally:
            origin.envelope = forwarded_from

    Rule.send_to_targets = send_to_targets
