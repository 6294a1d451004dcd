"""A realistic account for `make demo` (and a smoke test): four VPCs, eight models and
five transform jobs that together make every check in checks.md pass somewhere and fail
somewhere.

| VPC | built like | what it shows |
|---|---|---|
| prod (10.0) | the guidance says, plus a KMS interface endpoint | everything passes |
| legacy (10.1) | one AZ, main route table only, no S3 endpoint, no flow log, a partial self rule, no egress, a role without the ENI actions, buckets without policies, a /28 subnet | most checks fail; one model exempts two checks by tag |
| edge (10.2) | a public subnet (internet gateway) beside NAT-routed private subnets; an S3 endpoint with the default full-access policy, missing the public subnet's table; a flow log whose delivery fails | routes, endpoint policy, flow log delivery, NAT vs internet gateway |
| analytics (10.3) | the guidance says, but `enableDnsSupport` is off; its job reads a bucket pinned to prod's endpoint | DNS, a bucket policy that pins another VPC |

Plus a model with no VpcConfig and one whose subnet has since been deleted.

`network_isolation` passes for the models created with it (moto's gap there is closed by
tests/localaws/moto_fidelity.py) and fails for `fraud-legacy`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .builders import Builder, restricted_s3_policy
from .server import ACCOUNT, REGION

KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TEAM_TAG = "vpcguard:team"
EXEMPT_TAG = "vpcguard:exempt"


@dataclass
class DemoAccount:
    """What was built: names to scan, VPC ids by role, and one line per subject saying
    what it is there to show."""

    vpcs: dict[str, str] = field(default_factory=dict)  # "prod" -> vpc id
    models: list[str] = field(default_factory=list)
    transform_jobs: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # subject name -> purpose

    def add_model(self, name: str, note: str) -> None:
        self.models.append(name)
        self.notes[name] = note

    def add_job(self, name: str, note: str) -> None:
        self.transform_jobs.append(name)
        self.notes[name] = note


def build_demo_account(builder: Builder) -> DemoAccount:
    account = DemoAccount()
    _prod(builder, account)
    _legacy(builder, account)
    _edge(builder, account)
    _analytics(builder, account)
    return account


def _prod(b: Builder, account: DemoAccount) -> None:
    net = b.compliant_vpc("10.0", buckets=("ml-input-data", "ml-output-data"))
    account.vpcs["prod"] = net.vpc_id
    b.ec2.create_tags(Resources=[net.vpc_id], Tags=[{"Key": "Name", "Value": "prod-ml"}])
    # KMS through an interface endpoint, so an encrypted job needs no NAT.
    b.interface_endpoint(net.vpc_id, "kms", net.subnet_ids, [net.security_group_id])

    b.compliant_model("churn-scoring", net, tags={TEAM_TAG: "growth"})
    account.add_model("churn-scoring", "prod VPC built as the guidance says: every check passes")
    b.transform_job(
        "churn-nightly",
        "churn-scoring",
        instance_count=2,
        input_uri="s3://ml-input-data/churn/",
        output_uri="s3://ml-output-data/churn/",
        kms_key_id=KMS_KEY,
    )
    account.add_job(
        "churn-nightly",
        "distributed (2 instances), KMS via an interface endpoint, VPC-only buckets: every check passes",
    )

    # A subnet that was deleted after the model was created.
    doomed = b.subnet(net.vpc_id, "10.0.9.0/24", "c")
    b.compliant_model("pricing-stale", net, subnet_ids=[net.subnet_ids[0], doomed])
    b.ec2.delete_subnet(SubnetId=doomed)
    account.add_model("pricing-stale", f"its subnet {doomed} no longer exists: vpc_config_consistent fails")

    b.model("sentiment-public", subnet_ids=None, role_arn=net.role_arn, network_isolation=False)
    account.add_model("sentiment-public", "no VpcConfig at all: model_vpc_configured fails, the rest N/A")


def _legacy(b: Builder, account: DemoAccount) -> None:
    vpc = b.vpc("10.1.0.0/16", tags={"Name": "legacy-batch"})
    account.vpcs["legacy"] = vpc
    # Both subnets in one AZ, no explicit route table (the main one applies implicitly),
    # and one of them a /28 with 11 free addresses.
    wide = b.subnet(vpc, "10.1.1.0/24", "a")
    tiny = b.subnet(vpc, "10.1.2.0/28", "a")
    sg = b.security_group(vpc, self_ingress=False, egress_all=False, name="legacy-batch")
    # A partial self rule: HTTPS only, where distributed jobs need all protocols.
    b.ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": sg}]}
        ],
    )
    # Describe only: no ENI create/delete.
    role = b.role(
        "legacy-batch-role",
        inline={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}],
        },
    )
    b.bucket("legacy-input")
    b.bucket("legacy-output")

    b.model(
        "fraud-legacy",
        subnet_ids=[wide, tiny],
        security_group_ids=[sg],
        role_arn=role,
        tags={TEAM_TAG: "risk"},
        network_isolation=False,
    )
    account.add_model(
        "fraud-legacy",
        "legacy VPC: one AZ, no S3 endpoint, no flow log, partial self rule, no egress, role lacks ENI actions, "
        "no network isolation",
    )
    b.transform_job(
        "fraud-legacy-scoring",
        "fraud-legacy",
        instance_count=8,
        input_uri="s3://legacy-input/fraud/",
        output_uri="s3://legacy-output/fraud/",
        kms_key_id=KMS_KEY,
    )
    account.add_job(
        "fraud-legacy-scoring",
        "8 instances on a /28 (16 IPs needed), KMS with no endpoint or NAT, buckets without a VPC-only policy",
    )
    b.model(
        "fraud-legacy-archive",
        subnet_ids=[wide, tiny],
        security_group_ids=[sg],
        role_arn=role,
        tags={EXEMPT_TAG: "flow_logs_enabled,subnets_multi_az", TEAM_TAG: "risk"},
    )
    account.add_model(
        "fraud-legacy-archive",
        f"same as fraud-legacy, but {EXEMPT_TAG}=flow_logs_enabled,subnets_multi_az turns those two into EXEMPT",
    )


def _edge(b: Builder, account: DemoAccount) -> None:
    vpc = b.vpc("10.2.0.0/16", tags={"Name": "edge-recsys"})
    account.vpcs["edge"] = vpc
    public = b.subnet(vpc, "10.2.0.0/24", "a")
    private_a = b.subnet(vpc, "10.2.1.0/24", "a")
    private_b = b.subnet(vpc, "10.2.2.0/24", "b")
    public_rt = b.route_table(vpc, [public])
    b.internet_route(vpc, public_rt)
    private_rts = [b.route_table(vpc, [private_a]), b.route_table(vpc, [private_b])]
    for table in private_rts:
        b.nat_route(public, table)
    sg = b.security_group(vpc, name="edge-recsys")
    # The default (full-access) endpoint policy, on the private tables only.
    b.s3_gateway_endpoint(vpc, private_rts)
    b.flow_log(vpc, delivery_fails=True)
    role = b.role("recsys-role")

    b.model(
        "recsys-edge",
        subnet_ids=[public, private_a],
        security_group_ids=[sg],
        role_arn=role,
        tags={TEAM_TAG: "discovery"},
    )
    account.add_model(
        "recsys-edge",
        "a public subnet (internet gateway route) not on the S3 endpoint; full-access endpoint policy; "
        "flow log delivery FAILED",
    )
    b.model(
        "recsys-nat",
        subnet_ids=[private_a, private_b],
        security_group_ids=[sg],
        role_arn=role,
        tags={TEAM_TAG: "discovery"},
    )
    account.add_model("recsys-nat", "private subnets behind a NAT gateway (allowed), both on the S3 endpoint")
    b.transform_job(
        "recsys-nat-weekly",
        "recsys-nat",
        instance_count=3,
        input_uri="s3://ml-input-data/recsys/",
        output_uri="s3://ml-output-data/recsys/",
        volume_kms_key_id=KMS_KEY,
    )
    account.add_job(
        "recsys-nat-weekly",
        "3 instances; KMS reached through the NAT gateway; its buckets only admit prod's endpoint",
    )


def _analytics(b: Builder, account: DemoAccount) -> None:
    net = b.compliant_vpc("10.3", buckets=("analytics-data",))
    account.vpcs["analytics"] = net.vpc_id
    b.ec2.create_tags(Resources=[net.vpc_id], Tags=[{"Key": "Name", "Value": "analytics"}])
    b.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    # Its endpoint only admits its own bucket; the package repositories stay denied.
    b.ec2.modify_vpc_endpoint(
        VpcEndpointId=net.s3_endpoint_id,
        PolicyDocument=json.dumps(restricted_s3_policy(["analytics-data", "ml-input-data"])),
    )
    b.compliant_model("forecast-analytics", net, tags={TEAM_TAG: "planning"})
    account.add_model(
        "forecast-analytics", "a VPC built as the guidance says, except enableDnsSupport is off"
    )
    b.transform_job(
        "forecast-weekly",
        "forecast-analytics",
        instance_count=2,
        input_uri="s3://ml-input-data/forecast/",
        output_uri="s3://analytics-data/forecast/",
    )
    account.add_job(
        "forecast-weekly",
        "reads ml-input-data, whose bucket policy pins prod's endpoint: the job would be denied",
    )
