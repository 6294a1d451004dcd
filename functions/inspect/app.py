"""Inspect function: SQS work queue (EventBridge events) -> engine -> SNS findings topic.

Thin by design: parsing is `vpcguard.events`, evaluating and publishing is
`vpcguard.inspection`; this module adds Powertools around them.

Failure handling, per SQS record:
- an event that asks for nothing (a failed call, another API) is logged and succeeds;
- a body that is not an event we understand raises, so the record is reported in
  `batchItemFailures`; SQS redelivers it and, after the queue's maxReceiveCount (3),
  its redrive policy moves it to the DLQ, where the DLQ-depth alarm fires;
- a model or job that no longer exists is an ERROR finding, published; the record succeeds;
- every record that fails gets an ERROR log line with its SQS message id and the reason (the
  batch processor itself logs failures only at DEBUG, so without it a record would reach
  the DLQ unexplained);
- the event id plus the subject is the idempotency key, so a redelivered event is evaluated
  and published once, while a reused event id naming another subject is still evaluated.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpcguard.accounts import AccountSessions, sessions_from_env
from vpcguard.aws import AwsClients
from vpcguard.events import WorkItem, parse_event
from vpcguard.inspection import Inspector

try:
    from vpcguard.audit import AuditWriteError
except ImportError:  # a library without audit intent records: nothing raises it

    class AuditWriteError(Exception):  # type: ignore[no-redef]
        """Stand-in for vpcguard.audit.AuditWriteError (an audit intent record not written)."""


logger = Logger(service="vpcguard-inspect")
metrics = Metrics(namespace="vpcguard", service="vpcguard-inspect")


def _untraced(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


# Powertools Tracer (X-Ray subsegments per AWS call) is opt-in: template parameter
# XRaySdkTracing. Importing the X-Ray SDK builds two botocore clients, which costs more cold
# start than everything else here together (docs/deploy.md). Lambda's own X-Ray segments
# (Tracing: Active) are there either way.
capture_lambda_handler: Callable[..., Any] = _untraced
capture_method: Callable[..., Any] = _untraced
if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on"):
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service="vpcguard-inspect")
    capture_lambda_handler, capture_method = tracer.capture_lambda_handler, tracer.capture_method

# One bad record is reported alone; even a batch where every record failed is answered with
# the list (not an exception), so SQS's redrive, not a function error, decides retries.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(
    # The subject is part of the key: an event id is only unique per CloudTrail call, and a
    # hand-made or replayed event reusing one for another subject must not be skipped.
    event_key_jmespath="[event_id, subject_type, subject_ref]",
    # EventBridge retries delivery for up to a day (the rules' MaximumEventAgeInSeconds);
    # SQS redeliveries come within the hour.
    expires_after_seconds=86400,
)


# Keys a record's log lines carry; cleared before and after each record, so no line names
# the previous record's event or subject.
RECORD_LOG_KEYS = ["message_id", "event_id", "source", "subject"]
REASON_MAX_CHARS = 500  # a 200 KB name must not make every line of its record 200 KB


def bounded(text: str | None) -> str | None:
    if text is None or len(text) <= REASON_MAX_CHARS:
        return text
    return text[:REASON_MAX_CHARS] + f"... ({len(text)} chars)"


def failure_reason(exc: BaseException) -> str:
    return bounded(f"{type(exc).__name__}: {exc}") or ""


@functools.cache
def aws_clients() -> AwsClients:
    """One boto3 session per instance, and each client built once, on first use (a client
    costs a service-model load, and a skipped or malformed record needs none). The facts an
    evaluation reads are not kept between invocations (a new Inspector each time)."""
    return AwsClients()


@functools.cache
def member_sessions() -> AccountSessions | None:
    """Member-role credentials (a hub: VPCGUARD_MEMBER_ROLE_NAME set), kept per account across
    invocations until shortly before they expire; None in a single-account deployment."""
    return sessions_from_env(aws_clients())


@capture_method
def inspect_subject(*, work: dict[str, Any], inspector: Inspector) -> dict[str, Any]:
    result = inspector.inspect(WorkItem.from_dict(work))
    metrics.add_metric(name="SubjectsEvaluated", unit=MetricUnit.Count, value=1)
    if result["message_id"]:
        metrics.add_metric(name="FindingsPublished", unit=MetricUnit.Count, value=1)
    if result["audit"]:
        metrics.add_metric(name="FixesRecorded", unit=MetricUnit.Count, value=result["audit"])
    if result.get("member_role_failed"):
        # The subject is an ERROR finding; the alarm on this metric says which role to fix.
        logger.error("member role could not be assumed", extra={"account": result.get("account")})
        metrics.add_metric(name="MemberRoleFailures", unit=MetricUnit.Count, value=1)
    return result


@functools.cache
def idempotent_inspect() -> Callable[..., dict[str, Any]]:
    """`inspect_subject` once per event and subject, built when the first record needs it, so that its
    DynamoDB client is made on first use like every other client. One client for idempotency
    and the audit table, from the engine's session: a second session would load the endpoint
    and retry data again, and a second client the DynamoDB service model again."""
    persistence = DynamoDBPersistenceLayer(
        table_name=os.environ["VPCGUARD_IDEMPOTENCY_TABLE"], boto3_client=aws_clients().client("dynamodb")
    )
    return idempotent_function(
        data_keyword_argument="work", config=idempotency, persistence_store=persistence
    )(inspect_subject)


def handle_record(record: SQSRecord, inspector: Inspector) -> dict[str, Any]:
    try:
        work = parse_event(record.body)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep to read
        # A poison message: fail this record only; the redrive policy ends it in the DLQ.
        reason = failure_reason(exc)
        logger.error("malformed event", extra={"message_id": record.message_id, "reason": reason})
        metrics.add_metric(name="MalformedEvents", unit=MetricUnit.Count, value=1)
        raise
    except Exception as exc:
        logger.error("record failed", extra={"message_id": record.message_id, "reason": failure_reason(exc)})
        raise
    logger.append_keys(
        event_id=bounded(work.event_id), source=bounded(work.source), subject=bounded(work.subject_ref)
    )
    if work.skip:
        logger.info("event skipped", extra={"reason": work.skip_reason})
        metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)
        return {"event_id": work.event_id, "skipped": work.skip_reason}
    try:
        result = idempotent_inspect()(work=work.to_dict(), inspector=inspector)
    except Exception as exc:
        # SQS delivers the record again; after maxReceiveCount it moves to the DLQ.
        logger.error("record failed", extra={"message_id": record.message_id, "reason": failure_reason(exc)})
        if isinstance(exc, AuditWriteError):
            metrics.add_metric(name="AuditWriteFailures", unit=MetricUnit.Count, value=1)
        raise
    logger.info("subject evaluated", extra={"result": result})
    return result


@logger.inject_lambda_context(clear_state=True)
@capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    idempotency.register_lambda_context(context)
    clients = aws_clients()
    # The function runs with its own role in its own account: its ARN names that account,
    # so telling a foreign event apart costs no STS client and no call.
    function_arn = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    if len(function_arn) > 4:
        clients.know_account(function_arn[4])
    inspector = Inspector.from_env(clients=clients, sessions=member_sessions())

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        logger.remove_keys(RECORD_LOG_KEYS)
        logger.append_keys(message_id=record.message_id)
        try:
            return handle_record(record, inspector)
        finally:
            logger.remove_keys(RECORD_LOG_KEYS)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# The objects made at import (modules, classes, the processor, the config) live as long as the
# instance. Frozen, the garbage collector no longer walks them: the full collections that
# loading the first record's service models sets off (each model is tens of thousands of
# dicts) then cost a fraction, about a tenth of the cold start's CPU (docs/deploy.md). Only in
# Lambda: a process that imports this module for other reasons keeps its usual collector.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    gc.freeze()
