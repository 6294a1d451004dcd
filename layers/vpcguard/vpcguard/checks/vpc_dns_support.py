from typing import Any

from .. import facts as F
from ..aws import AwsClients
from ..facts import Snapshot
from ..fixes import FixPlan, NoSafeFix
from ..model import Outcome, Severity, failed, passed
from ..settings import Settings
from .base import Check, CheckMeta, register


@register
class VpcDnsSupport(Check):
    """FAIL when the VPC's enableDnsSupport attribute is false: the standard S3 host names do
    not resolve inside it. Opt-in fix: turn DNS support on (ModifyVpcAttribute)."""

    meta = CheckMeta(
        id="vpc_dns_support",
        title="VPC uses default DNS (enableDnsSupport)",
        severity=Severity.HIGH,
        section='"Configure Route Tables" (default DNS settings)',
        requires=(F.DNS_SUPPORT,),
        fix_default="notify",  # opt-in: turning DNS on changes name resolution VPC-wide
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        if snap.dns_support:
            return passed(f"{snap.vpc_id} has enableDnsSupport on", [snap.vpc_id or ""])
        return failed(
            f"{snap.vpc_id} has enableDnsSupport off: standard S3 URLs such as "
            f"s3.{snap.region}.amazonaws.com do not resolve, so the job cannot read its data. "
            "Turn on DNS resolution for the VPC.",
            [snap.vpc_id or ""],
        )

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        vpc_id = snap.vpc_id
        if not vpc_id:
            raise NoSafeFix("the VPC is not known")

        def apply(clients: AwsClients) -> dict[str, Any]:
            ec2 = clients.client("ec2")
            # Setting an attribute to the value it has is a no-op: idempotent by nature.
            ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
            value = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
            return {"enableDnsSupport": value["EnableDnsSupport"]["Value"]}

        return FixPlan(
            check_id=self.meta.id,
            action="ec2:ModifyVpcAttribute",
            resource_id=vpc_id,
            params={"VpcId": vpc_id, "EnableDnsSupport": {"Value": True}},
            description=f"turn on enableDnsSupport for {vpc_id}",
            apply=apply,
            before={"enableDnsSupport": False},
            touches=(vpc_id,),
        )
