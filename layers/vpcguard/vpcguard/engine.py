"""The engine: subject -> snapshot -> checks -> (exemptions, fixes, re-verification) -> report.

It knows nothing of Lambda or the CLI; both call `Engine.evaluate`.

The report types (CheckResult, AuditRecord, SubjectReport) cross a boundary (the JSON
contract, the SNS message) but are dataclasses, not pydantic models: the inspect Lambda
imports this module at every cold start, and building pydantic models costs more there
than the rest of the engine together (issue 4). They keep pydantic's method names
(`model_dump(mode="json")`, `model_validate`, `model_copy`) so callers read the same, and
`SubjectReport.model_validate` still checks every field of a subject object it reads back.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients, describe_error, raise_if_setup_error
from .checks.base import Check, all_checks
from .facts import Snapshot
from .fixes import FixPlan, NoSafeFix
from .inventory import Inventory
from .model import Outcome, Severity, Status, Subject, plain
from .settings import Settings
from .subjects import SubjectResolver

log = logging.getLogger(__name__)

EXEMPT_TAG = "vpcguard:exempt"
TEAM_TAG = "vpcguard:team"
# The check that reports a subject that could not be resolved at all.
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

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
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
    def model_validate(cls, data: Any, where: str = "") -> CheckResult:
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
    outcome: str  # "applied" | "would_apply" | "failed: <reason>"
    # Where the change was made: a member account's when the hub fixed it through its role.
    account: str = ""
    region: str = ""

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
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

    def contract(self) -> dict[str, Any]:
        """The subject object of spec/architecture.md (also the SNS message body)."""
        return self.model_dump(mode="json")

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """The subject object (field order is the contract's); `audit` is not part of it."""
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
            "results": [r.model_dump(mode) for r in self.results],
        }

    def model_copy(self, update: Mapping[str, Any] | None = None) -> SubjectReport:
        return replace(self, **(update or {}))

    @classmethod
    def model_validate(cls, data: Any) -> SubjectReport:
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
            results=[CheckResult.model_validate(r, f"results.{i}.") for i, r in enumerate(results)],
        )


# --- validating the subject object when it is read back (the notifier reads SNS messages) ---

_MISSING: Any = object()
_TYPE_NAMES = {str: "a valid string", bool: "a valid boolean", dict: "a valid dictionary", list: "a valid list"}


def _require_object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where.rstrip('.') or '(top)'}: Input should be a valid dictionary")
    return data


def _typed(
    fields: Mapping[str, Any], name: str, kind: type, where: str, *, optional: bool = False, required: bool = False
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


def exempted_checks(tags: Mapping[str, str]) -> set[str] | None:
    """Check ids a resource's `vpcguard:exempt` tag names; {"all"} for all; None if untagged."""
    value = tags.get(EXEMPT_TAG)
    if value is None:
        return None
    return {item.strip() for item in value.split(",") if item.strip()}


def exempting_resources(snap: Snapshot, check_id: str) -> list[str]:
    out = []
    for resource_id, tags in snap.exempt_resources().items():
        names = exempted_checks(tags)
        if names and ("all" in names or check_id in names):
            out.append(resource_id)
    return out


class Engine:
    def __init__(
        self,
        clients: AwsClients,
        settings: Settings | None = None,
        *,
        inventory: Inventory | None = None,
        resolver: SubjectResolver | None = None,
        trigger: str = "cli",
        audit_sink: Any = None,
    ):
        self.clients = clients
        self.settings = settings or Settings()
        self.inventory = inventory or Inventory(clients)
        self.resolver = resolver or SubjectResolver(clients)
        self.trigger = trigger
        # Anything with `.put(AuditRecord)`: the DynamoDB audit table when configured.
        self.audit_sink = audit_sink
        self.checks: list[Check] = all_checks()

    # --- public API -------------------------------------------------------------------

    def evaluate(self, subject: Subject) -> SubjectReport:
        if subject.error:
            return self._report(subject, None, [self._unresolved_result(subject)], [])
        snap = self.inventory.snapshot(subject)
        results: list[CheckResult] = []
        audit: list[AuditRecord] = []
        for check in self.checks:
            mode = self.settings.mode_for(check.meta.id, check.meta.fix_default or "notify")
            if mode == "off":
                continue
            outcome = self._run(check, snap)
            result = self._result(check, snap, outcome)
            if outcome.status == Status.FAIL:
                exempt_by = exempting_resources(snap, check.meta.id)
                if exempt_by:
                    result.status = Status.EXEMPT
                    result.detail = f"exempted by {EXEMPT_TAG} on {', '.join(exempt_by)}: {outcome.detail}"
                elif mode == "fix" and check.meta.fixable and self.settings.plans_fixes:
                    recorded = len(audit)
                    result = self._fix(check, snap, outcome, result, audit)
                    if any(a.outcome == "applied" for a in audit[recorded:]):
                        # The checks after this one judge the network as it now is (e.g. the
                        # endpoint policy checks after an endpoint was created); already re-read.
                        snap = self.inventory.snapshot(snap.subject)
            results.append(result)
        return self._report(subject, snap.vpc_id, results, audit)

    def evaluate_model(self, name_or_arn: str) -> SubjectReport:
        return self.evaluate(self.resolver.model(name_or_arn))

    def evaluate_transform_job(self, name_or_arn: str) -> SubjectReport:
        return self.evaluate(self.resolver.transform_job(name_or_arn))

    # --- internals --------------------------------------------------------------------

    def _run(self, check: Check, snap: Snapshot) -> Outcome:
        meta = check.meta
        if meta.needs_vpc and snap.subject.vpc_config is None:
            return Outcome(Status.NOT_APPLICABLE, "the model has no VpcConfig: it does not run in a VPC")
        reasons = list(dict.fromkeys(snap.errors[f] for f in meta.requires if f in snap.errors))
        if reasons:
            return Outcome(Status.ERROR, "could not be evaluated: " + "; ".join(reasons))
        try:
            return check.evaluate(snap)
        except Exception as exc:  # a bug in one check must not hide the others
            log.exception("check %s raised", meta.id)
            return Outcome(Status.ERROR, f"check raised {type(exc).__name__}: {exc}")

    def _result(self, check: Check, snap: Snapshot, outcome: Outcome) -> CheckResult:
        severity = outcome.severity or self._severity(check, snap)
        return CheckResult(
            check_id=check.meta.id,
            status=outcome.status,
            severity=severity,
            title=check.meta.title,
            detail=outcome.detail,
            resource_ids=list(outcome.resource_ids),
            fixable=check.meta.fixable,
            remediation=outcome.remediation.as_dict() if outcome.remediation else None,
        )

    @staticmethod
    def _severity(check: Check, snap: Snapshot) -> Severity:
        try:
            return check.severity_for(snap)
        except Exception:  # severity must never stop a report
            return check.meta.severity

    def _fix(
        self,
        check: Check,
        snap: Snapshot,
        outcome: Outcome,
        result: CheckResult,
        audit: list[AuditRecord],
    ) -> CheckResult:
        try:
            plan = check.plan_fix(snap, outcome, self.settings)
        except NoSafeFix as exc:
            result.detail = f"{outcome.detail} (not fixed automatically: {exc})"
            return result
        exempt = self._exempt_targets(snap, check.meta.id, plan)
        if exempt:
            result.detail = f"{outcome.detail} (not fixed: {', '.join(exempt)} is exempt via {EXEMPT_TAG})"
            return result
        remediation = plan.remediation().as_dict()
        if self.settings.dry_run:
            self._record(audit, snap.subject, plan, {}, "would_apply")
            result.status = Status.WOULD_FIX
            result.remediation = remediation
            result.detail = f"{outcome.detail} (dry run: would {plan.description})"
            return result
        try:
            after = plan.apply(self.clients)
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            reason = describe_error(exc, plan.action)
            self._record(audit, snap.subject, plan, {}, f"failed: {reason}")
            result.detail = f"{outcome.detail} (automatic fix failed: {reason})"
            return result
        self._record(audit, snap.subject, plan, dict(after), "applied")
        # Re-verify from AWS, not from what we believe we did.
        if snap.vpc_id:
            self.inventory.invalidate_vpc(snap.vpc_id)
        recheck = self._run(check, self.inventory.snapshot(snap.subject))
        result.remediation = remediation
        if recheck.status == Status.PASS:
            result.status = Status.FIXED
            result.detail = f"{outcome.detail} -> fixed: {plan.description}; re-check: {recheck.detail}"
        else:
            result.detail = (
                f"{outcome.detail} -> {plan.description} was applied, but the re-check says "
                f"{recheck.status.value}: {recheck.detail}"
            )
        return result

    @staticmethod
    def _exempt_targets(snap: Snapshot, check_id: str, plan: FixPlan) -> list[str]:
        tags_by_id: dict[str, Mapping[str, str]] = dict(snap.exempt_resources())
        for table in snap.route_tables:
            tags_by_id[table.id] = table.tags
        for endpoint in snap.endpoints:
            tags_by_id[endpoint.id] = endpoint.tags
        out = []
        for rid in plan.touches or (plan.resource_id,):
            names = exempted_checks(tags_by_id.get(rid, {}))
            if names and ("all" in names or check_id in names):
                out.append(rid)
        return out

    def _record(
        self, audit: list[AuditRecord], subject: Subject, plan: FixPlan, after: dict[str, Any], outcome: str
    ) -> None:
        record = AuditRecord(
            check_id=plan.check_id,
            subject_arn=subject.arn or subject.name,
            resource_id=plan.resource_id,
            action=plan.action,
            params=plain(plan.params),
            before=plain(plan.before),
            after=plain(after),
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            trigger=self.trigger,
            dry_run=self.settings.dry_run,
            outcome=outcome,
            account=subject.account,
            region=subject.region,
        )
        audit.append(record)
        if self.audit_sink is not None:
            try:
                self.audit_sink.put(record)
            except Exception as exc:  # the change happened; losing the copy must be loud
                log.error("audit record for %s on %s not stored: %s", plan.check_id, plan.resource_id, exc)

    def _unresolved_result(self, subject: Subject) -> CheckResult:
        check = next(c for c in self.checks if c.meta.id == RESOLUTION_CHECK_ID)
        return CheckResult(
            check_id=RESOLUTION_CHECK_ID,
            status=Status.ERROR,
            severity=check.meta.severity,
            title=check.meta.title,
            detail=subject.error or "could not be resolved",
            resource_ids=[r for r in (subject.arn or subject.name,) if r],
            fixable=check.meta.fixable,
        )

    @staticmethod
    def _report(
        subject: Subject, vpc_id: str | None, results: list[CheckResult], audit: list[AuditRecord]
    ) -> SubjectReport:
        return SubjectReport(
            type=subject.type,
            name=subject.name,
            arn=subject.arn,
            region=subject.region,
            account=subject.account,
            vpc_id=vpc_id,
            instance_count=subject.instance_count,
            model_name=subject.model_name,
            tags=dict(subject.tags),
            results=results,
            audit=audit,
        )


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
    return {"subjects": [r.contract() for r in reports], "summary": summarize(reports)}
