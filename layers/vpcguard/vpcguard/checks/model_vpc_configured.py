from ..facts import Snapshot
from ..model import Outcome, Severity, failed, passed
from .base import Check, CheckMeta, register


@register
class ModelVpcConfigured(Check):
    """FAIL when the model has no VpcConfig: it runs outside any VPC, and every other check
    is then NOT_APPLICABLE. Also the ERROR result of a model or job that could not be read."""

    meta = CheckMeta(
        id="model_vpc_configured",
        title="Model runs in a VPC",
        severity=Severity.HIGH,
        section='Introduction; "Configure a Batch Transform Job for Amazon VPC Access"',
        needs_vpc=False,
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        config = snap.subject.vpc_config
        if config is None:
            return failed(
                f"model {snap.subject.model_name} has no VpcConfig: its containers reach S3 and "
                "other resources over the internet. Recreate the model with VpcConfig subnets and "
                "security groups of a private VPC.",
                [snap.subject.model_name],
            )
        return passed(
            f"VpcConfig names {len(config.subnet_ids)} subnet(s) and "
            f"{len(config.security_group_ids)} security group(s)",
            [*config.subnet_ids, *config.security_group_ids],
        )
