from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Severity, failed, not_applicable, passed
from .base import Check, CheckMeta, register


@register
class OutsideAccessPath(Check):
    """FAIL when the subject needs an AWS service besides S3 (today KMS, when the job names
    a KmsKeyId or VolumeKmsKeyId), the VPC has no interface endpoint for it, and not every
    model subnet has a route to a NAT gateway. NOT_APPLICABLE when nothing besides S3 is
    needed."""

    meta = CheckMeta(
        id="outside_access_path",
        title="A private path exists to the AWS services the job needs besides S3",
        severity=Severity.MEDIUM,
        section='"Connect to Resources Outside Your VPC"',
        requires=(F.SUBNETS, F.ROUTE_TABLES, F.ENDPOINTS),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        # The only non-S3 service a subject names today is KMS (a job's KmsKeyId or
        # VolumeKmsKeyId).
        needed = {"kms": snap.subject.kms_key_ids} if snap.subject.kms_key_ids else {}
        if not needed:
            return not_applicable("the subject needs no AWS service other than S3")
        if not snap.subnets:
            return not_applicable("none of the model's subnets exists (see vpc_config_consistent)")

        without_nat = []
        for subnet_id, table in snap.effective_route_tables().items():
            has_nat = table is not None and any(
                r.is_default and r.nat_gateway_id and r.state != "blackhole" for r in table.routes
            )
            if not has_nat:
                without_nat.append(subnet_id)

        paths: list[str] = []
        problems: list[str] = []
        for service, keys in needed.items():
            service_name = f"com.amazonaws.{snap.region}.{service}"
            endpoints = [e for e in snap.endpoints_for(service) if e.type.lower() == "interface"]
            why = f"the job names {service.upper()} key(s) {', '.join(keys)}"
            if endpoints:
                paths.append(f"{why}; interface endpoint {endpoints[0].id} serves {service_name}")
            elif not without_nat:
                paths.append(f"{why}; every model subnet has a NAT gateway route")
            else:
                problems.append(
                    f"{why} but {snap.vpc_id} has no interface endpoint for {service_name} and "
                    f"subnet(s) {', '.join(without_nat)} have no NAT gateway route"
                )
        if problems:
            return failed(
                "; ".join(problems) + f". Create an interface endpoint for "
                f"{', '.join(f'com.amazonaws.{snap.region}.{s}' for s in needed)} in the model's subnets.",
                [r for r in [snap.vpc_id, *without_nat] if r],
            )
        return passed("; ".join(paths), [snap.vpc_id or ""])
