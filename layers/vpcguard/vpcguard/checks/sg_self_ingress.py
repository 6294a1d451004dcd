from typing import Any

from botocore.exceptions import ClientError

from .. import facts as F
from ..aws import AwsClients, error_code
from ..facts import Permission, SecurityGroup, Snapshot
from ..fixes import FixPlan, NoSafeFix
from ..model import Outcome, Severity, failed, not_applicable, passed
from ..settings import Settings
from .base import Check, CheckMeta, register

# The rule's description is how a person looking at the group tells who added it and why.
SELF_RULE_DESCRIPTION = "vpcguard: instances of one SageMaker job talk to each other"
DUPLICATE_RULE = "InvalidPermission.Duplicate"


def self_rule(group_id: str) -> list[dict[str, Any]]:
    """IpPermissions for all protocols from the group itself: never a CIDR, never another group."""
    return [
        {
            "IpProtocol": "-1",
            "UserIdGroupPairs": [{"GroupId": group_id, "Description": SELF_RULE_DESCRIPTION}],
        }
    ]


def permission_as_api(rule: Permission) -> dict[str, Any]:
    """A snapshot rule in the IpPermissions shape describe_security_groups uses (for "before")."""
    out: dict[str, Any] = {"IpProtocol": rule.protocol}
    if rule.from_port is not None:
        out["FromPort"] = rule.from_port
    if rule.to_port is not None:
        out["ToPort"] = rule.to_port
    out["IpRanges"] = [{"CidrIp": c} for c in rule.cidrs]
    out["Ipv6Ranges"] = [{"CidrIpv6": c} for c in rule.ipv6_cidrs]
    out["PrefixListIds"] = [{"PrefixListId": p} for p in rule.prefix_list_ids]
    out["UserIdGroupPairs"] = [{"GroupId": g} for g in rule.group_ids]
    return out


def fix_target(snap: Snapshot) -> SecurityGroup:
    """The group the self rule goes on: the first of the model's VpcConfig groups (in the
    model's order) that exists in the model's VPC. One rule is enough (every instance
    carries all of the model's groups), and the first group is the one a person reading
    the model looks at first. There is deliberately no setting to pick another."""
    config = snap.subject.vpc_config
    for group_id in config.security_group_ids if config else ():
        group = snap.security_groups.get(group_id)
        if group is not None and group.vpc_id == snap.vpc_id:
            return group
    raise NoSafeFix(f"none of the model's security groups exists in {snap.vpc_id}")


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

    def fix_facts(self, snap: Snapshot, outcome: Outcome) -> tuple[str, ...]:
        # Who else uses the group: read only when the fix is about to be planned.
        return (F.GROUP_INTERFACES,)

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        group = fix_target(snap)
        group_id = group.id
        if snap.group_interfaces is None:
            raise NoSafeFix(f"the network interfaces using {group_id} were not read")
        others = [eni for eni in snap.group_interfaces.get(group_id, ()) if not eni.is_sagemaker]
        if others:
            raise NoSafeFix(
                f"{group_id} is also used by network interfaces other than SageMaker's: "
                f"{', '.join(eni.describe() for eni in others)}; an all-traffic rule from the group itself "
                "would open every port between them and the job. Give the model a security group of its own "
                "(with the self rule), or add the rule yourself if that is intended"
            )

        def apply(clients: AwsClients) -> dict[str, Any]:
            ec2 = clients.client("ec2")
            already_present = False
            try:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=self_rule(group_id))
            except ClientError as exc:
                # Another run (or a person) added the same rule first: the state we want.
                if error_code(exc) != DUPLICATE_RULE:
                    raise
                already_present = True
            read = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
            after: dict[str, Any] = {"GroupId": group_id, "IpPermissions": read.get("IpPermissions", [])}
            if already_present:
                after["already_present"] = True
            return after

        return FixPlan(
            check_id=self.meta.id,
            action="ec2:AuthorizeSecurityGroupIngress",
            resource_id=group_id,
            params={"GroupId": group_id, "IpPermissions": self_rule(group_id)},
            description=(
                f"add an inbound rule to {group_id} allowing all protocols from {group_id} itself "
                f'(description "{SELF_RULE_DESCRIPTION}")'
            ),
            apply=apply,
            before={"GroupId": group_id, "IpPermissions": [permission_as_api(p) for p in group.ingress]},
            touches=(group_id,),
        )
