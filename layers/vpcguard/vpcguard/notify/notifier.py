"""One subject from the findings topic -> Security Hub, then the people channels (Slack,
Chatbot) with noise control. The notify Lambda is a thin handler over `Notifier.notify`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..accounts import hub_home
from ..aws import AwsClients
from ..engine import SubjectReport
from ..settings import Settings
from .chatbot import publish_chatbot
from .dedup import Claim, Deduper, merge, repeats_as_suppressed
from .routing import WebhookSecrets, route_for
from .securityhub import ImportSummary, SecurityHubPublisher
from .sender import SlackSender
from .slack import Suppressed, build_message
from .subject import notified

log = logging.getLogger(__name__)


@dataclass
class NotifyOutcome:
    """What happened to one subject (for the handler's log line and for tests)."""

    subject: str
    slack: str = "off"  # "sent to <route>", "off", "nothing new", "nothing to report"
    chatbot: str = "off"
    security_hub: ImportSummary | None = None
    notified: list[str] = field(default_factory=list)  # "check_id STATUS" sent now
    suppressed: list[Suppressed] = field(default_factory=list)  # repeats (held or shown)
    slack_attempts: int = 0


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

    def notify(self, subject: SubjectReport) -> NotifyOutcome:
        outcome = NotifyOutcome(subject=subject.arn or subject.name)
        if self.settings.security_hub:
            outcome.security_hub = SecurityHubPublisher(
                self.clients.client("securityhub"), home=hub_home(self.clients)
            ).publish(subject)

        route = route_for(subject, self.settings)
        chatbot_on = bool(self.settings.chatbot_topic_arn)
        if route is None and not chatbot_on:
            return outcome
        if not notified(subject.results):
            outcome.slack = outcome.chatbot = "nothing to report"
            return outcome

        claim = self.deduper.claim(subject) if self.deduper else Claim(new=notified(subject.results))
        repeats = repeats_as_suppressed(claim.repeats)
        if not claim.new:
            # Nothing new for people: count the repeats for the subject's next message.
            if self.deduper:
                self.deduper.record_repeats(subject, repeats)
            outcome.slack = outcome.chatbot = "nothing new"
            outcome.suppressed = repeats
            log.info("%s: %d repeat(s) within the dedup window, not sent", outcome.subject, len(repeats))
            return outcome

        held = self.deduper.take_digest(subject) if self.deduper else []
        digest = merge(held, repeats)
        shown = _without(subject, claim)
        try:
            if route is not None:
                url = self.secrets.webhook_url(route)
                outcome.slack_attempts = self.sender.send(url, build_message(shown, digest), destination=route.label)
                outcome.slack = f"sent to {route.label}"
                log.info("%s: Slack message sent to %s (secret %s)", outcome.subject, route.label, route.secret_arn)
            if chatbot_on:
                publish_chatbot(self.clients.client("sns"), self.settings.chatbot_topic_arn, shown, digest)
                outcome.chatbot = "published"
        except Exception:
            if self.deduper:
                # Give back the claims and the digest, so the retry notifies again.
                self.deduper.release(subject, claim, held)
            raise
        outcome.notified = [f"{r.check_id} {r.status.value}" for r in claim.new]
        outcome.suppressed = digest
        return outcome


def _without(subject: SubjectReport, claim: Claim) -> SubjectReport:
    """The subject without the repeats (they appear in the digest instead)."""
    repeat_keys = {(r.check_id, r.status) for r in claim.repeats}
    kept = [r for r in subject.results if (r.check_id, r.status) not in repeat_keys]
    return subject.model_copy(update={"results": kept})

