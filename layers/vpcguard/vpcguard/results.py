"""The report types: what an evaluation says about one subject, and the JSON document.

They cross every boundary (the JSON contract of `vpcguard scan`, the SNS message the notify
function reads, the audit table), so they live apart from the engine that makes them: the
notify function, the publisher and the renderers import this module, never the engine, its
inventory or the checks.

They are dataclasses, not pydantic models: the inspect Lambda imports them at every cold
start, and building pydantic models costs more there than the rest of the engine together
(issue 4). `SubjectReport.from_dict` checks every field of a subject object it reads back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .model import Severity, Status

# The tag naming the team that owns a model or job (notifications are routed by it).
TEAM_TAG = "vpcguard:team"
# The check that reports a subject that could not be resolved at all (its one result).
RESOLUTION_CHECK_ID = "model_vpc_configured"


@dataclass(slots=True, kw_only=True)
class CheckResult:
    check_id: str
    status: Status
    severity: Severity
    title: str
    detail: str
    resource_ids: list[str] = field(default_factory=list)
    fixable: bool
    remediation: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        self.severity = Severity(self.severity)

    def to_dict(self) -> dict[str, Any]:
        """The result object of the JSON contract (field order is the contract's)."""
        return {
            "check_id": self.check_id,
            "status": self.status.value,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "resource_ids": list(self.resource_ids),
            "fixable": self.fixable,
            "remediation": copy.deepcopy(self.remediation),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> CheckResult:
        fields = _require_object(data, where)
        return cls(
            check_id=_typed(fields, "check_id", str, where),
            status=_enum(fields, "status", Status, where),
            severity=_enum(fields, "severity", Severity, where),
            title=_typed(fields, "title", str, where),
            detail=_typed(fields, "detail", str, where),
            resource_ids=_str_list(fields, "resource_ids", where),
            fixable=_typed(fields, "fixable", bool, where),
            remediation=_typed(fields, "remediation", dict, where, optional=True),
        )


@dataclass(slots=True, kw_only=True)
class AuditRecord:
    """One change made (or, in a dry run, one that would have been made)."""

    check_id: str
    subject_arn: str
    resource_id: str
    action: str
    params: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    time: str
    trigger: str
    dry_run: bool
    outcome: str  # "intent" (before the change) | "applied" | "would_apply" | "failed: <reason>"
    # Unique per change (with the time, the audit table's sort key): two runs that change
    # the same resource in the same second keep two records.
    record_id: str = ""
    # Where the change was made: a member account's when the hub fixed it through its role.
    account: str = ""
    region: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class SubjectReport:
    type: str
    name: str
    arn: str
    region: str
    account: str
    vpc_id: str | None
    instance_count: int
    model_name: str
    tags: dict[str, str]
    results: list[CheckResult]
    # Not part of the subject object in the JSON contract: carried beside it.
    audit: list[AuditRecord] = field(default_factory=list)
    # The VPC's Name tag (read with the VPC's facts: no extra call), for reports people read.
    vpc_name: str | None = None
    # Who created the model or job: the CloudTrail caller of CreateModel/CreateTransformJob.
    # Travels to the notifier as the SNS message attribute `actor`, not in the message body.
    created_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The subject object of the JSON contract (docs/architecture.md; also the SNS
        message body), JSON-safe, in the contract's field order; `audit` is not part of it."""
        return {
            "type": self.type,
            "name": self.name,
            "arn": self.arn,
            "region": self.region,
            "account": self.account,
            "vpc_id": self.vpc_id,
            "instance_count": self.instance_count,
            "model_name": self.model_name,
            "tags": dict(self.tags),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Any) -> SubjectReport:
        """The subject object (e.g. an SNS message body) back as a report. Raises ValueError
        naming the first field that is missing or of the wrong type."""
        fields = _require_object(data, "")
        results = _typed(fields, "results", list, "")
        tags = _typed(fields, "tags", dict, "")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise ValueError("tags: Input should be an object of strings")
        count = fields.get("instance_count", _MISSING)
        if isinstance(count, str) and count.strip().lstrip("-").isdigit():
            count = int(count)  # pydantic's lax mode took "2" for 2; keep accepting it
        if count is _MISSING:
            raise ValueError("instance_count: Field required")
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValueError("instance_count: Input should be a valid integer")
        return cls(
            type=_typed(fields, "type", str, ""),
            name=_typed(fields, "name", str, ""),
            arn=_typed(fields, "arn", str, ""),
            region=_typed(fields, "region", str, ""),
            account=_typed(fields, "account", str, ""),
            vpc_id=_typed(fields, "vpc_id", str, "", optional=True, required=True),
            instance_count=count,
            model_name=_typed(fields, "model_name", str, ""),
            tags=dict(tags),
            results=[CheckResult.from_dict(r, f"results.{i}.") for i, r in enumerate(results)],
        )


# --- validating the subject object when it is read back (the notifier reads SNS messages) ---

_MISSING: Any = object()
_TYPE_NAMES = {
    str: "a valid string",
    bool: "a valid boolean",
    dict: "a valid dictionary",
    list: "a valid list",
}


def _require_object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where.rstrip('.') or '(top)'}: Input should be a valid dictionary")
    return data


def _typed(
    fields: Mapping[str, Any],
    name: str,
    kind: type,
    where: str,
    *,
    optional: bool = False,
    required: bool = False,
) -> Any:
    value = fields.get(name, _MISSING)
    if value is _MISSING:
        if optional and not required:
            return None
        raise ValueError(f"{where}{name}: Field required")
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"{where}{name}: Input should be {_TYPE_NAMES[kind]}")
    return value


def _enum(fields: Mapping[str, Any], name: str, kind: type[Status] | type[Severity], where: str) -> Any:
    value = _typed(fields, name, str, where)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValueError(f"{where}{name}: Input should be one of {allowed}") from None


def _str_list(fields: Mapping[str, Any], name: str, where: str) -> list[str]:
    value = fields.get(name, _MISSING)
    if value is _MISSING:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}{name}: Input should be a list of strings")
    return list(value)


def summarize(reports: Iterable[SubjectReport]) -> dict[str, int]:
    """The "summary" object of the JSON contract: counts of results by status."""
    reports = list(reports)
    counts = {"subjects": len(reports), "fail": 0, "fixed": 0, "would_fix": 0, "error": 0, "exempt": 0}
    key = {
        Status.FAIL: "fail",
        Status.FIXED: "fixed",
        Status.WOULD_FIX: "would_fix",
        Status.ERROR: "error",
        Status.EXEMPT: "exempt",
    }
    for report in reports:
        for r in report.results:
            if r.status in key:
                counts[key[r.status]] += 1
    return counts


def scan_document(reports: Iterable[SubjectReport]) -> dict[str, Any]:
    """`vpcguard scan --format json`: {"subjects": [...], "summary": {...}}."""
    reports = list(reports)
    return {"subjects": [r.to_dict() for r in reports], "summary": summarize(reports)}


TOOL_NAME = "vpcguard"


def report_metadata(
    *,
    time: datetime,
    account: str | None,
    region: str | None,
    checks: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The "metadata" object of the JSON document (and of jsonl's summary line): which tool
    and version wrote it, when the run started (ISO 8601, UTC), the account and region
    scanned (null when the run covered several, or none was known), and the check ids
    evaluated (null: every check of the catalog)."""
    return {
        "tool": TOOL_NAME,
        "version": __version__,
        "time": time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "account": account or None,
        "region": region or None,
        "checks": list(checks) if checks is not None else None,
    }


class RunScope:
    """The accounts and regions of the subjects seen so far: the metadata's account and
    region are the one each when there is exactly one, else the fallback (or null)."""

    def __init__(self) -> None:
        self.accounts: set[str] = set()
        self.regions: set[str] = set()

    def add(self, report: SubjectReport) -> None:
        if report.account:
            self.accounts.add(report.account)
        if report.region:
            self.regions.add(report.region)

    @staticmethod
    def _one(seen: set[str], fallback: str | None) -> str | None:
        if len(seen) == 1:
            return next(iter(seen))
        return fallback if not seen else None

    def account(self, fallback: str | None = None) -> str | None:
        return self._one(self.accounts, fallback)

    def region(self, fallback: str | None = None) -> str | None:
        return self._one(self.regions, fallback)
