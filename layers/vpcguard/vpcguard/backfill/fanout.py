"""Fan-out: the backfill Lambda puts one work-queue message per subject on the queue."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsClients, describe_error, raise_if_setup_error
from ..events import BACKFILL_DETAIL_TYPE, BACKFILL_SOURCE
from .listing import AccountListing

log = logging.getLogger(__name__)

T = TypeVar("T")

# SendMessageBatch takes at most 10 entries.
SQS_BATCH = 10
# Entries SQS refused for a reason of its own (SenderFault false: throttled, internal
# error) are sent again this many times before they count as failed.
QUEUE_ATTEMPTS = 3


@dataclass
class QueueResult:
    """What `queue_subjects` put on the work queue, and what it could not."""

    models: int = 0
    transform_jobs: int = 0
    failed: int = 0
    # One line per failed subject: "<type> <name>: <reason>".
    failures: list[str] = field(default_factory=list)

    def response(self) -> dict[str, Any]:
        """The backfill Lambda's answer."""
        return {
            "queued": {"models": self.models, "transform_jobs": self.transform_jobs},
            "failed": self.failed,
        }


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backfill_messages(
    listing: AccountListing, *, backfill_id: str, region: str = "", account: str = ""
) -> list[dict[str, Any]]:
    """One work-queue message per subject, in the "vpcguard backfill" shape that
    `events.parse_event` reads (an EventBridge-like envelope, so the work queue carries
    one kind of body). Every message has its own id: it is the inspect function's
    idempotency key, so a second backfill evaluates again while a redelivery does not."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    subjects = [("model", n) for n in listing.models] + [("transform_job", n) for n in listing.transform_jobs]
    return [
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": BACKFILL_DETAIL_TYPE,
            "source": BACKFILL_SOURCE,
            # A member account's subject names its account: the inspect function evaluates
            # it there, through the member role.
            "account": account,
            "time": now,
            "region": region,
            "resources": [],
            "detail": {"type": kind, "name": name, "backfill_id": backfill_id},
        }
        for kind, name in subjects
    ]


def queue_subjects(
    clients: AwsClients,
    queue_url: str,
    listing: AccountListing,
    *,
    backfill_id: str | None = None,
    account: str = "",
    region: str | None = None,
) -> QueueResult:
    """Put every subject of `listing` on the work queue, 10 per SendMessageBatch.

    Entries SQS did not take are sent again (QUEUE_ATTEMPTS in all) unless SQS says the
    entry itself is at fault; whatever is still not taken is counted, never dropped
    silently."""
    backfill_id = backfill_id or str(uuid.uuid4())
    sqs = clients.client("sqs")
    result = QueueResult()
    messages = backfill_messages(
        listing, backfill_id=backfill_id, region=region or clients.region or "", account=account
    )

    def queued(message: dict[str, Any]) -> None:
        if message["detail"]["type"] == "model":
            result.models += 1
        else:
            result.transform_jobs += 1

    def failed(message: dict[str, Any], reason: str) -> None:
        result.failed += 1
        result.failures.append(f"{message['detail']['type']} {message['detail']['name']}: {reason}")

    for batch in _chunks(messages, SQS_BATCH):
        pending = {str(i): m for i, m in enumerate(batch)}
        reasons: dict[str, str] = {}
        for _attempt in range(QUEUE_ATTEMPTS):
            entries = [{"Id": i, "MessageBody": json.dumps(m)} for i, m in pending.items()]
            try:
                answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                # botocore has already retried the call; the loop gives the batch another round.
                raise_if_setup_error(exc)
                reasons = dict.fromkeys(pending, describe_error(exc, "sqs:SendMessageBatch"))
                continue
            for ok in answer.get("Successful", []):
                queued(pending.pop(ok["Id"]))
            for refused in answer.get("Failed", []):
                reason = f"{refused.get('Code', 'refused')}: {refused.get('Message', '')}".rstrip(": ")
                if refused.get("SenderFault"):  # the entry itself is wrong: sending it again cannot help
                    failed(pending.pop(refused["Id"]), reason)
                else:
                    reasons[refused["Id"]] = reason
            if not pending:
                break
        for entry_id, message in pending.items():
            failed(message, reasons.get(entry_id, "not accepted") + f" (after {QUEUE_ATTEMPTS} attempts)")
    if result.failed:
        log.warning("%d subject(s) not queued: %s", result.failed, "; ".join(result.failures[:5]))
    return result
