"""Noise control: the same (subject, check, status) is notified at most once per window.

State lives in the stack's DynamoDB state table (`Settings.state_table`), whose key is the
string attribute `id` and whose TTL attribute is `expiration` (epoch seconds): the same
layout as Powertools Idempotency's table, so one table serves both; our items' ids start
with "notify#" and "digest#".

- `claim` takes each notified result with a conditional put (`attribute_not_exists(id) OR
  expiration < :now`): a result whose item exists and has not expired is a repeat. The
  condition, not the TTL sweep (which can lag by a day or two), decides.
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


def notify_key(subject_arn: str, check_id: str, status: str) -> str:
    return f"notify#{subject_arn}#{check_id}#{status}"


def digest_key(subject_arn: str) -> str:
    return f"digest#{subject_arn}"


@dataclass
class Claim:
    """The outcome of `claim`: results to notify now, and repeats within the window."""

    new: list[CheckResult] = field(default_factory=list)
    repeats: list[CheckResult] = field(default_factory=list)


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

    def claim(self, subject: SubjectReport) -> Claim:
        now = int(self.clock())
        claim = Claim()
        for result in notified(subject.results):
            key = notify_key(self._arn(subject), result.check_id, result.status.value)
            try:
                self.ddb.put_item(
                    TableName=self.table,
                    Item={
                        KEY: {"S": key},
                        TTL_ATTRIBUTE: {"N": str(now + self.window)},
                        "notified_at": {"N": str(now)},
                    },
                    ConditionExpression="attribute_not_exists(#id) OR #exp < :now",
                    ExpressionAttributeNames={"#id": KEY, "#exp": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                claim.repeats.append(result)
            else:
                claim.new.append(result)
        return claim

    def record_repeats(self, subject: SubjectReport, suppressed: Sequence[Suppressed]) -> None:
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
            Key={KEY: {"S": digest_key(self._arn(subject))}},
            UpdateExpression="ADD " + ", ".join(adds) + " SET #exp = :exp",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def take_digest(self, subject: SubjectReport) -> list[Suppressed]:
        """The repeats counted since the subject's last message; the count starts over."""
        response = self.ddb.delete_item(
            TableName=self.table, Key={KEY: {"S": digest_key(self._arn(subject))}}, ReturnValues="ALL_OLD"
        )
        item = response.get("Attributes") or {}
        if int(item.get(TTL_ATTRIBUTE, {}).get("N", "0")) < int(self.clock()):
            return []  # expired but not yet swept by TTL
        out = []
        for name, value in item.items():
            if name.startswith(_REPEAT_PREFIX):
                check_id, _, status = name[len(_REPEAT_PREFIX) :].rpartition(":")
                out.append(Suppressed(check_id, status, int(value["N"])))
        return merge(out)

    def release(self, subject: SubjectReport, claim: Claim, digest: Sequence[Suppressed]) -> None:
        """Undo `claim` and `take_digest` after a message could not be delivered."""
        for result in claim.new:
            key = notify_key(self._arn(subject), result.check_id, result.status.value)
            self.ddb.delete_item(TableName=self.table, Key={KEY: {"S": key}})
        self.record_repeats(subject, digest)
