"""The inspect function's work, without Lambda: evaluate what an event names, publish the
findings. `functions/inspect/app.py` adds only Powertools (batching, idempotency, logs,
metrics, traces) around this.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .accounts import HUB_ACCOUNT_ENV, AccountSessions, sessions_from_env
from .audit import AuditWriteError, audit_sink_for
from .aws import AwsClients, is_throttled_reason
from .engine import Engine
from .events import WorkItem
from .model import Status
from .publish import message_severity, notable_results, publish_findings
from .results import SubjectReport
from .routing import SubjectRouter
from .settings import Settings

log = logging.getLogger(__name__)

# CloudTrail calls whose caller created the subject (a state change or a backfill names none).
CREATING_CALLS = frozenset({"CreateModel", "CreateTransformJob"})

__all__ = ["AuditWriteError", "Inspector", "RetryLater"]


class RetryLater(RuntimeError):
    """AWS throttled a read past every retry: the record fails, so SQS delivers it again
    later, rather than a permanent ERROR finding being published for a passing condition."""


class Inspector:
    """One per Lambda invocation: one Engine, so the records of a batch share what was read
    (a VPC is read once however many of the batch's models use it)."""

    def __init__(
        self, engine: Engine, findings_topic_arn: str | None, sessions: AccountSessions | None = None
    ):
        self.engine = engine
        self.findings_topic_arn = findings_topic_arn
        # With a member role configured (a hub), a subject of another account or region is
        # evaluated there through the role; publishing, audit and Security Hub stay the hub's.
        self.sessions = sessions
        self.router = SubjectRouter(sessions, engine) if sessions is not None else None

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        clients: AwsClients | None = None,
        sessions: AccountSessions | None = None,
    ) -> Inspector:
        """Settings from VPCGUARD_* variables; AWS from the standard AWS_* ones (region,
        credentials and, for local AWS, AWS_ENDPOINT_URL). Pass `clients` to reuse boto3
        clients across invocations: what was read is per Inspector, the clients are not;
        likewise `sessions` (member-role credentials, cached per account until shortly
        before they expire; made from VPCGUARD_MEMBER_ROLE_NAME when not given)."""
        settings = Settings.from_env(env)
        clients = clients or AwsClients()
        stack_account = (os.environ if env is None else env).get(HUB_ACCOUNT_ENV, "").strip()
        if stack_account and clients.account is None:
            # The stack names the account it runs in: the scope check needs no sts call.
            clients.account = stack_account
        index_sink = None
        if settings.index_table:
            from .drift.index import DependencyIndex

            index_sink = DependencyIndex(
                clients, settings.index_table, ttl_seconds=settings.index_ttl_days * 86400
            )
        engine = Engine(
            clients,
            settings,
            trigger="inspect",
            audit_sink=audit_sink_for(clients, settings.audit_table),
            index_sink=index_sink,
        )
        return cls(engine, settings.findings_topic_arn, sessions or sessions_from_env(clients, env))

    def foreign_reason(self, work: WorkItem) -> str | None:
        """Why the event's subject is not for these credentials (another account or region),
        or None. Such a subject is never evaluated or fixed with them: a same-named local
        model is another model. (Issue 12 evaluates it through the member role instead.)"""
        from .scope import arn_account_region

        scope = self.engine.scope
        what = f"{(work.subject_type or 'subject').replace('_', ' ')} {work.subject_ref}"
        for account, region in ((work.account, work.region), arn_account_region(work.subject_ref or "")):
            reason = scope.foreign_reason(account, region, what)
            if reason:
                return reason
        return None

    def evaluate(self, work: WorkItem) -> SubjectReport:
        if work.skip or work.subject_type is None or work.subject_ref is None:
            raise ValueError(f"event {work.event_id} names nothing to evaluate: {work.skip_reason}")
        # Audit records name the event (and its caller) that led to each change.
        self.engine.trigger = work.trigger
        if self.router is not None:
            report = self.router.evaluate(work.subject_type, work.subject_ref, work.account, work.region)
        elif work.subject_type == "model":
            report = self.engine.evaluate_model(work.subject_ref)
        else:
            report = self.engine.evaluate_transform_job(work.subject_ref)
        if work.source in CREATING_CALLS:
            # The event's caller made this model or job: people ask "who do I talk to?".
            report.created_by = work.triggered_by
        return report

    def inspect(self, work: WorkItem) -> dict[str, Any]:
        """Evaluate, publish, and say what happened (JSON-safe: the idempotency layer
        stores it as the result of this event).

        Raises AuditWriteError when a change's audit record cannot be written (no change is
        made; the record should fail and be retried) and RetryLater when AWS throttled a
        read past every retry (nothing is published; the record should be retried).

        A subject of another account or region is evaluated there through the member role
        when one is configured (a hub); without one it is refused (skipped, with the reason)."""
        if self.router is None:
            foreign = self.foreign_reason(work)
            if foreign:
                log.warning("event %s skipped: %s", work.event_id, foreign)
                return {"event_id": work.event_id, "skipped": foreign, "message_id": None, "audit": 0}
        failures_before = self.router.role_failures if self.router is not None else 0
        report = self.evaluate(work)
        role_failed = self.router is not None and self.router.role_failures > failures_before
        throttled = [r for r in report.results if r.status == Status.ERROR and is_throttled_reason(r.detail)]
        if throttled:
            raise RetryLater(
                f"{report.type} {report.name}: {throttled[0].check_id}: {throttled[0].detail} "
                "(the event is retried later)"
            )
        message_id = None
        if work.change and _deleted(report):
            # A drift re-evaluation of a subject deleted since it was indexed: its index
            # entries are gone (the engine's index sink); there is nobody to tell.
            log.info("%s %s no longer exists: drift re-evaluation dropped", report.type, report.name)
            return {
                "event_id": work.event_id,
                "subject_type": report.type,
                "subject": report.arn or report.name,
                "skipped": "the subject no longer exists",
                "audit": 0,
                "message_id": None,
                "change": work.change,
            }
        if self.findings_topic_arn:
            message_id = publish_findings(self.engine.clients, self.findings_topic_arn, report, work.change)
        elif notable_results(report):
            log.warning(
                "no findings topic configured: %s %s findings not published", report.type, report.name
            )
        resolved = self.resolve_security_hub(report) if not notable_results(report) else []
        severity = message_severity(report)
        return {
            "event_id": work.event_id,
            "subject_type": report.type,
            "subject": report.arn or report.name,
            "statuses": dict(Counter(r.status.value for r in report.results)),
            "severity": severity.value if severity else None,
            "audit": len(report.audit),
            "message_id": message_id,
            "security_hub_resolved": len(resolved),
            **({"change": work.change} if work.change else {}),
            "account": report.account,
            "region": report.region,
            "member_role_failed": role_failed,
        }

    def resolve_security_hub(self, report: SubjectReport) -> list[str]:
        """An all-clear subject publishes no findings message, so the notify function never
        sees it; its Security Hub findings reported earlier are resolved here instead (one
        GetFindings by Id; nothing is imported for checks that were never reported)."""
        if not self.engine.settings.security_hub:
            return []
        from .notify.securityhub import SecurityHubPublisher  # only when the option is on

        home = (
            (self.sessions.home_account(), self.engine.clients.region) if self.sessions is not None else None
        )
        summary = SecurityHubPublisher(self.engine.clients.client("securityhub"), home=home).publish(report)
        return list(summary.resolved)


def _deleted(report: SubjectReport) -> bool:
    """The report of a subject that could not be resolved because it does not exist."""
    from .drift.index import NOT_FOUND_MARK
    from .results import RESOLUTION_CHECK_ID

    return (
        len(report.results) == 1
        and report.results[0].check_id == RESOLUTION_CHECK_ID
        and report.results[0].status.value == "ERROR"
        and NOT_FOUND_MARK in report.results[0].detail
    )
