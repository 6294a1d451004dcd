"""Posting a message to a Slack incoming webhook, with retries that never drop a message.

- 429: wait the response's Retry-After (capped), then try again;
- 5xx or a connection error: exponential backoff, a bounded number of attempts;
- any other 4xx: permanent (the webhook was revoked, the payload is invalid): no retry here.

- the function's remaining time: no attempt or wait is started that could not finish before
  the Lambda timeout (`remaining_seconds`); the message fails cleanly instead of being cut
  off mid-retry, and SQS delivers it again.

When a message cannot be delivered, `SlackDeliveryError` is raised so the SQS record fails
and comes back (then ends in the DLQ after maxReceiveCount): a message is never dropped.
The webhook URL is a credential and never appears in a log or an exception message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.webhook import WebhookClient, WebhookResponse

from .redaction import redact

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_SECONDS = 30.0
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 10
# Kept in hand after the last attempt: giving back the dedup claims and answering the batch.
RESERVE_SECONDS = 5.0


class SlackDeliveryError(RuntimeError):
    """The message did not reach Slack. `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.permanent = permanent


class _RedactUrl(logging.Filter):
    """slack-sdk logs request URLs at DEBUG and INFO; the URL is the webhook's secret."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.url in message:
            record.msg, record.args = message.replace(self.url, "<webhook url>"), None
        return True


def _sdk_logger(url: str) -> logging.Logger:
    logger = logging.getLogger("vpcguard.notify.slack_sdk")
    # Above INFO, so slack-sdk skips its request/response logging (which names the URL).
    logger.setLevel(logging.WARNING)
    for existing in list(logger.filters):
        logger.removeFilter(existing)
    logger.addFilter(_RedactUrl(url))
    return logger


def retry_after_seconds(headers: Mapping[str, Any] | None, cap: float) -> float:
    """Slack sends Retry-After in whole seconds; a missing or odd value waits 1 second."""
    value = None
    for key, raw in (headers or {}).items():
        if str(key).lower() == "retry-after":
            value = raw[0] if isinstance(raw, list | tuple) and raw else raw
            break
    try:
        seconds = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        seconds = 1.0
    return max(0.0, min(seconds, cap))


class SlackSender:
    def __init__(
        self,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        retry_after_cap: float = RETRY_AFTER_CAP_SECONDS,
        timeout: int = TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.retry_after_cap = retry_after_cap
        self.timeout = timeout
        self.sleep = sleep

    def send(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        destination: str = "Slack",
        remaining_seconds: Callable[[], float] | None = None,
    ) -> int:
        """Post `payload`; returns the number of attempts it took. `destination` (a team
        or "default channel") is what logs and errors name instead of the URL.
        `remaining_seconds` is the Lambda's time left: an attempt (up to the HTTP timeout)
        or a wait is only started when it can end with RESERVE_SECONDS to spare."""
        # Our retry policy below replaces slack-sdk's handlers, so each attempt is counted here.
        client = WebhookClient(url, timeout=self.timeout, logger=_sdk_logger(url), retry_handlers=[])
        last = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            self._ensure_time(remaining_seconds, self.timeout, destination, attempt, last)
            try:
                response: WebhookResponse = client.send_dict(payload)
            except Exception as exc:  # connection refused, timeout, TLS: transient
                last = f"{type(exc).__name__}: {redact(str(exc).replace(url, '<webhook url>'))}"
                wait = self._backoff(attempt)
                log.warning("Slack (%s) attempt %d/%d failed: %s", destination, attempt, self.attempts, last)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    log.info("Slack (%s) accepted the message (attempt %d)", destination, attempt)
                    return attempt
                body = redact((response.body or "")[:200])
                last = f"HTTP {status}: {body}"
                if status == 429:
                    wait = retry_after_seconds(response.headers, self.retry_after_cap)
                    log.warning("Slack (%s) rate limited: retry after %.1fs", destination, wait)
                elif status >= 500:
                    wait = self._backoff(attempt)
                    log.warning(
                        "Slack (%s) answered %s; attempt %d/%d", destination, last, attempt, self.attempts
                    )
                else:
                    raise SlackDeliveryError(
                        f"Slack ({destination}) refused the message permanently: {last}",
                        status=status,
                        permanent=True,
                    )
            if attempt < self.attempts:
                self._ensure_time(remaining_seconds, wait + self.timeout, destination, attempt + 1, last)
                self.sleep(wait)
        raise SlackDeliveryError(
            f"Slack ({destination}) did not accept the message after {self.attempts} attempts: {last}"
        )

    def _ensure_time(
        self, remaining: Callable[[], float] | None, needed: float, destination: str, attempt: int, last: str
    ) -> None:
        if remaining is None:
            return
        left = remaining()
        if left - needed < RESERVE_SECONDS:
            log.warning(
                "Slack (%s): not starting attempt %d, the function has %.1fs left", destination, attempt, left
            )
            raise SlackDeliveryError(
                f"Slack ({destination}): stopped before attempt {attempt} with {left:.1f}s of the function's "
                f"time left (last: {last}); the record is retried"
            )

    def _backoff(self, attempt: int) -> float:
        return self.backoff_seconds * (2 ** (attempt - 1))
