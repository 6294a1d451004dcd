from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, passed
from .base import Check, CheckMeta, register


@register
class VpcDnsSupport(Check):
    meta = CheckMeta(
        id="vpc_dns_support",
        title="VPC uses default DNS (enableDnsSupport)",
        severity=Severity.HIGH,
        section='"Configure Route Tables" (default DNS settings)',
        requires=(F.DNS_SUPPORT,),
        fix_default="notify",  # opt-in: ModifyVpcAttribute EnableDnsSupport
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
