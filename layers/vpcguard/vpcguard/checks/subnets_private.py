from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register


@register
class SubnetsPrivate(Check):
    """FAIL when the effective route table of a model subnet sends 0.0.0.0/0 or ::/0 to an
    internet gateway. A default route to a NAT gateway is fine."""

    meta = CheckMeta(
        id="subnets_private",
        title="Model subnets have no route to an internet gateway",
        severity=Severity.MEDIUM,
        section='Introduction ("not connected to the internet")',
        requires=(F.SUBNETS, F.ROUTE_TABLES),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        if not snap.subnets:
            return not_applicable("none of the model's subnets exists (see vpc_config_consistent)")
        public: list[str] = []
        public_ids: list[str] = []
        for subnet_id, table in snap.effective_route_tables().items():
            if table is None:
                continue
            for route in table.routes:
                # A blackhole route (its gateway is gone) carries no traffic.
                if route.is_default and route.to_internet_gateway and route.state != "blackhole":
                    how = "its explicit table" if subnet_id in table.subnet_ids else "the VPC's main table"
                    dest = route.destination_cidr or route.destination_ipv6_cidr
                    public.append(f"{subnet_id} routes {dest} to {route.gateway_id} via {table.id} ({how})")
                    public_ids += [subnet_id, table.id]
        if public:
            return failed(
                f"{'; '.join(public)}: the job's network interfaces are on a subnet connected to "
                "the internet. Remove the internet gateway route (use a NAT gateway if the job "
                "needs outbound access) or move the model to private subnets.",
                list(dict.fromkeys(public_ids)),
            )
        tables = snap.effective_route_tables()
        listing = ", ".join(f"{sid} ({t.id if t else 'no route table'})" for sid, t in tables.items())
        return passed(
            f"no effective route table routes the model subnets to an internet gateway: {listing}",
            sorted(snap.subnets),
        )
