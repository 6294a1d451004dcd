"""Where audit records go besides the report: a DynamoDB table when one is configured.

Key schema (template.yaml creates it): `resource_id` (hash) and `recorded_at` (range,
ISO time plus check id, so two fixes on one resource in the same second stay apart).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .aws import AwsClients

if TYPE_CHECKING:
    from .engine import AuditRecord


class DynamoDbAuditSink:
    def __init__(self, clients: AwsClients, table_name: str):
        self.clients = clients
        self.table_name = table_name

    def put(self, record: AuditRecord) -> None:
        item = {
            "resource_id": {"S": record.resource_id},
            "recorded_at": {"S": f"{record.time}#{record.check_id}#{record.subject_arn}"},
            "check_id": {"S": record.check_id},
            "subject_arn": {"S": record.subject_arn},
            "action": {"S": record.action},
            "trigger": {"S": record.trigger},
            "dry_run": {"BOOL": record.dry_run},
            "outcome": {"S": record.outcome},
            "time": {"S": record.time},
            # Nested documents as JSON text: readable in the console, no type mapping.
            "params": {"S": json.dumps(record.params, sort_keys=True, default=str)},
            "before": {"S": json.dumps(record.before, sort_keys=True, default=str)},
            "after": {"S": json.dumps(record.after, sort_keys=True, default=str)},
        }
        self.clients.client("dynamodb").put_item(TableName=self.table_name, Item=item)


def audit_sink_for(clients: AwsClients, table_name: str | None) -> DynamoDbAuditSink | None:
    return DynamoDbAuditSink(clients, table_name) if table_name else None
