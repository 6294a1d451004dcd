"""Noise control: the same (subject, check, status) is notified at most once per window.

State lives in the stack's DynamoDB state table (`Settings.state_table`), whose key is the
string attribute `id` and whose TTL attribute is `expiration` (epoch seconds): the same
layout as Powertools Idempotency's table, so one table serves both; our items' ids start
with "notify#" and "digest#".

- Each people channel (Slack, Chatbot) has its own claims and digest, so a channel that
  failed is retried alone and the others do not post twice.
- `claim` takes each notified result with a conditional put (`attribute_not_exists(id) OR
  expiration < :now`): a result whose item exists and has not expired is a repeat. The
  condition, not the TTL sweep (which can lag by a day or two), decides.
- A claim is *pending* until the message is delivered: it expires after `PENDING_SECONDS`,
  and `confirm` extends it to the dedup window only after the channel accepted the
  message. A Lambda killed mid-send (timeout) leaves a pending claim that has expired by
  the time SQS delivers the record again (the queue's visibility timeout is longer), so
  the redelivery notifies instead of being dropped as "nothing new".
- A claim names the delivery (the SQS message id) that took it: the redelivery of a
  message one channel already sent is "already sent" there, neither re-posted nor counted
  as a repeat.
- Repeats that are not sent are counted on the subject's digest item; the next message
  sent for that subject takes the digest (DeleteItem ALL_OLD) and shows it.
- If that message then cannot be delivered, `release` gives the claims and the digest
  back, so the retry of the SQS record notifies again: noise control never loses one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ..engine import CheckResult, SubjectReport
from .slack import Suppressed
from .subject import notified

log = logging.getLogger(__name__)

KEY = "id"
TTL_ATTRIBUTE = "expiration"
_REPEAT_PREFIX = "r:"  # digest item attribute: r:<check_id>:<STATUS> -> count
SLACK = "slack"
CHATBOT = "chatbot"
# How long a claim holds while its message is being sent. Longer than the notify function's
# timeout (a live send keeps it), shorter than the notify queue's visibility timeout (a
# killed send has let go of it before SQS delivers the record again); template.yaml is
# tested against both.
PENDING_SECONDS = 300
PENDING = "pending"
SENT = "sent"


def notify_key(subject_arn: str, check_id: str, status: str, channel: str = SLACK) -> str:
    # Slack's keys keep the layout they had before channels had their own claims, so the
    # claims in a deployed table stay valid across the upgrade.
    if channel == SLACK:
        return f"notify#{subject_arn}#{check_id}#{status}"
    return f"notify#{channel}#{subject_arn}#{check_id}#{status}"


def digest_key(subject_arn: str, channel: str = SLACK) -> str:
    return f"digest#{subject_arn}" if channel == SLACK else f"digest#{channel}#{subject_arn}"


@dataclass
class Claim:
    """The outcome of `claim`: results to notify now, repeats within the window, and results
    this very delivery already sent on the channel (a redelivered SQS record)."""

    new: list[CheckResult] = field(default_factory=list)
    repeats: list[CheckResult] = field(default_factory=list)
    already_sent: list[CheckResult] = field(default_factory=list)


def repeats_as_suppressed(results: Iterable[CheckResult]) -> list[Suppressed]:
    return [Suppressed(r.check_id, r.status.value, 1) for r in results]


def merge(*groups: Iterable[Suppressed]) -> list[Suppressed]:
    counts: dict[tuple[str, str], int] = {}
    for group in groups:
        for s in group:
            counts[(s.check_id, s.status)] = counts.get((s.check_id, s.status), 0) + s.count
    return [Suppressed(c, st, n) for (c, st), n in sorted(counts.items())]


class Deduper:
    def __init__(
        self,
        dynamodb_client: Any,
        table: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ddb = dynamodb_client
        self.table = table
        self.window = int(window_seconds)
        self.clock = clock

    def _arn(self, subject: SubjectReport) -> str:
        return subject.arn or f"{subject.account}:{subject.region}:{subject.type}/{subject.name}"

    def claim(self, subject: SubjectReport, channel: str = SLACK, delivery: str | None = None) -> Claim:
        """Pending claims on `channel` for the subject's notified results; `delivery` (the SQS
        message id) recognises a redelivery of a message this channel already sent."""
        now = int(self.clock())
        claim = Claim()
        for result in notified(subject.results):
            key = notify_key(self._arn(subject), result.check_id, result.status.value, channel)
            item = {
                KEY: {"S": key},
                TTL_ATTRIBUTE: {"N": str(now + min(PENDING_SECONDS, self.window))},
                "notified_at": {"N": str(now)},
                "state": {"S": PENDING},
            }
            if delivery:
                item["delivery"] = {"S": delivery}
            try:
                self.ddb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#id) OR #exp < :now",
                    ExpressionAttributeNames={"#id": KEY, "#exp": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                held = exc.response.get("Item") or {}
                if delivery and held.get("delivery", {}).get("S") == delivery and _state(held) == SENT:
                    claim.already_sent.append(result)
                else:
                    claim.repeats.append(result)
            else:
                claim.new.append(result)
        return claim

    def confirm(self, subject: SubjectReport, claim: Claim, channel: str = SLACK) -> None:
        """The channel accepted the message: the claims hold for the whole dedup window."""
        now = int(self.clock())
        for result in claim.new:
            key = notify_key(self._arn(subject), result.check_id, result.status.value, channel)
            self.ddb.update_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                UpdateExpression="SET #exp = :exp, #state = :sent",
                ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE, "#state": "state"},
                ExpressionAttributeValues={":exp": {"N": str(now + self.window)}, ":sent": {"S": SENT}},
            )

    def record_repeats(
        self, subject: SubjectReport, suppressed: Sequence[Suppressed], channel: str = SLACK
    ) -> None:
        """Count repeats that were not sent, for the subject's next message."""
        if not suppressed:
            return
        names: dict[str, str] = {"#exp": TTL_ATTRIBUTE}
        values: dict[str, Any] = {":exp": {"N": str(int(self.clock()) + 2 * self.window)}}
        adds = []
        for i, s in enumerate(suppressed):
            names[f"#r{i}"] = f"{_REPEAT_PREFIX}{s.check_id}:{s.status}"
            values[f":n{i}"] = {"N": str(s.count)}
            adds.append(f"#r{i} :n{i}")
        self.ddb.update_item(
            TableName=self.table,
            Key={KEY: {"S": digest_key(self._arn(subject), channel)}},
            UpdateExpression="ADD " + ", ".join(adds) + " SET #exp = :exp",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def take_digest(self, subject: SubjectReport, channel: str = SLACK) -> list[Suppressed]:
        """The repeats counted since the subject's last message; the count starts over."""
        key = digest_key(self._arn(subject), channel)
        response = self.ddb.delete_item(TableName=self.table, Key={KEY: {"S": key}}, ReturnValues="ALL_OLD")
        item = response.get("Attributes") or {}
        if int(item.get(TTL_ATTRIBUTE, {}).get("N", "0")) < int(self.clock()):
            return []  # expired but not yet swept by TTL
        out = []
        for name, value in item.items():
            if name.startswith(_REPEAT_PREFIX):
                check_id, _, status = name[len(_REPEAT_PREFIX) :].rpartition(":")
                out.append(Suppressed(check_id, status, int(value["N"])))
        return merge(out)

    def release(
        self, subject: SubjectReport, claim: Claim, digest: Sequence[Suppressed], channel: str = SLACK
    ) -> None:
        """Undo `claim` and `take_digest` after a message could not be delivered."""
        for result in claim.new:
            key = notify_key(self._arn(subject), result.check_id, result.status.value, channel)
            self.ddb.delete_item(TableName=self.table, Key={KEY: {"S": key}})
        self.record_repeats(subject, digest, channel)


def _state(item: dict[str, Any]) -> str:
    # Items written before claims had states were written when their message was sent.
    return item.get("state", {}).get("S", SENT)
