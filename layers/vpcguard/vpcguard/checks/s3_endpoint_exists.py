import hashlib
import json
from typing import Any

from .. import facts as F
from ..aws import AwsClients
from ..facts import Snapshot, VpcEndpoint
from ..fixes import FixPlan, NoSafeFix
from ..model import Outcome, Severity, failed, passed
from ..s3_policy import package_repo_deny_statement
from ..settings import Settings
from ._fixing import tag_specifications
from .base import Check, CheckMeta, register

# Endpoint states that mean "there is one, do not create another".
_GONE_STATES = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})


def created_endpoint_policy() -> dict[str, Any]:
    """The policy of the endpoint the opt-in fix creates.

    Not restricted to the model's buckets: the endpoint carries all S3 traffic of the route
    tables it is on, including other workloads', which reach every bucket over the internet
    or NAT path today; an allow-list would cut them off. So it allows what that path allows
    and denies only what the guidance says to deny, the Amazon Linux package repositories
    (so it never widens access; s3_endpoint_policy_restricted's suggested policy narrows it
    further when a person chooses to)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowWhatTheInternetPathAllowed",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
            },
            package_repo_deny_statement(),
        ],
    }


def client_token(vpc_id: str, route_table_ids: list[str]) -> str:
    """Deterministic, so two runs at once make one endpoint (EC2's idempotency token),
    and different route tables make a different request rather than a parameter mismatch."""
    digest = hashlib.sha256(f"{vpc_id}|{','.join(route_table_ids)}".encode()).hexdigest()[:40]
    return f"vpcguard-s3-{digest}"


def _describe(ep: VpcEndpoint) -> str:
    if ep.type.lower() == "interface":
        return f"{ep.id} (Interface, private DNS {'on' if ep.private_dns_enabled else 'off'})"
    return f"{ep.id} ({ep.type})"


@register
class S3EndpointExists(Check):
    """FAIL when the VPC has no S3 endpoint in state `available` (a gateway endpoint for
    com.amazonaws.REGION.s3, or an interface endpoint for S3). Opt-in fix: create a
    gateway endpoint on the model subnets' effective route tables, with a policy that
    denies the Amazon Linux package repositories."""

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

    def fix_facts(self, snap: Snapshot, outcome: Outcome) -> tuple[str, ...]:
        # The endpoint goes on the subnets' effective route tables: read already, unless a
        # check selection left them out (this check alone needs only the endpoints).
        return (F.ROUTE_TABLES,)

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        vpc_id = snap.vpc_id
        if not vpc_id:
            raise NoSafeFix("the VPC is not known")
        # A deleted endpoint stays listed for a while; it does not stand in the way.
        unusable = [
            ep for ep in snap.s3_endpoints(available_only=False) if ep.state.lower() not in _GONE_STATES
        ]
        if unusable:
            raise NoSafeFix(
                "an S3 endpoint exists but is not available ("
                + ", ".join(f"{ep.id} is {ep.state}" for ep in unusable)
                + "): not creating a second one on the same route tables"
            )
        tables = sorted(
            {t.id for t in snap.effective_route_tables().values() if t is not None and t.vpc_id == vpc_id}
        )
        if not tables:
            raise NoSafeFix(
                f"the model's subnets in {vpc_id} have no route table to put a gateway endpoint on"
            )
        service = snap.s3_service_name
        params = {
            "VpcId": vpc_id,
            "ServiceName": service,
            "VpcEndpointType": "Gateway",
            "RouteTableIds": tables,
            "PolicyDocument": json.dumps(created_endpoint_policy()),
            "ClientToken": client_token(vpc_id, tables),
            "TagSpecifications": tag_specifications("vpc-endpoint", self.meta.id),
        }

        def s3_endpoints(ec2: Any) -> list[dict[str, Any]]:
            found = ec2.describe_vpc_endpoints(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "service-name", "Values": [service]},
                ]
            )["VpcEndpoints"]
            return [e for e in found if str(e.get("State", "")).lower() not in _GONE_STATES]

        def apply(clients: AwsClients) -> dict[str, Any]:
            ec2 = clients.client("ec2")
            # A run that started a moment earlier may have made it: then there is nothing to do
            # (the ClientToken covers the two calls racing inside EC2).
            existing = s3_endpoints(ec2)
            if not existing:
                ec2.create_vpc_endpoint(**params)
            after: dict[str, Any] = {
                "VpcEndpoints": [
                    {
                        "VpcEndpointId": e.get("VpcEndpointId"),
                        "VpcEndpointType": e.get("VpcEndpointType"),
                        "State": e.get("State"),
                        "RouteTableIds": e.get("RouteTableIds", []),
                        "PolicyDocument": e.get("PolicyDocument"),
                        "Tags": e.get("Tags", []),
                    }
                    for e in s3_endpoints(ec2)
                ]
            }
            if existing:
                after["already_present"] = True
            return after

        return FixPlan(
            check_id=self.meta.id,
            action="ec2:CreateVpcEndpoint",
            resource_id=vpc_id,
            params=params,
            description=(
                f"create an S3 gateway endpoint ({service}) in {vpc_id} on route table(s) {', '.join(tables)}, "
                "with a policy that allows S3 as before but denies the Amazon Linux package repositories"
            ),
            apply=apply,
            before={"VpcId": vpc_id, "S3Endpoints": []},  # none at all: with any, there is no plan
            touches=(vpc_id, *tables),
        )
