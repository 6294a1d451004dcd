"""s3_bucket_policy_vpc_only on real buckets, endpoints and transform jobs in the local AWS.

A transform job's input and output buckets must each carry a Deny that admits only this
VPC (aws:SourceVpce one of its S3 endpoints, or aws:SourceVpc the VPC). A policy pinned to
another VPC or endpoint denies the job itself.
"""

import json

import pytest

from tests.conftest import result_of
from tests.localaws.builders import vpc_only_bucket_policy
from vpcguard.model import Status

CHECK = "s3_bucket_policy_vpc_only"


def _deny_unless(bucket, operator, key, values, action="s3:*"):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAll",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            {
                "Sid": "VpcOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": action,
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {operator: {key: values}},
            },
        ],
    }


def _job(builder, net, *, input_uri="s3://input-data/batch/", output_uri="s3://output-data/results/"):
    builder.compliant_model("m", net)
    builder.transform_job("job", "m", input_uri=input_uri, output_uri=output_uri)


def test_compliant_job_buckets_pass(builder, engine):
    net = builder.compliant_vpc()
    _job(builder, net)
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.PASS, result.detail
    assert result.severity == "LOW" and result.fixable is False
    assert "input bucket input-data" in result.detail and "output bucket output-data" in result.detail
    assert f"aws:SourceVpce {net.s3_endpoint_id}" in result.detail


def test_a_model_is_not_applicable(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), CHECK)
    assert result.status == Status.NOT_APPLICABLE
    assert "transform jobs only" in result.detail


def test_input_bucket_without_a_policy_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.bucket("raw-data")
    _job(builder, net, input_uri="s3://raw-data/2024/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert "input bucket raw-data has no bucket policy" in result.detail
    assert "output-data" not in result.detail  # the output bucket is fine
    assert "raw-data" in result.resource_ids
    statement = result.remediation["suggestion"]
    # The VPC pin, and the administrative roles' exception the user fills in before pasting.
    assert statement["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": [net.s3_endpoint_id]},
        "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/<ADMIN_ROLE>"]},
    }


def test_policy_without_a_vpc_deny_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.bucket(
        "open-out",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::open-out/*"}
            ],
        },
    )
    _job(builder, net, output_uri="s3://open-out/results/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert "output bucket open-out has no Deny statement limiting s3:PutObject to this VPC" in result.detail
    assert f"aws:SourceVpce {net.s3_endpoint_id} or aws:SourceVpc {net.vpc_id}" in result.detail


def test_bucket_pinned_to_another_vpcs_endpoint_fails_saying_the_job_will_be_denied(builder, engine):
    net = builder.compliant_vpc()
    other = builder.compliant_vpc(cidr_prefix="10.1", buckets=("other-input",))
    _job(builder, net, input_uri="s3://other-input/batch/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert (
        f"input bucket other-input: statement 'OnlyFromOurVpc' denies s3:GetObject unless "
        f"aws:SourceVpce {other.s3_endpoint_id}"
    ) in result.detail
    assert "which is another VPC or endpoint" in result.detail
    assert (
        f"requests from {', '.join(sorted(net.subnet_ids))} go through {net.s3_endpoint_id}, "
        "so the job will be denied"
    ) in result.detail


def test_bucket_pinned_to_another_vpc_id_fails(builder, engine):
    net = builder.compliant_vpc()
    other_vpc = builder.vpc("10.7.0.0/16")
    builder.bucket("pinned-out", vpc_only_bucket_policy("pinned-out", vpc_id=other_vpc))
    _job(builder, net, output_uri="s3://pinned-out/x/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert (
        f"output bucket pinned-out: statement 'OnlyFromOurVpc' denies s3:PutObject unless aws:SourceVpc {other_vpc}"
        in (result.detail)
    )
    assert "the job will be denied" in result.detail


@pytest.mark.parametrize(
    ("operator", "key", "use_vpc"),
    [
        ("StringNotEquals", "aws:SourceVpc", True),
        ("StringNotEqualsIfExists", "aws:SourceVpce", False),
        ("ForAnyValue:StringNotEquals", "aws:sourceVpce", False),
        ("StringNotLike", "aws:SourceVpc", True),
    ],
)
def test_deny_variants_admitting_this_vpc_pass(builder, engine, operator, key, use_vpc):
    net = builder.compliant_vpc(buckets=("output-data",))
    value = net.vpc_id if use_vpc else net.s3_endpoint_id
    builder.bucket("in-variant", _deny_unless("in-variant", operator, key, [value, "vpce-0000000000000000a"]))
    _job(builder, net, input_uri="s3://in-variant/batch/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.PASS, result.detail
    assert "input bucket in-variant" in result.detail and value in result.detail


def test_deny_that_leaves_the_needed_action_out_does_not_count(builder, engine):
    """The output bucket's Deny covers only reads, so writes from anywhere are accepted."""
    net = builder.compliant_vpc(buckets=("input-data",))
    builder.bucket(
        "read-locked",
        _deny_unless("read-locked", "StringNotEquals", "aws:SourceVpce", net.s3_endpoint_id, "s3:GetObject"),
    )
    _job(builder, net, output_uri="s3://read-locked/out/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert "output bucket read-locked has no Deny statement limiting s3:PutObject" in result.detail


def test_pinned_to_this_vpcs_endpoint_but_the_subnets_do_not_route_through_it(builder, engine):
    """The bucket admits only our endpoint, but one model subnet's route table is not on
    it, so that subnet's requests carry no aws:SourceVpce and are denied."""
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_endpoint(
        VpcEndpointId=net.s3_endpoint_id, RemoveRouteTableIds=[net.route_table_ids[1]]
    )
    _job(builder, net)
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert f"aws:SourceVpce {net.s3_endpoint_id}, which admits this VPC" in result.detail
    assert (
        f"requests from {net.subnet_ids[1]} go without an S3 endpoint of this VPC (see s3_endpoint_routes), "
        "so the job will be denied"
    ) in result.detail


def test_job_with_a_bucket_that_does_not_exist_is_an_error(builder, engine):
    net = builder.compliant_vpc()
    _job(builder, net, output_uri="s3://no-such-bucket/out/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.ERROR
    assert "no-such-bucket" in result.detail


def test_unreadable_condition_operator_is_not_credited(builder, engine):
    net = builder.compliant_vpc(buckets=("output-data",))
    policy = _deny_unless("odd-in", "StringNotEquals", "aws:SourceVpce", net.s3_endpoint_id)
    policy["Statement"][1]["Condition"] = {"ArnNotEquals": {"aws:SourceVpce": net.s3_endpoint_id}}
    builder.client("s3").create_bucket(Bucket="odd-in")
    builder.client("s3").put_bucket_policy(Bucket="odd-in", Policy=json.dumps(policy))
    _job(builder, net, input_uri="s3://odd-in/batch/")
    result = result_of(engine.evaluate_transform_job("job"), CHECK)
    assert result.status == Status.FAIL
    assert "input bucket odd-in has no Deny statement" in result.detail
