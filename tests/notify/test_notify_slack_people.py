"""What the people who get the Slack message need (issue "Reports people look at"): the
headline says what was fixed and what still fails; the failing security group, subnet,
endpoint and role link to the console; each failure the team can fix comes with a
copyable `aws ...` command; and the message says who created the model or job.

The creator is the CloudTrail caller: the inspect side publishes it as the SNS message
attribute `actor` (the body stays the contract's subject object), and the notify handler
reads it back from the SNS envelope, or from the SQS message attributes with raw delivery.
End to end here: publish_findings -> SNS (moto) -> SQS -> functions/notify/app.py -> the
Slack-like server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.localaws.server import ACCOUNT, REGION
from tests.notify.conftest import result, subject
from tests.notify.test_notify_slack_blocks import assert_valid_block_kit, section_texts
from vpcguard.aws import AwsClients
from vpcguard.checks.sg_self_ingress import self_rule
from vpcguard.notify.notifier import Notifier
from vpcguard.notify.sender import SlackSender
from vpcguard.notify.slack import MAX_SECTION_TEXT, build_message, render_text
from vpcguard.notify.subject import parse_subject
from vpcguard.publish import message_attributes, publish_findings
from vpcguard.settings import Settings

CONSOLE = f"https://{REGION}.console.aws.amazon.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/scoring-exec"
ACTOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/ml-platform-deployer/ana.lopez"


def code_blocks(text: str) -> list[str]:
    """The ``` blocks of a mrkdwn text, unescaped as Slack shows them."""
    return [
        b.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        for b in re.findall(r"```(.*?)```", text, re.S)
    ]


def test_the_headline_says_what_was_fixed_and_what_still_fails():
    """A HIGH auto-fix beside LOW failures used to arrive as "LOW"."""
    data = subject(
        [
            result(
                "sg_self_ingress",
                "FIXED",
                "HIGH",
                fixable=True,
                remediation={
                    "action": "ec2:AuthorizeSecurityGroupIngress",
                    "resource_id": "sg-1",
                    "description": "add an inbound rule to sg-1 allowing all protocols from sg-1 itself",
                },
            ),
            result("subnets_multi_az", "FAIL", "LOW"),
            result("network_isolation", "FAIL", "INFORMATIONAL"),
        ],
        name="fraud-nightly",
        kind="transform_job",
    )
    payload = build_message(data)
    assert_valid_block_kit(payload)

    assert (
        payload["blocks"][0]["text"]["text"]
        == "HIGH auto-fixed (1), LOW still failing (2): transform job fraud-nightly"
    )
    assert payload["text"].startswith(
        "vpcguard HIGH auto-fixed (1), LOW still failing (2): transform job fraud-nightly"
    )
    assert payload["text"].endswith("2 failing, 1 auto-fixed")
    only_fixed = build_message(subject([data["results"][0]], name="m"))
    assert only_fixed["blocks"][0]["text"]["text"] == "HIGH auto-fixed (1): model m"


def test_failing_resources_link_to_the_console():
    payload = build_message(
        subject(
            [
                result("sg_self_ingress", severity="MEDIUM", resource_ids=["sg-0abc"], fixable=True),
                result("subnet_ip_capacity", resource_ids=["subnet-0abc"]),
                result(
                    "s3_endpoint_routes", resource_ids=["subnet-0abc", "rtb-0abc", "vpce-0abc"], fixable=True
                ),
                result(
                    "execution_role_vpc_permissions",
                    resource_ids=[ROLE],
                    remediation={
                        "action": "suggest",
                        "resource_id": ROLE,
                        "description": "grant ec2:DescribeVpcs",
                        "suggestion": {"Version": "2012-10-17", "Statement": []},
                    },
                ),
            ]
        )
    )
    assert_valid_block_kit(payload)
    text = "\n".join(section_texts(payload))

    assert f"<{CONSOLE}/ec2/home?region={REGION}#SecurityGroup:groupId=sg-0abc|sg-0abc>" in text
    assert (
        f"<{CONSOLE}/vpcconsole/home?region={REGION}#SubnetDetails:subnetId=subnet-0abc|subnet-0abc>" in text
    )
    assert (
        f"<{CONSOLE}/vpcconsole/home?region={REGION}#EndpointDetails:vpcEndpointId=vpce-0abc|vpce-0abc>"
        in text
    )
    assert (
        f"<{CONSOLE}/vpcconsole/home?region={REGION}#RouteTableDetails:RouteTableId=rtb-0abc|rtb-0abc>"
        in text
    )
    assert f"<{CONSOLE}/iam/home?region={REGION}#/roles/details/scoring-exec|role scoring-exec>" in text
    # The execution role is named with the job and the model, whatever its result.
    assert (
        f"*Execution role* <{CONSOLE}/iam/home?region={REGION}#/roles/details/scoring-exec|scoring-exec>"
        in (payload["blocks"][1]["text"]["text"])
    )


def test_each_failure_the_team_can_fix_has_a_copyable_aws_command(engine_subject):
    data, ids = engine_subject
    payload = build_message(data)
    assert_valid_block_kit(payload)
    texts = section_texts(payload)

    [self_rule_text] = [t for t in texts if "(`sg_self_ingress`)" in t]
    [command] = code_blocks(self_rule_text)
    words = shlex.split(command)  # it survives a shell: the rule is exactly the fix's rule
    assert words[:3] == ["aws", "ec2", "authorize-security-group-ingress"]
    assert words[words.index("--region") + 1] == REGION and words[words.index("--group-id") + 1] == ids["sg"]
    assert json.loads(words[words.index("--ip-permissions") + 1]) == self_rule(ids["sg"])
    assert "VPCGUARD_MODES=sg_self_ingress=fix" in self_rule_text  # or let vpcguard do it

    [egress] = [t for t in texts if "(`sg_egress_allows_s3`)" in t]
    assert any(
        c.startswith(f"aws ec2 authorize-security-group-egress --region {REGION} --group-id {ids['sg']}")
        for c in code_blocks(egress)
    )
    # What only a person can judge (too few addresses) gets no command, only its evidence.
    [capacity] = [t for t in texts if "(`subnet_ip_capacity`)" in t]
    assert "```" not in capacity
    # The plain-text rendering of `make demo` shows the command as typed.
    assert (
        f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {ids['sg']}"
        in render_text(data)
    )


def test_a_command_too_long_for_slack_is_left_out_whole_never_cut():
    actions = [f"ec2:Action{i:04d}" for i in range(400)]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    payload = build_message(
        subject(
            [
                result(
                    "execution_role_vpc_permissions",
                    resource_ids=[ROLE],
                    detail="missing " + " ".join(actions),
                    remediation={
                        "action": "suggest",
                        "resource_id": ROLE,
                        "description": "grant them",
                        "suggestion": policy,
                    },
                ),
            ]
        )
    )
    assert_valid_block_kit(payload)
    [text] = [t for t in section_texts(payload) if "execution_role_vpc_permissions" in t]
    assert len(text) <= MAX_SECTION_TEXT
    assert "put-role-policy" not in text and "`vpcguard scan --format html` shows it" in text


def test_who_created_it_is_published_as_the_actor_attribute_not_in_the_body():
    report = parse_subject(subject([result("subnets_private")]))
    report.created_by = ACTOR
    assert message_attributes(report)["actor"] == {"DataType": "String", "StringValue": ACTOR}
    assert "actor" not in report.to_dict() and ACTOR not in json.dumps(report.to_dict())
    report.created_by = None  # a state-change event or a backfill names no creator
    assert "actor" not in message_attributes(report)


# --- end to end: SNS attribute -> notify handler -> Slack -----------------------------------


APP = Path(__file__).resolve().parents[2] / "functions" / "notify" / "app.py"
CONTEXT = SimpleNamespace(
    function_name="vpcguard-notify",
    function_version="$LATEST",
    memory_limit_in_mb=256,
    invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:vpcguard-notify",
    aws_request_id="4f1d7c1e-0000-4000-8000-00000000abcd",
)


@pytest.fixture
def app():
    spec = importlib.util.spec_from_file_location("vpcguard_notify_app_people", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    module._notifier = None


@pytest.mark.parametrize("raw", [False, True], ids=["sns-envelope", "raw-delivery"])
def test_the_creator_reaches_the_slack_message(endpoint_url, app, slack, webhook_secret, raw):
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="vpcguard-findings")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"vpcguard-notify-{'raw' if raw else 'envelope'}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"} if raw else {},
    )
    report = parse_subject(subject([result("subnets_private", severity="MEDIUM")], name="fraud-v3"))
    report.created_by = ACTOR
    publish_findings(clients, topic, report)

    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    # As Lambda's SQS event source shapes a record (its message attributes in lower camel case).
    attributes = {
        name: {"stringValue": a["StringValue"], "dataType": a["DataType"]}
        for name, a in message.get("MessageAttributes", {}).items()
    }
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    default = webhook_secret("default", slack.webhook("default"))
    app._notifier = Notifier(
        Settings(slack_secret_arn=default),
        clients,
        sender=SlackSender(backoff_seconds=0.01, retry_after_cap=0.05, attempts=3),
    )

    assert app.lambda_handler({"Records": [record]}, CONTEXT) == {"batchItemFailures": []}
    [post] = slack.posts(slack.webhook("default"))
    facts = post.payload["blocks"][1]["text"]["text"]
    assert f"*Created by* ana.lopez (role ml-platform-deployer) `{ACTOR}`" in facts


def test_a_long_fix_keeps_its_commands_whole_and_never_leaves_a_code_block_open():
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::packages.{i:03d}.amazonaws.com/*" for i in range(80)],
    }
    payload = build_message(
        subject(
            [
                result(
                    "s3_endpoint_denies_package_repos",
                    severity="LOW",
                    resource_ids=["vpce-0abc"],
                    detail="containers can install packages " * 80,
                    remediation={
                        "action": "suggest",
                        "resource_id": "vpce-0abc",
                        "description": "add it " * 150,
                        "suggestion": {"Statement": [statement]},
                    },
                ),
            ]
        )
    )
    assert_valid_block_kit(payload)
    [text] = [t for t in section_texts(payload) if "package_repos" in t]
    assert len(text) <= MAX_SECTION_TEXT and text.count("```") % 2 == 0
    commands = [c for c in code_blocks(text) if c.startswith("aws ")]
    assert commands == [
        f"aws ec2 describe-vpc-endpoints --region {REGION} --vpc-endpoint-ids vpce-0abc "
        "--query 'VpcEndpoints[0].PolicyDocument' --output text > endpoint-policy.json",
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id vpce-0abc "
        "--policy-document file://endpoint-policy.json",
    ]
