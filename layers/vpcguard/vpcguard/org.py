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
from .engine import SubjectReport

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
            result.failures.append(TargetFailure(target.account, "*", f"cannot assume {exc.role_arn}: {exc.reason}"))
            continue
        try:
            reports = scan_one(clients, target)
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
