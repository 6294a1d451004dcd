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
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from . import __version__, guardrails
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
from .backfill import JOB_SCOPES, iter_account, parse_since, scan_account
from .checks.base import all_checks, check_ids, validate_ids
from .engine import Engine
from .formats import REPORT_FORMATS, make_writer
from .formats.catalog import catalog_rows, render_catalog
from .formats.sarif import Locate
from .formats.text import NO_WRAP, output_width, summary_line, use_colour
from .formats.writers import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    ErrorFilter,
    Tally,
    Writer,
    write_all,
)
from .model import Severity
from .org import OrgScan, document_extra, failures_table, resolve_targets, scan_targets, targets_line
from .progress import ProgressBar, wants_progress
from .results import CheckResult, RunScope, SubjectReport, report_metadata
from .routing import SubjectRouter
from .scope import ForeignSubjectError
from .settings import Settings, parse_modes
from .template_check import check_template
from .templates import TemplateError

__all__ = ["EXIT_ERROR", "EXIT_FINDINGS", "EXIT_OK", "main"]

DEFAULT_FAIL_ON = Severity.LOW
DEFAULT_MAX_WORKERS = 8
# What a report file's extension says about its format, when --format does not. Two-part
# extensions first: the names --output-dir gives (vpcguard.asff.json) read back as written.
FORMAT_BY_EXTENSION = {
    ".junit.xml": "junit",
    ".asff.json": "asff",
    ".ocsf.json": "ocsf",
    ".xml": "junit",
    ".sarif": "sarif",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}
# The file --output-dir writes for a format.
FILE_NAME_BY_FORMAT = {
    "table": "vpcguard.txt",
    "json": "vpcguard.json",
    "jsonl": "vpcguard.jsonl",
    "csv": "vpcguard.csv",
    "html": "vpcguard.html",
    "sarif": "vpcguard.sarif",
    "junit": "vpcguard.junit.xml",
    "asff": "vpcguard.asff.json",
    "ocsf": "vpcguard.ocsf.json",
}
# `--output text` and friends: AWS CLI output formats vpcguard does not have.
AWS_CLI_ONLY_FORMATS = ("text", "yaml", "yaml-stream")

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


def _format_list(text: str) -> list[str]:
    """`--format json,html`: known formats, in order, each once."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    for fmt in formats:
        if fmt not in REPORT_FORMATS:
            choices = ", ".join(repr(f) for f in REPORT_FORMATS)
            raise argparse.ArgumentTypeError(f"invalid choice: {fmt!r} (choose from {choices})")
    if not formats:
        raise argparse.ArgumentTypeError("no format given")
    return list(dict.fromkeys(formats))


def _id_list(text: str) -> list[str]:
    """`--checks a,b`: the ids as given (checked against the catalog once parsing is done)."""
    return [part.strip() for part in text.split(",") if part.strip()]


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
        type=_format_list,
        metavar="FORMAT[,FORMAT...]",
        help="table (default), json (the contract document, compact unless --pretty), jsonl (one subject "
        "per line as each is evaluated, then a summary line: constant memory, for large accounts), "
        "csv (one row per result, streamed) or html (one self-contained page; holds every report "
        "in memory until the end) or sarif (SARIF 2.1.0 for code scanning; with preflight --template, "
        "the template's file and line; holds every report), junit (JUnit XML for CI test reports: a "
        "test case per subject and check, failure for FAIL, error for ERROR, skipped for EXEMPT and "
        "NOT_APPLICABLE), asff (AWS Security Finding Format, a JSON list for aws securityhub "
        "batch-import-findings) or ocsf (OCSF 1.1.0 Compliance Finding events, class 2003, a JSON list "
        "for a security data lake). Several, comma-separated, with --output-dir. Default: from "
        "--output-file's extension (.json, .jsonl, .csv, .html, .sarif, .xml = junit, .asff.json, "
        ".ocsf.json), else table",
    )
    group.add_argument(
        "--output",
        dest="output_format",
        metavar="FORMAT",
        help="the format, as the AWS CLI's --output means it (json, table, ...); same as --format",
    )
    group.add_argument(
        "-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    group.add_argument(
        "--output-dir",
        metavar="DIR",
        help="write one file per --format into DIR (vpcguard.json, vpcguard.html, ...)",
    )
    group.add_argument("--pretty", action="store_true", help="indent json (two spaces)")
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


def _add_check_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("checks")
    group.add_argument(
        "--checks",
        type=_id_list,
        action="extend",
        metavar="ID[,ID...]",
        help="evaluate only these checks (ids as `vpcguard checks` lists them; repeatable); no AWS call "
        "is made for facts that only other checks need, and the others are not in the report",
    )
    group.add_argument(
        "--exclude-checks",
        type=_id_list,
        action="extend",
        metavar="ID[,ID...]",
        help="evaluate every check but these (with --checks: the ones listed there, minus these)",
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
    scan.add_argument(
        "--affected-by",
        metavar="RESOURCE",
        help="every model (and, with --jobs, transform job) that depends on RESOURCE: a security group, "
        "subnet, route table (or association), VPC endpoint, VPC or flow log id, a bucket name or "
        "arn:aws:s3:::bucket, an IAM role ARN or a KMS key ARN",
    )
    scan.add_argument(
        "--index-table",
        metavar="NAME",
        help="with --affected-by: read the dependents from this drift dependency index (the stack's "
        "DependencyIndexTableName) instead of describing every model; the evaluations refresh it",
    )
    account = scan.add_argument_group("account scan (--all)")
    account.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only subjects created after DATE (YYYY-MM-DD or ISO 8601)",
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
    _add_check_options(scan)
    fixes = scan.add_argument_group("remediation")
    fixes.add_argument("--remediate", action="store_true", help="apply the fixes whose mode is fix")
    fixes.add_argument("--dry-run", action="store_true", help="plan fixes (WOULD_FIX) but write nothing")
    fixes.add_argument(
        "--flow-logs-log-group", metavar="NAME", help="CloudWatch log group for created flow logs"
    )
    fixes.add_argument(
        "--flow-logs-role-arn", metavar="ARN", help="delivery role for the CloudWatch log group"
    )
    fixes.add_argument("--flow-logs-s3-arn", metavar="ARN", help="S3 destination for created flow logs")
    fixes.add_argument("--audit-table", metavar="NAME", help="DynamoDB table that records every change")
    scan.set_defaults(handler=_scan)

    preflight = commands.add_parser(
        "preflight",
        help="check a VpcConfig before CreateModel / CreateTransformJob",
        description="Check subnets and security groups before any model exists. Read-only. "
        "Evaluated as a model, or as a transform job when it names an instance count above 1, "
        "data locations or KMS keys. With --template, every SageMaker model of a CloudFormation/SAM "
        "template or Terraform plan instead (docs/guardrails.md).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument("--subnets", nargs="+", action="extend", default=[], metavar="SUBNET")
    preflight.add_argument("--security-groups", nargs="+", action="extend", default=[], metavar="SG")
    preflight.add_argument(
        "--template",
        metavar="FILE",
        help="check every SageMaker model of a CloudFormation/SAM template (YAML or JSON) or a Terraform "
        "plan (terraform show -json) instead of --subnets/--security-groups",
    )
    preflight.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (repeatable; wins over its Default)",
    )
    preflight.add_argument("--instance-count", type=_positive_int, default=1, metavar="N")
    preflight.add_argument(
        "--role-arn", metavar="ARN", help="the execution role (without it the role check is not run)"
    )
    preflight.add_argument("--kms-key-id", nargs="+", action="extend", default=[], metavar="KEY")
    preflight.add_argument("--input-s3-uri", nargs="+", action="extend", default=[], metavar="URI")
    preflight.add_argument("--output-s3-uri", nargs="+", action="extend", default=[], metavar="URI")
    _add_aws_options(preflight)
    _add_output_options(preflight)
    _add_check_options(preflight)
    preflight.set_defaults(handler=_preflight)

    _add_guardrails_parser(commands)

    checks = commands.add_parser("checks", help="list the check catalog")
    checks.add_argument("--format", choices=("table", "json"), default="table")
    checks.set_defaults(handler=_checks)
    return parser


def _add_guardrails_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "guardrails",
        help="write an SCP or CloudFormation Guard rules that refuse what the checks detect",
        description="Write a service control policy (--format scp, the default) denying CreateModel outside "
        "the approved subnets and security groups (and CreateTransformJob without KMS keys or for "
        "unapproved models, when asked), or CloudFormation Guard rules for AWS::SageMaker::Model "
        "(--format guard). See docs/guardrails.md.",
    )
    parser.add_argument("--subnets", nargs="+", action="extend", default=[], metavar="SUBNET")
    parser.add_argument("--security-groups", nargs="+", action="extend", default=[], metavar="SG")
    parser.add_argument(
        "--from-account",
        action="store_true",
        help="add the subnets and groups of every model whose network checks pass today (read-only scan)",
    )
    parser.add_argument("--require-network-isolation", action="store_true")
    parser.add_argument("--require-kms", action="store_true", help="transform jobs must name both KMS keys")
    parser.add_argument(
        "--approved-models",
        nargs="+",
        action="extend",
        default=[],
        metavar="ARN",
        help="transform jobs only for these model ARNs (wildcards allowed)",
    )
    parser.add_argument("--format", choices=("scp", "guard"), default="scp")
    parser.add_argument(
        "--output", metavar="FILE", help="write the policy or rules to FILE instead of stdout"
    )
    _add_aws_options(parser)
    parser.set_defaults(handler=_guardrails)


# --- building the engine -------------------------------------------------------------------


def build_clients(args: argparse.Namespace) -> AwsClients:
    """The one AwsClients of a run. Tests replace this to add botocore event hooks."""
    return AwsClients(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def _modes(pairs: Sequence[str]) -> dict[str, Any]:
    modes = parse_modes(pairs)
    validate_ids(modes)
    return modes


def check_selection(args: argparse.Namespace) -> list[str] | None:
    """The ids of the checks --checks / --exclude-checks select, in catalog order; None when
    neither is given (every check). Both given: the --checks ids minus the excluded ones.
    A check that --mode (or VPCGUARD_MODES) turns off stays off: it is still not evaluated."""
    chosen: list[str] | None = getattr(args, "checks", None)
    excluded: list[str] | None = getattr(args, "exclude_checks", None)
    if chosen is None and excluded is None:
        return None
    known = check_ids()
    for flag, ids in (("--checks", chosen), ("--exclude-checks", excluded)):
        if ids is None:
            continue
        if not ids:
            raise CliError(f"{flag} needs at least one check id; valid ids: {', '.join(known)}")
        try:
            validate_ids(ids)
        except ValueError as exc:
            raise CliError(f"{flag}: {exc}; valid ids: {', '.join(known)}") from None
    selected = [c for c in known if (chosen is None or c in chosen) and c not in (excluded or ())]
    if not selected:
        raise CliError("--checks and --exclude-checks leave no check to evaluate")
    return selected


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Settings.from_env with the CLI's flags winning.

    Remediation is always decided by the flag: the spec's "a plain `vpcguard scan` never
    writes" holds even when the shell happens to carry VPCGUARD_REMEDIATE=true."""
    overrides: dict[str, Any] = {
        "remediate": bool(getattr(args, "remediate", False)),
        "dry_run": True if getattr(args, "dry_run", False) else None,
        "modes": _modes(args.mode) if args.mode else None,
    }
    selected = check_selection(args)
    if selected is not None:
        overrides["checks"] = tuple(selected)
    for name in ("flow_logs_log_group", "flow_logs_role_arn", "flow_logs_s3_arn", "audit_table"):
        overrides[name] = getattr(args, name, None)
    try:
        settings = Settings.from_env(env, **overrides)
        # VPCGUARD_MODES too, before any AWS call (the engine checks again when built).
        validate_ids(settings.modes)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return settings


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


def exit_code(
    reports: Iterable[SubjectReport],
    fail_on: Severity = DEFAULT_FAIL_ON,
    ignore_error: ErrorFilter | None = None,
) -> int:
    """2 for any ERROR result (bar the ones `ignore_error` accepts), else 1 for a failing
    result at or above `fail_on`, else 0."""
    tally = Tally(fail_on, ignore_error)
    for report in reports:
        tally.add(report)
    return tally.exit_code


def error_line(reports: Iterable[SubjectReport], ignore_error: ErrorFilter | None = None) -> str | None:
    """The one stderr line for ERROR results: the first one in full, and how many more."""
    tally = Tally(DEFAULT_FAIL_ON, ignore_error)
    for report in reports:
        tally.add(report)
    return tally.error_line()


def render_report(
    fmt: str,
    reports: list[SubjectReport],
    *,
    account: bool = False,
    colour: bool = False,
    pretty: bool = False,
    width: int | None = None,
) -> str:
    """The whole report in `fmt`, as text, laid out for stdout (width None) or `width`."""
    out = io.StringIO()
    width = output_width(sys.stdout) if width is None else width
    write_all(make_writer(fmt, out, account=account, pretty=pretty, colour=colour, width=width), reports)
    return out.getvalue()


def _formats(args: argparse.Namespace) -> list[str]:
    """The formats asked for: --format (a comma list), --output (the AWS CLI's spelling),
    else the --output-file's extension, else table."""
    given = list(args.format or [])
    aws_style = (args.output_format or "").strip().lower()
    if aws_style and aws_style not in REPORT_FORMATS and _looks_like_a_path(args.output_format):
        # vpcguard's --output FILE from before --output-file: scripts that use it keep working.
        if args.output_file:
            raise CliError("--output names a format; the file goes in --output-file alone")
        args.output_file, args.output_format, aws_style = args.output_format, None, ""
    if aws_style:
        if aws_style in AWS_CLI_ONLY_FORMATS:
            raise CliError(
                f"--output {aws_style}: vpcguard has no {aws_style} format; use --output json, --output table "
                f"or --format {', '.join(REPORT_FORMATS)}"
            )
        if aws_style not in REPORT_FORMATS:
            raise CliError(
                f"--output takes a format, as in the AWS CLI ({', '.join(REPORT_FORMATS)}), not "
                f"{args.output_format!r}; to write the report to a file use --output-file FILE (or -o FILE)"
            )
        if given and given != [aws_style]:
            raise CliError(f"--output {aws_style} and --format {','.join(given)} disagree: give one of them")
        given = [aws_style]
    if not given and args.output_file:
        given = [format_of_file(args.output_file)]
    given = list(dict.fromkeys(given)) or ["table"]
    if len(given) > 1 and not args.output_dir:
        raise CliError(f"{len(given)} formats need --output-dir DIR (one file each), or give one --format")
    if args.output_dir and args.output_file:
        raise CliError("--output-file and --output-dir cannot be combined: one file, or one file per format")
    return given


def format_of_file(path: str) -> str:
    """The format a report file's name asks for: its last two extensions (vpcguard.asff.json),
    else its last one, else table."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    for extension in ("".join(suffixes[-2:]), "".join(suffixes[-1:])):
        if extension in FORMAT_BY_EXTENSION:
            return FORMAT_BY_EXTENSION[extension]
    return "table"


def _looks_like_a_path(value: str) -> bool:
    return os.sep in value or "/" in value or "." in value


def _open_outputs(args: argparse.Namespace, formats: list[str]) -> list[tuple[str, str | None, TextIO]]:
    """(format, path or None for stdout, stream) for each output, every file opened before
    the scan starts, so a bad path is found before minutes of work."""
    if args.output_dir:
        directory = Path(args.output_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create {directory}: {exc.strerror or exc}") from None
        paths: list[str | None] = [str(directory / FILE_NAME_BY_FORMAT[f]) for f in formats]
    else:
        paths = [args.output_file]
    outputs: list[tuple[str, str | None, TextIO]] = []
    for fmt, path in zip(formats, paths, strict=True):
        if path is None:
            outputs.append((fmt, None, sys.stdout))
            continue
        try:
            # newline="": the CSV writer's \r\n line ends stay as they are on every platform.
            outputs.append((fmt, path, open(path, "w", encoding="utf-8", newline="")))  # noqa: SIM115
        except OSError as exc:
            for _, _, opened in outputs:
                if opened is not sys.stdout:
                    opened.close()
            raise CliError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return outputs


def _emit(
    args: argparse.Namespace,
    reports: Iterable[SubjectReport] | Callable[[], Iterable[SubjectReport]],
    ignore_error: ErrorFilter | None = None,
    *,
    account: bool = False,
    org: OrgScan | None = None,
    locate: Locate | None = None,
    home: AwsClients | None = None,
) -> int:
    """Write `reports` (or what the callable returns, called once the outputs are open) in
    every format asked for, one report at a time; the one stderr line; the exit code.

    The metadata object names the checks --checks / --exclude-checks selected (null: the
    whole catalog). `home`: the run's clients, whose region (and account, when known without a call) the
    metadata names when no subject does (an empty account)."""
    formats = _formats(args)
    selected = check_selection(args)
    outputs = _open_outputs(args, formats)
    started = datetime.now(UTC)
    tally = Tally(args.fail_on, ignore_error)
    scope = RunScope()
    writers: list[Writer] = []
    try:
        for fmt, path, stream in outputs:
            terminal = path is None
            writers.append(
                make_writer(
                    fmt,
                    stream,
                    account=account,
                    pretty=args.pretty,
                    width=output_width(stream) if terminal else NO_WRAP,
                    colour=terminal and use_colour(stream),
                    locate=locate,
                    ignore_error=ignore_error,
                )
            )
        if org is not None:
            for writer in writers:
                writer.extra = document_extra(org)
                writer.header = f"{targets_line(org)}\n"
                writer.footer = failures_table(org.failures)
        for writer in writers:
            writer.start()
        for report in reports() if callable(reports) else reports:
            tally.add(report)
            scope.add(report)
            for writer in writers:
                writer.write(report)
        several = org is not None and len(org.targets) > 1
        metadata = report_metadata(
            time=started,
            account=None if several else scope.account(home.known_account if home else None),
            region=None if several else scope.region(home.region if home else args.region),
            checks=selected,
        )
        for writer in writers:
            writer.metadata = metadata
            writer.finish(dict(tally.summary))
    except OSError as exc:
        where = next((p for _, p, _ in outputs if p), "stdout")
        raise CliError(f"cannot write the report to {where}: {exc.strerror or exc}") from None
    finally:
        for _, path, stream in outputs:
            if path is not None:
                stream.close()
            else:
                stream.flush()
    for writer in writers:
        for note in writer.notes:
            print(f"vpcguard: {note}", file=sys.stderr)
    files = [path for _, path, _ in outputs if path]
    if files and wants_progress(sys.stderr):
        print(f"vpcguard: {summary_line(tally.summary)}; report in {', '.join(files)}", file=sys.stderr)
    line = tally.error_line()
    if line:
        print(line, file=sys.stderr)
    return tally.exit_code


# --- commands ------------------------------------------------------------------------------


def _org_flags(args: argparse.Namespace) -> list[str]:
    given = [("--accounts", args.accounts), ("--org", args.org), ("--regions", args.regions)]
    return [flag for flag, value in given if value]


def _scan(args: argparse.Namespace) -> int:
    models = list(dict.fromkeys(args.model))
    jobs = list(dict.fromkeys(args.transform_job))
    if args.affected_by is not None:
        if args.scan_all or models or jobs:
            raise CliError("--affected-by chooses the subjects itself: drop --all/--model/--transform-job")
        from .drift.cli import scan_affected  # the drift package only when asked for

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
    _formats(args)  # a usage error before any AWS call
    if not any(ref.startswith("arn:") for ref in (*models, *jobs)):

        def reports() -> Iterable[SubjectReport]:
            yield from (engine.evaluate_model(name) for name in models)
            yield from (engine.evaluate_transform_job(name) for name in jobs)

        return _emit(args, reports, home=engine.clients)
    # An ARN of another account or region is never evaluated with these credentials: it is
    # evaluated there, through the member role, or refused before anything is read.
    router = SubjectRouter(_sessions(args, engine.clients), engine, settings)
    for kind, refs in (("model", models), ("transform job", jobs)):
        for ref in refs:
            _require_member_role(router, engine, ref, kind)

    def routed() -> Iterable[SubjectReport]:
        yield from (router.evaluate("model", ref) for ref in models)
        yield from (router.evaluate("transform_job", ref) for ref in jobs)

    return _emit(args, routed, home=engine.clients)
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
    code = _emit(args, scan.reports, account=True, org=scan, home=base)
    return EXIT_ERROR if scan.failures else code


def _scan_all(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    clients = build_clients(args)
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
        return _emit(args, reports, account=True, home=clients)
    finally:
        if progress is not None:
            progress.close()


def _role_checks() -> set[str]:
    return {c.meta.id for c in all_checks() if F.ROLE in c.meta.requires}


def _preflight(args: argparse.Namespace) -> int:
    # Preflight only reads: nothing exists yet to fix for, whatever the environment says.
    args.remediate, args.dry_run = False, False
    if args.template:
        if args.subnets or args.security_groups:
            raise CliError(
                "--template checks the template's own VpcConfigs: leave out --subnets/--security-groups"
            )
        return _preflight_template(args)
    if not args.subnets or not args.security_groups:
        raise CliError("preflight needs --subnets and --security-groups, or --template FILE")
    if args.parameter:
        raise CliError("--parameter applies only with --template")
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

    return _emit(args, [report], ignore, home=engine.clients)


def _template_parameters(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--parameter {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def _preflight_template(args: argparse.Namespace) -> int:
    engine = build_engine(args, settings_from_args(args))
    try:
        parameters = _template_parameters(args.parameter)
        run = check_template(engine, args.template, parameters=parameters, fallback_role=args.role_arn)
    except TemplateError as exc:
        raise CliError(str(exc)) from None
    if not run.reports:
        print(f"vpcguard: {args.template}: no SageMaker model to check", file=sys.stderr)
    return _emit(args, run.reports, run.ignore_error, locate=run.locate, home=engine.clients)


def _guardrails(args: argparse.Namespace) -> int:
    subnets, groups = _split_commas(args.subnets), _split_commas(args.security_groups)
    notes: list[str] = []
    if args.from_account:
        derived, account_notes = guardrails.lists_from_account(build_clients(args))
        subnets, groups = derived.subnets + subnets, derived.security_groups + groups
        notes += account_notes
    spec = guardrails.GuardrailSpec(
        subnets=tuple(subnets),
        security_groups=tuple(groups),
        require_network_isolation=args.require_network_isolation,
        require_kms=args.require_kms,
        approved_models=tuple(_split_commas(args.approved_models)),
    )
    if args.format == "guard":
        text = guardrails.render_guard(spec)
    else:
        text, scp_notes = guardrails.render_scp(spec)
        notes = scp_notes + notes
    _write_text(args.output, text, "the policy")
    for note in notes:
        print(f"vpcguard: {note}", file=sys.stderr)
    return EXIT_OK


def _write_text(path: str | None, text: str, what: str) -> None:
    if not path:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


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
