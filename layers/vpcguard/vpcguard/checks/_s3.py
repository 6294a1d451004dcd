"""Which S3 endpoints a model's subnets reach S3 through (shared by the S3 checks).

The module name starts with `_`, so the check loader does not take it for a check.
"""

from __future__ import annotations

from ..facts import RouteTable, Snapshot, VpcEndpoint


def s3_gateways(snap: Snapshot) -> tuple[VpcEndpoint, ...]:
    return tuple(ep for ep in snap.s3_endpoints() if ep.type.lower() == "gateway")


def s3_interfaces(snap: Snapshot, *, private_dns: bool | None = None) -> tuple[VpcEndpoint, ...]:
    return tuple(
        ep
        for ep in snap.s3_endpoints()
        if ep.type.lower() == "interface" and (private_dns is None or ep.private_dns_enabled == private_dns)
    )


def describe_table(snap: Snapshot, subnet_id: str, table: RouteTable | None) -> str:
    """`rtb-1 (explicitly associated)` or `rtb-main (the VPC's main route table, used
    implicitly)`: the difference matters when someone goes to fix it."""
    if table is None:
        return "no route table (the VPC has no main route table)"
    if subnet_id in table.subnet_ids:
        return f"{table.id} (explicitly associated)"
    return f"{table.id} (the VPC's main route table, used implicitly: the subnet has no explicit association)"


def endpoints_serving_subnet(snap: Snapshot, subnet_id: str) -> tuple[VpcEndpoint, ...]:
    """The available S3 endpoints the subnet's S3 traffic may use: a gateway endpoint on
    its effective route table, and any interface endpoint with private DNS (which answers
    for S3 names across the whole VPC)."""
    table = snap.effective_route_table(subnet_id)
    gateways = [ep for ep in s3_gateways(snap) if table is not None and table.id in ep.route_table_ids]
    return (*gateways, *s3_interfaces(snap, private_dns=True))


def serving_s3_endpoints(snap: Snapshot) -> tuple[VpcEndpoint, ...]:
    """The S3 endpoints whose policy governs the model's S3 traffic. When none is wired to
    the model's subnets yet (a route check failure), every available S3 endpoint of the VPC
    is judged: it is the one the traffic will use once routed."""
    serving: dict[str, VpcEndpoint] = {}
    for subnet_id in sorted(snap.subnets):
        for ep in endpoints_serving_subnet(snap, subnet_id):
            serving.setdefault(ep.id, ep)
    if not serving:
        return tuple(sorted(snap.s3_endpoints(), key=lambda ep: ep.id))
    return tuple(sorted(serving.values(), key=lambda ep: ep.id))
