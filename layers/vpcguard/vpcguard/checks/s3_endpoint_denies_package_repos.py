from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Remediation, Severity, failed, not_applicable, passed
from ..s3_policy import PACKAGE_REPO_RESOURCES, package_repo_deny_statement, package_repo_exposures
from ._s3 import serving_s3_endpoints
from .base import Check, CheckMeta, register


@register
class S3EndpointDeniesPackageRepos(Check):
    """FAIL when the policy of an S3 endpoint serving the model subnets lets s3:GetObject
    reach the Amazon Linux package repositories (packages.*, repo.*, amazonlinux.*
    .amazonaws.com). An allow-list that leaves them out, or a Deny on them, passes. The
    result carries the Deny statement to add. NOT_APPLICABLE without an S3 endpoint."""

    meta = CheckMeta(
        id="s3_endpoint_denies_package_repos",
        title="The S3 endpoint policy blocks the Amazon Linux package repositories",
        severity=Severity.LOW,
        section='"Restrict Package Installation on the Model Container"',
        requires=(F.ROUTE_TABLES, F.ENDPOINTS),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        endpoints = serving_s3_endpoints(snap)
        if not endpoints:
            return not_applicable(f"{snap.vpc_id} has no available S3 endpoint (see s3_endpoint_exists)")
        exposed: list[tuple[str, str]] = []
        for ep in endpoints:
            found = package_repo_exposures(ep.policy)
            if found:
                by_statement: dict[str, list[str]] = {}
                for e in found:
                    by_statement.setdefault(e.statement, []).append(e.repo)
                why = "; ".join(
                    f"{', '.join(repos)} through {label}" for label, repos in by_statement.items()
                )
                exposed.append((ep.id, why))
        if not exposed:
            return passed(
                f"the policy of S3 endpoint {', '.join(ep.id for ep in endpoints)} does not allow "
                f"s3:GetObject on the package repositories ({', '.join(PACKAGE_REPO_RESOURCES)})",
                [ep.id for ep in endpoints],
            )
        listing = "; ".join(f"{eid} allows s3:GetObject on {why}" for eid, why in exposed)
        return failed(
            f"containers can install packages from the Amazon Linux repositories: {listing}. "
            "Add the Deny statement in the remediation to the endpoint policy.",
            [eid for eid, _ in exposed],
            remediation=Remediation(
                action="suggest",
                resource_id=exposed[0][0],
                description=(
                    f"Add this statement to the endpoint policy of {', '.join(eid for eid, _ in exposed)}."
                ),
                suggestion={"Statement": [package_repo_deny_statement()]},
            ),
        )
