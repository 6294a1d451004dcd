"""`vpcguard`: scan models and transform jobs, preflight a VpcConfig, list the checks.

Exit codes (also in `vpcguard --help`):
  0  nothing at or above --fail-on failed
  1  a FAIL (or, in a dry run, WOULD_FIX: the problem is still there) at or above --fail-on
  2  a usage error, an AWS setup error (no credentials, no region, endpoint unreachable),
     a model or job ARN of another account or region than the credentials', an audit
     record that could not be written (the change was then not made), or any ERROR result
     (something could not be verified, e.g. an unknown model or an
     AccessDenied): one line on stderr, never a traceback.

`scan --all` evaluates every model (and the transform jobs --jobs selects) through one shared
inventory (vpcguard.backfill); a progress bar goes to stderr on a terminal only. A subject
whose reads were throttled past every retry is an ERROR result: listed, and exit code 2.

Preflight without --role-arn: the execution-role check cannot run and is reported as ERROR
("no --role-arn given ..."), but that ERROR alone does not make the exit code 2: leaving the
role out is a choice, not a failure to verify.

Stdlib argparse only: the CLI ships in the same Lambda layer as the engine.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from . import facts as F
from .accounts import (
    DEFAULT_MEMBER_ROLE,
    AccountSessions,
    MemberRoleError,
    Target,
    arn_account_region,
    member_settings,
    parse_account_ids,
    parse_regions,
)
from .audit import AuditWriteError, audit_sink_for
from .aws import AwsClients, AwsSetupError, describe_error
from .backfill import JOB_SCOPES, parse_since, scan_account
from .checks.base import all_checks, validate_ids
from .engine import RESOLUTION_CHECK_ID, CheckResult, Engine, SubjectReport, summarize
from .model import Severity, Status
from .org import OrgScan, document_extra, failures_table, resolve_targets, scan_targets, targets_line
from .progress import ProgressBar, wants_progress
from .report import (
    catalog_rows,
    render_account_table,
    render_catalog,
    render_csv,
    render_table,
    scan_json_document,
    summary_line,
    use_colour,
)
from .reports_html import render_html
from .routing import SubjectRouter
from .scope import ForeignSubjectError
from .settings import Settings, parse_modes

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

DEFAULT_FAIL_ON = Severity.LOW
DEFAULT_MAX_WORKERS = 8
REPORT_FORMATS = ("table", "json", "csv", "html")
# Statuses that leave the resource non-compliant: a dry run's WOULD_FIX changed nothing.
_FAILING = {Status.FAIL, Status.WOULD_FIX}

_EPILOG = """exit codes:
  0  clean: nothing at or above --fail-on failed
  1  a FAIL (or WOULD_FIX in a dry run) at or above --fail-on
  2  usage error, AWS setup error, or any ERROR result (one line on stderr)"""


class CliError(Exception):
    """A problem the user can fix from the command line: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as for every other exit-2 problem; --help has the rest.
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


# --- argument types ------------------------------------------------------------------------


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _since(text: str) -> datetime:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _split_commas(values: Iterable[str]) -> list[str]:
    """`--subnets a b`, `--subnets a,b` and repeated flags all mean the same list."""
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return list(dict.fromkeys(out))


# --- the parser ----------------------------------------------------------------------------


def _add_aws_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's region)")
    group.add_argument("--profile", help="named AWS profile")
    group.add_argument("--endpoint-url", metavar="URL", help="send every AWS call here (local AWS, tests)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="table",
        help="table (default), json (the contract document), csv (one row per result) "
        "or html (one self-contained page)",
    )
    group.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    group.add_argument(
        "--fail-on",
        type=_severity,
        default=DEFAULT_FAIL_ON,
        metavar="SEVERITY",
        help="exit 1 when a check fails at this severity or above "
        "(CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL; default: LOW)",
    )
    group.add_argument(
        "--mode",
        action="append",
        default=[],
        metavar="CHECK=MODE",
        help="per-check mode: off, notify or fix (repeatable; wins over VPCGUARD_MODES)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vpcguard",
        description="Check that SageMaker models and batch transform jobs run on a correctly built private VPC.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vpcguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    scan = commands.add_parser(
        "scan",
        help="evaluate existing models and transform jobs",
        description="Evaluate models and transform jobs (names or ARNs), or with --all every model and "
        "transform job in the region. Read-only unless --remediate.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument(
        "--model", nargs="+", action="extend", default=[], metavar="NAME", help="model name(s) or ARN(s)"
    )
    scan.add_argument(
        "--transform-job",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="transform job name(s) or ARN(s)",
    )
    scan.add_argument(
        "--all",
        dest="scan_all",
        action="store_true",
        help="every model and transform job in the region (cannot be combined with --model/--transform-job)",
    )
    account = scan.add_argument_group("account scan (--all)")
    account.add_argument(
        "--since", type=_since, metavar="DATE", help="only subjects created after DATE (YYYY-MM-DD or ISO 8601)"
    )
    account.add_argument(
        "--jobs",
        choices=JOB_SCOPES,
        help="which transform jobs: in-progress (default), all or none",
    )
    account.add_argument(
        "--max-workers",
        type=_positive_int,
        metavar="N",
        help=f"evaluate N subjects at a time (default: {DEFAULT_MAX_WORKERS})",
    )
    org = scan.add_argument_group(
        "organization (many accounts and regions)",
        "Another account is read through its member role (member.yaml); the caller's own account "
        "with its own credentials. An account whose role fails is named on stderr and in the "
        "summary, the others are still scanned, and the exit code is 2.",
    )
    org.add_argument(
        "--accounts",
        action="append",
        default=[],
        metavar="ID[,ID...]",
        help="with --all: scan these accounts",
    )
    org.add_argument(
        "--org",
        action="store_true",
        help="with --all: every ACTIVE account of the organization (organizations:ListAccounts)",
    )
    org.add_argument(
        "--regions",
        action="append",
        default=[],
        metavar="R1,R2|all",
        help="with --all: scan these regions (default: --region); all = every region enabled in the account",
    )
    org.add_argument(
        "--role-name",
        metavar="NAME",
        help=f"the member role's name (default: {DEFAULT_MEMBER_ROLE}); also for --model/--transform-job ARNs",
    )
    org.add_argument("--external-id", metavar="ID", help="passed to sts:AssumeRole when given")
    _add_aws_options(scan)
    _add_output_options(scan)
    fixes = scan.add_argument_group("remediation")
    fixes.add_argument("--remediate", action="store_true", help="apply the fixes whose mode is fix")
    fixes.add_argument("--dry-run", action="store_true", help="plan fixes (WOULD_FIX) but write nothing")
    fixes.add_argument("--flow-logs-log-group", metavar="NAME", help="CloudWatch log group for created flow logs")
    fixes.add_argument("--flow-logs-role-arn", metavar="ARN", help="delivery role for the CloudWatch log group")
    fixes.add_argument("--flow-logs-s3-arn", metavar="ARN", help="S3 destination for created flow logs")
    fixes.add_argument("--audit-table", metavar="NAME", help="DynamoDB table that records every change")
    scan.set_defaults(handler=_scan)

    preflight = commands.add_parser(
        "preflight",
        help="check a VpcConfig before CreateModel / CreateTransformJob",
        description="Check subnets and security groups before any model exists. Read-only. "
        "Evaluated as a model, or as a transform job when it names an instance count above 1, "
        "data locations or KMS keys.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument("--subnets", nargs="+", action="extend", required=True, metavar="SUBNET")
    preflight.add_argument("--security-groups", nargs="+", action="extend", required=True, metavar="SG")
    preflight.add_argument("--instance-count", type=_positive_int, default=1, metavar="N")
    preflight.add_argument(
        "--role-arn", metavar="ARN", help="the execution role (without it the role check is not run)"
    )
    preflight.add_argument("--kms-key-id", nargs="+", action="extend", default=[], metavar="KEY")
    preflight.add_argument("--input-s3-uri", nargs="+", action="extend", default=[], metavar="URI")
    preflight.add_argument("--output-s3-uri", nargs="+", action="extend", default=[], metavar="URI")
    _add_aws_options(preflight)
    _add_output_options(preflight)
    preflight.set_defaults(handler=_preflight)

    checks = commands.add_parser("checks", help="list the check catalog")
    checks.add_argument("--format", choices=("table", "json"), default="table")
    checks.set_defaults(handler=_checks)
    return parser


# --- building the engine -------------------------------------------------------------------


def build_clients(args: argparse.Namespace) -> AwsClients:
    """The one AwsClients of a run. Tests replace this to add botocore event hooks."""
    return AwsClients(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def _modes(pairs: Sequence[str]) -> dict[str, Any]:
    modes = parse_modes(pairs)
    validate_ids(modes)
    return modes


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Settings.from_env with the CLI's flags winning.

    Remediation is always decided by the flag: the spec's "a plain `vpcguard scan` never
    writes" holds even when the shell happens to carry VPCGUARD_REMEDIATE=true."""
    overrides: dict[str, Any] = {
        "remediate": bool(getattr(args, "remediate", False)),
        "dry_run": True if getattr(args, "dry_run", False) else None,
        "modes": _modes(args.mode) if args.mode else None,
    }
    for name in ("flow_logs_log_group", "flow_logs_role_arn", "flow_logs_s3_arn", "audit_table"):
        overrides[name] = getattr(args, name, None)
    try:
        return Settings.from_env(env, **overrides)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cli_trigger(clients: AwsClients, settings: Settings) -> str:
    """Who ran the CLI, for audit records: the AWS principal (one STS call, made only when
    fixes are planned, i.e. when records are written) and the local user."""
    user = getpass.getuser() if _has_user() else "unknown"
    if not settings.plans_fixes:
        return f"cli user {user}"
    try:
        principal = clients.client("sts").get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError):
        principal = "unknown principal"
    return f"cli user {user} as {principal}"


def _has_user() -> bool:
    try:
        getpass.getuser()
    except (KeyError, OSError):
        return False
    return True


def build_engine(args: argparse.Namespace, settings: Settings) -> Engine:
    clients = build_clients(args)
    return Engine(
        clients,
        settings,
        trigger=cli_trigger(clients, settings),
        audit_sink=audit_sink_for(clients, settings.audit_table),
    )


# --- outcome -------------------------------------------------------------------------------

ErrorFilter = Callable[[SubjectReport, CheckResult], bool]


def _counted_errors(reports: Sequence[SubjectReport], ignore: ErrorFilter | None) -> list[tuple[SubjectReport, CheckResult]]:
    return [
        (report, result)
        for report in reports
        for result in report.results
        if result.status == Status.ERROR and not (ignore and ignore(report, result))
    ]


def exit_code(
    reports: Sequence[SubjectReport], fail_on: Severity = DEFAULT_FAIL_ON, ignore_error: ErrorFilter | None = None
) -> int:
    """2 for any ERROR result (bar the ones `ignore_error` accepts), else 1 for a failing
    result at or above `fail_on`, else 0."""
    if _counted_errors(reports, ignore_error):
        return EXIT_ERROR
    for report in reports:
        for result in report.results:
            if result.status in _FAILING and result.severity.rank >= fail_on.rank:
                return EXIT_FINDINGS
    return EXIT_OK


def error_line(reports: Sequence[SubjectReport], ignore_error: ErrorFilter | None = None) -> str | None:
    """The one stderr line for ERROR results: the first one in full, and how many more."""
    errors = _counted_errors(reports, ignore_error)
    if not errors:
        return None
    report, result = errors[0]
    detail = " ".join(result.detail.split())
    unresolved = len(report.results) == 1 and result.check_id == RESOLUTION_CHECK_ID
    if unresolved:  # the subject itself could not be read; the detail says which and why
        line = f"vpcguard: {detail}"
    else:
        kind = "transform job" if report.type == "transform_job" else "model"
        line = f"vpcguard: {kind} {report.name}: {result.check_id} could not be evaluated: {detail}"
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more ERROR result{'s' if len(errors) > 2 else ''})"
    return line


def render_report(
    fmt: str,
    reports: list[SubjectReport],
    *,
    account: bool = False,
    colour: bool = False,
    org: OrgScan | None = None,
) -> str:
    """The report in `fmt`; the table of an account scan is its summary (by check, by VPC,
    failing subjects, errors), since one block per subject would run to thousands of lines.
    An organization scan (`org`) adds its targets and the ones that could not be scanned."""
    if fmt == "json":
        document = scan_json_document(reports)
        if org is not None:
            document.update(document_extra(org))
        return json.dumps(document, indent=2) + "\n"
    if account and org is not None and fmt == "table":
        table = render_account_table(reports, colour=colour)
        return f"{targets_line(org)}\n{table}{failures_table(org.failures)}"
    if fmt == "csv":
        return render_csv(reports)
    if fmt == "html":
        return render_html(reports, title="vpcguard account scan" if account else "vpcguard scan")
    if account:
        return render_account_table(reports, colour=colour)
    return render_table(reports, colour=colour)


def _emit(
    args: argparse.Namespace,
    reports: list[SubjectReport],
    ignore_error: ErrorFilter | None = None,
    *,
    account: bool = False,
    org: OrgScan | None = None,
) -> int:
    output = getattr(args, "output", None)
    if output:
        text = render_report(args.format, reports, account=account, org=org)
        try:
            # newline="": the CSV writer's \r\n line ends stay as they are on every platform.
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise CliError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
        if wants_progress(sys.stderr):
            print(f"vpcguard: {summary_line(summarize(reports))}; report in {output}", file=sys.stderr)
    else:
        colour = use_colour(sys.stdout)
        sys.stdout.write(render_report(args.format, reports, account=account, colour=colour, org=org))
        sys.stdout.flush()
    line = error_line(reports, ignore_error)
    if line:
        print(line, file=sys.stderr)
    return exit_code(reports, args.fail_on, ignore_error)


# --- commands ------------------------------------------------------------------------------


def _org_flags(args: argparse.Namespace) -> list[str]:
    given = [("--accounts", args.accounts), ("--org", args.org), ("--regions", args.regions)]
    return [flag for flag, value in given if value]


def _scan(args: argparse.Namespace) -> int:
    models = list(dict.fromkeys(args.model))
    jobs = list(dict.fromkeys(args.transform_job))
    if args.scan_all:
        if models or jobs:
            raise CliError("--all scans every model and job: it cannot be combined with --model/--transform-job")
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
    if not any(ref.startswith("arn:") for ref in (*models, *jobs)):
        reports = [engine.evaluate_model(name) for name in models]
        reports += [engine.evaluate_transform_job(name) for name in jobs]
        return _emit(args, reports)
    # An ARN of another account or region is never evaluated with these credentials: it is
    # evaluated there, through the member role (or is an ERROR naming the role that failed).
    router = SubjectRouter(_sessions(args, engine.clients), engine, settings)
    for kind, refs in (("model", models), ("transform job", jobs)):
        for ref in refs:
            _require_member_role(router, engine, ref, kind)
    reports = [router.evaluate("model", ref) for ref in models]
    reports += [router.evaluate("transform_job", ref) for ref in jobs]
    return _emit(args, reports)


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
    base = build_clients(args)
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
            settings if sessions.is_home(target.account) else member_settings(settings, target.account, target.region),
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
    code = _emit(args, scan.reports, account=True, org=scan)
    return EXIT_ERROR if scan.failures else code


def _scan_all(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    clients = build_clients(args)
    progress = ProgressBar(sys.stderr) if wants_progress(sys.stderr) else None
    try:
        reports = scan_account(
            clients,
            settings,
            jobs=args.jobs or "in-progress",
            since=args.since,
            max_workers=args.max_workers or DEFAULT_MAX_WORKERS,
            progress=progress,
            trigger="cli scan --all",
            audit_sink=audit_sink_for(clients, settings.audit_table),
        )
    finally:
        if progress is not None:
            progress.close()
    return _emit(args, reports, account=True)


def _role_checks() -> set[str]:
    return {c.meta.id for c in all_checks() if F.ROLE in c.meta.requires}


def _preflight(args: argparse.Namespace) -> int:
    # Preflight only reads: nothing exists yet to fix for, whatever the environment says.
    args.remediate, args.dry_run = False, False
    settings = settings_from_args(args)
    engine = build_engine(args, settings)
    subject = engine.resolver.preflight(
        subnet_ids=_split_commas(args.subnets),
        security_group_ids=_split_commas(args.security_groups),
        instance_count=args.instance_count,
        role_arn=args.role_arn,
        kms_key_ids=_split_commas(args.kms_key_id),
        input_s3_uris=args.input_s3_uri,
        output_s3_uris=args.output_s3_uri,
    )
    report = engine.evaluate(subject)
    ignore: ErrorFilter | None = None
    if not args.role_arn:
        role_checks = _role_checks()

        def ignore(_: SubjectReport, result: CheckResult) -> bool:
            return result.check_id in role_checks

    return _emit(args, [report], ignore)


def _checks(args: argparse.Namespace) -> int:
    checks = all_checks()
    if args.format == "json":
        sys.stdout.write(json.dumps(catalog_rows(checks), indent=2) + "\n")
    else:
        sys.stdout.write(render_catalog(checks))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (CliError, AwsSetupError, AuditWriteError, ValueError) as exc:
        message = str(exc)
    except ClientError as exc:
        message = describe_error(exc)
    except BotoCoreError as exc:  # e.g. ProfileNotFound, a malformed config file
        message = str(exc)
    except KeyboardInterrupt:
        print("vpcguard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("VPCGUARD_DEBUG"):
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (set VPCGUARD_DEBUG=1 for the traceback)"
    print(f"vpcguard: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
