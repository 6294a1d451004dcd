from .. import facts as F
from ..facts import Snapshot
from ..inventory import bucket_of
from ..model import Outcome, Remediation, Severity, failed, not_applicable, passed
from ..s3_policy import is_default_full_access, suggested_endpoint_policy
from ._s3 import serving_s3_endpoints
from .base import Check, CheckMeta, register


@register
class S3EndpointPolicyRestricted(Check):
    """FAIL when the policy of an S3 endpoint serving the model subnets is in effect the
    default full-access policy: an unconditional Allow of every action on every resource to
    everyone, and no Deny. The result suggests a policy limited to the job's buckets.
    NOT_APPLICABLE when the VPC has no S3 endpoint."""

    meta = CheckMeta(
        id="s3_endpoint_policy_restricted",
        title="The S3 endpoint policy is not the default full access",
        severity=Severity.MEDIUM,
        section='"Use a Custom Endpoint Policy to Restrict Access to S3"',
        requires=(F.ROUTE_TABLES, F.ENDPOINTS),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        endpoints = serving_s3_endpoints(snap)
        if not endpoints:
            return not_applicable(f"{snap.vpc_id} has no available S3 endpoint (see s3_endpoint_exists)")
        open_ones = []
        for ep in endpoints:
            full, statement = is_default_full_access(ep.policy)
            if full:
                why = (
                    f"{statement.label} allows every action on every resource to every principal with no "
                    "condition, and nothing is denied"
                    if statement
                    else "it has no policy, which means the default full access"
                )
                open_ones.append((ep.id, why))
        if not open_ones:
            return passed(
                f"the policy of S3 endpoint {', '.join(ep.id for ep in endpoints)} is restricted "
                "(not the default full access)",
                [ep.id for ep in endpoints],
            )
        subject = snap.subject
        buckets = [b for b in (bucket_of(u) for u in (*subject.input_s3_uris, *subject.output_s3_uris)) if b]
        listing = "; ".join(f"{eid}: {why}" for eid, why in open_ones)
        known = (
            f"limited to the job's buckets ({', '.join(dict.fromkeys(buckets))})"
            if buckets
            else "with a placeholder for the buckets the model reads and writes"
        )
        return failed(
            f"S3 endpoint policy is the default full access, so anything in the VPC can reach any "
            f"bucket through the endpoint: {listing}. A suggested policy, {known}, that also denies the "
            "package repositories, is in the remediation.",
            [eid for eid, _ in open_ones],
            remediation=Remediation(
                action="suggest",
                resource_id=open_ones[0][0],
                description=(
                    f"Replace the policy of {', '.join(eid for eid, _ in open_ones)} with a custom endpoint "
                    "policy; add the buckets holding model artifacts."
                ),
                suggestion=suggested_endpoint_policy(buckets),
            ),
        )
