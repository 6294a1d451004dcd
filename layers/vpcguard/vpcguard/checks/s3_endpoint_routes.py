from typing import Any

from botocore.exceptions import ClientError

from .. import facts as F
from ..aws import AwsClients, error_code
from ..facts import Snapshot, VpcEndpoint
from ..fixes import FixPlan, NoSafeFix
from ..model import Outcome, Severity, failed, not_applicable, passed
from ..s3_policy import is_default_full_access
from ..settings import Settings
from ._fixing import write_refused
from ._s3 import describe_table, s3_gateways, s3_interfaces
from .base import Check, CheckMeta, register

# What EC2 may answer when a route table is already on the endpoint (a concurrent run
# added it): the state we want.
ALREADY_ROUTED = frozenset({"RouteAlreadyExists", "InvalidRouteTableId.Duplicate"})


def route_fix_target(snap: Snapshot) -> tuple[VpcEndpoint, list[str]]:
    """The gateway endpoint to extend and the route tables to add to it.

    Only the model subnets' effective route tables that no S3 gateway is on are added, and
    only to an available S3 gateway endpoint of the model's own VPC. With several gateways,
    the one already on the most of the model's route tables is chosen (ties: lowest id), so
    the model's subnets end up behind as few endpoint policies as possible."""
    gateways = [ep for ep in s3_gateways(snap) if ep.vpc_id == snap.vpc_id]
    if not gateways:
        raise NoSafeFix(
            f"{snap.vpc_id} has no available S3 gateway endpoint: the route fix only adds route tables "
            "to one that exists (see s3_endpoint_exists)"
        )
    tables = snap.effective_route_tables()
    routed = {rtb for ep in gateways for rtb in ep.route_table_ids}
    missing = sorted(
        {t.id for t in tables.values() if t is not None and t.vpc_id == snap.vpc_id and t.id not in routed}
    )
    if not missing:
        no_table = [sid for sid, t in tables.items() if t is None]
        raise NoSafeFix(
            f"subnet(s) {', '.join(no_table) or '?'} have no route table (the VPC has no main route table) "
            "to add to the endpoint"
        )
    model_tables = {t.id for t in tables.values() if t is not None}

    def rank(ep: VpcEndpoint) -> tuple[int, str]:
        return (-len(model_tables.intersection(ep.route_table_ids)), ep.id)

    return sorted(gateways, key=rank)[0], missing


def shared_tables(
    snap: Snapshot, endpoint: VpcEndpoint, tables: list[str]
) -> dict[str, tuple[str, ...] | None]:
    """Route table id -> the subnets outside the model that use it (None: not known, the
    VPC's subnets were not read), for the tables whose neighbours an endpoint whose policy
    is not full access would cut off from what it does not admit. Empty when it is."""
    if is_default_full_access(endpoint.policy)[0]:
        return {}
    by_id = {t.id: t for t in snap.route_tables}
    mine = set(snap.subject.vpc_config.subnet_ids if snap.subject.vpc_config else ())
    out: dict[str, tuple[str, ...] | None] = {}
    for table_id in tables:
        users = snap.subnets_using(by_id[table_id])
        others = None if users is None else tuple(sid for sid in users if sid not in mine)
        if others is None or others:
            out[table_id] = others
    return out


@register
class S3EndpointRoutes(Check):
    """FAIL when an S3 gateway endpoint exists but the effective route table of a model
    subnet is not attached to it (and no S3 interface endpoint with private DNS serves that
    subnet), so the job's S3 traffic does not use the endpoint. Fix: add the missing route
    tables to the endpoint (ModifyVpcEndpoint AddRouteTableIds)."""

    meta = CheckMeta(
        id="s3_endpoint_routes",
        title="The S3 gateway endpoint is on every model subnet's route table",
        severity=Severity.HIGH,
        section='"Configure Route Tables"; endpoint step "Configure route tables"',
        requires=(F.SUBNETS, F.ROUTE_TABLES, F.ENDPOINTS),
        fix_default="fix",  # ModifyVpcEndpoint AddRouteTableIds
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        if not snap.s3_endpoints():
            return not_applicable(f"{snap.vpc_id} has no available S3 endpoint (see s3_endpoint_exists)")
        if not snap.subnets:
            return not_applicable("none of the model's subnets exists (see vpc_config_consistent)")
        gateways = s3_gateways(snap)
        dns_interfaces = s3_interfaces(snap, private_dns=True)
        dns_ids = ", ".join(ep.id for ep in dns_interfaces)
        if not gateways:
            if dns_interfaces:
                return passed(
                    f"no S3 gateway endpoint; S3 interface endpoint {dns_ids} with private DNS serves "
                    "every subnet of the VPC",
                    [ep.id for ep in dns_interfaces],
                )
            return not_applicable(
                f"{snap.vpc_id} has no S3 gateway endpoint, only S3 interface endpoint(s) without private "
                "DNS, which route tables do not govern"
            )

        tables = snap.effective_route_tables()
        routed = {rtb for ep in gateways for rtb in ep.route_table_ids}
        uncovered = [sid for sid, table in tables.items() if table is None or table.id not in routed]
        gateway_list = "; ".join(
            f"{ep.id} is on {', '.join(ep.route_table_ids) or 'no route table'}" for ep in gateways
        )
        if uncovered and dns_interfaces:
            return passed(
                f"subnet(s) {', '.join(uncovered)} are not routed to an S3 gateway endpoint ({gateway_list}), "
                f"but S3 interface endpoint {dns_ids} with private DNS serves them",
                [*uncovered, *(ep.id for ep in dns_interfaces)],
            )
        if uncovered:
            listing = "; ".join(f"{sid} uses {describe_table(snap, sid, tables[sid])}" for sid in uncovered)
            missing_tables = sorted({t.id for t in (tables[sid] for sid in uncovered) if t is not None})
            return failed(
                f"S3 gateway endpoint {gateway_list}; the effective route table of these model subnets is not "
                f"on it: {listing}. "
                "S3 traffic from those subnets does not use the endpoint (it fails, or leaves through a NAT "
                f"or internet gateway). Add {', '.join(missing_tables) or 'a route table'} to the endpoint.",
                [*uncovered, *missing_tables, *(ep.id for ep in gateways)],
            )
        listing = ", ".join(f"{sid} -> {tables[sid].id}" for sid in tables)  # type: ignore[union-attr]
        return passed(
            f"every model subnet's effective route table is on an S3 gateway endpoint ({listing}; {gateway_list})",
            [*tables, *(ep.id for ep in gateways)],
        )

    def fix_facts(self, snap: Snapshot, outcome: Outcome) -> tuple[str, ...]:
        # The route tables' explicit associations are already read; only the main table's
        # implicit users need the VPC's subnets, and only when the endpoint's policy could
        # narrow what they reach.
        try:
            endpoint, missing = route_fix_target(snap)
        except NoSafeFix:
            return ()
        mains = {t.id for t in snap.route_tables if t.is_main}
        if mains.intersection(missing) and not is_default_full_access(endpoint.policy)[0]:
            return (F.VPC_SUBNETS,)
        return ()

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        endpoint, missing = route_fix_target(snap)
        endpoint_id = endpoint.id
        shared = shared_tables(snap, endpoint, missing)
        if shared:
            mains = {t.id for t in snap.route_tables if t.is_main}
            main_note = f" (the main route table of {snap.vpc_id})"
            listing = "; ".join(
                f"route table {table_id}{main_note if table_id in mains else ''} is also used by "
                f"{', '.join(others) if others else 'subnets that could not be listed'}"
                for table_id, others in shared.items()
            )
            raise NoSafeFix(
                f"{listing}; adding it to {endpoint_id}, whose policy admits only some of S3, would cut "
                "those subnets off from every bucket it does not admit. Give the model's subnets their own "
                "route table (create one, associate it with them, and add it to the endpoint), or add the "
                "table yourself if the endpoint policy suits every workload on it"
            )

        def read_route_tables(ec2: Any) -> list[str]:
            found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
            return list(found[0].get("RouteTableIds", [])) if found else []

        def apply(clients: AwsClients) -> dict[str, Any]:
            ec2 = clients.client("ec2")
            # Add only what is not there yet, so a second run (or a concurrent one) writes nothing.
            to_add = [rtb for rtb in missing if rtb not in read_route_tables(ec2)]
            if to_add:
                try:
                    resp = ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=to_add)
                except ClientError as exc:
                    if error_code(exc) not in ALREADY_ROUTED:
                        raise
                else:
                    if resp.get("Return") is False:
                        raise write_refused(
                            "ModifyVpcEndpoint",
                            "ReturnFalse",
                            f"EC2 did not add {', '.join(to_add)} to {endpoint_id}",
                        )
            after: dict[str, Any] = {"VpcEndpointId": endpoint_id, "RouteTableIds": read_route_tables(ec2)}
            if not to_add:
                after["already_present"] = True
            return after

        return FixPlan(
            check_id=self.meta.id,
            action="ec2:ModifyVpcEndpoint",
            resource_id=endpoint_id,
            params={"VpcEndpointId": endpoint_id, "AddRouteTableIds": missing},
            description=f"add route table(s) {', '.join(missing)} to S3 gateway endpoint {endpoint_id}",
            apply=apply,
            before={"VpcEndpointId": endpoint_id, "RouteTableIds": list(endpoint.route_table_ids)},
            touches=(endpoint_id, *missing),
        )
