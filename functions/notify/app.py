"""notify Lambda: SQS batch (the findings topic's subscription) -> Security Hub, Slack, Chatbot.

Each record is one subject object (the SNS message body), wrapped in the SNS envelope, or
bare with raw message delivery. A record that fails (Slack down after retries, a bad
body, Security Hub refusing) is reported in `batchItemFailures`: SQS delivers it again and,
after maxReceiveCount, moves it to the DLQ. Nothing is dropped.

The channels are independent (one failing does not stop the others; its retry repeats only
it), Slack retries stop when the function's time is short, and every failed record gets an
ERROR line with its message id. Webhook URLs are credentials: every log line is redacted
(vpcguard.notify.redaction) and the AWS SDK's loggers stay at WARNING.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from vpcguard.aws import AwsClients
from vpcguard.notify import redaction
from vpcguard.notify.notifier import Notifier
from vpcguard.notify.subject import change_from_sqs_body, subject_from_sqs_record
from vpcguard.settings import Settings

logger = Logger(service="vpcguard-notify")
redaction.install([logger])
# A batch whose every record failed is still answered with batchItemFailures (not an
# exception), so SQS redelivers exactly those records and the DLQ catches them.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Built once per cold start: clients, and the webhook secrets' cache, live across invocations.
_notifier: Notifier | None = None


def get_notifier() -> Notifier:
    global _notifier
    if _notifier is None:
        clients = AwsClients(region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
        _notifier = Notifier(Settings.from_env(), clients)
    return _notifier


def record_handler(record: SQSRecord, lambda_context: Any = None) -> dict[str, Any]:
    """One record; the batch processor passes the Lambda context (for its remaining time)."""
    try:
        # With raw message delivery, SNS's message attributes (the actor) arrive as SQS ones.
        subject = subject_from_sqs_record(record.body, record.raw_event.get("messageAttributes"))
        remaining = None
        if hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda: lambda_context.get_remaining_time_in_millis() / 1000  # noqa: E731
        outcome = get_notifier().notify(
            subject,
            delivery=record.message_id,
            remaining_seconds=remaining,
            change=change_from_sqs_body(record.body),
        )
    except Exception as exc:
        # The batch processor logs failures only at DEBUG: without this line a record would
        # reach the DLQ unexplained.
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        logger.error("record failed", extra={"message_id": record.message_id, "reason": reason})
        raise
    logger.info(
        "subject notified",
        extra={
            "message_id": record.message_id,
            "subject": outcome.subject,
            "slack": outcome.slack,
            "chatbot": outcome.chatbot,
            "notified": outcome.notified,
            "suppressed": sum(s.count for s in outcome.suppressed),
            "security_hub_imported": len(outcome.security_hub.imported) if outcome.security_hub else 0,
        },
    )
    return {"subject": outcome.subject, "slack": outcome.slack}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    redaction.install([logger])  # handlers added since import (the runtime's, a test's) too
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
