"""`vpcguard scan`: named models and transform jobs (ARNs of other accounts through their
member role), `--all` (an account, or with --accounts/--org/--regions many), and
`--affected-by` (handed to vpcguard.drift.cli)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from ..accounts import (
    DEFAULT_MEMBER_ROLE,
    AccountSessions,
    MemberRoleError,
    Target,
    arn_account_region,
    member_settings,
    parse_account_ids,
    parse_regions,
)
from ..audit import audit_sink_for
from ..aws import AwsClients
from ..backfill import iter_account, scan_account
from ..engine import Engine
from ..formats.writers import EXIT_ERROR
from ..org import resolve_targets, scan_targets, targets_line
from ..progress import ProgressBar, wants_progress
from ..results import SubjectReport
from ..routing import SubjectRouter
from ..scope import ForeignSubjectError
from . import setup
from .emit import emit, formats_asked
from .setup import CliError, build_engine, settings_from_args

DEFAULT_MAX_WORKERS = 8


def _org_flags(args: argparse.Namespace) -> list[str]:
    given = [("--accounts", args.accounts), ("--org", args.org), ("--regions", args.regions)]
    return [flag for flag, value in given if value]


def scan_command(args: argparse.Namespace) -> int:
    models = list(dict.fromkeys(args.model))
    jobs = list(dict.fromkeys(args.transform_job))
    if args.affected_by is not None:
        if args.scan_all or models or jobs:
            raise CliError("--affected-by chooses the subjects itself: drop --all/--model/--transform-job")
        from ..drift.cli import scan_affected  # the drift package only when asked for

        return scan_affected(args)
    if args.index_table:
        raise CliError("--index-table only applies with --affected-by")
    if args.scan_all:
        if models or jobs:
            raise CliError(
                "--all scans every model and job: it cannot be combined with --model/--transform-job"
            )
        if _org_flags(args):
            return _scan_org(args)
        return _scan_all(args)
    if _org_flags(args):
        raise CliError(f"{', '.join(_org_flags(args))} only apply with --all")
    account_flags = (("--since", args.since), ("--jobs", args.jobs), ("--max-workers", args.max_workers))
    given = [flag for flag, value in account_flags if value is not None]
    if given:
        raise CliError(f"{', '.join(given)} only apply with --all")
    if not models and not jobs:
        raise CliError("nothing to scan: give --model NAME and/or --transform-job NAME, or --all")
    settings = settings_from_args(args)
    engine = build_engine(args, settings)
    formats_asked(args)  # a usage error before any AWS call
    if not any(ref.startswith("arn:") for ref in (*models, *jobs)):

        def reports() -> Iterable[SubjectReport]:
            yield from (engine.evaluate_model(name) for name in models)
            yield from (engine.evaluate_transform_job(name) for name in jobs)

        return emit(args, reports, home=engine.clients)
    # An ARN of another account or region is never evaluated with these credentials: it is
    # evaluated there, through the member role, or refused before anything is read.
    router = SubjectRouter(_sessions(args, engine.clients), engine, settings)
    for kind, refs in (("model", models), ("transform job", jobs)):
        for ref in refs:
            _require_member_role(router, engine, ref, kind)

    def routed() -> Iterable[SubjectReport]:
        yield from (router.evaluate("model", ref) for ref in models)
        yield from (router.evaluate("transform_job", ref) for ref in jobs)

    return emit(args, routed, home=engine.clients)


def _require_member_role(router: SubjectRouter, engine: Engine, ref: str, kind: str) -> None:
    """An ARN elsewhere whose member role cannot be assumed is refused before anything is
    read or changed: one line, exit 2 (as without any member role)."""
    target = router.target_of(ref)
    if target is None:
        return
    try:
        router.engine(target)
    except MemberRoleError as exc:
        account, region = arn_account_region(ref)
        reason = engine.scope.foreign_reason(account, region, f"{kind} {ref}") or f"{kind} {ref} is elsewhere"
        raise ForeignSubjectError(
            f"{reason}; vpcguard never evaluates or fixes it with these credentials, and its member role "
            f"could not be used: {exc}"
        ) from None


def _sessions(args: argparse.Namespace, clients: AwsClients) -> AccountSessions:
    return AccountSessions(
        clients, role_name=args.role_name or DEFAULT_MEMBER_ROLE, external_id=args.external_id
    )


def _scan_org(args: argparse.Namespace) -> int:
    try:
        accounts = parse_account_ids(args.accounts)
        regions = parse_regions(args.regions)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.org and accounts:
        raise CliError("--org scans every account of the organization: it cannot be combined with --accounts")
    settings = settings_from_args(args)
    base = setup.build_clients(args)
    sessions = _sessions(args, base)
    scope = resolve_targets(sessions, accounts, args.org, regions)
    progress = ProgressBar(sys.stderr) if wants_progress(sys.stderr) else None
    audit_sink = audit_sink_for(base, settings.audit_table)

    def scan_one(clients: AwsClients, target: Target) -> list[SubjectReport]:
        def step(name: str, done: int, total: int) -> None:
            if progress is not None:
                progress(f"{target} {name}", done, total)

        return scan_account(
            clients,
            settings
            if sessions.is_home(target.account)
            else member_settings(settings, target.account, target.region),
            jobs=args.jobs or "in-progress",
            since=args.since,
            max_workers=args.max_workers or DEFAULT_MAX_WORKERS,
            progress=step if progress is not None else None,
            trigger=f"cli scan --all ({target})",
            audit_sink=audit_sink,
        )

    try:
        scan = scan_targets(sessions, scope, scan_one)
    finally:
        if progress is not None:
            progress.close()
    for failure in scan.failures:
        print(f"vpcguard: {failure.line()}", file=sys.stderr)
    if wants_progress(sys.stderr):
        print(f"vpcguard: {targets_line(scan)}", file=sys.stderr)
    code = emit(args, scan.reports, account=True, org=scan, home=base)
    return EXIT_ERROR if scan.failures else code


def _scan_all(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    clients = setup.build_clients(args)
    progress = ProgressBar(sys.stderr) if wants_progress(sys.stderr) else None

    def reports() -> Iterable[SubjectReport]:
        return iter_account(
            clients,
            settings,
            jobs=args.jobs or "in-progress",
            since=args.since,
            max_workers=args.max_workers or DEFAULT_MAX_WORKERS,
            progress=progress,
            trigger="cli scan --all",
            audit_sink=audit_sink_for(clients, settings.audit_table),
        )

    try:
        return emit(args, reports, account=True, home=clients)
    finally:
        if progress is not None:
            progress.close()
