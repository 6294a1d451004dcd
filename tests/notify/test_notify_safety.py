# ruff: noqa: F811 (the `app` and `state_table` fixtures are imported from the handler tests)
"""No finding lost, no channel blocked by another, no webhook token in a log line (issue 10).

Real parts: the Slack-like HTTP server on 127.0.0.1, moto's DynamoDB, SNS, SQS and Secrets
Manager. Security Hub's AccessDenied is injected with tests.faults.deny (moto allows every
call; the ClientError is botocore's own, from a real-shaped response)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import boto3
import pytest

from tests.faults import deny
from tests.localaws.server import ACCOUNT, REGION
from tests.notify.conftest import result, subject
from tests.notify.test_notify_handler_dedup import (  # noqa: F401 (app, state_table: fixtures)
    CONTEXT,
    FakeClock,
    Pipeline,
    app,
    load_app,
    make_notifier,
    state_table,
)
from tests.pipeline.cfn import load_template
from vpcguard.notify import dedup
from vpcguard.notify.routing import Route, WebhookSecretError, WebhookSecrets
from vpcguard.results import SubjectReport
from vpcguard.settings import Settings

NOTIFY = load_template()["Resources"]["NotifyFunction"]["Properties"]


class LambdaTimeout(BaseException):
    """What a Lambda timeout does to the code: it stops, no `except Exception`, no `finally`
    that matters (the runtime kills the process). A BaseException skips every handler that a
    real kill would skip."""


def context_with(remaining: list[float]) -> SimpleNamespace:
    """A Lambda context whose remaining time is read from `remaining` (the last value stays)."""

    def millis() -> int:
        return int((remaining.pop(0) if len(remaining) > 1 else remaining[0]) * 1000)

    return SimpleNamespace(**vars(CONTEXT), get_remaining_time_in_millis=millis)


# --- the claim is confirmed only after the send ------------------------------------------


def test_a_lambda_killed_mid_retry_does_not_drop_the_redelivered_finding(
    endpoint_url, slack, webhook_secret, state_table
):
    url = slack.webhook("default")
    clock = FakeClock()
    settings = Settings(
        slack_secret_arn=webhook_secret("default", url), state_table=state_table, dedup_seconds=86400
    )
    killed = make_notifier(endpoint_url, settings, clock=clock)
    slack.respond(url, 500, "internal_error")

    def timeout(_: float) -> None:
        raise LambdaTimeout

    killed.sender.sleep = timeout  # killed while waiting to retry, after the first 500
    report = SubjectReport.from_dict(subject([result("sg_self_ingress")]))
    with pytest.raises(LambdaTimeout):
        killed.notify(report, delivery="msg-1")
    assert len(slack.posts(url)) == 1  # Slack never accepted it

    # SQS delivers the record again after its visibility timeout, to a new instance.
    clock.now += NOTIFY_QUEUE_VISIBILITY
    outcome = make_notifier(endpoint_url, settings, clock=clock).notify(report, delivery="msg-1")
    assert outcome.slack == "sent to default channel"
    assert outcome.notified == ["sg_self_ingress FAIL"]
    assert len(slack.posts(url)) == 2 and slack.posts(url)[-1].payload == slack.posts(url)[0].payload

    # Confirmed now: the same result within the window is a repeat again.
    clock.now += 60
    again = make_notifier(endpoint_url, settings, clock=clock).notify(report, delivery="msg-2")
    assert again.slack == "nothing new" and len(slack.posts(url)) == 2


def test_slack_retries_stop_when_the_function_time_is_short(
    endpoint_url, app, slack, webhook_secret, state_table
):
    url = slack.webhook("default")
    for _ in range(3):
        slack.respond(url, 500, "internal_error")
    settings = Settings(slack_secret_arn=webhook_secret("default", url), state_table=state_table)
    app._notifier = make_notifier(endpoint_url, settings)
    pipeline = Pipeline(endpoint_url)
    pipeline.publish(subject([result("sg_self_ingress")]))

    # 60 s left for the first attempt; 12 s left when the retry would start: not enough for
    # the HTTP timeout (10 s) plus the reserve, so the sender stops instead of being cut off.
    event, handles = pipeline.lambda_event()
    response = app.lambda_handler(event, context_with([60.0, 12.0]))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == list(handles)
    assert len(slack.posts(url)) == 1
    # The claim was given back: the retry (Slack healthy again) posts.
    slack.scripts.clear()
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.queue_url, ReceiptHandle=next(iter(handles.values())), VisibilityTimeout=0
    )
    assert pipeline.run(app)["batchItemFailures"] == []
    assert len(slack.posts(url)) == 2


# --- channels are independent ---------------------------------------------------------------


def test_security_hub_denied_does_not_stop_slack_and_only_it_is_retried(
    endpoint_url,
    app,
    slack,
    webhook_secret,
    state_table,
):
    url = slack.webhook("default")
    sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    chatbot_topic = sns.create_topic(Name="vpcguard-chatbot")["TopicArn"]
    probe = sqs.create_queue(QueueName="chatbot-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=chatbot_topic, Protocol="sqs", Endpoint=probe_arn, Attributes={"RawMessageDelivery": "true"}
    )
    boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url).enable_security_hub()
    settings = Settings(
        slack_secret_arn=webhook_secret("default", url),
        chatbot_topic_arn=chatbot_topic,
        security_hub=True,
        state_table=state_table,
    )
    notifier = make_notifier(endpoint_url, settings)
    deny(notifier.clients, "securityhub", "GetFindings")
    deny(notifier.clients, "securityhub", "BatchImportFindings")
    app._notifier = notifier
    pipeline = Pipeline(endpoint_url, max_receive=5)
    pipeline.publish(subject([result("sg_self_ingress")]))

    first = pipeline.run(app)
    assert len(first["batchItemFailures"]) == 1  # Security Hub's part must be retried ...
    assert len(slack.posts(url)) == 1  # ... but Slack and Chatbot did not wait for it
    assert len(sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10)["Messages"]) == 1

    # The retry (Security Hub allowed again) repeats only the failed channel: no second
    # Slack post, no second Chatbot note.
    app._notifier = make_notifier(endpoint_url, settings)
    second = pipeline.run(app)
    assert second["records"] == 1 and second["batchItemFailures"] == []
    assert len(slack.posts(url)) == 1
    assert sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10).get("Messages", []) == []
    findings = boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url).get_findings()[
        "Findings"
    ]
    assert [f["GeneratorId"] for f in findings] == ["vpcguard/sg_self_ingress"]


def test_a_failing_slack_is_retried_alone_without_a_second_chatbot_note(
    endpoint_url, slack, webhook_secret, state_table
):
    url = slack.webhook("default")
    sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    chatbot_topic = sns.create_topic(Name="vpcguard-chatbot")["TopicArn"]
    probe = sqs.create_queue(QueueName="chatbot-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=chatbot_topic, Protocol="sqs", Endpoint=probe_arn, Attributes={"RawMessageDelivery": "true"}
    )
    settings = Settings(
        slack_secret_arn=webhook_secret("default", url),
        chatbot_topic_arn=chatbot_topic,
        state_table=state_table,
    )
    notifier = make_notifier(endpoint_url, settings)
    for _ in range(3):
        slack.respond(url, 503, "unavailable")
    report = SubjectReport.from_dict(subject([result("sg_self_ingress")]))

    with pytest.raises(Exception, match="Slack"):
        notifier.notify(report, delivery="msg-1")
    assert len(sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10)["Messages"]) == 1

    retry = notifier.notify(report, delivery="msg-1")
    assert retry.slack == "sent to default channel" and retry.chatbot == "already sent"
    assert sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10).get("Messages", []) == []


# --- sizing ------------------------------------------------------------------------------------


NOTIFY_QUEUE_VISIBILITY = load_template()["Resources"]["NotifyQueue"]["Properties"]["VisibilityTimeout"]


def test_notify_batch_fits_its_timeout_and_a_killed_claim_expires_before_the_redelivery():
    from vpcguard.notify.sender import DEFAULT_ATTEMPTS, TIMEOUT_SECONDS

    timeout = NOTIFY["Timeout"]
    batch = NOTIFY["Events"]["Findings"]["Properties"]["BatchSize"]
    # One slow Slack (every attempt hanging up to the HTTP timeout) must not time out a batch:
    # the remaining-time guard stops retries, and a batch of hung first attempts still fits.
    assert batch * TIMEOUT_SECONDS + DEFAULT_ATTEMPTS * TIMEOUT_SECONDS <= timeout
    # A pending claim outlives a live send and is gone when SQS delivers the record again.
    assert timeout < dedup.PENDING_SECONDS < NOTIFY_QUEUE_VISIBILITY
    assert 6 * timeout <= NOTIFY_QUEUE_VISIBILITY


# --- the webhook secret --------------------------------------------------------------------------


def test_webhook_secret_with_trailing_whitespace_is_stripped_and_never_logged(
    endpoint_url, slack, webhook_secret, capsys, caplog, monkeypatch
):
    url = slack.webhook("default")
    # The test's own CreateSecret call is made before capturing starts: botocore logs its
    # request body at DEBUG, and that is the test's setup, not the function's logging.
    arn = webhook_secret("default", url + "\n ")
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # the most talkative the function can be
    module = load_app()
    try:
        module._notifier = make_notifier(endpoint_url, Settings(slack_secret_arn=arn))
        logging.getLogger("vpcguard").setLevel(logging.DEBUG)
        logging.getLogger("slack_sdk").setLevel(logging.DEBUG)
        pipeline = Pipeline(endpoint_url)
        slack.respond(url, 500, f"upstream said {url}")
        slack.respond(url, 429, "rate_limited", {"Retry-After": "0"})
        pipeline.publish(subject([result("sg_self_ingress")]))
        assert pipeline.run(module)["batchItemFailures"] == []
    finally:
        module._notifier = None
    assert len(slack.posts(url)) == 3  # the stripped URL was used
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text
    assert "subject notified" in text
    assert "default-secret-token" not in text and "/services/T0VPCGUARD" not in text
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.WARNING


def test_any_hooks_path_is_redacted_in_every_log_line(app, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    # Loading the function module (the `app` fixture) put the filter on the handlers in place.
    logging.getLogger("some.library").warning(
        "POST https://hooks.slack.com/services/T1/B2/abcdefTOKEN failed",
        extra={"url": "/services/T1/B2/abcdefTOKEN"},
    )
    app.logger.info("posting", extra={"target": "https://hooks.slack.com/services/T1/B2/abcdefTOKEN"})
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text
    assert "posting" in text and "failed" in text
    assert "abcdefTOKEN" not in text and "/services/<redacted>" in text


@pytest.mark.parametrize(
    "value, problem",
    [
        ("hooks.slack.com/services/T0/B0/tok", "not an https:// URL"),
        ("http://hooks.slack.com/services/T0/B0/tok", "not an https:// URL"),
        ("https://hooks.slack.com/services/T0/B0/tok en", "whitespace or control characters"),
        ("https://hooks.slack.com/services/T0/B0/tok\nhttps://other", "whitespace or control characters"),
        ("https://hooks.slack.com", "no webhook path"),
        ("   ", "empty"),
    ],
)
def test_a_webhook_secret_that_is_not_a_usable_url_is_a_clear_error_without_its_value(
    endpoint_url, webhook_secret, value, problem
):
    arn = webhook_secret("broken", value)
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint_url)
    with pytest.raises(WebhookSecretError) as err:
        WebhookSecrets(boto3_client=client).webhook_url(Route(arn, "broken"))
    assert problem in str(err.value) and arn in str(err.value)
    assert "tok" not in str(err.value).replace(arn, "")


def test_https_slack_url_with_surrounding_whitespace_is_accepted(endpoint_url, webhook_secret):
    real = "https://hooks.slack.com/services/T0AAAA/B0BBBB/xyzTOKEN"
    arn = webhook_secret("ok", f"  {real}\r\n")
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint_url)
    assert WebhookSecrets(boto3_client=client).webhook_url(Route(arn, None)) == real
    stored = json.dumps({"webhook_url": real + "\n"})
    assert (
        WebhookSecrets(boto3_client=client).webhook_url(Route(webhook_secret("json", stored), None)) == real
    )
    assert ACCOUNT in arn
