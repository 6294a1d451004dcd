from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register

IPS_PER_INSTANCE = 2  # the guidance: at least two private IPs per instance


@register
class SubnetIpCapacity(Check):
    """FAIL when a model subnet has fewer free IP addresses than the job needs (two per
    instance; a model alone counts as one instance). The result names each short subnet
    with its numbers. HIGH when no subnet has room, MEDIUM when at least one has."""

    meta = CheckMeta(
        id="subnet_ip_capacity",
        title="Subnets have 2 free IP addresses per instance",
        severity=Severity.HIGH,
        section='"Ensure That Subnets Have Enough IP Addresses"',
        requires=(F.SUBNETS,),
    )

    def _needed(self, snap: Snapshot) -> int:
        return IPS_PER_INSTANCE * max(snap.subject.instance_count, 1)

    def severity_for(self, snap: Snapshot) -> Severity:
        needed = self._needed(snap)
        roomy = [s for s in snap.subnets.values() if s.available_ip_count >= needed]
        return Severity.MEDIUM if roomy else Severity.HIGH

    def evaluate(self, snap: Snapshot) -> Outcome:
        if not snap.subnets:
            return not_applicable("none of the model's subnets exists (see vpc_config_consistent)")
        needed = self._needed(snap)
        short = sorted(
            (s for s in snap.subnets.values() if s.available_ip_count < needed), key=lambda s: s.id
        )
        if short:
            listing = ", ".join(f"{s.id} has {s.available_ip_count} free IPs" for s in short)
            return failed(
                f"{listing}; {needed} are needed ({IPS_PER_INSTANCE} per instance x "
                f"{snap.subject.instance_count} instance(s)). Move the model to larger subnets or "
                "free addresses.",
                [s.id for s in short],
            )
        counts = ", ".join(
            f"{s.id}: {s.available_ip_count}" for s in sorted(snap.subnets.values(), key=lambda s: s.id)
        )
        return passed(f"every subnet has at least {needed} free IPs ({counts})", sorted(snap.subnets))
