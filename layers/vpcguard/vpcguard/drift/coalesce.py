"""From a change event to one re-evaluation per affected subject and burst.

The drift function looks the change's resources up in the index, then, per affected
subject, claims its next re-evaluation with one conditional UpdateItem (the subject's
`#pending` item in the index table, `DependencyIndex.claim`):

- the first change claims it for the coalescing window (template parameter
  `DriftCoalesceSeconds`) and queues one message; every further change to anything the
  subject depends on within the window finds the claim and is coalesced into that message,
  so a Terraform apply touching 40 rules re-evaluates each dependent subject once, not 40
  times. The window starts at the subject's first change, so a burst is never split by a
  clock boundary;
- the re-evaluation queue (SQS FIFO) delays every message by the same window, so the one
  evaluation sees the state after the burst, not the middle of it;
- `MessageGroupId` is the subject (two evaluations of one subject never run at once) and
  `MessageDeduplicationId` the subject and its claim, so a retried send is not queued twice.

Within one invocation the same lookups are not repeated, and a warm instance remembers the
claims it saw (its own, and the pending ones a refused claim returns), so a batch of ten
changes to one group costs one Query, at most one claim per subject and one SendMessageBatch,
and the burst's later batches no claim at all.

The message is a `vpcguard.drift` event (`events.parse_event` reads it) that the inspect
function evaluates like any other: fixes, audit records and findings name the change event
and who made it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..aws import AwsClients
from ..events import DRIFT_DETAIL_TYPE, DRIFT_SOURCE
from .changes import ChangeEvent
from .index import DependencyIndex, IndexedSubject

SQS_BATCH = 10
SEND_ATTEMPTS = 3
MAX_WINDOW_SECONDS = 900  # SQS's longest delivery delay


class QueueError(RuntimeError):
    """Re-evaluations could not be queued (the record fails and is retried)."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def reevaluation_event(subject: IndexedSubject, change: ChangeEvent, until: int) -> dict[str, Any]:
    """The message body: an EventBridge-shaped `vpcguard.drift` event. Its id (the inspect
    function's idempotency key) is the change event and the subject, so a redelivered change
    is evaluated once per subject."""
    # The subject's own account and region (its ARN), not the change's: IAM's events are
    # recorded in us-east-1 whatever the region of the models that use the role.
    parts = subject.arn.split(":")
    region, account = (parts[3], parts[4]) if len(parts) > 5 else (change.region, change.account)
    return {
        "version": "0",
        "id": f"drift-{change.event_id}-{_digest(subject.arn)[:16]}",
        "detail-type": DRIFT_DETAIL_TYPE,
        "source": DRIFT_SOURCE,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [subject.arn],
        "detail": {"type": subject.type, "name": subject.arn, "until": until, "change": change.summary()},
    }


def send_entry(subject: IndexedSubject, change: ChangeEvent, until: int, entry_id: str) -> dict[str, Any]:
    key = _digest(subject.arn)
    return {
        "Id": entry_id,
        "MessageBody": json.dumps(reevaluation_event(subject, change, until), sort_keys=True),
        "MessageGroupId": key[:64],
        "MessageDeduplicationId": f"{key[:64]}-{until}",
    }


@dataclass
class DriftPlanner:
    """One per invocation of the drift function."""

    clients: AwsClients
    index: DependencyIndex
    queue_url: str
    window_seconds: int
    # Subject ARN -> (end of its pending window, the change that claimed it). The drift
    # function passes one dict per warm instance, so the claims of a burst's later batches
    # cost no call; what is known to be pending is pending (the message is already queued).
    pending: dict[str, tuple[int, str]] = field(default_factory=dict)
    _affected: dict[str, list[IndexedSubject]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"the coalescing window must be 1 to {MAX_WINDOW_SECONDS} seconds")

    def affected(self, change: ChangeEvent) -> dict[str, IndexedSubject]:
        subjects: dict[str, IndexedSubject] = {}
        for key in change.resource_keys:
            if key not in self._affected:
                self._affected[key] = self.index.affected(key)
            for subject in self._affected[key]:
                subjects[subject.arn] = subject
        return subjects

    def handle(self, change: ChangeEvent) -> dict[str, Any]:
        """Queue a re-evaluation of every subject that depends on what `change` changed,
        unless one is already pending for it."""
        subjects = self.affected(change)
        now = int(time.time())
        entries: list[dict[str, Any]] = []
        claims: dict[str, tuple[int, str]] = {}
        coalesced = 0
        for arn, subject in sorted(subjects.items()):
            known = self.pending.get(arn)
            if known and known[0] > now and known[1] != change.event_id:
                coalesced += 1
                continue
            claim = self.index.claim(arn, event_id=change.event_id, seconds=self.window_seconds)
            if claim.until is not None and claim.event_id:
                claims[arn] = (claim.until, claim.event_id)
            if claim.claimed:
                entries.append(send_entry(subject, change, claim.until or now, str(len(entries))))
            else:
                coalesced += 1
        for start in range(0, len(entries), SQS_BATCH):
            self._send(entries[start : start + SQS_BATCH])
        # Only once sent: a failed send is retried with the record, and may claim again.
        self.pending.update(claims)
        return {
            "event_id": change.event_id,
            "event_name": change.event_name,
            "resources": list(change.resource_keys),
            "affected": sorted(subjects),
            "queued": len(entries),
            "coalesced": coalesced,
        }

    def _send(self, entries: list[dict[str, Any]]) -> None:
        sqs = self.clients.client("sqs")
        pending = entries
        for _ in range(SEND_ATTEMPTS):
            response = sqs.send_message_batch(QueueUrl=self.queue_url, Entries=pending)
            failed = {f["Id"]: f for f in response.get("Failed", [])}
            if not failed:
                return
            sender_faults = [f for f in failed.values() if f.get("SenderFault")]
            if sender_faults:
                raise QueueError(f"the re-evaluation queue refused messages: {sender_faults}")
            pending = [e for e in pending if e["Id"] in failed]
        raise QueueError(f"{len(pending)} re-evaluation(s) not queued after {SEND_ATTEMPTS} attempts")
