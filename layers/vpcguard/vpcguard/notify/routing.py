"""Which Slack webhook a subject goes to, and reading that webhook from Secrets Manager.

The model's `vpcguard:team` tag picks a team's secret from `Settings.slack_team_secrets`;
any other subject goes to `Settings.slack_secret_arn` (the default channel); with neither,
Slack is off. The secret's value is the webhook URL. The URL is a credential: it is never
logged or put in an exception message; logs name the team and the secret ARN only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from ..results import TEAM_TAG, SubjectReport
from ..settings import Settings

log = logging.getLogger(__name__)

# Webhook secrets are read at most once per this many seconds per warm Lambda.
SECRET_MAX_AGE_SECONDS = 300
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class WebhookSecretError(RuntimeError):
    """The webhook secret could not be read or does not hold a webhook URL."""


@dataclass(frozen=True)
class Route:
    secret_arn: str
    team: str | None  # None: the default channel

    @property
    def label(self) -> str:
        """What logs say about the destination (never the URL)."""
        return f"team {self.team}" if self.team else "default channel"


def route_for(subject: SubjectReport, settings: Settings) -> Route | None:
    """The Slack destination of `subject`, or None when Slack is off for it."""
    team = (subject.tags.get(TEAM_TAG) or "").strip() or None
    if team and team in settings.slack_team_secrets:
        return Route(settings.slack_team_secrets[team], team)
    if team:
        log.info("team %r has no Slack secret configured; using the default channel", team)
    if settings.slack_secret_arn:
        return Route(settings.slack_secret_arn, None)
    return None


class WebhookSecrets:
    """Reads webhook URLs through Powertools Parameters, cached for `max_age` seconds.

    Without a client, the module-level `parameters.get_secret` (and its cache, which
    lives as long as the warm Lambda) is used; tests pass a Secrets Manager client built
    for their endpoint."""

    def __init__(self, boto3_client: Any = None, max_age: int = SECRET_MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self._provider = SecretsProvider(boto3_client=boto3_client) if boto3_client is not None else None

    def webhook_url(self, route: Route) -> str:
        try:
            if self._provider is not None:
                value = self._provider.get(route.secret_arn, max_age=self.max_age)
            else:
                value = parameters.get_secret(route.secret_arn, max_age=self.max_age)
        except GetParameterError as exc:
            # Powertools' message names the secret and the AWS error, not its value.
            raise WebhookSecretError(
                f"cannot read the Slack webhook secret {route.secret_arn}: {exc}"
            ) from None
        return _url_from_secret(value, route)


def _url_from_secret(value: Any, route: Route) -> str:
    """The webhook URL a secret holds, stripped of the whitespace a copy and paste leaves
    (a trailing newline made the URL, token included, leak into request logs). It must be
    an https URL with a host and a path and no whitespace or control characters inside;
    plain http is accepted only for a loopback host (a local test server). Errors name
    the secret, never its value."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    # Also accept {"url": ...} / {"webhook_url": ...}, as people store secrets both ways.
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = {}
        text = str(data.get("webhook_url") or data.get("url") or "").strip() if isinstance(data, dict) else ""
    problem = _webhook_url_problem(text)
    if problem:
        raise WebhookSecretError(
            f"the secret {route.secret_arn} ({route.label}) does not hold a usable Slack webhook URL: "
            f"{problem} "
            "(expected the URL itself, https://hooks.slack.com/services/...)"
        )
    return text


def _webhook_url_problem(text: str) -> str | None:
    if not text:
        return "it is empty"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        return "it contains whitespace or control characters inside the URL"
    try:
        parts = urlsplit(text)
    except ValueError:
        return "it is not a URL"
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        pass
    elif parts.scheme != "https":
        return "it is not an https:// URL"
    if not parts.hostname:
        return "it has no host"
    if parts.path in ("", "/"):
        return "it has no webhook path"
    return None
