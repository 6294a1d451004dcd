"""Posting to a real HTTP server on 127.0.0.1 that answers like Slack's webhooks, and routing
by the model's team tag to webhook URLs stored in moto's Secrets Manager."""

from __future__ import annotations

import logging

import boto3
import pytest

from tests.localaws.server import REGION
from tests.notify.conftest import result, subject
from vpcguard.notify.routing import Route, WebhookSecretError, WebhookSecrets, route_for
from vpcguard.notify.sender import SlackDeliveryError, SlackSender, retry_after_seconds
from vpcguard.results import SubjectReport
from vpcguard.settings import Settings

PAYLOAD = {"text": "vpcguard test", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


class Sleeps(list):
    """Records requested waits instead of sleeping (the waits are what is under test)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_429_waits_the_retry_after_then_delivers(slack):
    url = slack.webhook("team-a")
    slack.respond(url, 429, "rate_limited", {"Retry-After": "2"})
    sleeps = Sleeps()
    attempts = SlackSender(sleep=sleeps, retry_after_cap=30).send(url, PAYLOAD)
    assert attempts == 2
    assert sleeps == [2.0]
    assert [p.payload for p in slack.posts(url)] == [PAYLOAD, PAYLOAD]


def test_retry_after_is_capped():
    assert retry_after_seconds({"retry-after": "3600"}, cap=30) == 30
    assert retry_after_seconds({"Retry-After": ["0.05"]}, cap=30) == 0.05
    assert retry_after_seconds({}, cap=30) == 1.0


def test_429_really_waits_a_short_retry_after(slack):
    import time

    url = slack.webhook()
    slack.respond(url, 429, "rate_limited", {"Retry-After": "0.2"})
    start = time.monotonic()
    SlackSender().send(url, PAYLOAD)
    assert time.monotonic() - start >= 0.2
    assert len(slack.posts(url)) == 2


def test_500_then_success_backs_off_exponentially(slack):
    url = slack.webhook()
    slack.respond(url, 500, "internal_error")
    slack.respond(url, 503, "service_unavailable")
    sleeps = Sleeps()
    assert SlackSender(sleep=sleeps, backoff_seconds=0.5).send(url, PAYLOAD) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_500_raises_after_bounded_attempts(slack):
    url = slack.webhook()
    for _ in range(5):
        slack.respond(url, 500, "internal_error")
    sleeps = Sleeps()
    with pytest.raises(SlackDeliveryError) as err:
        SlackSender(sleep=sleeps, attempts=4, backoff_seconds=0.1).send(url, PAYLOAD, destination="team ml")
    assert len(slack.posts(url)) == 4 and sleeps == [0.1, 0.2, 0.4]
    assert not err.value.permanent
    assert "team ml" in str(err.value) and "HTTP 500" in str(err.value)


@pytest.mark.parametrize(
    "status,body", [(404, "no_service"), (403, "invalid_token"), (400, "invalid_blocks")]
)
def test_other_4xx_is_permanent_and_not_retried(slack, status, body):
    url = slack.webhook()
    slack.respond(url, status, body)
    with pytest.raises(SlackDeliveryError) as err:
        SlackSender(sleep=Sleeps()).send(url, PAYLOAD)
    assert err.value.permanent and err.value.status == status and body in str(err.value)
    assert len(slack.posts(url)) == 1


def test_connection_refused_is_retried_then_raised_without_the_url(caplog):
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/services/T0/B0/secret-token-xyz"  # port 9: nothing listens
    with pytest.raises(SlackDeliveryError) as err:
        SlackSender(sleep=Sleeps(), attempts=2).send(url, PAYLOAD)
    assert "secret-token-xyz" not in str(err.value)
    assert "secret-token-xyz" not in caplog.text


def test_webhook_url_never_appears_in_logs(slack, caplog):
    caplog.set_level(logging.DEBUG)
    url = slack.webhook("ml")
    slack.respond(url, 500, "oops")
    slack.respond(url, 429, "rate_limited", {"Retry-After": "0"})
    SlackSender(sleep=Sleeps()).send(url, PAYLOAD, destination="team ml")
    assert "Slack (team ml)" in caplog.text  # the logs do talk about the delivery ...
    assert "ml-secret-token" not in caplog.text and url not in caplog.text  # ... never about the URL


# --- routing ------------------------------------------------------------------------------


def report(tags: dict[str, str] | None = None) -> SubjectReport:
    return SubjectReport.from_dict(subject([result("sg_self_ingress")], tags=tags))


def test_team_tag_picks_the_team_secret():
    settings = Settings(
        slack_secret_arn="arn:default", slack_team_secrets={"ml": "arn:ml", "risk": "arn:risk"}
    )
    assert route_for(report({"vpcguard:team": "ml"}), settings) == Route("arn:ml", "ml")
    assert route_for(report({"vpcguard:team": "risk"}), settings) == Route("arn:risk", "risk")


def test_untagged_or_unknown_team_goes_to_the_default_channel():
    settings = Settings(slack_secret_arn="arn:default", slack_team_secrets={"ml": "arn:ml"})
    assert route_for(report(), settings) == Route("arn:default", None)
    assert route_for(report({"vpcguard:team": "search"}), settings) == Route("arn:default", None)


def test_no_secret_configured_means_slack_is_off():
    assert route_for(report({"vpcguard:team": "ml"}), Settings()) is None
    assert route_for(report(), Settings(slack_team_secrets={"ml": "arn:ml"})) is None


def test_webhook_url_comes_from_secrets_manager_and_is_cached(endpoint_url, webhook_secret, slack):
    arn = webhook_secret("ml", slack.webhook("ml"))
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint_url)
    calls = []
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **kw: calls.append(1))
    secrets = WebhookSecrets(boto3_client=client, max_age=300)
    route = Route(arn, "ml")
    assert secrets.webhook_url(route) == slack.webhook("ml")
    assert secrets.webhook_url(route) == slack.webhook("ml")
    assert len(calls) == 1  # the second read came from Powertools' cache


def test_missing_or_malformed_secret_says_which_secret_not_its_value(
    endpoint_url, webhook_secret, secretsmanager
):
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint_url)
    secrets = WebhookSecrets(boto3_client=client)
    missing = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:vpcguard/slack/nope-AbCdEf"
    with pytest.raises(WebhookSecretError, match="nope"):
        secrets.webhook_url(Route(missing, None))
    arn = webhook_secret("bad", "not-a-url-but-a-secret-value")
    with pytest.raises(WebhookSecretError) as err:
        secrets.webhook_url(Route(arn, "bad"))
    assert arn in str(err.value) and "not-a-url-but-a-secret-value" not in str(err.value)
