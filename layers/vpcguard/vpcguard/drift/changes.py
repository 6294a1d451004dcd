"""What a CloudTrail change event changed, and who changed it.

The drift rules in template.yaml deliver `AWS API Call via CloudTrail` events from EC2, S3
and IAM for the calls below. CloudTrail writes most EC2 request parameters in lower camel
case at the top level (`groupId`), but the newer EC2 APIs wrap them in an
`<Action>Request` object with upper camel case keys, and lists as `{"content": ...}` items
(`{"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": "vpce-..."}}}`);
both shapes are read.

`parse_change_event` returns a `ChangeEvent` naming the resource keys to look up in the
index (one per resource the call changed: usually one), or a skip with its reason (a failed
call changed nothing). Anything else raises ValueError: the record is a poison message and
goes to the drift dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import CLOUDTRAIL_DETAIL_TYPE, CLOUDTRAIL_FIELDS, ENVELOPE_FIELDS, _validate
from .resources import EC2_PREFIXES, bucket_key, resource_key, role_key

EC2 = "ec2.amazonaws.com"
S3 = "s3.amazonaws.com"
IAM = "iam.amazonaws.com"

# event name -> (event source, the request fields naming what changed). Only the resource
# whose state the subject reads is named: AssociateRouteTable changes which table is
# effective for the subnet (the subnet is the key), a route change changes the table.
CHANGE_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "RevokeSecurityGroupIngress": (EC2, ("groupId",)),
    "RevokeSecurityGroupEgress": (EC2, ("groupId",)),
    "ModifySecurityGroupRules": (EC2, ("groupId",)),
    "ModifyVpcEndpoint": (EC2, ("vpcEndpointId",)),
    "DeleteVpcEndpoints": (EC2, ("vpcEndpointId",)),
    "DeleteFlowLogs": (EC2, ("flowLogId",)),
    "CreateRoute": (EC2, ("routeTableId",)),
    "ReplaceRoute": (EC2, ("routeTableId",)),
    "DeleteRoute": (EC2, ("routeTableId",)),
    "ReplaceRouteTableAssociation": (EC2, ("associationId",)),
    "AssociateRouteTable": (EC2, ("subnetId",)),
    "DisassociateRouteTable": (EC2, ("associationId",)),
    "ModifyVpcAttribute": (EC2, ("vpcId",)),
    "DeleteSubnet": (EC2, ("subnetId",)),
    "PutBucketPolicy": (S3, ("bucketName",)),
    "DeleteBucketPolicy": (S3, ("bucketName",)),
    "DetachRolePolicy": (IAM, ("roleName",)),
    "DeleteRolePolicy": (IAM, ("roleName",)),
    "PutRolePolicy": (IAM, ("roleName",)),
    "PutRolePermissionsBoundary": (IAM, ("roleName",)),
}
EVENT_SOURCES = {EC2: "aws.ec2", S3: "aws.s3", IAM: "aws.iam"}


@dataclass(frozen=True, kw_only=True)
class ChangeEvent:
    """One change to a resource subjects may depend on."""

    event_id: str  # CloudTrail's eventID
    event_name: str
    event_source: str
    actor: str  # userIdentity: the caller's ARN, else the invoking service or principal id
    account: str
    region: str
    time: str
    resource_keys: tuple[str, ...] = ()
    skip_reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def skip(self) -> bool:
        return self.skip_reason is not None

    def summary(self) -> dict[str, Any]:
        """What a re-evaluation carries of its cause (audit trigger, findings message)."""
        return {
            "event_id": self.event_id,
            "event_name": self.event_name,
            "event_source": self.event_source,
            "actor": self.actor,
            "time": self.time,
            "resources": list(self.resource_keys),
        }


def parse_change_event(event: str | bytes | Mapping[str, Any]) -> ChangeEvent:
    if isinstance(event, str | bytes):
        try:
            event = json.loads(event)
        except json.JSONDecodeError as exc:
            raise ValueError(f"message body is not JSON: {exc}") from None
    if not isinstance(event, Mapping):
        raise ValueError(f"message body is a JSON {type(event).__name__}, not an EventBridge event object")
    envelope = _validate(ENVELOPE_FIELDS, event, "EventBridge event")
    if envelope["detail-type"] != CLOUDTRAIL_DETAIL_TYPE:
        raise ValueError(f"detail-type {envelope['detail-type']!r} is not a CloudTrail API call")
    detail = _validate(CLOUDTRAIL_FIELDS, envelope["detail"], "CloudTrail event detail")
    caller = detail["userIdentity"] or {}
    name, source = detail["eventName"], detail["eventSource"]
    base = dict(
        event_id=detail["eventID"],
        event_name=name,
        event_source=source,
        actor=caller.get("arn") or caller.get("invokedBy") or caller.get("principalId") or "unknown",
        account=_account(envelope, detail),
        region=detail["awsRegion"] or envelope["region"],
        time=str(envelope["detail"].get("eventTime") or envelope["time"]),
    )
    known = CHANGE_EVENTS.get(name)
    if known is None or known[0] != source:
        return ChangeEvent(**base, skip_reason=f"{source} {name} is not a change vpcguard follows")
    if detail["errorCode"]:
        return ChangeEvent(**base, skip_reason=f"{name} failed with {detail['errorCode']}: nothing changed")
    request = detail["requestParameters"]
    if not isinstance(request, Mapping):
        raise ValueError(f"{name} event {base['event_id']} has no requestParameters")
    found: list[str] = []
    for wanted in known[1]:
        found += _values(request, wanted)
    if not found:
        raise ValueError(
            f"{name} event {base['event_id']} names no {' or '.join(known[1])} in its requestParameters"
        )
    keys = [_key(source, value, base["account"]) for value in found]
    return ChangeEvent(**base, resource_keys=tuple(dict.fromkeys(keys)))


def _account(envelope: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    raw = envelope["detail"]
    return str(raw.get("recipientAccountId") or envelope["account"] or "")


def _key(source: str, value: str, account: str) -> str:
    if source == S3:
        return bucket_key(value)
    if source == IAM:
        if value.startswith("arn:"):
            return resource_key(value)
        if not account:
            raise ValueError(f"role {value!r}: the event names no account")
        return role_key(value.rsplit("/", 1)[-1], account)
    if not value.startswith(EC2_PREFIXES):
        raise ValueError(f"{value!r} is not an EC2 resource id")
    return value


def _values(request: Mapping[str, Any], wanted: str) -> list[str]:
    """Every string under `wanted` (or its upper camel case spelling), at the top level or
    in an `<Action>Request` wrapper, as a string, a list, `{"content": ...}` or `{"item": [...]}`."""
    names = {wanted, wanted[0].upper() + wanted[1:]}
    places = [request] + [v for k, v in request.items() if k.endswith("Request") and isinstance(v, Mapping)]
    out: list[str] = []
    for place in places:
        for name in names:
            if name in place:
                out += _strings(place[name])
            if name + "Set" in place:
                out += _strings(place[name + "Set"])
    return list(dict.fromkeys(out))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, Mapping):
        for key in ("content", "item", "items", "value"):
            if key in value:
                return _strings(value[key])
    return []
