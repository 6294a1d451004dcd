from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register


@register
class SubnetsMultiAz(Check):
    """FAIL when all the model's subnets are in one Availability Zone (beyond AWS's
    guidance: an outage of that zone stops the job)."""

    meta = CheckMeta(
        id="subnets_multi_az",
        title="Model subnets span more than one Availability Zone",
        severity=Severity.LOW,
        section="beyond the guidance (availability)",
        requires=(F.SUBNETS,),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        if not snap.subnets:
            return not_applicable("none of the model's subnets exists (see vpc_config_consistent)")
        by_az: dict[str, list[str]] = {}
        for subnet in sorted(snap.subnets.values(), key=lambda s: s.id):
            by_az.setdefault(subnet.availability_zone, []).append(subnet.id)
        if len(by_az) == 1:
            ((az, ids),) = by_az.items()
            return failed(
                f"all {len(ids)} subnet(s) ({', '.join(ids)}) are in {az}: an outage of that "
                "Availability Zone stops every job of the model. Add a subnet in another zone.",
                ids,
            )
        spread = "; ".join(f"{az}: {', '.join(ids)}" for az, ids in sorted(by_az.items()))
        return passed(f"subnets span {len(by_az)} Availability Zones ({spread})", sorted(snap.subnets))
