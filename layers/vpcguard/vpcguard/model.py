"""Domain types shared by the engine: statuses, severities, subjects and check outcomes.

Everything here is immutable: a subject and a snapshot are read once and then shared by
every check (and, in a backfill, by every thread).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlparse


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    FIXED = "FIXED"
    WOULD_FIX = "WOULD_FIX"
    EXEMPT = "EXEMPT"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise ValueError(
                f"unknown severity {text!r}: use one of {', '.join(s.value for s in cls)}"
            ) from None


_SEVERITY_RANK = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


SubjectType = Literal["model", "transform_job"]


@dataclass(frozen=True)
class VpcConfig:
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Subject:
    """A SageMaker model or transform job, resolved to what the checks need.

    A transform job is evaluated through its model's VpcConfig with the job's
    InstanceCount; a model on its own counts as InstanceCount 1.
    """

    type: SubjectType
    name: str
    arn: str
    region: str
    account: str
    model_name: str
    instance_count: int = 1
    vpc_config: VpcConfig | None = None
    execution_role_arn: str | None = None
    enable_network_isolation: bool | None = None
    tags: Mapping[str, str] = field(default_factory=frozen_map)
    input_s3_uris: tuple[str, ...] = ()
    output_s3_uris: tuple[str, ...] = ()
    kms_key_ids: tuple[str, ...] = ()
    # Set when the subject could not be resolved (unknown model, AccessDenied, ...):
    # the engine then reports a single ERROR instead of running checks on nothing.
    error: str | None = None
    # True for `vpcguard preflight`: a VpcConfig checked before any model exists.
    preflight: bool = False

    @property
    def is_job(self) -> bool:
        return self.type == "transform_job"


@dataclass(frozen=True)
class Remediation:
    """What a fix did or would do; also the suggestion a non-fixable check carries."""

    action: str
    resource_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=frozen_map)
    description: str = ""
    suggestion: Any = None  # e.g. a policy document a person can paste

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "resource_id": self.resource_id}
        if self.params:
            out["params"] = plain(self.params)
        if self.description:
            out["description"] = self.description
        if self.suggestion is not None:
            out["suggestion"] = plain(self.suggestion)
        return out


def plain(value: Any) -> Any:
    """Mappings, tuples and datetimes as JSON-ready dicts, lists and ISO strings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Outcome:
    """What one check concluded for one subject, before modes, exemptions and fixes."""

    status: Status
    detail: str
    resource_ids: tuple[str, ...] = ()
    severity: Severity | None = None  # None: the check's catalog severity
    remediation: Remediation | None = None


def passed(detail: str, resource_ids: tuple[str, ...] | list[str] = (), **kw: Any) -> Outcome:
    return Outcome(Status.PASS, detail, tuple(resource_ids), **kw)


def failed(detail: str, resource_ids: tuple[str, ...] | list[str] = (), **kw: Any) -> Outcome:
    return Outcome(Status.FAIL, detail, tuple(resource_ids), **kw)


def not_applicable(detail: str, resource_ids: tuple[str, ...] | list[str] = (), **kw: Any) -> Outcome:
    return Outcome(Status.NOT_APPLICABLE, detail, tuple(resource_ids), **kw)


def errored(detail: str, resource_ids: tuple[str, ...] | list[str] = (), **kw: Any) -> Outcome:
    return Outcome(Status.ERROR, detail, tuple(resource_ids), **kw)


def bucket_of(s3_uri: str) -> str | None:
    parsed = urlparse(s3_uri)
    return parsed.netloc or None if parsed.scheme == "s3" else None
