"""The engine: subject -> snapshot -> checks -> (exemptions, fixes, re-verification) -> report.

It knows nothing of Lambda or the CLI; both call `Engine.evaluate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field

from .aws import AwsClients, describe_error, raise_if_setup_error
from .checks.base import Check, all_checks
from .facts import Snapshot
from .fixes import FixPlan, NoSafeFix
from .inventory import Inventory
from .model import Outcome, Severity, Status, Subject
from .settings import Settings
from .subjects import SubjectResolver

log = logging.getLogger(__name__)

EXEMPT_TAG = "vpcguard:exempt"
TEAM_TAG = "vpcguard:team"
# The check that reports a subject that could not be resolved at all.
RESOLUTION_CHECK_ID = "model_vpc_configured"


class CheckResult(BaseModel):
    check_id: str
    status: Status
    severity: Severity
    title: str
    detail: str
    resource_ids: list[str] = Field(default_factory=list)
    fixable: bool
    remediation: dict[str, Any] | None = None


class AuditRecord(BaseModel):
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


class SubjectReport(BaseModel):
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
    audit: list[AuditRecord] = Field(default_factory=list, exclude=True)

    def contract(self) -> dict[str, Any]:
        """The subject object of spec/architecture.md (also the SNS message body)."""
        return self.model_dump(mode="json")

    def worst_failure(self) -> Severity | None:
        fails = [r.severity for r in self.results if r.status == Status.FAIL]
        return max(fails, key=lambda s: s.rank) if fails else None


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
            params=_plain(plan.params),
            before=_plain(plan.before),
            after=_plain(after),
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            trigger=self.trigger,
            dry_run=self.settings.dry_run,
            outcome=outcome,
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


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


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
