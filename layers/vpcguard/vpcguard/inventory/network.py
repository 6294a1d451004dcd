"""EC2 reads: subnets and groups by id, what is read once per VPC, the region's flow logs and
S3 prefix list, and the fix-time reads (who else uses what a fix would change)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .. import facts as F
from ..aws import AwsClients
from ..facts import FlowLog, NetworkInterface, RouteTable, SecurityGroup, Subnet, Vpc, VpcEndpoint
from ..model import frozen_map
from . import parse
from .calls import Reader
from .memo import FactError, Memo

# The fact groups read once per VPC (in this order: the calls of a full read).
VPC_GROUPS = (F.VPC, F.DNS_SUPPORT, F.SECURITY_GROUPS, F.ROUTE_TABLES, F.ENDPOINTS)


@dataclass(frozen=True)
class VpcFacts:
    """What is read once per VPC; each part is a value or the FactError that stopped it."""

    vpc: Vpc | FactError
    dns_support: bool | FactError
    security_groups: Mapping[str, SecurityGroup] | FactError
    route_tables: tuple[RouteTable, ...] | FactError
    endpoints: tuple[VpcEndpoint, ...] | FactError
    errors: Mapping[str, str] = field(default_factory=frozen_map)


class NetworkReads(Reader):
    def __init__(self, clients: AwsClients):
        super().__init__(clients)
        self._subnets = Memo()  # subnet id -> Subnet | None (None: does not exist)
        self._subnet_read = threading.Lock()
        self._groups = Memo()  # group id -> SecurityGroup | None, for groups outside the VPC
        self._vpc_parts = Memo()  # (vpc id, fact group in VPC_GROUPS) -> its value
        self._flow_logs = Memo()  # region -> tuple[FlowLog]
        self._prefix_list = Memo()  # region -> S3 prefix list id
        self._vpc_subnets = Memo()  # vpc id -> every subnet id of the VPC (fix time only)
        self._interfaces = Memo()  # group ids -> {group id: interfaces using it} (fix time only)

    # --- what is held ----------------------------------------------------------------

    def vpc_ids(self) -> list[str]:
        """The VPCs whose facts are held."""
        return list(dict.fromkeys(vpc_id for vpc_id, _ in self._vpc_parts.loaded_keys()))

    def release_vpc(self, vpc_id: str) -> None:
        """Drop what is held about a VPC no subject of this run needs any more (a backfill
        streaming its reports), its subnets included. Asked again, it is read again."""
        self._forget_vpc(vpc_id)
        self._subnets.forget_where(lambda _sid, v: isinstance(v, Subnet) and v.vpc_id == vpc_id, locks=True)

    def invalidate_vpc(self, vpc_id: str) -> None:
        """Forget what was read about a VPC (after a fix changed it), so a re-check
        reads AWS again."""
        self._forget_vpc(vpc_id)
        self._flow_logs.forget(self.region)

    def _forget_vpc(self, vpc_id: str) -> None:
        self._vpc_parts.forget_where(lambda key, _value: key[0] == vpc_id)

    # --- per-id reads ----------------------------------------------------------------

    def subnets(self, subnet_ids: Iterable[str]) -> dict[str, Subnet | None]:
        """Subnet id -> Subnet, or None for one that does not exist. Unknown ids are read
        together in one call."""
        ids = list(dict.fromkeys(subnet_ids))
        if any(not self._subnets.known(sid) for sid in ids):
            # One read of new subnets at a time: subjects in the same subnets arriving
            # together (a backfill's first minutes) then cost one call, not one each.
            with self._subnet_read:
                self._read_subnets([sid for sid in ids if not self._subnets.known(sid)])
        return {sid: self._subnets.get(sid, lambda: None) for sid in ids}

    def _read_subnets(self, unknown: list[str]) -> None:
        if unknown:
            found = {
                s["SubnetId"]: parse.subnet(s)
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
        unknown = [gid for gid in ids if not self._groups.known(gid)]
        if unknown:
            found = {
                g.id: g for g in self._read_groups(Filters=[{"Name": "group-id", "Values": unknown}]).values()
            }
            for gid in unknown:
                self._groups.get(gid, partial(found.get, gid))
        return {gid: self._groups.get(gid, lambda: None) for gid in ids}

    def _read_groups(self, **kwargs: Any) -> dict[str, SecurityGroup]:
        return {
            g["GroupId"]: parse.security_group(g)
            for g in self._paginate(
                "ec2", "describe_security_groups", "ec2:DescribeSecurityGroups", "SecurityGroups", **kwargs
            )
        }

    # --- per-VPC reads ---------------------------------------------------------------

    def vpc_facts(self, vpc_id: str, groups: Iterable[str] = VPC_GROUPS) -> VpcFacts:
        """The VPC's own fact groups `groups` (all five by default), each read once per run;
        a group not asked for is a FactError with NOT_READ, and costs no call."""
        wanted = set(groups)
        parts: dict[str, Any] = {}
        for name in VPC_GROUPS:
            if name not in wanted:
                parts[name] = FactError(F.NOT_READ)
                continue
            try:
                parts[name] = self._vpc_parts.get((vpc_id, name), partial(self._read_vpc_part, vpc_id, name))
            except FactError as exc:
                parts[name] = exc
        errors = {k: v.reason for k, v in parts.items() if isinstance(v, FactError)}
        return VpcFacts(
            vpc=parts[F.VPC],
            dns_support=parts[F.DNS_SUPPORT],
            security_groups=parts[F.SECURITY_GROUPS],
            route_tables=parts[F.ROUTE_TABLES],
            endpoints=parts[F.ENDPOINTS],
            errors=frozen_map(errors),
        )

    def _read_vpc_part(self, vpc_id: str, name: str) -> Any:
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        ec2 = self.clients.client("ec2")
        if name == F.VPC:
            vpcs = self._call("ec2:DescribeVpcs", lambda: ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"])
            return parse.vpc(vpcs[0])
        if name == F.DNS_SUPPORT:
            resp = self._call(
                "ec2:DescribeVpcAttribute",
                lambda: ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport"),
            )
            return bool(resp["EnableDnsSupport"]["Value"])
        if name == F.SECURITY_GROUPS:
            return self._read_groups(Filters=by_vpc)
        if name == F.ROUTE_TABLES:
            return tuple(
                parse.route_table(t)
                for t in self._paginate(
                    "ec2", "describe_route_tables", "ec2:DescribeRouteTables", "RouteTables", Filters=by_vpc
                )
            )
        eps = []
        for e in self._paginate(
            "ec2", "describe_vpc_endpoints", "ec2:DescribeVpcEndpoints", "VpcEndpoints", Filters=by_vpc
        ):
            try:
                eps.append(parse.endpoint(e))
            except ValueError as exc:  # json.JSONDecodeError included
                raise FactError(f"endpoint {e['VpcEndpointId']} has an unreadable policy: {exc}") from exc
        return tuple(eps)

    # --- region-wide reads -----------------------------------------------------------

    def flow_logs(self) -> tuple[FlowLog, ...]:
        """Every flow log in the region, read once per run: one paginated call serves all
        VPCs of a backfill."""

        def load() -> tuple[FlowLog, ...]:
            return tuple(
                parse.flow_log(f)
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
                eni = parse.network_interface(e)
                for gid in eni.group_ids:
                    if gid in by_group:
                        by_group[gid].append(eni)
            return frozen_map({gid: tuple(enis) for gid, enis in by_group.items()})

        return self._interfaces.get(ids, load)
