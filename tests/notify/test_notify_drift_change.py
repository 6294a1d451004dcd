"""A drift re-evaluation's Slack message says what changed and who changed it: the inspect
path's real publish (vpcguard.publish) to a real SNS topic in moto, delivered to SQS, handled
by functions/notify/app.py, posted to the Slack-like server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.localaws.server import REGION
from tests.notify.test_notify_handler_dedup import Pipeline, load_app, make_notifier
from vpcguard.aws import AwsClients
from vpcguard.publish import publish_findings
from vpcguard.results import SubjectReport
from vpcguard.settings import Settings


@pytest.fixture
def app():
    module = load_app()
    yield module
    module._notifier = None


ACTOR = "arn:aws:sts::123456789012:assumed-role/network-admin/bob.martin"


def test_the_slack_message_names_the_change_and_its_actor(
    endpoint_url, app, slack, webhook_secret, engine_subject
):
    data, ids = engine_subject
    default = webhook_secret("default", slack.webhook("default"))
    team = webhook_secret("ml", slack.webhook("ml"))
    app._notifier = make_notifier(
        endpoint_url, Settings(slack_secret_arn=default, slack_team_secrets={"ml": team})
    )
    pipeline = Pipeline(endpoint_url)
    change = {
        "event_id": "3f0c1b2a-7d4e-4c8b-9a61-0e2d5c7f9b13",
        "event_name": "RevokeSecurityGroupIngress",
        "actor": ACTOR,
        "resources": ["sg-0a1b2c3d4e5f60718"],
    }
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    assert publish_findings(clients, pipeline.topic, SubjectReport.from_dict(data), change)

    assert pipeline.run(app)["batchItemFailures"] == []
    [post] = slack.posts(slack.webhook("ml"))
    context = [b for b in post.payload["blocks"] if b["type"] == "context"][0]
    assert context["elements"][0]["text"] == (
        f"*Changed:* RevokeSecurityGroupIngress on sg-0a1b2c3d4e5f60718 by `{ACTOR}`"
    )
    assert "after RevokeSecurityGroupIngress on sg-0a1b2c3d4e5f60718 by " + ACTOR in post.payload["text"]


def test_a_message_without_a_change_has_no_change_line(
    endpoint_url, app, slack, webhook_secret, engine_subject
):
    data, _ = engine_subject
    app._notifier = make_notifier(
        endpoint_url, Settings(slack_secret_arn=webhook_secret("default", slack.webhook("default")))
    )
    pipeline = Pipeline(endpoint_url)
    publish_findings(
        AwsClients(region=REGION, endpoint_url=endpoint_url), pipeline.topic, SubjectReport.from_dict(data)
    )
    assert pipeline.run(app)["batchItemFailures"] == []
    [post] = slack.posts()
    assert "Changed:" not in json.dumps(post.payload)
