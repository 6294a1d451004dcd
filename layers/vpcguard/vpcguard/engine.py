"""The engine: subject -> snapshot -> checks -> (exemptions, fixes, re-verification) -> report.

It knows nothing of Lambda or the CLI; both call `Engine.evaluate`. What it returns (the
report types) lives in `vpcguard.results`; exemptions in `vpcguard.exemptions`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .audit import AuditWriteError
from .aws import AwsClients, describe_error, raise_if_setup_error
from .checks.base import Check, all_checks, get_check, validate_ids
from .exemptions import EXEMPT_TAG, exempt_note, exemptions_covering
from .facts import Snapshot
from .fixes import FixPlan, NoSafeFix
from .inventory import Inventory
from .model import Outcome, Severity, Status, Subject, plain
from .results import RESOLUTION_CHECK_ID, AuditRecord, CheckResult, SubjectReport
from .scope import HomeScope
from .settings import Settings
from .subjects import SubjectResolver

log = logging.getLogger(__name__)


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
        # A mode for a check that does not exist is a typo that would silently do nothing.
        validate_ids(self.settings.modes)
        selected = self.settings.checks
        if selected is not None:
            validate_ids(selected)
            if index_sink is not None:
                # The index holds what a subject depends on, read from its snapshot: a partial
                # snapshot would drop dependencies, and drift would miss changes to them.
                raise ValueError(
                    "a check selection reads only part of each subject's facts, so it cannot write "
                    "the drift dependency index"
                )
        self.checks: list[Check] = [c for c in all_checks() if selected is None or c.meta.id in selected]
        # The fact groups a snapshot reads: those the evaluated checks require (None: every
        # group, as without a selection, whatever the modes say).
        self.facts: frozenset[str] | None = None
        if selected is not None:
            self.facts = frozenset(
                f
                for c in self.checks
                if self.settings.mode_for(c.meta.id, c.meta.fix_default or "notify") != "off"
                for f in c.meta.requires
            )

    @property
    def selected_ids(self) -> list[str] | None:
        """The ids of the checks this engine evaluates, in order; None when every check is
        (no selection). What a report's metadata names as the checks used."""
        return None if self.settings.checks is None else [c.meta.id for c in self.checks]

    # --- public API -------------------------------------------------------------------

    def evaluate(self, subject: Subject) -> SubjectReport:
        """Every check on one snapshot; the fixes; then, if any fix was applied, every check
        again on one fresh snapshot, so the report describes the state after its own fixes
        (FIXED, WOULD_FIX and EXEMPT come from the first pass, all else from the second)."""
        log.debug("evaluating %s %s", subject.type, subject.name)
        if subject.error:
            self._index(subject, None)
            return self._report(subject, None, [self._unresolved_result(subject)], [])
        snap = self.inventory.snapshot(subject, self.facts)
        audit: list[AuditRecord] = []
        first: list[_FirstPass] = []
        for check in self.checks:
            mode = self.settings.mode_for(check.meta.id, check.meta.fix_default or "notify")
            if mode == "off":
                continue
            outcome = self._run(check, snap)
            entry = _FirstPass(check, self._result(check, snap, outcome), outcome)
            if outcome.status == Status.FAIL:
                exempt_by = exemptions_covering(snap.exempt_resources(), check.meta.id)
                if exempt_by:
                    entry.result.status = Status.EXEMPT
                    entry.result.detail = (
                        f"exempted by {EXEMPT_TAG} on {exempt_note(exempt_by)}: {outcome.detail}"
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
        fresh = self.inventory.snapshot(subject, self.facts)
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
            exempt_by = exemptions_covering(fresh.exempt_resources(), check.meta.id)
            if exempt_by:
                again.status = Status.EXEMPT
                again.detail = f"exempted by {EXEMPT_TAG} on {exempt_note(exempt_by)}: {recheck.detail}"
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

    def _plan(self, check: Check, snap: Snapshot, outcome: Outcome) -> tuple[FixPlan, Snapshot]:
        """The check's plan, with the fix-time facts it asks for read in first, and the
        snapshot it was planned on; a fact that cannot be read means no safe plan (we cannot
        tell who else the change touches, or where it goes)."""
        names = check.fix_facts(snap, outcome)
        if names:
            before = snap
            snap = self.inventory.with_fix_facts(snap, names)
            # A group this run had not read (a check selection) counts only if reading it
            # failed now; one that failed before is the check's own business, as always.
            failed = [n for n in names if n in snap.errors and (n in before.unread or n not in before.errors)]
            reasons = list(dict.fromkeys(snap.errors[n] for n in failed))
            if reasons:
                raise NoSafeFix("cannot tell who else the change would affect: " + "; ".join(reasons))
        return check.plan_fix(snap, outcome, self.settings), snap

    def _fix(self, entry: _FirstPass, snap: Snapshot, audit: list[AuditRecord]) -> None:
        check, outcome, result = entry.check, entry.outcome, entry.result
        try:
            # The exemption of what the fix touches is read from the snapshot it was planned on.
            plan, snap = self._plan(check, snap, outcome)
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
        return [f"{rid}{exemption.note()}" for rid, exemption in exemptions_covering(targets, check_id)]

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
                log.error(
                    "audit record for %s on %s not stored: %s", record.check_id, record.resource_id, exc
                )
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
                record.check_id,
                record.resource_id,
                exc,
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
        # Reported whatever checks are selected: a subject that cannot be read at all is an
        # ERROR, never a report with no results (which would pass).
        check = get_check(RESOLUTION_CHECK_ID)
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
