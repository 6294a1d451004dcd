"""Where audit records go besides the report: a DynamoDB table when one is configured.

Key schema (template.yaml creates it): `resource_id` (hash) and `recorded_at` (range:
the ISO time, check id and subject, so two fixes on one resource in the same second stay
apart). Every other record field is stored as a native attribute (maps for before/after).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aws import AwsClients

if TYPE_CHECKING:
    from .engine import AuditRecord


class DynamoDbAuditSink:
    def __init__(self, clients: AwsClients, table_name: str):
        self.clients = clients
        self.table_name = table_name

    def put(self, record: AuditRecord) -> None:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        fields = _dynamo_safe(record.model_dump(mode="json"))
        fields["recorded_at"] = f"{record.time}#{record.check_id}#{record.subject_arn}"
        item = {key: serializer.serialize(value) for key, value in fields.items()}
        self.clients.client("dynamodb").put_item(TableName=self.table_name, Item=item)


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
