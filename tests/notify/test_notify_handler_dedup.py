"""The notify Lambda end to end on local parts: subjects published to a real SNS topic in
moto, delivered to an SQS queue (with a DLQ) through a subscription, taken from the queue
into real Lambda SQS events, handled by functions/notify/app.py, posted to the Slack-like
server on 127.0.0.1. Noise control runs on a DynamoDB table in moto."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from tests.localaws.server import ACCOUNT, REGION
from tests.notify.conftest import result, subject
from vpcguard.aws import AwsClients
from vpcguard.notify.dedup import Deduper
from vpcguard.notify.notifier import Notifier
from vpcguard.notify.sender import SlackDeliveryError, SlackSender
from vpcguard.results import SubjectReport
from vpcguard.settings import Settings

APP = Path(__file__).resolve().parents[2] / "functions" / "notify" / "app.py"
CONTEXT = SimpleNamespace(
    function_name="vpcguard-notify",
    function_version="$LATEST",
    memory_limit_in_mb=256,
    invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:vpcguard-notify",
    aws_request_id="4f1d7c1e-0000-4000-8000-000000000001",
)


def load_app():
    spec = importlib.util.spec_from_file_location("vpcguard_notify_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    # Powertools keeps the first handler made for a service name, and with it the sys.stdout
    # of that moment: a test's capture, closed when that test ended. In Lambda stdout never
    # closes; here each load points the function's log handler at the stdout of now.
    for handler in logging.getLogger(module.logger.service).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.stream = sys.stdout  # not setStream: it would flush the closed one
    return module


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Pipeline:
    """SNS findings topic -> SQS notify queue (redrive to a DLQ) -> notify handler."""

    def __init__(self, endpoint_url: str, *, raw: bool = False, max_receive: int = 2) -> None:
        self.sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint_url)
        self.sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
        self.topic = self.sns.create_topic(Name="vpcguard-findings")["TopicArn"]
        self.dlq_url = self.sqs.create_queue(QueueName="vpcguard-notify-dlq")["QueueUrl"]
        dlq_arn = self._arn(self.dlq_url)
        self.queue_url = self.sqs.create_queue(
            QueueName="vpcguard-notify",
            Attributes={
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
                ),
            },
        )["QueueUrl"]
        self.queue_arn = self._arn(self.queue_url)
        attributes = {"RawMessageDelivery": "true"} if raw else {}
        self.sns.subscribe(
            TopicArn=self.topic, Protocol="sqs", Endpoint=self.queue_arn, Attributes=attributes
        )

    def _arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def publish(self, data: dict) -> None:
        """As the inspect function publishes: the subject object, with filter attributes."""
        fails = [r for r in data["results"] if r["status"] == "FAIL"]
        self.sns.publish(
            TopicArn=self.topic,
            Message=json.dumps(data),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": fails[0]["severity"] if fails else "NONE"},
                "check_ids": {
                    "DataType": "String.Array",
                    "StringValue": json.dumps([r["check_id"] for r in fails]),
                },
                "account": {"DataType": "String", "StringValue": data["account"]},
                "region": {"DataType": "String", "StringValue": data["region"]},
            },
        )

    def lambda_event(self) -> tuple[dict, dict[str, str]]:
        """Receive a batch and shape it as Lambda's SQS event source does."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
        return {"Records": records}, {m["MessageId"]: m["ReceiptHandle"] for m in messages}

    def run(self, app) -> dict:
        """One poll as the event source mapping does: successes deleted, failures made
        visible again (as when their visibility timeout ends)."""
        event, handles = self.lambda_event()
        if not event["Records"]:
            return {"batchItemFailures": [], "records": 0}
        response = app.lambda_handler(event, CONTEXT)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for message_id, handle in handles.items():
            if message_id in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
        return {**response, "records": len(handles)}

    def dlq_bodies(self) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in messages]


@pytest.fixture
def state_table(endpoint_url) -> str:
    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
    ddb.create_table(
        TableName="vpcguard-state",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName="vpcguard-state", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    return "vpcguard-state"


@pytest.fixture
def app():
    module = load_app()
    yield module
    module._notifier = None


def make_notifier(endpoint_url: str, settings: Settings, *, clock=None) -> Notifier:
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    deduper = None
    if settings.state_table:
        deduper = Deduper(
            clients.client("dynamodb"),
            settings.state_table,
            settings.dedup_seconds,
            clock=clock or FakeClock(),
        )
    sender = SlackSender(backoff_seconds=0.01, retry_after_cap=0.05, attempts=3)
    return Notifier(settings, clients, sender=sender, deduper=deduper)


def headers(posts) -> list[str]:
    return [p.payload["blocks"][0]["text"]["text"] for p in posts]


# --- the handler ------------------------------------------------------------------------


def test_engine_subject_through_sns_and_sqs_reaches_the_team_channel(
    endpoint_url, app, slack, webhook_secret, engine_subject
):
    data, ids = engine_subject
    team = webhook_secret("ml", slack.webhook("ml"))
    default = webhook_secret("default", slack.webhook("default"))
    app._notifier = make_notifier(
        endpoint_url, Settings(slack_secret_arn=default, slack_team_secrets={"ml": team})
    )
    pipeline = Pipeline(endpoint_url)
    pipeline.publish(data)

    response = pipeline.run(app)
    assert response == {"batchItemFailures": [], "records": 1}
    [post] = slack.posts(slack.webhook("ml"))  # the model's vpcguard:team tag is "ml"
    assert not slack.posts(slack.webhook("default"))
    assert headers([post]) == ["HIGH: transform job churn-nightly"]
    assert ids["subnet"] in json.dumps(post.payload)


def test_raw_delivery_and_the_default_channel(endpoint_url, app, slack, webhook_secret):
    default = webhook_secret("default", slack.webhook("default"))
    app._notifier = make_notifier(
        endpoint_url, Settings(slack_secret_arn=default, slack_team_secrets={"ml": "arn:unused"})
    )
    pipeline = Pipeline(endpoint_url, raw=True)
    pipeline.publish(subject([result("subnets_private", severity="MEDIUM")], name="untagged-model"))
    assert pipeline.run(app)["batchItemFailures"] == []
    assert headers(slack.posts(slack.webhook("default"))) == ["MEDIUM: model untagged-model"]


def test_429_then_500_then_success_within_one_invocation(endpoint_url, app, slack, webhook_secret):
    url = slack.webhook("default")
    slack.respond(url, 429, "rate_limited", {"Retry-After": "0"})
    slack.respond(url, 500, "internal_error")
    app._notifier = make_notifier(endpoint_url, Settings(slack_secret_arn=webhook_secret("default", url)))
    pipeline = Pipeline(endpoint_url)
    pipeline.publish(subject([result("sg_self_ingress")]))
    assert pipeline.run(app)["batchItemFailures"] == []
    assert len(slack.posts(url)) == 3


def test_permanent_failure_fails_only_that_record_and_ends_in_the_dlq(
    endpoint_url, app, slack, webhook_secret, capsys
):
    good, broken = slack.webhook("ml"), slack.webhook("risk")
    for _ in range(10):
        slack.respond(broken, 404, "no_service")  # the risk team's webhook was revoked
    settings = Settings(
        slack_team_secrets={"ml": webhook_secret("ml", good), "risk": webhook_secret("risk", broken)}
    )
    app._notifier = make_notifier(endpoint_url, settings)
    pipeline = Pipeline(endpoint_url, max_receive=2)
    pipeline.publish(subject([result("sg_self_ingress")], name="ml-model", tags={"vpcguard:team": "ml"}))
    pipeline.publish(subject([result("sg_self_ingress")], name="risk-model", tags={"vpcguard:team": "risk"}))

    first = pipeline.run(app)
    assert first["records"] == 2 and len(first["batchItemFailures"]) == 1
    assert headers(slack.posts(good)) == ["HIGH: model ml-model"]
    second = pipeline.run(app)  # redelivered once more, fails again
    assert second["records"] == 1 and len(second["batchItemFailures"]) == 1
    assert pipeline.run(app)["records"] == 0  # past maxReceiveCount: moved, not redelivered
    [dead] = pipeline.dlq_bodies()
    assert json.loads(json.loads(dead)["Message"])["name"] == "risk-model"  # the whole message, intact
    assert len(slack.posts(broken)) == 2  # no retry within an invocation for a 404
    out = capsys.readouterr()
    assert "risk-secret-token" not in out.out + out.err and "ml-secret-token" not in out.out + out.err


def test_malformed_body_is_a_failed_record_not_a_lost_one(endpoint_url, app, slack):
    app._notifier = make_notifier(endpoint_url, Settings())
    pipeline = Pipeline(endpoint_url, raw=True)
    pipeline.sns.publish(TopicArn=pipeline.topic, Message='{"not": "a subject"}')
    assert len(pipeline.run(app)["batchItemFailures"]) == 1


def test_handler_builds_itself_from_the_environment(endpoint_url, app, slack, webhook_secret, monkeypatch):
    url = slack.webhook("default")
    monkeypatch.setenv("VPCGUARD_SLACK_SECRET_ARN", webhook_secret("default", url))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)  # boto3 reads it, as Lambda would its real endpoints
    app._notifier = None
    pipeline = Pipeline(endpoint_url)
    pipeline.publish(subject([result("vpc_dns_support")]))
    assert pipeline.run(app)["batchItemFailures"] == []
    assert len(slack.posts(url)) == 1


def test_security_hub_and_chatbot_from_the_handler(endpoint_url, app, slack):
    sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url).enable_security_hub()
    chatbot_topic = sns.create_topic(Name="vpcguard-chatbot")["TopicArn"]
    probe = sqs.create_queue(QueueName="chatbot-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=chatbot_topic, Protocol="sqs", Endpoint=probe_arn, Attributes={"RawMessageDelivery": "true"}
    )
    app._notifier = make_notifier(endpoint_url, Settings(chatbot_topic_arn=chatbot_topic, security_hub=True))

    pipeline = Pipeline(endpoint_url)
    pipeline.publish(subject([result("sg_self_ingress"), result("flow_logs_enabled", "PASS", "MEDIUM")]))
    assert pipeline.run(app)["batchItemFailures"] == []

    [note] = sqs.receive_message(QueueUrl=probe, WaitTimeSeconds=1)["Messages"]
    assert json.loads(note["Body"])["source"] == "custom"
    findings = boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url).get_findings()[
        "Findings"
    ]
    assert [f["GeneratorId"] for f in findings] == ["vpcguard/sg_self_ingress"]
    assert not slack.received  # no Slack secret configured: Slack is off


# --- noise control ----------------------------------------------------------------------


def test_repeats_within_the_window_are_held_and_shown_as_a_digest(
    endpoint_url, slack, webhook_secret, state_table
):
    url = slack.webhook("default")
    clock = FakeClock()
    settings = Settings(
        slack_secret_arn=webhook_secret("default", url), state_table=state_table, dedup_seconds=3600
    )
    notifier = make_notifier(endpoint_url, settings, clock=clock)
    two = [result("sg_self_ingress"), result("subnet_ip_capacity", severity="MEDIUM")]

    first = notifier.notify(SubjectReport.from_dict(subject(two)))
    assert first.slack == "sent to default channel" and len(slack.posts(url)) == 1

    clock.now += 600
    again = notifier.notify(SubjectReport.from_dict(subject(two)))
    assert again.slack == "nothing new" and len(slack.posts(url)) == 1  # same (subject, check, status)

    clock.now += 600
    three = [*two, result("flow_logs_enabled", "FIXED", "MEDIUM")]
    third = notifier.notify(SubjectReport.from_dict(subject(three)))
    assert third.notified == ["flow_logs_enabled FIXED"]
    payload = slack.posts(url)[-1].payload
    body = json.dumps(payload)
    assert "`sg_self_ingress`)" not in body  # held back, not repeated ...
    digest = [b["elements"][0]["text"] for b in payload["blocks"] if b["type"] == "context"]
    # ... and counted: once held at +600s, once more in this very evaluation.
    assert (
        "Suppressed since last message: 4 repeats (2 × `sg_self_ingress` FAIL, 2 × `subnet_ip_capacity` FAIL)"
        in digest
    )

    clock.now += 3601  # the window has passed: notified again, digest starts over
    fourth = notifier.notify(SubjectReport.from_dict(subject(two)))
    assert sorted(fourth.notified) == ["sg_self_ingress FAIL", "subnet_ip_capacity FAIL"]
    assert "Suppressed since" not in json.dumps(slack.posts(url)[-1].payload)


def test_a_status_change_is_news(endpoint_url, slack, webhook_secret, state_table):
    url = slack.webhook("default")
    settings = Settings(slack_secret_arn=webhook_secret("default", url), state_table=state_table)
    notifier = make_notifier(endpoint_url, settings)
    notifier.notify(SubjectReport.from_dict(subject([result("sg_self_ingress")])))
    outcome = notifier.notify(SubjectReport.from_dict(subject([result("sg_self_ingress", "FIXED")])))
    assert outcome.notified == ["sg_self_ingress FIXED"] and len(slack.posts(url)) == 2
    # Other subjects are other keys.
    other = notifier.notify(SubjectReport.from_dict(subject([result("sg_self_ingress")], name="other")))
    assert other.notified == ["sg_self_ingress FAIL"]


def test_a_failed_delivery_gives_back_the_claims_and_the_digest(
    endpoint_url, slack, webhook_secret, state_table
):
    url = slack.webhook("default")
    clock = FakeClock()
    settings = Settings(
        slack_secret_arn=webhook_secret("default", url), state_table=state_table, dedup_seconds=3600
    )
    notifier = make_notifier(endpoint_url, settings, clock=clock)
    base = [result("sg_self_ingress")]
    notifier.notify(SubjectReport.from_dict(subject(base)))
    notifier.notify(SubjectReport.from_dict(subject(base)))  # held: 1 repeat

    slack.respond(url, 404, "no_service")
    report = SubjectReport.from_dict(subject([*base, result("vpc_dns_support")]))
    with pytest.raises(SlackDeliveryError):
        notifier.notify(report)
    # SQS redelivers the record: the new result is still news, the digest still there.
    retry = notifier.notify(report)
    assert retry.notified == ["vpc_dns_support FAIL"]
    digest = [
        b["elements"][0]["text"] for b in slack.posts(url)[-1].payload["blocks"] if b["type"] == "context"
    ]
    assert "Suppressed since last message: 2 repeats (2 × `sg_self_ingress` FAIL)" in digest


def test_dedup_items_carry_the_ttl_attribute(endpoint_url, slack, webhook_secret, state_table):
    clock = FakeClock()
    settings = Settings(
        slack_secret_arn=webhook_secret("default", slack.webhook()),
        state_table=state_table,
        dedup_seconds=7200,
    )
    make_notifier(endpoint_url, settings, clock=clock).notify(
        SubjectReport.from_dict(subject([result("sg_self_ingress")]))
    )
    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
    [item] = ddb.scan(TableName=state_table)["Items"]
    assert item["id"]["S"].startswith("notify#arn:aws:sagemaker:") and item["id"]["S"].endswith(
        "#sg_self_ingress#FAIL"
    )
    assert int(item["expiration"]["N"]) == int(clock.now) + 7200
    ttl = ddb.describe_time_to_live(TableName=state_table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"
