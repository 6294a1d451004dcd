"""The test harness's own promise: a setup call handed to moto's app in-process
(tests/localaws/in_process.py) gets the answer the same call gets over HTTP."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.localaws.server import REGION


@pytest.fixture
def over_http(endpoint_url):
    session = boto3.Session(region_name=REGION)
    return lambda service: session.client(service, endpoint_url=endpoint_url)


def test_what_the_builder_makes_in_process_reads_the_same_over_http(builder, over_http):
    net = builder.compliant_vpc()
    for describe, key in (
        ("describe_vpcs", "Vpcs"),
        ("describe_subnets", "Subnets"),
        ("describe_route_tables", "RouteTables"),
        ("describe_security_groups", "SecurityGroups"),
        ("describe_vpc_endpoints", "VpcEndpoints"),
        ("describe_flow_logs", "FlowLogs"),
    ):
        in_process = getattr(builder.ec2, describe)()[key]
        http = getattr(over_http("ec2"), describe)()[key]
        assert in_process == http, describe
    assert net.vpc_id in {vpc["VpcId"] for vpc in over_http("ec2").describe_vpcs()["Vpcs"]}
    role = net.role_arn.rsplit("/", 1)[1]
    assert (
        builder.client("iam").get_role(RoleName=role)["Role"]
        == over_http("iam").get_role(RoleName=role)["Role"]
    )


def test_an_error_answer_is_the_same_client_error_in_process_and_over_http(builder, over_http):
    errors = []
    for ec2 in (builder.ec2, over_http("ec2")):
        with pytest.raises(ClientError) as raised:
            ec2.describe_vpcs(VpcIds=["vpc-0000000000000000f"])
        errors.append(
            (
                raised.value.response["Error"]["Code"],
                raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
            )
        )
    assert errors[0] == errors[1] == ("InvalidVpcID.NotFound", 400)


def test_bodies_and_head_requests_round_trip_in_process(builder, over_http):
    s3 = builder.client("s3")
    s3.create_bucket(Bucket="round-trip")
    payload = bytes(range(256)) * 64
    s3.put_object(Bucket="round-trip", Key="a/b.bin", Body=payload)
    assert s3.get_object(Bucket="round-trip", Key="a/b.bin")["Body"].read() == payload
    assert over_http("s3").get_object(Bucket="round-trip", Key="a/b.bin")["Body"].read() == payload
    assert s3.head_object(Bucket="round-trip", Key="a/b.bin")["ContentLength"] == len(payload)
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="round-trip", Key="absent")
    assert missing.value.response["Error"]["Code"] == "404"


def test_the_builders_calls_skip_the_socket_and_vpcguards_go_over_it(builder, clients, local_aws):
    before = local_aws.requests_over_http
    builder.ec2.describe_vpcs()
    builder.client("iam").list_roles()
    assert local_aws.requests_over_http == before
    clients.client("ec2").describe_vpcs()
    clients.client("iam").list_roles()
    assert local_aws.requests_over_http == before + 2
