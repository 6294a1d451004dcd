"""Build real-shaped AWS resources on the local endpoint with ordinary boto3 calls.

Used by the tests, `make demo` and `make bench`. Every method returns ids, so a test can
assemble exactly the edge case it needs on top of `compliant_vpc()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from .server import ACCOUNT, REGION
from .worlds import WorldCache

# The ENI permissions the guidance requires of the execution role.
ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]

SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"


def restricted_s3_policy(buckets: list[str]) -> dict[str, Any]:
    """An endpoint policy limited to named buckets, denying the package repositories."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DataBuckets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets],
            },
            {
                "Sid": "NoPackageRepos",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [
                    "arn:aws:s3:::packages.*.amazonaws.com/*",
                    "arn:aws:s3:::repo.*.amazonaws.com/*",
                    "arn:aws:s3:::amazonlinux.*.amazonaws.com/*",
                ],
            },
        ],
    }


FULL_ACCESS_POLICY = {
    "Version": "2008-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def vpc_only_bucket_policy(bucket: str, *, vpce_id: str | None = None, vpc_id: str | None = None) -> dict:
    key, value = ("aws:SourceVpce", vpce_id) if vpce_id else ("aws:SourceVpc", vpc_id)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyFromOurVpc",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"StringNotEquals": {key: value}},
            }
        ],
    }


@dataclass
class CompliantVpc:
    """Ids of a VPC built the way the guidance says, for tests to break one piece of."""

    vpc_id: str
    subnet_ids: list[str]
    route_table_ids: list[str]  # explicit tables, one per subnet
    main_route_table_id: str
    security_group_id: str
    s3_endpoint_id: str
    flow_log_id: str
    role_arn: str
    buckets: list[str] = field(default_factory=list)


class Builder:
    def __init__(
        self,
        endpoint_url: str,
        region: str = REGION,
        clients: dict[str, Any] | None = None,
        account: str | None = None,
        send: Callable[..., Any] | None = None,
        worlds: WorldCache | None = None,
    ):
        """`clients`: a cache of boto3 clients for this endpoint and region to reuse (the
        tests share one across tests: building a client costs more than most tests'
        calls). The builder only makes calls with them; the one handler it adds (`send`,
        below) is on its session, so only clients it creates carry it.
        `account`: build in that account (an administrator's view of a member account, for
        setting up an organization's worlds); default: the credentials' own account. Such a
        builder keeps clients of its own, since its requests carry that account.
        `send`: a botocore `before-send` handler that answers the builder's requests instead
        of the network (the tests hand them to moto's app in their own process; see
        in_process.py). Default: real HTTP to `endpoint_url`.
        `worlds`: where `compliant_vpc()` may take a copy of the same world built earlier in
        this process instead of making its calls again (worlds.py)."""
        self.endpoint_url = endpoint_url
        self.region = region
        self.account = account or ACCOUNT
        self._as_member = account is not None
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {} if clients is None or self._as_member else clients
        self._send = send
        self._worlds = worlds
        self._counter = 0

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = boto3.Session(region_name=self.region)
            if self._as_member:
                # moto's way to act in another account: this header on every request.
                self._session.events.register("before-sign", self._as_account)
            if self._send is not None:
                self._session.events.register("before-send", self._send)
        return self._session

    def _as_account(self, request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = self.account

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    @staticmethod
    def _tag_spec(resource_type: str, tags: dict[str, str] | None) -> list[dict[str, Any]]:
        if not tags:
            return []
        return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]

    # --- network -----------------------------------------------------------------------

    def vpc(
        self, cidr: str = "10.0.0.0/16", *, dns_support: bool = True, tags: dict[str, str] | None = None
    ) -> str:
        vpc_id = self.ec2.create_vpc(CidrBlock=cidr, TagSpecifications=self._tag_spec("vpc", tags))["Vpc"][
            "VpcId"
        ]
        if not dns_support:
            self.ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": False})
        return vpc_id

    def subnet(self, vpc_id: str, cidr: str, az: str = "a", *, tags: dict[str, str] | None = None) -> str:
        return self.ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=f"{self.region}{az}",
            TagSpecifications=self._tag_spec("subnet", tags),
        )["Subnet"]["SubnetId"]

    def main_route_table(self, vpc_id: str) -> str:
        tables = self.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
        return tables[0]["RouteTableId"]

    def route_table(self, vpc_id: str, subnet_ids: list[str] | None = None) -> str:
        rt = self.ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        for sid in subnet_ids or []:
            self.ec2.associate_route_table(RouteTableId=rt, SubnetId=sid)
        return rt

    def internet_route(self, vpc_id: str, route_table_id: str, *, ipv6: bool = False) -> str:
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        dest = {"DestinationIpv6CidrBlock": "::/0"} if ipv6 else {"DestinationCidrBlock": "0.0.0.0/0"}
        self.ec2.create_route(RouteTableId=route_table_id, GatewayId=igw, **dest)
        return igw

    def nat_route(self, public_subnet_id: str, route_table_id: str) -> str:
        alloc = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = self.ec2.create_nat_gateway(SubnetId=public_subnet_id, AllocationId=alloc)["NatGateway"][
            "NatGatewayId"
        ]
        self.ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
        return nat

    def security_group(
        self,
        vpc_id: str,
        *,
        self_ingress: bool = True,
        egress_all: bool = True,
        tags: dict[str, str] | None = None,
        name: str | None = None,
    ) -> str:
        """A group like SageMaker wants: all traffic from itself, egress anywhere (moto's
        default egress rule). `egress_all=False` removes the default egress rule."""
        name = name or self._name("sg")
        gid = self.ec2.create_security_group(
            GroupName=name,
            Description=f"{name} for SageMaker",
            VpcId=vpc_id,
            TagSpecifications=self._tag_spec("security-group", tags),
        )["GroupId"]
        if self_ingress:
            self.ec2.authorize_security_group_ingress(
                GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}]
            )
        if not egress_all:
            self.ec2.revoke_security_group_egress(
                GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
            )
        return gid

    def s3_gateway_endpoint(
        self, vpc_id: str, route_table_ids: list[str], policy: dict[str, Any] | None = None
    ) -> str:
        kwargs: dict[str, Any] = {
            "VpcId": vpc_id,
            "ServiceName": f"com.amazonaws.{self.region}.s3",
            "VpcEndpointType": "Gateway",
            "RouteTableIds": route_table_ids,
        }
        if policy is not None:
            kwargs["PolicyDocument"] = json.dumps(policy)
        return self.ec2.create_vpc_endpoint(**kwargs)["VpcEndpoint"]["VpcEndpointId"]

    def interface_endpoint(
        self,
        vpc_id: str,
        service: str,
        subnet_ids: list[str],
        security_group_ids: list[str] | None = None,
        *,
        private_dns: bool = True,
        policy: dict[str, Any] | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {
            "VpcId": vpc_id,
            "ServiceName": f"com.amazonaws.{self.region}.{service}",
            "VpcEndpointType": "Interface",
            "SubnetIds": subnet_ids,
            "PrivateDnsEnabled": private_dns,
        }
        if security_group_ids:
            kwargs["SecurityGroupIds"] = security_group_ids
        if policy is not None:
            kwargs["PolicyDocument"] = json.dumps(policy)
        return self.ec2.create_vpc_endpoint(**kwargs)["VpcEndpoint"]["VpcEndpointId"]

    def flow_log_destination(self) -> tuple[str, str]:
        """A CloudWatch log group and a delivery role, as the stack provides."""
        group = self._name("/vpcguard/flow-logs")
        self.client("logs").create_log_group(logGroupName=group)
        role = self.client("iam").create_role(
            RoleName=self._name("flow-logs-delivery"),
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        return group, role

    def flow_log(
        self,
        resource_id: str,
        *,
        traffic_type: str = "ALL",
        delivery_fails: bool = False,
        resource_type: str = "VPC",
    ) -> str:
        """A flow log to CloudWatch. `delivery_fails=True` points it at a log group that does
        not exist, which moto (like AWS) reports as DeliverLogsStatus FAILED."""
        if delivery_fails:
            group, role = self._name("/missing/log-group"), f"arn:aws:iam::{self.account}:role/missing"
        else:
            group, role = self.flow_log_destination()
        resp = self.ec2.create_flow_logs(
            ResourceIds=[resource_id],
            ResourceType=resource_type,
            TrafficType=traffic_type,
            LogDestinationType="cloud-watch-logs",
            LogGroupName=group,
            DeliverLogsPermissionArn=role,
        )
        return resp["FlowLogIds"][0]

    def consume_ips(self, subnet_id: str, count: int) -> None:
        """Use up free addresses with network interfaces (as other workloads would)."""
        for _ in range(count):
            self.ec2.create_network_interface(SubnetId=subnet_id)

    # --- IAM, S3 --------------------------------------------------------------------------

    def role(
        self,
        name: str | None = None,
        *,
        inline: dict[str, Any] | None = None,
        managed: list[dict[str, Any]] | None = None,
        boundary: dict[str, Any] | None = None,
    ) -> str:
        """An execution role. By default one inline policy granting the ENI actions."""
        iam = self.client("iam")
        name = name or self._name("sagemaker-execution")
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(SAGEMAKER_TRUST)}
        if boundary is not None:
            kwargs["PermissionsBoundary"] = self.managed_policy(boundary)
        arn = iam.create_role(**kwargs)["Role"]["Arn"]
        if inline is None and managed is None:
            inline = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ENI_ACTIONS, "Resource": "*"}],
            }
        if inline is not None:
            iam.put_role_policy(RoleName=name, PolicyName="vpc-access", PolicyDocument=json.dumps(inline))
        for doc in managed or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=self.managed_policy(doc))
        return arn

    def managed_policy(self, document: dict[str, Any]) -> str:
        return self.client("iam").create_policy(
            PolicyName=self._name("policy"), PolicyDocument=json.dumps(document)
        )["Policy"]["Arn"]

    def bucket(self, name: str, policy: dict[str, Any] | None = None) -> str:
        s3 = self.client("s3")
        where = (
            {}
            if self.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        s3.create_bucket(Bucket=name, **where)
        if policy is not None:
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        return name

    # --- SageMaker ------------------------------------------------------------------------

    def model(
        self,
        name: str,
        *,
        subnet_ids: list[str] | None,
        security_group_ids: list[str] | None = None,
        role_arn: str,
        tags: dict[str, str] | None = None,
        network_isolation: bool = True,
    ) -> str:
        kwargs: dict[str, Any] = {
            "ModelName": name,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://models/model.tar.gz"},
            "ExecutionRoleArn": role_arn,
            "EnableNetworkIsolation": network_isolation,
        }
        if subnet_ids is not None:
            kwargs["VpcConfig"] = {"Subnets": subnet_ids, "SecurityGroupIds": security_group_ids or []}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return self.client("sagemaker").create_model(**kwargs)["ModelArn"]

    def transform_job(
        self,
        name: str,
        model_name: str,
        *,
        instance_count: int = 1,
        input_uri: str = "s3://input-data/batch/",
        output_uri: str = "s3://output-data/results/",
        kms_key_id: str | None = None,
        volume_kms_key_id: str | None = None,
    ) -> str:
        output: dict[str, Any] = {"S3OutputPath": output_uri}
        if kms_key_id:
            output["KmsKeyId"] = kms_key_id
        resources: dict[str, Any] = {"InstanceType": "ml.m5.xlarge", "InstanceCount": instance_count}
        if volume_kms_key_id:
            resources["VolumeKmsKeyId"] = volume_kms_key_id
        return self.client("sagemaker").create_transform_job(
            TransformJobName=name,
            ModelName=model_name,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}}},
            TransformOutput=output,
            TransformResources=resources,
        )["TransformJobArn"]

    # --- a VPC built the way the guidance says ---------------------------------------------

    def compliant_vpc(
        self, cidr_prefix: str = "10.0", buckets: tuple[str, ...] = ("input-data", "output-data")
    ) -> CompliantVpc:
        """Every check passes for a model in this VPC (network isolation on, two AZs,
        private subnets, restricted S3 gateway endpoint on their route tables, flow logs,
        DNS on, self-referencing group, role with the ENI actions, VPC-only buckets)."""
        if self._worlds is None or self._as_member:
            return self._build_compliant_vpc(cidr_prefix, tuple(buckets))
        # The names it gives (sg-1, ...) come from the counter, so a copy carries it too.
        key = ("compliant_vpc", self.region, cidr_prefix, tuple(buckets), self._counter)

        def build() -> tuple[CompliantVpc, int]:
            return self._build_compliant_vpc(cidr_prefix, tuple(buckets)), self._counter

        net, self._counter = self._worlds.restore_or_build(key, build)
        return net

    def _build_compliant_vpc(self, cidr_prefix: str, buckets: tuple[str, ...]) -> CompliantVpc:
        vpc_id = self.vpc(f"{cidr_prefix}.0.0/16")
        subnets = [
            self.subnet(vpc_id, f"{cidr_prefix}.1.0/24", "a"),
            self.subnet(vpc_id, f"{cidr_prefix}.2.0/24", "b"),
        ]
        tables = [self.route_table(vpc_id, [sid]) for sid in subnets]
        sg = self.security_group(vpc_id)
        endpoint = self.s3_gateway_endpoint(vpc_id, tables, policy=restricted_s3_policy(list(buckets)))
        flow_log = self.flow_log(vpc_id)
        role = self.role()
        made = []
        existing = {b["Name"] for b in self.client("s3").list_buckets().get("Buckets", [])}
        for bucket in buckets:
            if bucket not in existing:
                self.bucket(bucket, vpc_only_bucket_policy(bucket, vpce_id=endpoint))
            made.append(bucket)
        return CompliantVpc(
            vpc_id=vpc_id,
            subnet_ids=subnets,
            route_table_ids=tables,
            main_route_table_id=self.main_route_table(vpc_id),
            security_group_id=sg,
            s3_endpoint_id=endpoint,
            flow_log_id=flow_log,
            role_arn=role,
            buckets=made,
        )

    def compliant_model(self, name: str, net: CompliantVpc, **kwargs: Any) -> str:
        kwargs.setdefault("subnet_ids", net.subnet_ids)
        kwargs.setdefault("security_group_ids", [net.security_group_id])
        kwargs.setdefault("role_arn", net.role_arn)
        return self.model(name, **kwargs)
