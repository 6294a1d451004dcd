from .. import facts as F
from ..facts import Snapshot, VpcEndpoint
from ..model import Outcome, Severity, failed, passed
from .base import Check, CheckMeta, register


def _describe(ep: VpcEndpoint) -> str:
    if ep.type.lower() == "interface":
        return f"{ep.id} (Interface, private DNS {'on' if ep.private_dns_enabled else 'off'})"
    return f"{ep.id} ({ep.type})"


@register
class S3EndpointExists(Check):
    meta = CheckMeta(
        id="s3_endpoint_exists",
        title="The VPC has an S3 endpoint",
        severity=Severity.HIGH,
        section='"Create an Amazon S3 VPC Endpoint"',
        requires=(F.ENDPOINTS,),
        # opt-in: create a gateway endpoint on the subnets' effective route tables
        fix_default="notify",
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        available = snap.s3_endpoints()
        if available:
            listing = ", ".join(_describe(ep) for ep in available)
            return passed(
                f"{snap.vpc_id} has an available S3 endpoint ({snap.s3_service_name}): {listing}",
                [snap.vpc_id or "", *(ep.id for ep in available)],
            )
        unusable = snap.s3_endpoints(available_only=False)
        states = (
            " Its S3 endpoint(s) are not available: "
            + ", ".join(f"{ep.id} is {ep.state}" for ep in unusable)
            + "."
            if unusable
            else ""
        )
        return failed(
            f"{snap.vpc_id} has no S3 endpoint ({snap.s3_service_name}) in state available, so the "
            f"job cannot reach S3 privately for its data and model artifacts.{states} Create a gateway "
            "endpoint for S3 on the route tables of the model's subnets.",
            [snap.vpc_id or "", *(ep.id for ep in unusable)],
        )
