"""Turning EC2, IAM and S3 API responses into facts: pure functions, no calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from ..facts import (
    FlowLog,
    NetworkInterface,
    Permission,
    Route,
    RouteTable,
    SecurityGroup,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from ..model import frozen_map


def tags(items: Iterable[Mapping[str, str]] | None) -> Mapping[str, str]:
    return frozen_map({t["Key"]: t["Value"] for t in items or []})


def policy(document: Any) -> Mapping[str, Any] | None:
    """A policy document as IAM, EC2 or S3 return it (a mapping, JSON, or URL-encoded JSON);
    None when there is none. Raises ValueError (JSONDecodeError) for one that is not JSON."""
    if document is None or document == "":
        return None
    if isinstance(document, Mapping):
        return document
    text = str(document)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(unquote(text))


def permissions(items: Iterable[Mapping[str, Any]]) -> tuple[Permission, ...]:
    out = []
    for p in items or []:
        out.append(
            Permission(
                protocol=str(p.get("IpProtocol", "-1")),
                from_port=p.get("FromPort"),
                to_port=p.get("ToPort"),
                cidrs=tuple(r["CidrIp"] for r in p.get("IpRanges", []) if "CidrIp" in r),
                ipv6_cidrs=tuple(r["CidrIpv6"] for r in p.get("Ipv6Ranges", []) if "CidrIpv6" in r),
                prefix_list_ids=tuple(
                    r["PrefixListId"] for r in p.get("PrefixListIds", []) if "PrefixListId" in r
                ),
                group_ids=tuple(r["GroupId"] for r in p.get("UserIdGroupPairs", []) if "GroupId" in r),
            )
        )
    return tuple(out)


def subnet(s: Mapping[str, Any]) -> Subnet:
    return Subnet(
        id=s["SubnetId"],
        vpc_id=s["VpcId"],
        availability_zone=s.get("AvailabilityZone", ""),
        available_ip_count=int(s.get("AvailableIpAddressCount", 0)),
        cidr=s.get("CidrBlock", ""),
        tags=tags(s.get("Tags")),
    )


def security_group(g: Mapping[str, Any]) -> SecurityGroup:
    return SecurityGroup(
        id=g["GroupId"],
        vpc_id=g.get("VpcId", ""),
        name=g.get("GroupName", ""),
        ingress=permissions(g.get("IpPermissions", [])),
        egress=permissions(g.get("IpPermissionsEgress", [])),
        tags=tags(g.get("Tags")),
    )


def vpc(v: Mapping[str, Any]) -> Vpc:
    return Vpc(id=v["VpcId"], cidr=v.get("CidrBlock", ""), tags=tags(v.get("Tags")))


def route_table(t: Mapping[str, Any]) -> RouteTable:
    assoc = t.get("Associations", [])
    return RouteTable(
        id=t["RouteTableId"],
        vpc_id=t["VpcId"],
        is_main=any(a.get("Main") for a in assoc),
        subnet_ids=tuple(a["SubnetId"] for a in assoc if a.get("SubnetId")),
        routes=tuple(
            Route(
                destination_cidr=r.get("DestinationCidrBlock"),
                destination_ipv6_cidr=r.get("DestinationIpv6CidrBlock"),
                destination_prefix_list_id=r.get("DestinationPrefixListId"),
                gateway_id=r.get("GatewayId"),
                nat_gateway_id=r.get("NatGatewayId"),
                state=r.get("State", "active"),
            )
            for r in t.get("Routes", [])
        ),
        tags=tags(t.get("Tags")),
        subnet_association_ids=frozen_map(
            {
                a["SubnetId"]: a["RouteTableAssociationId"]
                for a in assoc
                if a.get("SubnetId") and a.get("RouteTableAssociationId")
            }
        ),
        main_association_id=next((a.get("RouteTableAssociationId") for a in assoc if a.get("Main")), None),
    )


def endpoint(e: Mapping[str, Any]) -> VpcEndpoint:
    """Raises ValueError when the endpoint's policy is not JSON."""
    return VpcEndpoint(
        id=e["VpcEndpointId"],
        vpc_id=e["VpcId"],
        service_name=e.get("ServiceName", ""),
        type=e.get("VpcEndpointType", "Gateway"),
        state=e.get("State", ""),
        policy=policy(e.get("PolicyDocument")),
        route_table_ids=tuple(e.get("RouteTableIds", [])),
        subnet_ids=tuple(e.get("SubnetIds", [])),
        private_dns_enabled=bool(e.get("PrivateDnsEnabled")),
        tags=tags(e.get("Tags")),
    )


def flow_log(f: Mapping[str, Any]) -> FlowLog:
    return FlowLog(
        id=f["FlowLogId"],
        resource_id=f.get("ResourceId", ""),
        traffic_type=f.get("TrafficType", ""),
        status=f.get("FlowLogStatus", ""),
        deliver_status=f.get("DeliverLogsStatus", ""),
        deliver_error=f.get("DeliverLogsErrorMessage"),
        destination_type=f.get("LogDestinationType", "cloud-watch-logs"),
        destination=f.get("LogDestination") or f.get("LogGroupName"),
    )


def network_interface(e: Mapping[str, Any]) -> NetworkInterface:
    return NetworkInterface(
        id=e["NetworkInterfaceId"],
        description=e.get("Description") or "",
        interface_type=e.get("InterfaceType") or "interface",
        requester_id=e.get("RequesterId") or "",
        requester_managed=bool(e.get("RequesterManaged")),
        instance_id=(e.get("Attachment") or {}).get("InstanceId") or "",
        group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
    )
