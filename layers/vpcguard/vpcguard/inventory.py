"""Reads the facts checks need, once per VPC / role / bucket per run, into snapshots.

One `Inventory` lives for one run (a CLI scan, a Lambda batch, a backfill). Every read is
memoised, so a thousand models in one VPC cost one set of VPC reads. A read that fails is
remembered as the reason, and the snapshot names it in `errors` for the fact group.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from . import facts as F
from .aws import AwsClients, describe_error, error_code, raise_if_setup_error
from .facts import (
    BucketPolicy,
    FlowLog,
    NetworkInterface,
    Permission,
    RolePolicies,
    Route,
    RouteTable,
    SecurityGroup,
    Snapshot,
    Subnet,
    Vpc,
    VpcEndpoint,
)
from .model import Subject, bucket_of, frozen_map

T = TypeVar("T")


class FactError(Exception):
    """A fact could not be read; `reason` is the line shown in the ERROR result."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Memo:
    """Thread-safe memo: each key is loaded once even when threads ask at once;
    a failure is remembered too (so a denied API is not asked again for every subject)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Any, Any] = {}
        self._key_locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                return self._unwrap(self._values[key])
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._unwrap(self._values[key])
            try:
                value: Any = load()
            except FactError as exc:
                value = exc
            with self._lock:
                self._values[key] = value
            return self._unwrap(value)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    @staticmethod
    def _unwrap(value: Any) -> Any:
        if isinstance(value, FactError):
            raise value
        return value


def _tags(items: Iterable[Mapping[str, str]] | None) -> Mapping[str, str]:
    return frozen_map({t["Key"]: t["Value"] for t in items or []})


def _parse_policy(document: Any) -> Mapping[str, Any] | None:
    if document is None or document == "":
        return None
    if isinstance(document, Mapping):
        return document
    text = str(document)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(unquote(text))


def _permissions(items: Iterable[Mapping[str, Any]]) -> tuple[Permission, ...]:
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


@dataclass(frozen=True)
class _VpcFacts:
    """What is read once per VPC; each part is a value or the FactError that stopped it."""

    vpc: Vpc | FactError
    dns_support: bool | FactError
    security_groups: Mapping[str, SecurityGroup] | FactError
    route_tables: tuple[RouteTable, ...] | FactError
    endpoints: tuple[VpcEndpoint, ...] | FactError
    errors: Mapping[str, str] = field(default_factory=frozen_map)


class Inventory:
    def __init__(self, clients: AwsClients):
        self.clients = clients
        self.region = clients.region
        self._subnets = _Memo()  # subnet id -> Subnet | None (None: does not exist)
        self._subnet_read = threading.Lock()
        self._groups = _Memo()  # group id -> SecurityGroup | None, for groups outside the VPC
        self._vpcs = _Memo()  # vpc id -> _VpcFacts
        self._flow_logs = _Memo()  # region -> tuple[FlowLog]
        self._prefix_list = _Memo()  # region -> S3 prefix list id
        self._roles = _Memo()  # role arn -> RolePolicies
        self._managed = _Memo()  # policy arn -> document
        self._buckets = _Memo()  # bucket -> BucketPolicy
        self._vpc_subnets = _Memo()  # vpc id -> every subnet id of the VPC (fix time only)
        self._interfaces = _Memo()  # group ids -> {group id: interfaces using it} (fix time only)

    # --- helpers ---------------------------------------------------------------------

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """Run one read; AWS errors become FactError naming the action."""
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            raise FactError(describe_error(exc, action)) from exc

    def _paginate(self, service: str, operation: str, action: str, key: str, **kwargs: Any) -> list[Any]:
        def run() -> list[Any]:
            client = self.clients.client(service)
            items: list[Any] = []
            if client.can_paginate(operation):
                for page in client.get_paginator(operation).paginate(**kwargs):
                    items.extend(page.get(key, []))
            else:
                items.extend(getattr(client, operation)(**kwargs).get(key, []))
            return items

        return self._call(action, run)

    def vpc_ids(self) -> list[str]:
        """The VPCs whose facts are held."""
        with self._vpcs._lock:
            return list(self._vpcs._values)

    def release_vpc(self, vpc_id: str) -> None:
        """Drop what is held about a VPC no subject of this run needs any more (a backfill
        streaming its reports), its subnets included. Asked again, it is read again."""
        self._vpcs.forget(vpc_id)
        with self._subnets._lock:
            gone = [
                k for k, v in self._subnets._values.items() if isinstance(v, Subnet) and v.vpc_id == vpc_id
            ]
            for key in gone:
                del self._subnets._values[key]
                self._subnets._key_locks.pop(key, None)

    def invalidate_vpc(self, vpc_id: str) -> None:
        """Forget what was read about a VPC (after a fix changed it), so a re-check
        reads AWS again."""
        self._vpcs.forget(vpc_id)
        self._flow_logs.forget(self.region)

    # --- per-id reads ----------------------------------------------------------------

    def subnets(self, subnet_ids: Iterable[str]) -> dict[str, Subnet | None]:
        """Subnet id -> Subnet, or None for one that does not exist. Unknown ids are read
        together in one call."""
        ids = list(dict.fromkeys(subnet_ids))
        if any(not self._known(self._subnets, sid) for sid in ids):
            # One read of new subnets at a time: subjects in the same subnets arriving
            # together (a backfill's first minutes) then cost one call, not one each.
            with self._subnet_read:
                self._read_subnets([sid for sid in ids if not self._known(self._subnets, sid)])
        return {sid: self._subnets.get(sid, lambda: None) for sid in ids}

    def _read_subnets(self, unknown: list[str]) -> None:
        if unknown:
            found = {
                s["SubnetId"]: Subnet(
                    id=s["SubnetId"],
                    vpc_id=s["VpcId"],
                    availability_zone=s.get("AvailabilityZone", ""),
                    available_ip_count=int(s.get("AvailableIpAddressCount", 0)),
                    cidr=s.get("CidrBlock", ""),
                    tags=_tags(s.get("Tags")),
                )
                for s in self._paginate(
                    "ec2",
                    "describe_subnets",
                    "ec2:DescribeSubnets",
                    "Subnets",
                    Filters=[{"Name": "subnet-id", "Values": unknown}],
                )
            }
            for sid in unknown:
                self._subnets.get(sid, partial(found.get, sid))

    def groups_outside_vpc(self, group_ids: Iterable[str]) -> dict[str, SecurityGroup | None]:
        ids = list(dict.fromkeys(group_ids))
        unknown = [gid for gid in ids if not self._known(self._groups, gid)]
        if unknown:
            found = {
                g.id: g for g in self._read_groups(Filters=[{"Name": "group-id", "Values": unknown}]).values()
            }
            for gid in unknown:
                self._groups.get(gid, partial(found.get, gid))
        return {gid: self._groups.get(gid, lambda: None) for gid in ids}

    @staticmethod
    def _known(memo: _Memo, key: Any) -> bool:
        with memo._lock:
            return key in memo._values

    def _read_groups(self, **kwargs: Any) -> dict[str, SecurityGroup]:
        return {
            g["GroupId"]: SecurityGroup(
                id=g["GroupId"],
                vpc_id=g.get("VpcId", ""),
                name=g.get("GroupName", ""),
                ingress=_permissions(g.get("IpPermissions", [])),
                egress=_permissions(g.get("IpPermissionsEgress", [])),
                tags=_tags(g.get("Tags")),
            )
            for g in self._paginate(
                "ec2", "describe_security_groups", "ec2:DescribeSecurityGroups", "SecurityGroups", **kwargs
            )
        }

    # --- per-VPC reads ---------------------------------------------------------------

    def vpc_facts(self, vpc_id: str) -> _VpcFacts:
        return self._vpcs.get(vpc_id, lambda: self._load_vpc(vpc_id))

    def _load_vpc(self, vpc_id: str) -> _VpcFacts:
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]

        def attempt(fn: Callable[[], T]) -> T | FactError:
            try:
                return fn()
            except FactError as exc:
                return exc

        def read_vpc() -> Vpc:
            vpcs = self._call(
                "ec2:DescribeVpcs", lambda: self.clients.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
            )
            v = vpcs[0]
            return Vpc(id=v["VpcId"], cidr=v.get("CidrBlock", ""), tags=_tags(v.get("Tags")))

        def read_dns() -> bool:
            resp = self._call(
                "ec2:DescribeVpcAttribute",
                lambda: self.clients.client("ec2").describe_vpc_attribute(
                    VpcId=vpc_id, Attribute="enableDnsSupport"
                ),
            )
            return bool(resp["EnableDnsSupport"]["Value"])

        def read_route_tables() -> tuple[RouteTable, ...]:
            tables = []
            for t in self._paginate(
                "ec2", "describe_route_tables", "ec2:DescribeRouteTables", "RouteTables", Filters=by_vpc
            ):
                assoc = t.get("Associations", [])
                tables.append(
                    RouteTable(
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
                        tags=_tags(t.get("Tags")),
                        subnet_association_ids=frozen_map(
                            {
                                a["SubnetId"]: a["RouteTableAssociationId"]
                                for a in assoc
                                if a.get("SubnetId") and a.get("RouteTableAssociationId")
                            }
                        ),
                        main_association_id=next(
                            (a.get("RouteTableAssociationId") for a in assoc if a.get("Main")), None
                        ),
                    )
                )
            return tuple(tables)

        def read_endpoints() -> tuple[VpcEndpoint, ...]:
            eps = []
            for e in self._paginate(
                "ec2", "describe_vpc_endpoints", "ec2:DescribeVpcEndpoints", "VpcEndpoints", Filters=by_vpc
            ):
                try:
                    policy = _parse_policy(e.get("PolicyDocument"))
                except (json.JSONDecodeError, ValueError) as exc:
                    raise FactError(f"endpoint {e['VpcEndpointId']} has an unreadable policy: {exc}") from exc
                eps.append(
                    VpcEndpoint(
                        id=e["VpcEndpointId"],
                        vpc_id=e["VpcId"],
                        service_name=e.get("ServiceName", ""),
                        type=e.get("VpcEndpointType", "Gateway"),
                        state=e.get("State", ""),
                        policy=policy,
                        route_table_ids=tuple(e.get("RouteTableIds", [])),
                        subnet_ids=tuple(e.get("SubnetIds", [])),
                        private_dns_enabled=bool(e.get("PrivateDnsEnabled")),
                        tags=_tags(e.get("Tags")),
                    )
                )
            return tuple(eps)

        parts: dict[str, Any] = {
            F.VPC: attempt(read_vpc),
            F.DNS_SUPPORT: attempt(read_dns),
            F.SECURITY_GROUPS: attempt(lambda: self._read_groups(Filters=by_vpc)),
            F.ROUTE_TABLES: attempt(read_route_tables),
            F.ENDPOINTS: attempt(read_endpoints),
        }
        errors = {k: v.reason for k, v in parts.items() if isinstance(v, FactError)}
        return _VpcFacts(
            vpc=parts[F.VPC],
            dns_support=parts[F.DNS_SUPPORT],
            security_groups=parts[F.SECURITY_GROUPS],
            route_tables=parts[F.ROUTE_TABLES],
            endpoints=parts[F.ENDPOINTS],
            errors=frozen_map(errors),
        )

    def flow_logs(self) -> tuple[FlowLog, ...]:
        """Every flow log in the region, read once per run: one paginated call serves all
        VPCs of a backfill."""

        def load() -> tuple[FlowLog, ...]:
            return tuple(
                FlowLog(
                    id=f["FlowLogId"],
                    resource_id=f.get("ResourceId", ""),
                    traffic_type=f.get("TrafficType", ""),
                    status=f.get("FlowLogStatus", ""),
                    deliver_status=f.get("DeliverLogsStatus", ""),
                    deliver_error=f.get("DeliverLogsErrorMessage"),
                    destination_type=f.get("LogDestinationType", "cloud-watch-logs"),
                    destination=f.get("LogDestination") or f.get("LogGroupName"),
                )
                for f in self._paginate("ec2", "describe_flow_logs", "ec2:DescribeFlowLogs", "FlowLogs")
            )

        return self._flow_logs.get(self.region, load)

    def lookup_s3_prefix_list_id(self) -> str:
        """The region's S3 prefix list id, looked up once per run."""
        s3_name = f"com.amazonaws.{self.region}.s3"

        def load() -> str:
            lists = self._paginate(
                "ec2",
                "describe_prefix_lists",
                "ec2:DescribePrefixLists",
                "PrefixLists",
                Filters=[{"Name": "prefix-list-name", "Values": [s3_name]}],
            )
            if not lists:
                raise FactError(f"no prefix list named {s3_name} in {self.region}")
            return lists[0]["PrefixListId"]

        return self._prefix_list.get(self.region, load)

    # --- IAM and S3 ------------------------------------------------------------------

    def role(self, role_arn: str) -> RolePolicies:
        return self._roles.get(role_arn, lambda: self._load_role(role_arn))

    def _load_role(self, role_arn: str) -> RolePolicies:
        iam = self.clients.client("iam")
        name = role_arn.rsplit("/", 1)[-1]
        role = self._call("iam:GetRole", lambda: iam.get_role(RoleName=name)["Role"])
        inline_names = self._paginate(
            "iam", "list_role_policies", "iam:ListRolePolicies", "PolicyNames", RoleName=name
        )
        inline = {
            pname: _parse_policy(
                self._call(
                    "iam:GetRolePolicy",
                    partial(_policy_document, iam, name, pname),
                )
            )
            for pname in inline_names
        }
        attached_arns = [
            p["PolicyArn"]
            for p in self._paginate(
                "iam",
                "list_attached_role_policies",
                "iam:ListAttachedRolePolicies",
                "AttachedPolicies",
                RoleName=name,
            )
        ]
        attached = {arn: self.managed_policy(arn) for arn in attached_arns}
        boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return RolePolicies(
            arn=role.get("Arn", role_arn),
            name=name,
            inline=frozen_map({k: v or {} for k, v in inline.items()}),
            attached=frozen_map(attached),
            boundary_arn=boundary_arn,
            boundary=self.managed_policy(boundary_arn) if boundary_arn else None,
        )

    def managed_policy(self, policy_arn: str) -> Mapping[str, Any]:
        """A managed policy's default version, read once per policy per run."""

        def load() -> Mapping[str, Any]:
            iam = self.clients.client("iam")
            policy = self._call("iam:GetPolicy", lambda: iam.get_policy(PolicyArn=policy_arn)["Policy"])
            version = self._call(
                "iam:GetPolicyVersion",
                lambda: iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])[
                    "PolicyVersion"
                ],
            )
            return _parse_policy(version.get("Document")) or {}

        return self._managed.get(policy_arn, load)

    def bucket_policy(self, bucket: str) -> BucketPolicy:
        def load() -> BucketPolicy:
            try:
                text = self.clients.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchBucketPolicy":
                    return BucketPolicy(bucket=bucket, policy=None)
                if error_code(exc) == "NoSuchBucket":
                    raise FactError(f"bucket {bucket} does not exist") from exc
                raise_if_setup_error(exc)
                raise FactError(describe_error(exc, "s3:GetBucketPolicy")) from exc
            except BotoCoreError as exc:
                raise_if_setup_error(exc)
                raise FactError(describe_error(exc, "s3:GetBucketPolicy")) from exc
            return BucketPolicy(bucket=bucket, policy=_parse_policy(text))

        return self._buckets.get(bucket, load)

    # --- fix-time reads: who else uses what a fix would change --------------------------

    def vpc_subnet_ids(self, vpc_id: str) -> tuple[str, ...]:
        """Every subnet of the VPC (to tell which sit on the main route table implicitly)."""

        def load() -> tuple[str, ...]:
            found = self._paginate(
                "ec2",
                "describe_subnets",
                "ec2:DescribeSubnets",
                "Subnets",
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
            )
            return tuple(sorted(s["SubnetId"] for s in found))

        return self._vpc_subnets.get(vpc_id, load)

    def group_interfaces(self, group_ids: Iterable[str]) -> Mapping[str, tuple[NetworkInterface, ...]]:
        """Group id -> the network interfaces that use it: one DescribeNetworkInterfaces
        with a group-id filter for all the groups together."""
        ids = tuple(sorted(set(group_ids)))

        def load() -> Mapping[str, tuple[NetworkInterface, ...]]:
            found = self._paginate(
                "ec2",
                "describe_network_interfaces",
                "ec2:DescribeNetworkInterfaces",
                "NetworkInterfaces",
                Filters=[{"Name": "group-id", "Values": list(ids)}],
            )
            by_group: dict[str, list[NetworkInterface]] = {gid: [] for gid in ids}
            for e in found:
                eni = NetworkInterface(
                    id=e["NetworkInterfaceId"],
                    description=e.get("Description") or "",
                    interface_type=e.get("InterfaceType") or "interface",
                    requester_id=e.get("RequesterId") or "",
                    requester_managed=bool(e.get("RequesterManaged")),
                    instance_id=(e.get("Attachment") or {}).get("InstanceId") or "",
                    group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
                )
                for gid in eni.group_ids:
                    if gid in by_group:
                        by_group[gid].append(eni)
            return frozen_map({gid: tuple(enis) for gid, enis in by_group.items()})

        return self._interfaces.get(ids, load)

    def with_fix_facts(self, snap: Snapshot, names: Iterable[str]) -> Snapshot:
        """`snap` with the fix-time fact groups `names` read in (F.VPC_SUBNETS,
        F.GROUP_INTERFACES); one that cannot be read is named in `errors`."""
        updates: dict[str, Any] = {}
        errors = dict(snap.errors)
        for name in dict.fromkeys(names):
            try:
                if name == F.VPC_SUBNETS and snap.vpc_id and snap.vpc_subnet_ids is None:
                    updates["vpc_subnet_ids"] = self.vpc_subnet_ids(snap.vpc_id)
                elif name == F.GROUP_INTERFACES and snap.group_interfaces is None and snap.security_groups:
                    updates["group_interfaces"] = self.group_interfaces(snap.security_groups)
            except FactError as exc:
                errors[name] = exc.reason
        if not updates and errors == dict(snap.errors):
            return snap
        return replace(snap, **updates, errors=frozen_map(errors))

    # --- the snapshot ----------------------------------------------------------------

    def snapshot(self, subject: Subject) -> Snapshot:
        """All facts for one subject. Never raises for an AWS error: what could not be
        read is named in `errors` under its fact group."""
        errors: dict[str, str] = {}
        base: dict[str, Any] = {"subject": subject, "region": self.region}
        if subject.vpc_config is None:
            return Snapshot(**base)
        config = subject.vpc_config

        # Subnets (and through them, the VPC).
        subnets: dict[str, Subnet] = {}
        missing_subnets: list[str] = []
        try:
            for sid, subnet in self.subnets(config.subnet_ids).items():
                if subnet is None:
                    missing_subnets.append(sid)
                else:
                    subnets[sid] = subnet
        except FactError as exc:
            errors[F.SUBNETS] = exc.reason

        vpc_ids = [s.vpc_id for s in subnets.values()]
        outside: dict[str, SecurityGroup | None] = {}
        if not vpc_ids and config.security_group_ids:
            # No subnet could be read: the groups still tell which VPC was meant.
            try:
                outside = self.groups_outside_vpc(config.security_group_ids)
                vpc_ids = [g.vpc_id for g in outside.values() if g is not None]
            except FactError as exc:
                errors.setdefault(F.SECURITY_GROUPS, exc.reason)
        # The VPC most of the model's subnets are in (they should all be in one).
        vpc_id = max(dict.fromkeys(vpc_ids), key=vpc_ids.count) if vpc_ids else None

        if vpc_id is None:
            reason = "no subnet or security group of the model exists, so there is no VPC to inspect"
            for name in (F.VPC, F.DNS_SUPPORT, F.ROUTE_TABLES, F.ENDPOINTS, F.FLOW_LOGS, F.PREFIX_LIST):
                errors.setdefault(name, reason)
            if not outside:
                errors.setdefault(F.SECURITY_GROUPS, reason)
            found_groups = {gid: g for gid, g in outside.items() if g is not None}
            return Snapshot(
                **base,
                subnets=frozen_map(subnets),
                missing_subnet_ids=tuple(missing_subnets),
                security_groups=frozen_map(found_groups),
                missing_security_group_ids=tuple(gid for gid, g in outside.items() if g is None),
                role=self._role_fact(subject, errors),
                bucket_policies=self._bucket_fact(subject, errors),
                errors=frozen_map(errors),
            )

        vf = self.vpc_facts(vpc_id)
        errors.update({k: v for k, v in vf.errors.items() if k not in errors})

        # Security groups: the VPC's own, plus a lookup for any named group outside it.
        groups: dict[str, SecurityGroup] = {}
        missing_groups: list[str] = []
        if isinstance(vf.security_groups, Mapping):
            not_in_vpc = [g for g in config.security_group_ids if g not in vf.security_groups]
            for gid in config.security_group_ids:
                if gid in vf.security_groups:
                    groups[gid] = vf.security_groups[gid]
            if not_in_vpc:
                try:
                    looked = outside or self.groups_outside_vpc(not_in_vpc)
                    for gid in not_in_vpc:
                        g = looked.get(gid)
                        if g is None:
                            missing_groups.append(gid)
                        else:
                            groups[gid] = g
                except FactError as exc:
                    errors[F.SECURITY_GROUPS] = exc.reason

        route_tables = vf.route_tables if isinstance(vf.route_tables, tuple) else ()
        endpoints = vf.endpoints if isinstance(vf.endpoints, tuple) else ()

        flow_logs: tuple[FlowLog, ...] = ()
        try:
            covered = {vpc_id, *subnets}
            flow_logs = tuple(f for f in self.flow_logs() if f.resource_id in covered)
        except FactError as exc:
            errors[F.FLOW_LOGS] = exc.reason

        prefix_list_id: str | None = None
        if F.ROUTE_TABLES not in errors and F.ENDPOINTS not in errors:
            try:
                prefix_list_id = self._prefix_list_if_needed(route_tables, endpoints, groups.values())
            except FactError as exc:
                errors[F.PREFIX_LIST] = exc.reason
        else:
            errors[F.PREFIX_LIST] = errors.get(F.ROUTE_TABLES) or errors[F.ENDPOINTS]

        return Snapshot(
            **base,
            vpc_id=vpc_id,
            vpc=vf.vpc if isinstance(vf.vpc, Vpc) else None,
            dns_support=vf.dns_support if isinstance(vf.dns_support, bool) else None,
            subnets=frozen_map(subnets),
            missing_subnet_ids=tuple(missing_subnets),
            security_groups=frozen_map(groups),
            missing_security_group_ids=tuple(missing_groups),
            route_tables=route_tables,
            endpoints=endpoints,
            flow_logs=flow_logs,
            s3_prefix_list_id=prefix_list_id,
            role=self._role_fact(subject, errors),
            bucket_policies=self._bucket_fact(subject, errors),
            errors=frozen_map(errors),
        )

    def _prefix_list_if_needed(
        self,
        route_tables: tuple[RouteTable, ...],
        endpoints: tuple[VpcEndpoint, ...],
        groups: Iterable[SecurityGroup],
    ) -> str | None:
        """The S3 prefix list id costs no call when an S3 gateway endpoint's route names
        it; otherwise it is looked up only when some egress rule names a prefix list."""
        found = self._prefix_from_routes(route_tables, endpoints)
        if found:
            return found
        if any(p.prefix_list_ids for g in groups for p in g.egress):
            return self.lookup_s3_prefix_list_id()
        return None

    def _prefix_from_routes(
        self, route_tables: tuple[RouteTable, ...], endpoints: tuple[VpcEndpoint, ...]
    ) -> str | None:
        s3_name = f"com.amazonaws.{self.region}.s3"
        gateways = {e.id for e in endpoints if e.service_name == s3_name}
        for table in route_tables:
            for route in table.routes:
                if route.gateway_id in gateways and route.destination_prefix_list_id:
                    return route.destination_prefix_list_id
        return None

    def _role_fact(self, subject: Subject, errors: dict[str, str]) -> RolePolicies | None:
        if not subject.execution_role_arn:
            errors[F.ROLE] = (
                "no --role-arn given to preflight, so the execution role was not checked"
                if subject.preflight
                else "the model names no execution role"
            )
            return None
        try:
            return self.role(subject.execution_role_arn)
        except FactError as exc:
            errors[F.ROLE] = f"cannot read role {subject.execution_role_arn}: {exc.reason}"
            return None

    def _bucket_fact(self, subject: Subject, errors: dict[str, str]) -> Mapping[str, BucketPolicy]:
        buckets = [b for b in (bucket_of(u) for u in (*subject.input_s3_uris, *subject.output_s3_uris)) if b]
        out: dict[str, BucketPolicy] = {}
        problems = []
        for bucket in dict.fromkeys(buckets):
            try:
                out[bucket] = self.bucket_policy(bucket)
            except FactError as exc:
                problems.append(exc.reason)
        if problems:
            errors[F.BUCKET_POLICIES] = "; ".join(problems)
        return frozen_map(out)


def _policy_document(iam: Any, role_name: str, policy_name: str) -> Any:
    return iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
