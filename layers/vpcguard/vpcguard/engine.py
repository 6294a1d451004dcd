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
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .audit import AuditWriteError
from .aws import AwsClients, describe_error, raise_if_setup_error
from .checks.base import Check, all_checks, check_ids, validate_ids
from .facts import Snapshot
from .fixes import FixPlan, NoSafeFix
from .inventory import Inventory
from .model import Outcome, Severity, Status, Subject, plain
from .scope import HomeScope
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
    outcome: str  # "intent" (before the change) | "applied" | "would_apply" | "failed: <reason>"
    # Unique per change (with the time, the audit table's sort key): two runs that change
    # the same resource in the same second keep two records.
    record_id: str = ""
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
    # The VPC's Name tag (read with the VPC's facts: no extra call), for reports people read.
    vpc_name: str | None = None
    # Who created the model or job: the CloudTrail caller of CreateModel/CreateTransformJob.
    # Travels to the notifier as the SNS message attribute `actor`, not in the message body.
    created_by: str | None = None

    def contract(self) -> dict[str, Any]:
        """The subject object of docs/architecture.md (also the SNS message body)."""
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


@dataclass(frozen=True, slots=True)
class Exemption:
    """What a resource's `vpcguard:exempt` tag says: the check ids it names ("all" for all),
    and the values that are not check ids (an unknown value counts as "all": a typo must
    never turn into a fix)."""

    checks: frozenset[str]
    unknown: tuple[str, ...] = ()

    def covers(self, check_id: str) -> bool:
        return "all" in self.checks or check_id in self.checks

    def note(self) -> str:
        if not self.unknown:
            return ""
        values = ", ".join(repr(v) for v in self.unknown)
        return f" (unknown value {values} is treated as all)"


def exemption_of(tags: Mapping[str, str]) -> Exemption | None:
    """A resource's exemption, or None if it has no `vpcguard:exempt` tag. The key and the
    values are matched without regard to case and surrounding spaces."""
    value = next((v for k, v in tags.items() if k.strip().lower() == EXEMPT_TAG), None)
    if value is None:
        return None
    names = [item.strip().lower() for item in value.split(",") if item.strip()]
    known = {"all", *check_ids()}
    unknown = tuple(n for n in names if n not in known) or (() if names else (value,))
    if unknown:
        return Exemption(frozenset({"all"}), unknown)
    return Exemption(frozenset(names))


def exempted_checks(tags: Mapping[str, str]) -> set[str] | None:
    """Check ids a resource's `vpcguard:exempt` tag names; {"all"} for all (also for an
    unknown value); None if untagged."""
    found = exemption_of(tags)
    return None if found is None else set(found.checks)


def exempting_resources(snap: Snapshot, check_id: str) -> list[str]:
    return [rid for rid, _ in _exemptions(snap.exempt_resources(), check_id)]


def _exemptions(tags_by_id: Mapping[str, Mapping[str, str]], check_id: str) -> list[tuple[str, Exemption]]:
    out = []
    for resource_id, tags in tags_by_id.items():
        found = exemption_of(tags)
        if found is not None and found.covers(check_id):
            out.append((resource_id, found))
    return out


def _exempt_note(found: list[tuple[str, Exemption]]) -> str:
    return ", ".join(f"{rid}{exemption.note()}" for rid, exemption in found)


@dataclass(slots=True)
class _FirstPass:
    """One check's result on the snapshot taken before any fix, and what its fix did."""

    check: Check
    result: CheckResult
    outcome: Outcome
    applied: FixPlan | None = None  # the fix that was applied (re-verified on the fresh snapshot)
    note: str = ""  # why a FAIL was not fixed (refused, exempt target, failed), kept on the re-check


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
        scope: HomeScope | None = None,
        index_sink: Any = None,
    ):
        self.clients = clients
        self.settings = settings or Settings()
        self.inventory = inventory or Inventory(clients)
        self.resolver = resolver or SubjectResolver(clients)
        self.trigger = trigger
        # Anything with `.put(AuditRecord)` (and `.complete(AuditRecord)`): the DynamoDB
        # audit table when configured.
        self.audit_sink = audit_sink
        # Which account and region these credentials may act on (vpcguard.scope).
        self.scope = scope or HomeScope(clients)
        # Anything with `.record(Subject, Snapshot | None)`: the drift dependency index.
        self.index_sink = index_sink
        self.checks: list[Check] = all_checks()
        # A mode for a check that does not exist is a typo that would silently do nothing.
        validate_ids(self.settings.modes)

    # --- public API -------------------------------------------------------------------

    def evaluate(self, subject: Subject) -> SubjectReport:
        """Every check on one snapshot; the fixes; then, if any fix was applied, every check
        again on one fresh snapshot, so the report describes the state after its own fixes
        (FIXED, WOULD_FIX and EXEMPT come from the first pass, all else from the second)."""
        if subject.error:
            self._index(subject, None)
            return self._report(subject, None, [self._unresolved_result(subject)], [])
        snap = self.inventory.snapshot(subject)
        audit: list[AuditRecord] = []
        first: list[_FirstPass] = []
        for check in self.checks:
            mode = self.settings.mode_for(check.meta.id, check.meta.fix_default or "notify")
            if mode == "off":
                continue
            outcome = self._run(check, snap)
            entry = _FirstPass(check, self._result(check, snap, outcome), outcome)
            if outcome.status == Status.FAIL:
                exempt_by = _exemptions(snap.exempt_resources(), check.meta.id)
                if exempt_by:
                    entry.result.status = Status.EXEMPT
                    entry.result.detail = (
                        f"exempted by {EXEMPT_TAG} on {_exempt_note(exempt_by)}: {outcome.detail}"
                    )
                elif mode == "fix" and check.meta.fixable and self.settings.plans_fixes:
                    self._fix(entry, snap, audit)
            first.append(entry)
        if not any(entry.applied for entry in first):
            self._index(subject, snap)
            report = self._report(subject, snap.vpc_id, [entry.result for entry in first], audit)
            return _with_vpc_name(report, snap)
        # Re-verify from AWS, not from what we believe we did: one fresh snapshot for all.
        if snap.vpc_id:
            self.inventory.invalidate_vpc(snap.vpc_id)
        fresh = self.inventory.snapshot(subject)
        results = [self._second_pass(entry, fresh) for entry in first]
        self._index(subject, fresh)
        return _with_vpc_name(self._report(subject, fresh.vpc_id, results, audit), fresh)

    def evaluate_model(self, name_or_arn: str) -> SubjectReport:
        self.scope.check_arn(name_or_arn, "model")
        return self.evaluate(self.resolver.model(name_or_arn))

    def evaluate_transform_job(self, name_or_arn: str) -> SubjectReport:
        self.scope.check_arn(name_or_arn, "transform job")
        return self.evaluate(self.resolver.transform_job(name_or_arn))

    # --- internals --------------------------------------------------------------------

    def _second_pass(self, entry: _FirstPass, fresh: Snapshot) -> CheckResult:
        result = entry.result
        if result.status in (Status.WOULD_FIX, Status.EXEMPT):
            return result
        check = entry.check
        recheck = self._run(check, fresh)
        plan = entry.applied
        if plan is not None:
            if recheck.status == Status.PASS:
                result.status = Status.FIXED
                result.detail = (
                    f"{entry.outcome.detail} -> fixed: {plan.description}; re-check: {recheck.detail}"
                )
            else:
                result.detail = (
                    f"{entry.outcome.detail} -> {plan.description} was applied, but the re-check says "
                    f"{recheck.status.value}: {recheck.detail}"
                )
            return result
        again = self._result(check, fresh, recheck)
        if recheck.status == Status.FAIL:
            exempt_by = _exemptions(fresh.exempt_resources(), check.meta.id)
            if exempt_by:
                again.status = Status.EXEMPT
                again.detail = f"exempted by {EXEMPT_TAG} on {_exempt_note(exempt_by)}: {recheck.detail}"
            elif entry.note:
                again.detail = f"{recheck.detail} ({entry.note})"
        return again

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

    def _plan(self, check: Check, snap: Snapshot, outcome: Outcome) -> FixPlan:
        """The check's plan, with the fix-time facts it asks for read in first; a fact that
        cannot be read means no safe plan (we cannot tell who else the change touches)."""
        names = check.fix_facts(snap, outcome)
        if names:
            snap = self.inventory.with_fix_facts(snap, names)
            reasons = list(dict.fromkeys(snap.errors[n] for n in names if n in snap.errors))
            if reasons:
                raise NoSafeFix("cannot tell who else the change would affect: " + "; ".join(reasons))
        return check.plan_fix(snap, outcome, self.settings)

    def _fix(self, entry: _FirstPass, snap: Snapshot, audit: list[AuditRecord]) -> None:
        check, outcome, result = entry.check, entry.outcome, entry.result
        try:
            plan = self._plan(check, snap, outcome)
        except NoSafeFix as exc:
            entry.note = f"not fixed automatically: {exc}"
            result.detail = f"{outcome.detail} ({entry.note})"
            return
        exempt = self._exempt_targets(snap, check.meta.id, plan)
        if exempt:
            entry.note = f"not fixed: {', '.join(exempt)} is exempt via {EXEMPT_TAG}"
            result.detail = f"{outcome.detail} ({entry.note})"
            return
        remediation = plan.remediation().as_dict()
        if self.settings.dry_run:
            record = self._record(snap.subject, plan, "would_apply")
            audit.append(record)
            self._store(record, required=False)
            result.status = Status.WOULD_FIX
            result.remediation = remediation
            result.detail = f"{outcome.detail} (dry run: would {plan.description})"
            return
        # No change without a record: the intent is stored before the write, or nothing is done.
        record = self._record(snap.subject, plan, "intent")
        self._store(record, required=True)
        audit.append(record)
        try:
            after = plan.apply(self.clients)
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            reason = describe_error(exc, plan.action)
            record.outcome = f"failed: {reason}"
            self._complete(record)
            entry.note = f"automatic fix failed: {reason}"
            result.detail = f"{outcome.detail} ({entry.note})"
            return
        record.after = plain(dict(after))
        record.outcome = "applied"
        self._complete(record)
        result.remediation = remediation
        entry.applied = plan

    @staticmethod
    def _exempt_targets(snap: Snapshot, check_id: str, plan: FixPlan) -> list[str]:
        tags_by_id: dict[str, Mapping[str, str]] = dict(snap.exempt_resources())
        for table in snap.route_tables:
            tags_by_id[table.id] = table.tags
        for endpoint in snap.endpoints:
            tags_by_id[endpoint.id] = endpoint.tags
        targets = {rid: tags_by_id.get(rid, {}) for rid in plan.touches or (plan.resource_id,)}
        return [f"{rid}{exemption.note()}" for rid, exemption in _exemptions(targets, check_id)]

    def _record(self, subject: Subject, plan: FixPlan, outcome: str) -> AuditRecord:
        return AuditRecord(
            check_id=plan.check_id,
            subject_arn=subject.arn or subject.name,
            resource_id=plan.resource_id,
            action=plan.action,
            params=plain(plan.params),
            before=plain(plan.before),
            after={},
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            trigger=self.trigger,
            dry_run=self.settings.dry_run,
            outcome=outcome,
            record_id=uuid.uuid4().hex,
            account=subject.account,
            region=subject.region,
        )

    def _store(self, record: AuditRecord, *, required: bool) -> None:
        """Write a new record. When the change depends on it (`required`), a failure stops
        the change: AuditWriteError (CLI exit 2; Lambda: the SQS record fails and is retried)."""
        if self.audit_sink is None:
            return
        try:
            self.audit_sink.put(record)
        except Exception as exc:
            if not required:
                log.error("audit record for %s on %s not stored: %s", record.check_id, record.resource_id, exc)
                return
            raise AuditWriteError(
                f"the audit record for {record.check_id} on {record.resource_id} could not be written "
                f"({type(exc).__name__}: {exc}), so no change was made"
            ) from exc

    def _complete(self, record: AuditRecord) -> None:
        """Add the outcome to the intent record. The change is made by now; if this write
        fails the intent record stays (outcome "intent"), and the failure is logged loudly."""
        if self.audit_sink is None:
            return
        complete = getattr(self.audit_sink, "complete", self.audit_sink.put)
        try:
            complete(record)
        except Exception as exc:
            log.error(
                "audit record for %s on %s not completed (it stays an intent record): %s",
                record.check_id, record.resource_id, exc,
            )

    def _index(self, subject: Subject, snap: Snapshot | None) -> None:
        """What the subject depends on, for drift (read from the final snapshot: no calls
        beyond the index's own). A failure does not change the report: it is logged, and the
        daily sweep writes the index again."""
        if self.index_sink is None:
            return
        try:
            self.index_sink.record(subject, snap)
        except Exception as exc:
            log.error("dependency index for %s not written: %s", subject.arn or subject.name, exc)

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


def _with_vpc_name(report: SubjectReport, snap: Snapshot) -> SubjectReport:
    """The report with its VPC's Name tag, read with the VPC's facts (no extra call)."""
    if snap.vpc is not None and snap.vpc.id == snap.vpc_id:
        report.vpc_name = snap.vpc.tags.get("Name") or None
    return report


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
