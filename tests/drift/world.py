"""A region with subjects that share some resources and not others, for the drift tests.

VPC A (compliant_vpc "10.0"): models m1 (both subnets, group A) and m2 (first subnet only,
group A); transform job j1 on m1 (buckets input-data and output-data, a KMS key); model m4
on a third subnet with no explicit route table (the main table), group A2, VPC B's role.
VPC B (compliant_vpc "10.1"): model m3 (both subnets, group B, VPC B's role).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.localaws.builders import Builder, CompliantVpc
from tests.localaws.server import ACCOUNT, REGION

KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass
class World:
    a: CompliantVpc
    b: CompliantVpc
    a_third_subnet: str
    a_group_2: str
    arns: dict[str, str]  # short name -> subject ARN

    def subjects(self, *names: str) -> set[str]:
        return {self.arns[n] for n in names}


def build_world(builder: Builder) -> World:
    a = builder.compliant_vpc("10.0")
    b = builder.compliant_vpc("10.1", buckets=("b-input", "b-output"))
    third = builder.subnet(a.vpc_id, "10.0.3.0/24", "c")
    group_2 = builder.security_group(a.vpc_id)
    arns = {
        "m1": builder.model(
            "m1", subnet_ids=a.subnet_ids, security_group_ids=[a.security_group_id], role_arn=a.role_arn
        ),
        "m2": builder.model(
            "m2", subnet_ids=a.subnet_ids[:1], security_group_ids=[a.security_group_id], role_arn=a.role_arn
        ),
        "m3": builder.model(
            "m3", subnet_ids=b.subnet_ids, security_group_ids=[b.security_group_id], role_arn=b.role_arn
        ),
        "m4": builder.model("m4", subnet_ids=[third], security_group_ids=[group_2], role_arn=b.role_arn),
    }
    arns["j1"] = builder.transform_job("j1", "m1", instance_count=2, kms_key_id=KMS_KEY)
    return World(a=a, b=b, a_third_subnet=third, a_group_2=group_2, arns=arns)


def association_of(builder: Builder, subnet_id: str) -> str:
    tables = builder.ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}]
    )["RouteTables"]
    return next(
        a["RouteTableAssociationId"] for a in tables[0]["Associations"] if a.get("SubnetId") == subnet_id
    )


def main_association_of(builder: Builder, vpc_id: str) -> str:
    tables = builder.ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    return next(a["RouteTableAssociationId"] for a in tables[0]["Associations"] if a.get("Main"))
