"""AWS console pages of what vpcguard reports on: SageMaker models and transform jobs, and the
VPC resources and IAM roles its results name. Used by the HTML report and the Slack message.

URLs are region-aware (the console opens in the subject's region) and partition-aware (China
and GovCloud regions have their own console domains). Pure string work: no AWS calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ConsoleLink:
    kind: str  # what the resource is, as a person says it: "security group", "subnet", ...
    resource_id: str
    url: str


def console_host(region: str) -> str:
    """The console host serving `region`, e.g. us-east-1.console.aws.amazon.com."""
    if region.startswith("cn-"):
        return f"{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return f"{region}.console.amazonaws-us-gov.com"
    return f"{region}.console.aws.amazon.com"


def _vpc_console(region: str, fragment: str) -> str:
    return f"https://{console_host(region)}/vpcconsole/home?region={region}#{fragment}"


def sagemaker_url(region: str, kind: str, name: str) -> str:
    """The SageMaker console page of a model (`kind` "model") or a transform job."""
    fragment = "transform-jobs" if kind == "transform_job" else "models"
    return f"https://{console_host(region)}/sagemaker/home?region={region}#/{fragment}/{quote(name, safe='')}"


def role_name(role_arn: str) -> str:
    """`arn:aws:iam::123:role/service-role/Name` -> `Name` (the console addresses a role by name)."""
    return role_arn.rsplit("/", 1)[-1]


# Resource id prefix -> (what it is, the console fragment with {id}).
_BY_PREFIX: tuple[tuple[str, str, str], ...] = (
    ("sg-", "security group", "SecurityGroup:groupId={id}"),
    ("subnet-", "subnet", "SubnetDetails:subnetId={id}"),
    ("vpce-", "endpoint", "EndpointDetails:vpcEndpointId={id}"),
    ("rtb-", "route table", "RouteTableDetails:RouteTableId={id}"),
    ("vpc-", "VPC", "VpcDetails:VpcId={id}"),
)


def resource_link(region: str, resource_id: str) -> ConsoleLink | None:
    """The console page of an id a check result names (security group, subnet, VPC
    endpoint, route table, VPC, IAM role ARN); None for anything else (e.g. a bucket name)."""
    for prefix, kind, fragment in _BY_PREFIX:
        if resource_id.startswith(prefix):
            if kind == "security group":
                # Security groups live in the EC2 console (the VPC console redirects there).
                url = f"https://{console_host(region)}/ec2/home?region={region}#{fragment.format(id=resource_id)}"
            else:
                url = _vpc_console(region, fragment.format(id=resource_id))
            return ConsoleLink(kind, resource_id, url)
    if resource_id.startswith("arn:") and ":iam::" in resource_id and ":role/" in resource_id:
        # IAM is global: the console's IAM pages are not per region (the host still is,
        # so a person stays in the partition and region they work in).
        name = role_name(resource_id)
        url = f"https://{console_host(region)}/iam/home?region={region}#/roles/details/{quote(name, safe='')}"
        return ConsoleLink("role", resource_id, url)
    return None
