"""AWS clients for the engine, with every API call counted.

AWS calls are the product's main cost (docs/architecture.md, "The AWS call budget"), so one
`AwsClients` owns one boto3 session, hands out one client per service, and counts each
logical call (not each retry) through botocore's `before-call` event.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

log = logging.getLogger(__name__)

NO_REGION = "no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a profile's region)"

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
    }
)


# describe_error's words for a call throttled past every retry; a result detail carrying
# them names a failure that is worth trying again later (is_throttled_reason).
THROTTLED_WORDS = "after retries ran out"


def is_throttled_reason(text: str) -> bool:
    return THROTTLED_WORDS in text


class AwsSetupError(RuntimeError):
    """AWS cannot be reached at all (no credentials, no region, no endpoint).

    Unlike a per-API error, this ends a CLI run with exit code 2 and one line."""


class CallCounter:
    """Counts AWS API calls by "service:Operation"; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[f"{service}:{operation}"] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def by_service(self) -> dict[str, int]:
        with self._lock:
            out: Counter[str] = Counter()
            for key, n in self.calls.items():
                out[key.split(":", 1)[0]] += n
            return dict(out)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


class AwsClients:
    """One session, one client per service, all calls counted."""

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        max_attempts: int = 8,
        counter: CallCounter | None = None,
        max_concurrent_calls: int | None = None,
        account: str | None = None,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is what Lambda sets and what the
        # AWS CLI v2 and the other SDKs read (before AWS_DEFAULT_REGION), so it works here too.
        if not region and session is None:
            region = os.environ.get("AWS_REGION") or None
        self.session = session or boto3.Session(profile_name=profile, region_name=region)
        self.region = region or self.session.region_name
        if not self.region:
            raise AwsSetupError(NO_REGION)
        self.endpoint_url = endpoint_url
        # The account these credentials belong to, when the caller knows it (a member
        # account's assumed-role clients); None: not known without asking STS.
        self.account = account
        # Shared by every AwsClients of an organization scan, so one counter sees every call.
        self.counter = counter or CallCounter()
        # Adaptive retries absorb throttling; the API budget is shared with every other
        # tool in the account, so we back off rather than fail. botocore reads
        # `max_attempts` here as retries after the first attempt (8 -> up to 9 attempts).
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="vpcguard",
        )
        self._clients: dict[str, Any] = {}
        self._caller_account: str | None = None
        self._lock = threading.Lock()
        self.session.events.register("before-call", self._count)
        self._slots: threading.BoundedSemaphore | None = None
        if max_concurrent_calls is not None:
            # Throttling is per account and region: these clients (one account, one region)
            # never have more than this many calls in flight, however many threads share them.
            self._slots = threading.BoundedSemaphore(max_concurrent_calls)
            self.session.events.register("before-call", self._take_slot)
            self.session.events.register("after-call", self._give_slot)
            self.session.events.register("after-call-error", self._give_slot)

    def _take_slot(self, context: dict[str, Any] | None = None, **_: Any) -> None:
        if self._slots is not None and context is not None:
            self._slots.acquire()
            context["vpcguard_slot"] = True

    def _give_slot(self, context: dict[str, Any] | None = None, **_: Any) -> None:
        if self._slots is not None and context is not None and context.pop("vpcguard_slot", False):
            self._slots.release()

    def _count(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.counter.record(model.service_model.endpoint_prefix, model.name)
            log.debug("AWS call %s:%s (%s)", model.service_model.service_name, model.name, self.region)

    def client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                client = self.session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
                self._clients[service] = client
            return client

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def know_account(self, account: str) -> None:
        """Record the credentials' account when the caller already knows it for certain (a
        Lambda function's own ARN names it), so no STS client or call is needed."""
        if account.isdigit() and len(account) == 12 and self.account is None:
            self.account = account

    @property
    def known_account(self) -> str | None:
        """The credentials' account if already known (given, or asked of STS earlier); None
        otherwise. Never makes a call."""
        return self._caller_account or self.account

    def caller_account(self) -> str:
        """The credentials' account: one sts:GetCallerIdentity per AwsClients, remembered
        (a failure is not, so a later subject asks again). Clients made for a member
        account's role know their account already and ask nothing."""
        with self._lock:
            known = self._caller_account or self.account
        if known is None:
            known = self.account_id()
            with self._lock:
                self._caller_account = known
        return known


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def is_access_denied(exc: BaseException) -> bool:
    return error_code(exc) in ACCESS_DENIED_CODES


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


def raise_if_setup_error(exc: BaseException) -> None:
    """Credentials, region and connection problems are not per-check errors."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        raise AwsSetupError(
            "no AWS credentials found: configure a profile (--profile) or AWS_* variables"
        ) from exc
    if isinstance(exc, NoRegionError):
        raise AwsSetupError(NO_REGION) from exc
    if isinstance(exc, EndpointConnectionError):
        raise AwsSetupError(f"cannot reach AWS: {exc}") from exc
    if isinstance(exc, ClientError) and error_code(exc) in {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    }:
        raise AwsSetupError(f"AWS rejected the credentials: {describe_error(exc)}") from exc


def describe_error(exc: BaseException, action: str | None = None) -> str:
    """One line a person can act on, naming the denied action where there is one."""
    code = error_code(exc)
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        op = exc.operation_name
    else:
        message, op = str(exc), None
    where = action or op or "AWS"
    if code in ACCESS_DENIED_CODES:
        return f"AccessDenied on {where}: {message}".rstrip(": ")
    if code in THROTTLING_CODES:
        return f"throttled on {where} {THROTTLED_WORDS} ({code})"
    if isinstance(exc, BotoCoreError):
        return f"{where} failed: {exc}"
    return f"{where} failed: {code}: {message}".rstrip(": ")
