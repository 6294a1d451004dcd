"""The test harness's own promise: a setup call handed to moto's app in-process
(tests/localaws/in_process.py) gets the answer the same call gets over HTTP."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from tests.localaws.worlds import WorldCache


@pytest.fixture
def over_http(endpoint_url):
    session = boto3.Session(region_name=REGION)
    return lambda service: session.client(service, endpoint_url=endpoint_url)


def readout(client) -> dict[str, object]:
    """Everything a compliant world holds, as AWS's read APIs answer through `client(service)`."""
    ec2, iam, s3, logs = (client(s) for s in ("ec2", "iam", "s3", "logs"))
    seen: dict[str, object] = {
        key: getattr(ec2, describe)()[key]
        for describe, key in (
            ("describe_vpcs", "Vpcs"),
            ("describe_subnets", "Subnets"),
            ("describe_route_tables", "RouteTables"),
            ("describe_security_groups", "SecurityGroups"),
            ("describe_vpc_endpoints", "VpcEndpoints"),
            ("describe_flow_logs", "FlowLogs"),
            ("describe_network_acls", "NetworkAcls"),
            ("describe_dhcp_options", "DhcpOptions"),
        )
    }
    roles = iam.list_roles()["Roles"]
    seen["roles"] = roles
    seen["role_policies"] = {
        r["RoleName"]: [
            iam.get_role_policy(RoleName=r["RoleName"], PolicyName=p)["PolicyDocument"]
            for p in iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]
        ]
        for r in roles
    }
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    seen["bucket_policies"] = {b: s3.get_bucket_policy(Bucket=b)["Policy"] for b in buckets}
    seen["log_groups"] = logs.describe_log_groups()["logGroups"]
    return seen


def test_what_the_builder_makes_in_process_reads_the_same_over_http(builder, over_http):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    seen = readout(builder.client)
    assert seen == readout(over_http)
    assert net.vpc_id in {vpc["VpcId"] for vpc in seen["Vpcs"]}
    models = [client("sagemaker").describe_model(ModelName="m") for client in (builder.client, over_http)]
    for model in models:
        del model["ResponseMetadata"]  # request ids and dates differ
    assert models[0] == models[1]


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


# --- worlds built once per process (tests/localaws/worlds.py) ---------------------------------


def test_a_restored_world_reads_the_same_as_the_built_one_and_is_a_copy(local_aws, endpoint_url, over_http):
    worlds = WorldCache(local_aws, enabled=True)
    built = Builder(endpoint_url, worlds=worlds).compliant_vpc()
    assert (worlds.built, worlds.restored) == (1, 0)
    first = readout(over_http)
    assert first["VpcEndpoints"] and first["FlowLogs"] and len(first["bucket_policies"]) == 2

    # The test that got it breaks it.
    ec2 = over_http("ec2")
    ec2.revoke_security_group_ingress(
        GroupId=built.security_group_id,
        IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": built.security_group_id}]}],
    )
    over_http("s3").delete_bucket_policy(Bucket="input-data")

    for _ in range(2):
        local_aws.reset()
        builder = Builder(endpoint_url, worlds=worlds)
        restored = builder.compliant_vpc()
        assert restored == built
        assert readout(over_http) == first
        # The builder's names go on after the world's, as they would after its calls.
        assert builder.security_group(restored.vpc_id) != restored.security_group_id
        assert len(over_http("ec2").describe_security_groups(GroupNames=["sg-1"])["SecurityGroups"]) == 1
    assert (worlds.built, worlds.restored) == (1, 2)

    # Reset still empties it.
    local_aws.reset()
    assert not over_http("s3").list_buckets()["Buckets"]
    assert built.vpc_id not in {v["VpcId"] for v in over_http("ec2").describe_vpcs()["Vpcs"]}


def test_a_world_is_built_by_its_calls_when_moto_already_holds_something(local_aws, endpoint_url, over_http):
    worlds = WorldCache(local_aws, enabled=True)
    first = Builder(endpoint_url, worlds=worlds).compliant_vpc()
    local_aws.reset()
    over_http("s3").create_bucket(Bucket="already-here")
    second = Builder(endpoint_url, worlds=worlds).compliant_vpc()
    assert (worlds.built, worlds.restored) == (1, 0)
    assert second.vpc_id != first.vpc_id
    assert {b["Name"] for b in over_http("s3").list_buckets()["Buckets"]} == {"already-here", *second.buckets}


def test_steps_are_copied_in_the_order_taken_and_a_copied_queue_still_delivers(
    local_aws, endpoint_url, over_http
):
    worlds = WorldCache(local_aws, enabled=True)
    sqs = over_http("sqs")

    def queue_with_a_message() -> str:
        url = sqs.create_queue(QueueName="work")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="first")
        return url

    seen = []
    for _ in range(2):
        local_aws.reset()
        url = worlds.restore_or_build("queue", queue_with_a_message)
        net = Builder(endpoint_url, worlds=worlds).compliant_vpc()
        seen.append((url, net, readout(over_http)))
    assert (worlds.built, worlds.restored) == (2, 2)
    assert seen[0] == seen[1]

    # The copied queue (its lock is a copy's own) holds the message and takes new ones.
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["first"]
    sqs.send_message(QueueUrl=url, MessageBody="second")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]] == ["second"]
