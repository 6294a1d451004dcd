"""The dependency index: which subjects depend on which resources (DynamoDB).

Table (template.yaml `DependencyIndexTable`):

| item | `subject` (hash) | `dependency` (range) | other attributes |
|---|---|---|---|
| one per dependency | subject ARN | resource key | `resource_id` (= the key; the GSI's hash), `subject_type`, `subject_name`, `expires_at` |
| one manifest per subject | subject ARN | `#manifest` | `digest`, `resources` (list), `subject_type`, `subject_name`, `expires_at` |
| a pending re-evaluation | subject ARN | `#pending` | `until_at`, `event_id` (the change that queued it), `expires_at` |

GSI `by-resource`: hash `resource_id`, range `subject`, projecting the subject's type and
name; sparse (the manifest has no `resource_id`), so a change event finds the affected
subjects with one Query.

Writing (`record`, at every evaluation) costs one GetItem of the manifest, and nothing more
when the dependency set is unchanged and its expiry is not yet due for a refresh; otherwise
one BatchWriteItem (25 items per call): every dependency item with a new expiry, deletes for
the ones the subject no longer has, and the manifest last. `expires_at` is DynamoDB TTL: a
subject nobody evaluates any more (deleted without an event, an old job) drops out on its
own; a subject found deleted is removed at once. Reads ignore expired items that TTL has not
yet swept.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..aws import AwsClients
from ..facts import Snapshot
from ..model import Subject
from .resources import dependencies, subject_key

log = logging.getLogger(__name__)

MANIFEST = "#manifest"
PENDING = "#pending"  # a subject's re-evaluation is queued until `until_at` (coalescing)
GSI_NAME = "by-resource"
DEFAULT_TTL_SECONDS = 7 * 86400
BATCH_WRITE_LIMIT = 25
UNPROCESSED_ATTEMPTS = 5
# The resolver's wording for a subject that no longer exists (subjects.SubjectResolver).
NOT_FOUND_MARK = " not found in "


class DependencyIndexError(RuntimeError):
    """The index could not be read or written (the caller must not treat it as "nothing")."""


@dataclass(frozen=True)
class PendingClaim:
    claimed: bool
    until: int | None  # when the pending re-evaluation's window ends (None: not known)
    event_id: str | None  # the change event that claimed it


@dataclass(frozen=True)
class IndexedSubject:
    type: str  # "model" | "transform_job"
    arn: str
    name: str


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def dependency_digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


class DependencyIndex:
    """The engine's `index_sink` (`record`) and the drift function's lookup (`affected`)."""

    def __init__(self, clients: AwsClients, table_name: str, ttl_seconds: int = DEFAULT_TTL_SECONDS):
        if ttl_seconds < 3600:
            raise ValueError("the dependency index TTL must be at least an hour")
        self.clients = clients
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds

    @property
    def _dynamodb(self) -> Any:
        return self.clients.client("dynamodb")

    # --- reading ------------------------------------------------------------------------

    def affected(self, key: str) -> list[IndexedSubject]:
        """The subjects that depend on resource `key`: one Query (more pages only past 1 MB).
        Errors propagate: an unreachable index is never "no subject"."""
        now = int(time.time())
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": GSI_NAME,
            "KeyConditionExpression": "resource_id = :key",
            "ExpressionAttributeValues": {":key": _s(key)},
        }
        out: dict[str, IndexedSubject] = {}
        while True:
            page = self._dynamodb.query(**request)
            for item in page.get("Items", []):
                if int(item.get("expires_at", {}).get("N", "0")) <= now:
                    continue  # expired; TTL deletes it within days
                arn = item["subject"]["S"]
                out[arn] = IndexedSubject(
                    type=item.get("subject_type", {}).get("S", "model"),
                    arn=arn,
                    name=item.get("subject_name", {}).get("S", arn.rsplit("/", 1)[-1]),
                )
            if "LastEvaluatedKey" not in page:
                return list(out.values())
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def manifest(self, subject_arn: str) -> dict[str, Any] | None:
        item = self._dynamodb.get_item(
            TableName=self.table_name,
            Key={"subject": _s(subject_arn), "dependency": _s(MANIFEST)},
            ConsistentRead=True,
        ).get("Item")
        return item

    # --- coalescing ---------------------------------------------------------------------

    def claim(self, subject_arn: str, *, event_id: str, seconds: int) -> PendingClaim:
        """Claim the subject's next re-evaluation for `seconds` (one conditional UpdateItem
        of its `#pending` item). `claimed` says whether this change claimed it; if not, a
        re-evaluation is already pending until `until` (this change is coalesced into it).
        The same change event may claim again (a retried record), so a failed send is
        never coalesced away."""
        now = int(time.time())
        until = now + seconds
        try:
            self._dynamodb.update_item(
                TableName=self.table_name,
                Key={"subject": _s(subject_arn), "dependency": _s(PENDING)},
                UpdateExpression="SET until_at = :until, event_id = :event, expires_at = :expires",
                ConditionExpression="attribute_not_exists(until_at) OR until_at <= :now OR event_id = :event",
                ExpressionAttributeValues={
                    ":until": _n(until),
                    ":now": _n(now),
                    ":event": _s(event_id),
                    ":expires": _n(until + 3600),
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            response = getattr(exc, "response", {})
            if response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = response.get("Item") or {}
            return PendingClaim(
                claimed=False,
                until=int(item["until_at"]["N"]) if "until_at" in item else None,
                event_id=item.get("event_id", {}).get("S"),
            )
        return PendingClaim(claimed=True, until=until, event_id=event_id)

    # --- writing ------------------------------------------------------------------------

    def record(self, subject: Subject, snapshot: Snapshot | None) -> str:
        """Write what `subject` depends on after an evaluation. Returns what was done:
        "written", "unchanged", "removed" or "skipped" (with the reason)."""
        arn = subject_key(subject)
        if arn is None or subject.preflight:
            return "skipped: not a subject in AWS"
        if subject.error:
            if NOT_FOUND_MARK in subject.error:
                return self.remove(arn)
            return "skipped: the subject could not be read"  # keep what was known
        if snapshot is None:
            return "skipped: no facts"
        keys = dependencies(snapshot)
        digest = dependency_digest(keys)
        now = int(time.time())
        old = self.manifest(arn)
        if old is not None:
            old_digest = old.get("digest", {}).get("S")
            old_expiry = int(old.get("expires_at", {}).get("N", "0"))
            if old_digest == digest and old_expiry - now > self.ttl_seconds // 2:
                return "unchanged"
        old_keys = {v["S"] for v in (old or {}).get("resources", {}).get("L", [])}
        expires = now + self.ttl_seconds
        common = {
            "subject": _s(arn),
            "subject_type": _s(subject.type),
            "subject_name": _s(subject.name),
            "expires_at": _n(expires),
        }
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": {**common, "dependency": _s(key), "resource_id": _s(key)}}}
            for key in sorted(keys)
        ]
        requests += [
            {"DeleteRequest": {"Key": {"subject": _s(arn), "dependency": _s(key)}}}
            for key in sorted(old_keys - keys)
        ]
        manifest = {
            **common,
            "dependency": _s(MANIFEST),
            "digest": _s(digest),
            "resources": {"L": [_s(k) for k in sorted(keys)]},
        }
        self._batch_write(requests, manifest={"PutRequest": {"Item": manifest}})
        return "written"

    def remove(self, subject_arn: str) -> str:
        """Forget a subject that no longer exists: its manifest names its items."""
        old = self.manifest(subject_arn)
        if old is None:
            return "unchanged"
        keys = [v["S"] for v in old.get("resources", {}).get("L", [])]
        requests = [
            {"DeleteRequest": {"Key": {"subject": _s(subject_arn), "dependency": _s(k)}}} for k in keys
        ]
        self._batch_write(
            requests,
            manifest={"DeleteRequest": {"Key": {"subject": _s(subject_arn), "dependency": _s(MANIFEST)}}},
        )
        return "removed"

    def _batch_write(self, requests: list[dict[str, Any]], *, manifest: Mapping[str, Any]) -> None:
        """BatchWriteItem in chunks of 25, the manifest in the last chunk; unprocessed items
        are sent again with a short backoff. What is still unprocessed raises, and the
        manifest is then removed so the next evaluation writes the whole set again."""
        requests = [*requests, dict(manifest)]
        chunks = [requests[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(requests), BATCH_WRITE_LIMIT)]
        for chunk in chunks:
            pending: list[dict[str, Any]] = chunk
            for attempt in range(UNPROCESSED_ATTEMPTS):
                response = self._dynamodb.batch_write_item(RequestItems={self.table_name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            if pending:
                subject = next(iter(manifest.values()))
                subject_arn = (subject.get("Item") or subject.get("Key"))["subject"]["S"]
                try:
                    self._dynamodb.delete_item(
                        TableName=self.table_name,
                        Key={"subject": _s(subject_arn), "dependency": _s(MANIFEST)},
                    )
                except Exception as exc:  # the write already failed; say so below
                    log.error("could not reset the index manifest of %s: %s", subject_arn, exc)
                raise DependencyIndexError(
                    f"dependency index {self.table_name}: {len(pending)} item(s) of {subject_arn} "
                    f"not written after {UNPROCESSED_ATTEMPTS} attempts"
                )
