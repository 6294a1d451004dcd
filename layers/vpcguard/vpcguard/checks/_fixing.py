"""Small pieces the fixes share: how a created resource says who made it, and how a
write that AWS answered with "not done" becomes an error the engine records.

The module name starts with `_`, so the check loader does not take it for a check.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

MANAGED_TAG = "vpcguard:managed"
CREATED_BY_TAG = "vpcguard:created-by"


def managed_tags(check_id: str) -> dict[str, str]:
    """Tags on everything a fix creates, so a person can tell this service made it and why."""
    return {MANAGED_TAG: "true", CREATED_BY_TAG: f"vpcguard {check_id} fix"}


def tag_specifications(resource_type: str, check_id: str) -> list[dict[str, Any]]:
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": k, "Value": v} for k, v in managed_tags(check_id).items()],
        }
    ]


def write_refused(operation: str, code: str, message: str) -> ClientError:
    """A ClientError for a write AWS answered without raising (e.g. an `Unsuccessful`
    item, `Return: false`), so the engine records it as a failed fix like any other."""
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
