"""Where audit records go besides the report: a DynamoDB table when one is configured.

Key schema (template.yaml creates it): `resource_id` (hash) and `recorded_at` (range: the
ISO time, check id, subject and the record's own id, so every change has its own item even
when two runs change one resource in the same second). Every other record field is stored as
a native attribute (maps for before/after).

A change is recorded twice on one item: the intent, written before the change with a
conditional put (it never overwrites another record), and the outcome, written after it
onto that same item. If the intent cannot be written, the engine makes no change and raises
`AuditWriteError`: the CLI exits 2, the inspect function fails the record (SQS retries it)
and can count the failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aws import AwsClients

if TYPE_CHECKING:
    from .engine import AuditRecord


class AuditWriteError(RuntimeError):
    """An audit record could not be written, so the change it was for was not made."""


class DynamoDbAuditSink:
    def __init__(self, clients: AwsClients, table_name: str):
        self.clients = clients
        self.table_name = table_name

    def put(self, record: AuditRecord) -> None:
        """A new record (an intent, or a dry run's would-apply); never overwrites one."""
        self.clients.client("dynamodb").put_item(
            TableName=self.table_name,
            Item=self._item(record),
            ConditionExpression="attribute_not_exists(recorded_at)",
        )

    def complete(self, record: AuditRecord) -> None:
        """The outcome onto the record's own intent item (which must exist)."""
        self.clients.client("dynamodb").put_item(
            TableName=self.table_name,
            Item=self._item(record),
            ConditionExpression="attribute_exists(recorded_at)",
        )

    @staticmethod
    def _item(record: AuditRecord) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        fields = _dynamo_safe(record.model_dump(mode="json"))
        fields["recorded_at"] = sort_key(record)
        return {key: serializer.serialize(value) for key, value in fields.items()}


def sort_key(record: AuditRecord) -> str:
    return f"{record.time}#{record.check_id}#{record.subject_arn}#{record.record_id}"


def _dynamo_safe(value: Any) -> Any:
    """boto3's serializer has no float: store non-integer numbers as text."""
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_safe(v) for v in value]
    if isinstance(value, float):
        return str(value)
    return value


def audit_sink_for(clients: AwsClients, table_name: str | None) -> DynamoDbAuditSink | None:
    return DynamoDbAuditSink(clients, table_name) if table_name else None
