from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from ._s3 import describe_table, s3_gateways, s3_interfaces
from .base import Check, CheckMeta, register


@register
class S3EndpointRoutes(Check):
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
            missing_tables = sorted({tables[sid].id for sid in uncovered if tables[sid] is not None})
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
