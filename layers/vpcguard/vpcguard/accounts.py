"""Many accounts and regions: AWS clients for a member account through its member role.

The hub (the inspect and backfill functions, or the CLI with `--accounts`/`--org`) reads and
fixes a member account's resources with credentials from `sts:AssumeRole` into
`arn:aws:iam::<account>:role/<member role>` (default `vpcguard-member`, deployed by
member.yaml). Rules this module keeps:

- the caller's own account is read with its own credentials; any other account only through
  the member role. A role that cannot be assumed raises `MemberRoleError` for that account:
  there is no fallback to the caller's credentials, so a same-named resource of the hub's own
  account can never be read or changed in a member's name;
- credentials are cached per account (one AssumeRole serves every region of the account) and
  refreshed by botocore shortly before they expire; a failed AssumeRole is remembered for a
  short while so that one broken account does not cost a call per subject;
- every (account, region) has its own clients with a cap on concurrent calls, since AWS
  throttles per account and region.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients, CallCounter, describe_error, raise_if_setup_error
from .model import Subject
from .settings import Settings
from .subjects import name_from_arn

DEFAULT_MEMBER_ROLE = "vpcguard-member"
MEMBER_ROLE_ENV = "VPCGUARD_MEMBER_ROLE_NAME"
MEMBER_EXTERNAL_ID_ENV = "VPCGUARD_MEMBER_EXTERNAL_ID"
# The hub's own account, set by template.yaml on every function (Lambda has no such variable).
HUB_ACCOUNT_ENV = "VPCGUARD_HUB_ACCOUNT"
# At most this many AWS calls in flight per account and region.
DEFAULT_CALLS_PER_TARGET = 8
# A role that could not be assumed is not asked again for this long (one failure per
# account per minute, not one per subject); the next attempt after it may succeed.
FAILURE_MEMORY_SECONDS = 60.0
SESSION_DURATION_SECONDS = 3600
# What member.yaml names in every member account, for the flow-log fix there.
MEMBER_FLOW_LOGS_LOG_GROUP = "vpcguard-flow-logs"
MEMBER_FLOW_LOGS_ROLE = "vpcguard-flow-logs-delivery"


class MemberRoleError(RuntimeError):
    """The member role of an account could not be assumed: nothing in that account can be
    evaluated (and nothing is evaluated with the hub's own credentials instead)."""

    def __init__(self, account: str, role_arn: str, reason: str):
        self.account = account
        self.role_arn = role_arn
        self.reason = reason
        super().__init__(f"account {account}: cannot assume {role_arn}: {reason}")


@dataclass(frozen=True, order=True)
class Target:
    """One account in one region: the unit of scanning, caching and throttling."""

    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


def member_role_arn(account: str, role_name: str = DEFAULT_MEMBER_ROLE, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def arn_account_region(arn: str) -> tuple[str, str]:
    """(account, region) of an ARN; ("", "") for a plain name."""
    parts = arn.split(":", 5) if arn.startswith("arn:") else []
    return (parts[4], parts[3]) if len(parts) == 6 else ("", "")


@dataclass
class _Failure:
    error: MemberRoleError
    until: float


class AccountSessions:
    """AwsClients per (account, region), from one caller's credentials (`base`).

    Thread-safe: an organization scan asks from many threads."""

    def __init__(
        self,
        base: AwsClients,
        *,
        role_name: str = DEFAULT_MEMBER_ROLE,
        external_id: str | None = None,
        home_account: str | None = None,
        calls_per_target: int = DEFAULT_CALLS_PER_TARGET,
        session_name: str = "vpcguard",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.role_name = role_name
        self.external_id = external_id
        self.calls_per_target = calls_per_target
        self.session_name = session_name
        self.clock = clock
        self._home = home_account or base.account
        if home_account and base.account is None:
            # The stack says which account it runs in: no sts:GetCallerIdentity to ask it.
            base.account = home_account
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, Any] = {}
        self._failures: dict[str, _Failure] = {}
        # (target, with the caller's own credentials) -> clients
        self._clients: dict[tuple[Target, bool], AwsClients] = {}
        self.assume_role_calls = 0

    @property
    def counter(self) -> CallCounter:
        return self.base.counter

    @property
    def home_region(self) -> str:
        return self.base.region

    def home_account(self) -> str:
        """The caller's own account (one sts:GetCallerIdentity, once)."""
        if self._home is None:
            account = self.base.caller_account()
            with self._lock:
                self._home = account
        return self._home

    def is_home(self, account: str | None) -> bool:
        return not account or account == self.home_account()

    def role_arn(self, account: str) -> str:
        return member_role_arn(account, self.role_name, _partition(self.home_region))

    def clients(
        self, account: str | None, region: str | None = None, *, own_credentials: bool = True
    ) -> AwsClients:
        """Clients for `account` in `region` (default: the caller's). Raises MemberRoleError
        when the member role is needed and cannot be assumed.

        `own_credentials=False`: another region of the caller's own account is read through
        the member role too (the inspect function's own permissions are for its region only,
        and an event or ARN elsewhere is never acted on with them)."""
        region = region or self.home_region
        account = account or self.home_account()
        home = self.is_home(account)
        if home and region == self.home_region:
            return self.base
        target = Target(account, region)
        key = (target, home and own_credentials)
        with self._lock:
            known = self._clients.get(key)
        if known is not None:
            return known
        credentials = self.base.session.get_credentials() if key[1] else self._member(account)
        made = self._build(target, credentials)
        with self._lock:
            return self._clients.setdefault(key, made)

    def _build(self, target: Target, credentials: Any) -> AwsClients:
        core = botocore.session.Session()
        core._credentials = credentials
        # One loader for every account's clients: the service models are read from disk once,
        # not once per account and region.
        core.register_component("data_loader", self.base.session._session.get_component("data_loader"))
        return AwsClients(
            region=target.region,
            endpoint_url=self.base.endpoint_url,
            session=boto3.Session(botocore_session=core, region_name=target.region),
            counter=self.base.counter,
            max_concurrent_calls=self.calls_per_target,
            account=target.account,
        )

    # --- member credentials ----------------------------------------------------------------

    def _member(self, account: str) -> Any:
        with self._lock:
            lock = self._account_locks.setdefault(account, threading.Lock())
        with lock:  # one AssumeRole per account, however many threads ask at once
            cached = self._credentials.get(account)
            if cached is not None:
                return cached
            failure = self._failures.get(account)
            if failure is not None and self.clock() < failure.until:
                raise failure.error
            try:
                metadata = self._assume(account)
            except MemberRoleError as exc:
                self._failures[account] = _Failure(exc, self.clock() + FAILURE_MEMORY_SECONDS)
                raise
            self._failures.pop(account, None)
            credentials = RefreshableCredentials.create_from_metadata(
                metadata=metadata,
                # botocore calls this shortly before expiry (its advisory and mandatory
                # refresh windows), so a long scan or a warm Lambda never uses expired keys.
                refresh_using=lambda: self._assume(account),
                method="assume-role",
            )
            self._credentials[account] = credentials
            return credentials

    def _assume(self, account: str) -> dict[str, str]:
        role_arn = self.role_arn(account)
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": SESSION_DURATION_SECONDS,
        }
        if self.external_id:
            kwargs["ExternalId"] = self.external_id
        with self._lock:
            self.assume_role_calls += 1
        try:
            answer = self.base.client("sts").assume_role(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            raise MemberRoleError(account, role_arn, describe_error(exc, "sts:AssumeRole")) from exc
        creds = answer["Credentials"]
        expiry = creds["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(UTC).isoformat()
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": str(expiry),
        }


def hub_home(clients: AwsClients, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(hub account, region) when the stack says which account it runs in, else None."""
    account = (os.environ if env is None else env).get(HUB_ACCOUNT_ENV, "").strip()
    return (account, clients.region) if account else None


def sessions_from_env(
    clients: AwsClients, env: Mapping[str, str] | None = None, home_account: str | None = None
) -> AccountSessions | None:
    """The member-role sessions a hub function uses, or None when no member role is
    configured (a single-account deployment: events name only its own account)."""
    env = os.environ if env is None else env
    role_name = env.get(MEMBER_ROLE_ENV, "").strip()
    if not role_name:
        return None
    return AccountSessions(
        clients,
        role_name=role_name,
        external_id=env.get(MEMBER_EXTERNAL_ID_ENV, "").strip() or None,
        home_account=home_account or env.get(HUB_ACCOUNT_ENV, "").strip() or None,
        session_name="vpcguard-hub",
    )


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# --- what to scan ----------------------------------------------------------------------------


def organization_accounts(clients: AwsClients) -> list[str]:
    """Every ACTIVE account of the organization (organizations:ListAccounts, from the
    management account or a delegated administrator), in listing order."""
    out: list[str] = []
    for page in clients.client("organizations").get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            state = account.get("State") or account.get("Status")
            if state == "ACTIVE":
                out.append(account["Id"])
    return list(dict.fromkeys(out))


def enabled_regions(clients: AwsClients) -> list[str]:
    """Every region enabled in the account (ec2:DescribeRegions without AllRegions lists
    only those; opt-in regions not opted into are left out)."""
    regions = clients.client("ec2").describe_regions().get("Regions", [])
    names = [r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in"]
    return sorted(dict.fromkeys(names))


def parse_account_ids(values: Iterable[str]) -> list[str]:
    """`--accounts 111111111111,222222222222` (repeatable): twelve digits each."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if not (len(item) == 12 and item.isdigit()):
                raise ValueError(f"{item!r} is not an AWS account id (twelve digits)")
            out.append(item)
    return list(dict.fromkeys(out))


def parse_regions(values: Iterable[str]) -> list[str]:
    """`--regions us-east-1,eu-west-1` or `all` (returned as ["all"])."""
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    out = list(dict.fromkeys(out))
    if "all" in out and len(out) > 1:
        raise ValueError("--regions all cannot be combined with named regions")
    for region in out:
        if region != "all" and not _looks_like_region(region):
            raise ValueError(f"{region!r} is not a region name (e.g. us-east-1)")
    return out


def _looks_like_region(name: str) -> bool:
    parts = name.split("-")
    return len(parts) >= 3 and parts[-1].isdigit() and all(p.isalpha() for p in parts[:-1])


# --- member subjects ---------------------------------------------------------------------------


def member_settings(settings: Settings, account: str, region: str) -> Settings:
    """The hub's settings for a subject in a member account: the flow-log fix writes to the
    log group and delivery role member.yaml creates there (the hub's own would not accept a
    member's flow logs). An S3 destination is kept: one central bucket can take them all."""
    if settings.flow_logs_s3_arn or not settings.flow_logs_log_group:
        return settings
    role = f"arn:{_partition(region)}:iam::{account}:role/{MEMBER_FLOW_LOGS_ROLE}"
    return replace(settings, flow_logs_log_group=MEMBER_FLOW_LOGS_LOG_GROUP, flow_logs_role_arn=role)


def unreachable_subject(kind: str, ref: str, account: str, region: str, reason: str) -> Subject:
    """The subject an event or ARN names in an account whose role failed: evaluated as an
    ERROR (the reason as its detail), never looked up with the caller's own credentials."""
    name = name_from_arn(ref)
    return Subject(
        type=kind,  # type: ignore[arg-type]
        name=name,
        arn=ref if ref.startswith("arn:") else "",
        region=region,
        account=account,
        model_name=name if kind == "model" else "",
        error=reason,
    )
