from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, passed
from .base import Check, CheckMeta, register


@register
class VpcConfigConsistent(Check):
    """FAIL when a subnet or security group named in the model's VpcConfig does not exist, or
    they are not all in one VPC. The other checks still judge what does exist."""

    meta = CheckMeta(
        id="vpc_config_consistent",
        title="VpcConfig subnets and security groups exist in one VPC",
        severity=Severity.HIGH,
        section='"Configure a Batch Transform Job for Amazon VPC Access"',
        requires=(F.SUBNETS, F.SECURITY_GROUPS),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        config = snap.subject.vpc_config
        assert config is not None
        problems: list[str] = []
        bad_ids: list[str] = []
        if snap.missing_subnet_ids:
            problems.append(f"subnet(s) {', '.join(snap.missing_subnet_ids)} do not exist")
            bad_ids += snap.missing_subnet_ids
        if snap.missing_security_group_ids:
            problems.append(f"security group(s) {', '.join(snap.missing_security_group_ids)} do not exist")
            bad_ids += snap.missing_security_group_ids
        if not config.subnet_ids:
            problems.append("VpcConfig names no subnet")
        if not config.security_group_ids:
            problems.append("VpcConfig names no security group")
        vpcs: dict[str, list[str]] = {}
        for subnet in snap.subnets.values():
            vpcs.setdefault(subnet.vpc_id, []).append(subnet.id)
        for group in snap.security_groups.values():
            vpcs.setdefault(group.vpc_id, []).append(group.id)
        if len(vpcs) > 1:
            spread = "; ".join(f"{vpc}: {', '.join(ids)}" for vpc, ids in sorted(vpcs.items()))
            problems.append(f"they are spread over {len(vpcs)} VPCs ({spread})")
            bad_ids += [rid for vpc, ids in vpcs.items() if vpc != snap.vpc_id for rid in ids]
        if problems:
            return failed(
                "; ".join(problems) + ". SageMaker cannot create the job's network interfaces; "
                "fix the model's VpcConfig.",
                bad_ids,
            )
        return passed(
            f"all {len(config.subnet_ids)} subnet(s) and {len(config.security_group_ids)} "
            f"security group(s) exist in {snap.vpc_id}",
            [*config.subnet_ids, *config.security_group_ids],
        )
