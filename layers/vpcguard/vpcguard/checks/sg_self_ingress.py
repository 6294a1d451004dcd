from .. import facts as F
from ..facts import Permission, SecurityGroup, Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register


@register
class SgSelfIngress(Check):
    meta = CheckMeta(
        id="sg_self_ingress",
        title="Security groups allow all traffic between the job's instances",
        severity=Severity.MEDIUM,
        section='"Configure the VPC Security Group"',
        requires=(F.SECURITY_GROUPS,),
        fix_default="fix",  # AuthorizeSecurityGroupIngress, all protocols, from the group itself
    )

    def severity_for(self, snap: Snapshot) -> Severity:
        # The rule matters for distributed batch transform: a job with several instances
        # breaks without it, a model may later run such a job, a one-instance job does not care.
        subject = snap.subject
        if not subject.is_job:
            return Severity.MEDIUM
        return Severity.HIGH if subject.instance_count > 1 else Severity.INFORMATIONAL

    def evaluate(self, snap: Snapshot) -> Outcome:
        groups = sorted(snap.security_groups.values(), key=lambda g: g.id)
        if not groups:
            return not_applicable("none of the model's security groups exists (see vpc_config_consistent)")
        # Every instance carries all of the model's groups, so one all-protocol rule in any
        # of them whose source is any of them lets the instances reach each other.
        model_group_ids = {g.id for g in groups}
        partial: list[tuple[SecurityGroup, Permission]] = []
        for group in groups:
            for rule in group.ingress:
                sources = sorted(model_group_ids.intersection(rule.group_ids))
                if not sources:
                    continue
                if rule.all_protocols:
                    return passed(
                        f"{group.id} allows inbound traffic, all protocols, from {', '.join(sources)}",
                        [group.id],
                    )
                partial.append((group, rule))
        ids = [g.id for g in groups]
        advice = (
            "Add an inbound rule for all traffic (all protocols, all ports) whose source is the "
            "security group itself, so the job's instances can talk to each other."
        )
        if partial:
            named = "; ".join(f"{g.id} allows only {rule.describe()}" for g, rule in partial)
            return failed(
                f"no security group of the model allows all inbound traffic from a group of the "
                f"model: the rules between them are limited ({named}). {advice}",
                ids,
            )
        return failed(
            f"none of the model's security groups ({', '.join(ids)}) allows inbound traffic from "
            f"itself or a sibling group. {advice}",
            ids,
        )
