"""`scan --all` over many accounts and regions (`--accounts`, `--org`, `--regions`).

Each (account, region) is scanned as one account is today (vpcguard.backfill.scan_account),
with that account's clients (the caller's own, or the member role's) and its own cap on
concurrent calls. An account whose role cannot be assumed, or a region that cannot be read,
is one failure for that target: named in the summary and on stderr, and the other targets
are still scanned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .accounts import AccountSessions, MemberRoleError, Target, enabled_regions, organization_accounts
from .aws import AwsClients, AwsSetupError, describe_error
from .results import SubjectReport

log = logging.getLogger(__name__)

# Scans one target with its clients; returns its reports.
ScanOne = Callable[[AwsClients, Target], list[SubjectReport]]


@dataclass(frozen=True)
class TargetFailure:
    """A target (or a whole account, region "*") that could not be scanned, and why."""

    account: str
    region: str
    reason: str

    def line(self) -> str:
        where = f"account {self.account}" + ("" if self.region == "*" else f" in {self.region}")
        return f"{where} not scanned: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"account": self.account, "region": self.region, "error": self.reason}


@dataclass
class OrgScan:
    targets: list[Target]
    reports: list[SubjectReport] = field(default_factory=list)
    failures: list[TargetFailure] = field(default_factory=list)
    # subjects per scanned target, for the progress and the summary
    scanned: dict[Target, int] = field(default_factory=dict)


def resolve_accounts(sessions: AccountSessions, accounts: Sequence[str], org: bool) -> list[str]:
    """--accounts as given, or with --org every ACTIVE account of the organization (the
    caller's own included)."""
    if org:
        try:
            listed = organization_accounts(sessions.base)
        except (ClientError, BotoCoreError) as exc:
            raise AwsSetupError(
                "--org needs organizations:ListAccounts from the management or a delegated "
                f"administrator account: {describe_error(exc, 'organizations:ListAccounts')}"
            ) from exc
        return list(dict.fromkeys([*listed, *accounts]))
    return list(accounts) or [sessions.home_account()]


def resolve_regions(sessions: AccountSessions, regions: Sequence[str]) -> list[str]:
    """--regions as given, `all` = every region enabled in the caller's account, none = the
    caller's region."""
    if list(regions) == ["all"]:
        try:
            return enabled_regions(sessions.base)
        except (ClientError, BotoCoreError) as exc:
            raise AwsSetupError(f"--regions all: {describe_error(exc, 'ec2:DescribeRegions')}") from exc
    return list(regions) or [sessions.home_region]


def scan_targets(
    sessions: AccountSessions,
    targets: Sequence[Target],
    scan_one: ScanOne,
    on_target: Callable[[Target, int, int], None] | None = None,
) -> OrgScan:
    """Scan each target in turn. A target whose clients cannot be had (member role) or whose
    listing fails is a TargetFailure; the others go on. `on_target(target, n, total)` is
    called before each target (for progress)."""
    result = OrgScan(targets=list(targets))
    failed_accounts: dict[str, str] = {}
    for n, target in enumerate(targets, start=1):
        if on_target is not None:
            on_target(target, n, len(targets))
        if target.account in failed_accounts:
            continue  # already named once for the whole account
        try:
            clients = sessions.clients(target.account, target.region)
        except MemberRoleError as exc:
            failed_accounts[target.account] = exc.reason
            result.failures.append(
                TargetFailure(target.account, "*", f"cannot assume {exc.role_arn}: {exc.reason}")
            )
            continue
        try:
            reports = scan_one(clients, target)
        except MemberRoleError as exc:  # the role's credentials could not be renewed mid-scan
            result.failures.append(TargetFailure(target.account, target.region, str(exc)))
            continue
        except AwsSetupError as exc:
            if sessions.is_home(target.account) and target.region == sessions.home_region:
                raise  # the caller's own setup is broken: nothing else will work either
            result.failures.append(TargetFailure(target.account, target.region, str(exc)))
            continue
        except (ClientError, BotoCoreError) as exc:
            result.failures.append(TargetFailure(target.account, target.region, describe_error(exc)))
            continue
        result.scanned[target] = len(reports)
        result.reports.extend(reports)
    for failure in result.failures:
        log.warning("%s", failure.line())
    return result


def failures_table(failures: Sequence[TargetFailure]) -> str:
    """The summary's block for targets that were not scanned."""
    if not failures:
        return ""
    lines = ["", f"Not scanned ({len(failures)}):"]
    for failure in failures:
        region = "all regions" if failure.region == "*" else failure.region
        lines.append(f"  {failure.account}  {region:<15} {' '.join(failure.reason.split())}")
    return "\n".join(lines) + "\n"


def targets_line(scan: OrgScan) -> str:
    accounts = sorted({t.account for t in scan.targets})
    regions = sorted({t.region for t in scan.targets})
    return (
        f"{len(accounts)} account{'s' if len(accounts) != 1 else ''} x {len(regions)} "
        f"region{'s' if len(regions) != 1 else ''} ({', '.join(regions)}): "
        f"{len(scan.scanned)} scanned, {len(scan.failures)} failed"
    )


def document_extra(scan: OrgScan) -> dict[str, Any]:
    """What the JSON document adds for an organization scan: every target, and the failures."""
    return {
        "targets": [{"account": t.account, "region": t.region} for t in scan.targets],
        "failed_targets": [f.as_dict() for f in scan.failures],
    }


def resolve_targets(
    sessions: AccountSessions, accounts: Sequence[str], org: bool, regions: Sequence[str]
) -> list[Target]:
    """Every (account, region) to scan, accounts in the order given (or listed)."""
    account_ids = resolve_accounts(sessions, accounts, org)
    region_names = resolve_regions(sessions, regions)
    return [Target(a, r) for a in account_ids for r in region_names]


# --- the backfill Lambda across an organization: one message per account and region ------------

# SendMessageBatch takes at most 10 entries.
_SQS_BATCH = 10


def target_message(target: Target, *, jobs: str, since: str | None, backfill_id: str) -> dict[str, Any]:
    """The body of one account-and-region message on the backfill target queue."""
    return {
        "account": target.account,
        "region": target.region,
        "jobs": jobs,
        "since": since,
        "backfill_id": backfill_id,
    }


def queue_targets(
    clients: AwsClients,
    queue_url: str,
    targets: Sequence[Target],
    *,
    jobs: str,
    since: str | None,
    backfill_id: str,
) -> list[str]:
    """One message per target on the backfill target queue; returns the targets SQS did not
    take (after a second try), never drops one silently."""
    import json

    sqs = clients.client("sqs")
    failed: list[str] = []
    for start in range(0, len(targets), _SQS_BATCH):
        pending = {str(i): t for i, t in enumerate(targets[start : start + _SQS_BATCH])}
        for _attempt in range(2):
            entries = [
                {
                    "Id": i,
                    "MessageBody": json.dumps(
                        target_message(t, jobs=jobs, since=since, backfill_id=backfill_id)
                    ),
                }
                for i, t in pending.items()
            ]
            answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            for ok in answer.get("Successful", []):
                pending.pop(ok["Id"], None)
            if not pending:
                break
        failed += [str(t) for t in pending.values()]
    return failed


@dataclass(frozen=True)
class TargetRequest:
    """A message from the backfill target queue."""

    target: Target
    jobs: str
    since: str | None
    backfill_id: str

    @classmethod
    def parse(cls, body: str) -> TargetRequest:
        import json

        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a backfill target message: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("account", "region")):
            raise ValueError('not a backfill target message: needs "account" and "region" strings')
        return cls(
            target=Target(data["account"], data["region"]),
            jobs=str(data.get("jobs") or "in-progress"),
            since=data.get("since"),
            backfill_id=str(data.get("backfill_id") or ""),
        )
