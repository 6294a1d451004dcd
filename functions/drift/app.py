"""Drift function: SQS drift queue (CloudTrail change events) -> dependency index ->
re-evaluation queue (SQS FIFO, read by the inspect function).

Thin by design: parsing is `vpcguard.drift.changes`, the lookup and the coalescing are
`vpcguard.drift.coalesce`; this module adds Powertools around them.

Failure handling, per SQS record:
- a change vpcguard does not follow, or a failed call, is logged and succeeds;
- a body that is not a change event we understand raises: the record is reported in
  `batchItemFailures`, and after the queue's maxReceiveCount its redrive policy moves it to
  the drift DLQ (an alarm watches its depth);
- an index that cannot be read (missing table, AccessDenied, throttled past retries) or a
  queue that refuses the re-evaluations raises too: the record is retried, then parked in
  the DLQ. It never passes as "no subject affected";
- a change that no subject depends on costs one index query and nothing else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpcguard.aws import AwsClients
from vpcguard.drift.changes import parse_change_event
from vpcguard.drift.coalesce import DriftPlanner
from vpcguard.drift.index import DependencyIndex

logger = Logger(service="vpcguard-drift")
metrics = Metrics(namespace="vpcguard", service="vpcguard-drift")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def aws_clients() -> AwsClients:
    return AwsClients(region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


# Re-evaluations known to be pending, kept while the instance is warm: a burst's later
# batches are coalesced without a call.
PENDING: dict[str, tuple[int, str]] = {}


def planner() -> DriftPlanner:
    """A new planner per invocation: its memo of index lookups lives for one batch."""
    clients = aws_clients()
    return DriftPlanner(
        clients=clients,
        pending=PENDING,
        index=DependencyIndex(clients, os.environ["VPCGUARD_INDEX_TABLE"]),
        queue_url=os.environ["VPCGUARD_REEVALUATION_QUEUE_URL"],
        window_seconds=int(os.environ.get("VPCGUARD_COALESCE_SECONDS") or 30),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    drift = planner()

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        try:
            change = parse_change_event(record.body)
        except ValueError as exc:
            logger.error(
                "malformed change event", extra={"message_id": record.message_id, "reason": str(exc)}
            )
            metrics.add_metric(name="MalformedChangeEvents", unit=MetricUnit.Count, value=1)
            raise
        logger.append_keys(event_id=change.event_id, change=change.event_name, actor=change.actor)
        if change.skip:
            logger.info("change skipped", extra={"reason": change.skip_reason})
            return {"event_id": change.event_id, "skipped": change.skip_reason}
        try:
            result = drift.handle(change)
        except Exception as exc:
            logger.error("change not handled", extra={"reason": f"{type(exc).__name__}: {exc}"})
            metrics.add_metric(name="ChangeEventsFailed", unit=MetricUnit.Count, value=1)
            raise
        metrics.add_metric(name="SubjectsQueuedForDrift", unit=MetricUnit.Count, value=result["queued"])
        logger.info("change handled", extra={"result": result})
        return result

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
