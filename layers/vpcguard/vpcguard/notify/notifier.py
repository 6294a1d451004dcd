"""One subject from the findings topic -> Security Hub and the people channels (Slack,
Chatbot) with noise control. The notify Lambda is a thin handler over `Notifier.notify`.

The channels are independent: each is tried whatever happened to the others, and each
people channel has its own dedup claims (confirmed only after it accepted the message).
When a channel failed, its error (or `NotifyError`, naming each, when several failed) is
raised after all were tried, so the SQS record fails and comes back; the retry repeats only
the failed channel (the others' claims are
confirmed, and Security Hub's import is an idempotent upsert by finding id)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from ..accounts import hub_home
from ..aws import AwsClients
from ..results import SubjectReport
from ..settings import Settings
from .chatbot import publish_chatbot
from .dedup import CHATBOT, SLACK, Claim, Deduper, merge, repeats_as_suppressed
from .findings import Suppressed
from .routing import WebhookSecrets, route_for
from .securityhub import ImportSummary, SecurityHubPublisher
from .sender import SlackSender
from .slack import build_message
from .subject import notified

log = logging.getLogger(__name__)


class NotifyError(RuntimeError):
    """One or more channels failed (each named with its reason); the others were tried."""

    def __init__(self, subject: str, failures: dict[str, Exception]) -> None:
        self.failures = failures
        reasons = "; ".join(f"{channel}: {type(exc).__name__}: {exc}" for channel, exc in failures.items())
        super().__init__(f"{subject}: {len(failures)} channel(s) failed and will be retried: {reasons}")


@dataclass
class NotifyOutcome:
    """What happened to one subject (for the handler's log line and for tests)."""

    subject: str
    # "sent to <route>", "off", "nothing new", "nothing to report", "already sent", "failed"
    slack: str = "off"
    chatbot: str = "off"  # "published", "off", "nothing new", ... as for Slack
    security_hub: ImportSummary | None = None
    notified: list[str] = field(default_factory=list)  # "check_id STATUS" sent now
    suppressed: list[Suppressed] = field(default_factory=list)  # repeats (held or shown)
    slack_attempts: int = 0
    failures: dict[str, Exception] = field(default_factory=dict)  # channel -> what went wrong


class Notifier:
    def __init__(
        self,
        settings: Settings,
        clients: AwsClients,
        *,
        secrets: WebhookSecrets | None = None,
        sender: SlackSender | None = None,
        deduper: Deduper | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.secrets = secrets or WebhookSecrets(boto3_client=clients.client("secretsmanager"))
        self.sender = sender or SlackSender()
        if deduper is None and settings.state_table:
            deduper = Deduper(clients.client("dynamodb"), settings.state_table, settings.dedup_seconds)
        self.deduper = deduper

    def notify(
        self,
        subject: SubjectReport,
        *,
        delivery: str | None = None,
        remaining_seconds: Callable[[], float] | None = None,
        change: Mapping[str, str] | None = None,
    ) -> NotifyOutcome:
        """`delivery` is the SQS message id (a redelivery is recognised by it);
        `remaining_seconds` the Lambda's time left (Slack retries stop short of it);
        `change`: for a drift re-evaluation, what changed and who (the Slack message says)."""
        outcome = NotifyOutcome(subject=subject.arn or subject.name)
        if self.settings.security_hub:
            try:
                outcome.security_hub = SecurityHubPublisher(
                    self.clients.client("securityhub"), home=hub_home(self.clients)
                ).publish(subject)
            except Exception as exc:
                self._failed(outcome, "Security Hub", exc)

        route = route_for(subject, self.settings)
        chatbot_on = bool(self.settings.chatbot_topic_arn)
        if route is not None or chatbot_on:
            if not notified(subject.results):
                outcome.slack = outcome.chatbot = "nothing to report"
            else:
                if route is not None:
                    label = route.label

                    def post_to_slack(shown: SubjectReport, digest: list[Suppressed]) -> str:
                        url = self.secrets.webhook_url(route)
                        outcome.slack_attempts = self.sender.send(
                            url,
                            build_message(shown, digest, change),
                            destination=label,
                            remaining_seconds=remaining_seconds,
                        )
                        log.info(
                            "%s: Slack message sent to %s (secret %s)",
                            outcome.subject,
                            label,
                            route.secret_arn,
                        )
                        return f"sent to {label}"

                    outcome.slack = self._channel(
                        outcome, subject, SLACK, post_to_slack, delivery, primary=True
                    )
                if chatbot_on:

                    def publish(shown: SubjectReport, digest: list[Suppressed]) -> str:
                        publish_chatbot(
                            self.clients.client("sns"), self.settings.chatbot_topic_arn or "", shown, digest
                        )
                        return "published"

                    outcome.chatbot = self._channel(
                        outcome, subject, CHATBOT, publish, delivery, primary=route is None
                    )
        if len(outcome.failures) == 1:
            [error] = outcome.failures.values()
            raise error
        if outcome.failures:
            raise NotifyError(outcome.subject, outcome.failures)
        return outcome

    def _channel(
        self,
        outcome: NotifyOutcome,
        subject: SubjectReport,
        channel: str,
        send: Callable[[SubjectReport, list[Suppressed]], str],
        delivery: str | None,
        *,
        primary: bool,
    ) -> str:
        """Claim, send, confirm (or give back) on one channel; returns its status. The
        primary channel's (Slack's, else Chatbot's) results fill `notified`/`suppressed`."""
        results = notified(subject.results)
        claim = self.deduper.claim(subject, channel, delivery) if self.deduper else Claim(new=results)
        repeats = repeats_as_suppressed(claim.repeats)
        if not claim.new:
            if self.deduper:
                # Nothing new for people: count the repeats for the subject's next message.
                self.deduper.record_repeats(subject, repeats, channel)
            if primary:
                outcome.suppressed = repeats
            if claim.already_sent and not claim.repeats:
                log.info("%s: %s already has this message (a redelivery)", outcome.subject, channel)
                return "already sent"
            log.info(
                "%s: %s: %d repeat(s) within the dedup window, not sent",
                outcome.subject,
                channel,
                len(repeats),
            )
            return "nothing new"

        held = self.deduper.take_digest(subject, channel) if self.deduper else []
        digest = merge(held, repeats)
        try:
            status = send(_without(subject, claim), digest)
        except Exception as exc:
            if self.deduper:
                # Give back the claims and the digest, so the retry notifies again.
                self.deduper.release(subject, claim, held, channel)
            self._failed(outcome, channel, exc)
            return "failed"
        if self.deduper:
            self.deduper.confirm(subject, claim, channel)
        if primary:
            outcome.notified = [f"{r.check_id} {r.status.value}" for r in claim.new]
            outcome.suppressed = digest
        return status

    @staticmethod
    def _failed(outcome: NotifyOutcome, channel: str, exc: Exception) -> None:
        outcome.failures[channel] = exc
        log.error("%s: %s failed: %s: %s", outcome.subject, channel, type(exc).__name__, exc)


def _without(subject: SubjectReport, claim: Claim) -> SubjectReport:
    """The subject without the repeats and what this channel already sent (the repeats
    appear in the digest instead)."""
    held_back = {(r.check_id, r.status) for r in [*claim.repeats, *claim.already_sent]}
    kept = [r for r in subject.results if (r.check_id, r.status) not in held_back]
    return replace(subject, results=kept)
