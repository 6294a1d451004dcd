"""The immutable snapshot of facts that checks read.

The inventory fills it once per VPC (and once per role and bucket) per evaluation; checks
only read it and never call AWS. A fact group that could not be read is named in
`Snapshot.errors` with the reason, and the engine turns every check that needs it into
ERROR rather than letting a check see an empty list and PASS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Subject, frozen_map

# Names of the fact groups; a check lists the ones it reads in `requires`.
SUBNETS = "subnets"
SECURITY_GROUPS = "security_groups"
VPC = "vpc"
DNS_SUPPORT = "dns_support"
ROUTE_TABLES = "route_tables"
ENDPOINTS = "endpoints"
FLOW_LOGS = "flow_logs"
PREFIX_LIST = "s3_prefix_list"
ROLE = "role"
BUCKET_POLICIES = "bucket_policies"

# Read only when a fix is about to be planned (Check.fix_facts), never for a plain check:
# who else uses what the fix would change.
VPC_SUBNETS = "vpc_subnets"  # every subnet of the VPC (who sits on the main route table)
GROUP_INTERFACES = "group_interfaces"  # the network interfaces using the model's groups

ALL_FACTS = (
    SUBNETS,
    SECURITY_GROUPS,
    VPC,
    DNS_SUPPORT,
    ROUTE_TABLES,
    ENDPOINTS,
    FLOW_LOGS,
    PREFIX_LIST,
    ROLE,
    BUCKET_POLICIES,
)

# Read for every subject with a VpcConfig, whatever the checks of the run need: they tell which
# VPC it is, and the `vpcguard:exempt` tags on the VPC, its subnets and groups exempt a FAIL of
# any check (and the VPC's Name goes in the report).
IDENTITY_FACTS = (SUBNETS, SECURITY_GROUPS, VPC)
# Fact groups computed from others: the S3 prefix list id is read off the S3 gateway
# endpoint's routes (a DescribePrefixLists call only when they do not name it).
DERIVED_FROM: Mapping[str, tuple[str, ...]] = {PREFIX_LIST: (ROUTE_TABLES, ENDPOINTS)}

# The reason a fact group that was deliberately not read gives (in `Snapshot.errors`), so a
# check that needs it can never take the empty value for a PASS.
NOT_READ = "not read: no check selected for this run needs it"


def groups_to_read(required: Iterable[str] | None) -> frozenset[str]:
    """The fact groups a snapshot reads for checks that require `required` (None: every
    group): those, what identifies the subject, and what derived groups are computed from."""
    if required is None:
        return frozenset(ALL_FACTS)
    wanted = {*IDENTITY_FACTS, *required}
    for name in list(wanted):
        wanted.update(DERIVED_FROM.get(name, ()))
    return frozenset(wanted & set(ALL_FACTS))


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    availability_zone: str
    available_ip_count: int
    cidr: str
    tags: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Permission:
    """One IpPermissions entry of a security group (ingress or egress)."""

    protocol: str  # "-1" means all protocols
    from_port: int | None = None
    to_port: int | None = None
    cidrs: tuple[str, ...] = ()
    ipv6_cidrs: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()

    @property
    def all_protocols(self) -> bool:
        return self.protocol == "-1"

    def covers_port(self, protocol: str, port: int) -> bool:
        if self.all_protocols:
            return True
        if self.protocol != protocol:
            return False
        if self.from_port is None or self.to_port is None:
            return True
        return self.from_port <= port <= self.to_port

    def describe(self) -> str:
        proto = "all protocols" if self.all_protocols else self.protocol
        if not self.all_protocols and self.from_port is not None:
            ports = (
                str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
            )
            proto = f"{proto} {ports}"
        sources = [*self.cidrs, *self.ipv6_cidrs, *self.prefix_list_ids, *self.group_ids]
        return f"{proto} from/to {', '.join(sources) or 'nothing'}"


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    vpc_id: str
    name: str
    ingress: tuple[Permission, ...] = ()
    egress: tuple[Permission, ...] = ()
    tags: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Route:
    destination_cidr: str | None = None
    destination_ipv6_cidr: str | None = None
    destination_prefix_list_id: str | None = None
    gateway_id: str | None = None  # igw-..., vgw-..., vpce-..., "local"
    nat_gateway_id: str | None = None
    state: str = "active"

    @property
    def is_default(self) -> bool:
        return self.destination_cidr == "0.0.0.0/0" or self.destination_ipv6_cidr == "::/0"

    @property
    def to_internet_gateway(self) -> bool:
        return bool(self.gateway_id and self.gateway_id.startswith("igw-"))


@dataclass(frozen=True)
class RouteTable:
    id: str
    vpc_id: str
    is_main: bool
    subnet_ids: tuple[str, ...]  # explicit associations only
    routes: tuple[Route, ...] = ()
    tags: Mapping[str, str] = field(default_factory=frozen_map)
    # Association ids (rtbassoc-...): subnet id -> its association, and the main one. A
    # ReplaceRouteTableAssociation / DisassociateRouteTable event names only these.
    subnet_association_ids: Mapping[str, str] = field(default_factory=frozen_map)
    main_association_id: str | None = None


@dataclass(frozen=True)
class VpcEndpoint:
    id: str
    vpc_id: str
    service_name: str
    type: str  # "Gateway" | "Interface" | "GatewayLoadBalancer"
    state: str
    policy: Mapping[str, Any] | None  # parsed policy document; None when absent
    route_table_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    private_dns_enabled: bool = False
    tags: Mapping[str, str] = field(default_factory=frozen_map)

    @property
    def available(self) -> bool:
        return self.state.lower() == "available"


# How SageMaker's own network interfaces are told apart: the description SageMaker writes on
# the ENIs it makes for jobs and endpoints ("[DO NOT DELETE] ENI managed by SageMaker for ..."),
# or a requester-managed interface whose requester or description names SageMaker. moto
# returns only the description (no RequesterId/RequesterManaged/InterfaceType).
SAGEMAKER_ENI_DESCRIPTION = "managed by sagemaker"


@dataclass(frozen=True)
class NetworkInterface:
    id: str
    description: str = ""
    interface_type: str = "interface"
    requester_id: str = ""
    requester_managed: bool = False
    instance_id: str = ""
    group_ids: tuple[str, ...] = ()

    @property
    def is_sagemaker(self) -> bool:
        if self.instance_id:  # an EC2 instance's interface, whatever its description says
            return False
        if SAGEMAKER_ENI_DESCRIPTION in self.description.lower():
            return True
        said = f"{self.description} {self.requester_id}".lower()
        return self.requester_managed and "sagemaker" in said

    def describe(self) -> str:
        what = self.description or self.interface_type
        if self.instance_id:
            what = f"instance {self.instance_id}" + (f", {self.description}" if self.description else "")
        return f"{self.id} ({what})"


@dataclass(frozen=True)
class FlowLog:
    id: str
    resource_id: str
    traffic_type: str  # ALL | ACCEPT | REJECT
    status: str  # ACTIVE | ...
    deliver_status: str  # SUCCESS | FAILED
    deliver_error: str | None = None
    destination_type: str = "cloud-watch-logs"
    destination: str | None = None


@dataclass(frozen=True)
class Vpc:
    id: str
    cidr: str
    tags: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class RolePolicies:
    """An execution role's identity policies, as parsed documents."""

    arn: str
    name: str
    inline: Mapping[str, Mapping[str, Any]] = field(default_factory=frozen_map)
    attached: Mapping[str, Mapping[str, Any]] = field(default_factory=frozen_map)  # ARN -> doc
    boundary_arn: str | None = None
    boundary: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BucketPolicy:
    bucket: str
    policy: Mapping[str, Any] | None  # None: the bucket has no policy


@dataclass(frozen=True)
class Snapshot:
    """Everything the checks may read about one subject's network, role and buckets."""

    subject: Subject
    region: str
    vpc_id: str | None = None
    vpc: Vpc | None = None
    dns_support: bool | None = None
    # The model's own subnets and groups that exist; the missing ones are listed apart.
    subnets: Mapping[str, Subnet] = field(default_factory=frozen_map)
    missing_subnet_ids: tuple[str, ...] = ()
    security_groups: Mapping[str, SecurityGroup] = field(default_factory=frozen_map)
    missing_security_group_ids: tuple[str, ...] = ()
    # Everything in the VPC (not only what the model names).
    route_tables: tuple[RouteTable, ...] = ()
    endpoints: tuple[VpcEndpoint, ...] = ()
    flow_logs: tuple[FlowLog, ...] = ()  # flow logs on the VPC or any of its subnets
    s3_prefix_list_id: str | None = None
    role: RolePolicies | None = None
    bucket_policies: Mapping[str, BucketPolicy] = field(default_factory=frozen_map)
    # Fix-time facts (VPC_SUBNETS, GROUP_INTERFACES): empty until Inventory.with_fix_facts.
    vpc_subnet_ids: tuple[str, ...] | None = None
    group_interfaces: Mapping[str, tuple[NetworkInterface, ...]] | None = None
    errors: Mapping[str, str] = field(default_factory=frozen_map)
    # Fact groups deliberately not read (no check of the run needs them); each is also in
    # `errors` with NOT_READ, so a check that needs one is ERROR, never a PASS on nothing.
    unread: frozenset[str] = frozenset()

    # --- derived views, computed from the facts above (no I/O) ---

    @property
    def s3_service_name(self) -> str:
        return f"com.amazonaws.{self.region}.s3"

    def effective_route_table(self, subnet_id: str) -> RouteTable | None:
        """The table explicitly associated with the subnet, else the VPC's main table."""
        for table in self.route_tables:
            if subnet_id in table.subnet_ids:
                return table
        for table in self.route_tables:
            if table.is_main:
                return table
        return None

    def subnets_using(self, table: RouteTable) -> tuple[str, ...] | None:
        """Every subnet of the VPC whose effective route table is `table`: its explicit
        associations, plus, for the main table, every subnet with no explicit association.
        None when that needs the VPC's subnets (VPC_SUBNETS) and they were not read."""
        if not table.is_main:
            return tuple(sorted(table.subnet_ids))
        if self.vpc_subnet_ids is None:
            return None
        explicit = {sid for t in self.route_tables for sid in t.subnet_ids}
        implicit = [sid for sid in self.vpc_subnet_ids if sid not in explicit]
        return tuple(sorted({*table.subnet_ids, *implicit}))

    def effective_route_tables(self) -> dict[str, RouteTable | None]:
        """Model subnet id -> its effective route table (None when the VPC has none)."""
        return {sid: self.effective_route_table(sid) for sid in sorted(self.subnets)}

    def s3_endpoints(self, *, available_only: bool = True) -> tuple[VpcEndpoint, ...]:
        return tuple(
            ep
            for ep in self.endpoints
            if ep.service_name == self.s3_service_name and (ep.available or not available_only)
        )

    def endpoints_for(self, service: str) -> tuple[VpcEndpoint, ...]:
        name = f"com.amazonaws.{self.region}.{service}"
        return tuple(ep for ep in self.endpoints if ep.service_name == name and ep.available)

    def exempt_resources(self) -> dict[str, Mapping[str, str]]:
        """Resource id -> tags, for every resource whose `vpcguard:exempt` tag counts."""
        resources: dict[str, Mapping[str, str]] = {self.subject.model_name: self.subject.tags}
        if self.vpc is not None:
            resources[self.vpc.id] = self.vpc.tags
        for subnet in self.subnets.values():
            resources[subnet.id] = subnet.tags
        for group in self.security_groups.values():
            resources[group.id] = group.tags
        return resources
