"""The fix of a result as people use it (vpcguard.remedy_text, shared by the HTML report
and the Slack message): a sentence and AWS CLI commands that a shell splits back into
exactly the API parameters the fix uses. Results come from the real engine on local AWS
where the shape matters (a dry run's planned fix, a notify-mode FAIL)."""

from __future__ import annotations

import json
import shlex

from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard.checks.sg_self_ingress import self_rule
from vpcguard.console import resource_link, sagemaker_url
from vpcguard.model import Severity, Status
from vpcguard.remedy_text import cli_command, remedy_for
from vpcguard.results import CheckResult
from vpcguard.settings import Settings


def args(command: str) -> dict[str, list[str]]:
    """`aws svc op --a x y --b z` as a shell splits it: {"--a": ["x", "y"], "--b": ["z"]}."""
    words = shlex.split(command)
    assert words[0] == "aws"
    out: dict[str, list[str]] = {"": words[1:3]}
    flag = ""
    for word in words[3:]:
        if word.startswith("--"):
            flag = word
            out[flag] = []
        else:
            out[flag].append(word)
    return out


def fail(check_id: str, resource_ids: list[str], detail: str = "x", **kw) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        status=kw.pop("status", Status.FAIL),
        severity=Severity.HIGH,
        title=check_id,
        detail=detail,
        resource_ids=resource_ids,
        fixable=kw.pop("fixable", True),
        **kw,
    )


def test_cli_command_from_api_parameters_splits_back_into_them():
    params = {"GroupId": "sg-1", "IpPermissions": self_rule("sg-1")}
    command = cli_command("ec2:AuthorizeSecurityGroupIngress", params, "eu-west-1")
    parsed = args(command)
    assert parsed[""] == ["ec2", "authorize-security-group-ingress"]
    assert parsed["--region"] == ["eu-west-1"] and parsed["--group-id"] == ["sg-1"]
    assert json.loads(parsed["--ip-permissions"][0]) == self_rule("sg-1")  # the description's quotes survive
    routes = cli_command(
        "ec2:ModifyVpcEndpoint", {"VpcEndpointId": "vpce-1", "AddRouteTableIds": ["rtb-1", "rtb-2"]}
    )
    assert routes == "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-1 --add-route-table-ids rtb-1 rtb-2"


def test_notify_mode_failures_get_their_command_from_the_ids_they_name():
    sg = remedy_for(fail("sg_self_ingress", ["sg-0abc", "sg-0def"]), REGION)
    assert sg is not None and sg.action == "ec2:AuthorizeSecurityGroupIngress" and not sg.applied
    assert "from sg-0abc itself" in sg.text
    [command] = sg.commands
    assert args(command)["--group-id"] == ["sg-0abc"]
    assert json.loads(args(command)["--ip-permissions"][0]) == self_rule("sg-0abc")

    routes = remedy_for(fail("s3_endpoint_routes", ["subnet-1", "rtb-1", "rtb-2", "vpce-9"]), REGION)
    assert routes.commands == (
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id vpce-9 --add-route-table-ids rtb-1 rtb-2",
    )

    logs = remedy_for(fail("flow_logs_enabled", ["vpc-7", "subnet-1"]), REGION)
    [command] = logs.commands
    assert command.startswith(
        f"aws ec2 create-flow-logs --region {REGION} --resource-type VPC --resource-ids vpc-7 "
        "--traffic-type ALL --log-destination-type cloud-watch-logs"
    )
    assert "LOG_GROUP_NAME" in command and "LOG_GROUP_NAME" in logs.note  # the placeholder is explained

    dns = remedy_for(fail("vpc_dns_support", ["vpc-7"]), REGION)
    assert json.loads(args(dns.commands[0])["--enable-dns-support"][0]) == {"Value": True}


def test_a_dry_run_plan_and_an_applied_fix_become_the_same_command(builder: Builder, make_engine):
    net = builder.compliant_vpc("10.7")
    bare = builder.security_group(net.vpc_id, self_ingress=False)
    builder.model("lonely", subnet_ids=net.subnet_ids, security_group_ids=[bare], role_arn=net.role_arn)

    planned = make_engine(Settings(remediate=True, dry_run=True)).evaluate_model("lonely")
    [would] = [r for r in planned.results if r.check_id == "sg_self_ingress"]
    assert would.status == Status.WOULD_FIX
    remedy = remedy_for(would, REGION)
    assert remedy.text.startswith("vpcguard would add an inbound rule to " + bare)
    assert "dry run: nothing was changed" in remedy.text
    [command] = remedy.commands
    assert json.loads(args(command)["--ip-permissions"][0]) == self_rule(bare)

    done = make_engine(Settings(remediate=True)).evaluate_model("lonely")
    [fixed] = [r for r in done.results if r.check_id == "sg_self_ingress"]
    applied = remedy_for(fixed, REGION)
    assert (
        fixed.status == Status.FIXED and applied.applied and applied.text.startswith("vpcguard did this: add")
    )
    assert applied.commands == remedy.commands
    # What the notify-mode FAIL said to run is what the fix ran.
    assert remedy_for(fail("sg_self_ingress", [bare]), REGION).commands == remedy.commands


def test_suggested_policies_become_commands_that_apply_them():
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}],
    }
    role = "arn:aws:iam::123456789012:role/service-role/exec"
    result = fail(
        "execution_role_vpc_permissions",
        [role],
        fixable=False,
        remediation={
            "action": "suggest",
            "resource_id": role,
            "description": "grant ec2:DescribeVpcs",
            "suggestion": policy,
        },
    )
    remedy = remedy_for(result, REGION)
    [command] = remedy.commands
    parsed = args(command)
    assert parsed[""] == ["iam", "put-role-policy"] and parsed["--role-name"] == ["exec"]
    assert json.loads(parsed["--policy-document"][0]) == policy
    assert remedy.text == "Grant ec2:DescribeVpcs."

    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::in-data", "arn:aws:s3:::in-data/*"],
    }
    bucket = remedy_for(
        fail(
            "s3_bucket_policy_vpc_only",
            ["in-data", "vpce-1"],
            fixable=False,
            remediation={"action": "suggest", "suggestion": statement},
        ),
        REGION,
    )
    assert bucket.commands == (
        "aws s3api get-bucket-policy --bucket in-data --query Policy --output text > in-data-policy.json",
        "aws s3api put-bucket-policy --bucket in-data --policy file://in-data-policy.json",
    )
    assert json.loads(bucket.document) == statement


def test_nothing_to_run_for_what_only_a_person_can_judge():
    assert remedy_for(fail("subnet_ip_capacity", ["subnet-1"]), REGION) is None
    assert remedy_for(fail("sg_self_ingress", ["sg-1"], status=Status.PASS), REGION) is None
    assert remedy_for(fail("sg_self_ingress", ["sg-1"], status=Status.ERROR), REGION) is None


def test_console_links_are_region_and_partition_aware():
    assert resource_link("eu-west-1", "sg-1").url == (
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-1"
    )
    assert resource_link("eu-west-1", "subnet-1").url.endswith(
        "/vpcconsole/home?region=eu-west-1#SubnetDetails:subnetId=subnet-1"
    )
    assert resource_link("eu-west-1", "vpce-1").url.endswith("#EndpointDetails:vpcEndpointId=vpce-1")
    role = resource_link("eu-west-1", "arn:aws:iam::1:role/service-role/exec")
    assert role.kind == "role" and role.url.endswith("/iam/home?region=eu-west-1#/roles/details/exec")
    assert resource_link("cn-north-1", "sg-1").url.startswith("https://cn-north-1.console.amazonaws.cn/")
    assert resource_link("us-gov-west-1", "vpc-1").url.startswith(
        "https://us-gov-west-1.console.amazonaws-us-gov.com/"
    )
    assert resource_link("eu-west-1", "my-bucket") is None
    assert sagemaker_url("eu-west-1", "transform_job", "nightly") == (
        "https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/transform-jobs/nightly"
    )
