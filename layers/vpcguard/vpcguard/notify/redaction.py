"""Slack webhook URLs are credentials: whoever has one can post to the channel. Their path
(`/services/T.../B.../<token>`) is the secret part, so every log line of the notify
function goes through `RedactWebhooks`, which replaces any such path, whoever logged it
(our code, slack-sdk, urllib, botocore) and wherever it appears (message, arguments,
extra keys, exception text)."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any, Protocol

REDACTED = "<redacted>"
# Incoming webhooks: /services/T.../B.../token (on any host: tests and proxies too); any
# other path on Slack's hooks host (workflow webhooks: /triggers/..., /workflows/...).
_HOOK_PATH = re.compile(r"(?P<keep>/services/|hooks\.slack(?:-gov)?\.com/(?!services/))[^\s\"'<>\\]+")
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
NOISY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def redact(text: str) -> str:
    return _HOOK_PATH.sub(lambda m: m.group("keep") + REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactWebhooks(logging.Filter):
    """A handler filter: rewrites each record so it carries no webhook path."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            if redact(text) != text:
                # The traceback itself names the URL: keep it, redacted, in the message.
                cleaned = f"{cleaned}\n{redact(text)}"
                record.exc_info, record.exc_text = None, None
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES:
                setattr(record, name, _redact_value(value))
        return True


class HasHandlers(Protocol):
    """A logging.Logger, or Powertools' Logger (which keeps its handlers on a property)."""

    @property
    def handlers(self) -> list[logging.Handler]: ...


def install(loggers: Iterable[HasHandlers] = ()) -> None:
    """Put the filter on every handler of the root logger and of `loggers` (idempotent: call
    it again after handlers were added), and keep the AWS SDK's and urllib3's loggers at
    WARNING (at DEBUG they log request and response bodies, secret values included)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactWebhooks) for f in handler.filters):
                handler.addFilter(RedactWebhooks())
