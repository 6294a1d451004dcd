"""The command line: argument types, every command's flags and `build_parser`. Stdlib
argparse only: the CLI ships in the same Lambda layer as the engine."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, NoReturn

from .. import __version__
from ..accounts import DEFAULT_MEMBER_ROLE
from ..backfill import JOB_SCOPES, parse_since
from ..formats import REPORT_FORMATS
from ..formats.writers import (
    EXIT_ERROR,
    parse_choices,
)
from ..model import Severity, Status
from .commands import checks_command, guardrails_command
from .emit import DEFAULT_FAIL_ON
from .preflight import preflight_command
from .scan import DEFAULT_MAX_WORKERS, scan_command

# --log-level: vpcguard's own log lines, on stderr (reports go to stdout or files only).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


DEFAULT_LOG_LEVEL = "WARNING"


_EPILOG = """exit codes:
  0  clean: nothing at or above --fail-on failed
  1  a FAIL (or WOULD_FIX in a dry run) at or above --fail-on
  2  usage error, AWS setup error, or any ERROR result (one line on stderr)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as for every other exit-2 problem; --help has the rest.
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


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


def _statuses(text: str) -> list[Status]:
    try:
        return parse_choices(text, Status, "--status")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _severities(text: str) -> list[Severity]:
    try:
        return parse_choices(text, Severity, "--severity")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _id_list(text: str) -> list[str]:
    """`--checks a,b`: the ids as given (checked against the catalog once parsing is done)."""
    return [part.strip() for part in text.split(",") if part.strip()]


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
    group.add_argument(
        "--status",
        type=_statuses,
        action="append",
        default=[],
        metavar="STATUS[,STATUS...]",
        help="show only results with these statuses: "
        f"{', '.join(s.value for s in Status)} (comma-separated, repeatable, any case). In every "
        "format; a subject with no result left is not shown. The exit code (--fail-on) and the "
        "summary still count every result evaluated",
    )
    group.add_argument(
        "--severity",
        type=_severities,
        action="append",
        default=[],
        metavar="SEVERITY[,SEVERITY...]",
        help="show only results of these severities: "
        f"{', '.join(s.value for s in Severity)} (comma-separated, repeatable, any case); "
        "combined with --status, a result must match both. The exit code and the summary still "
        "count every result evaluated",
    )


def _add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=DEFAULT_LOG_LEVEL,
        help=f"vpcguard's log lines on stderr, never in the report: {', '.join(LOG_LEVELS)} "
        f"(default: {DEFAULT_LOG_LEVEL}); DEBUG adds one line per AWS API call",
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
    _add_log_option(scan)
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
    scan.set_defaults(handler=scan_command)

    preflight = commands.add_parser(
        "preflight",
        help="check a VpcConfig before CreateModel / CreateTransformJob",
        description="Check subnets and security groups before any model exists (the flags, or the "
        "CreateModel / CreateTransformJob request itself with --from-json). Read-only. "
        "Evaluated as a model, or as a transform job when it names an instance count above 1, "
        "data locations or KMS keys. With --template, every SageMaker model of a CloudFormation/SAM "
        "template or Terraform plan instead (docs/guardrails.md).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument(
        "--subnets",
        nargs="+",
        action="extend",
        default=[],
        metavar="SUBNET",
        help="the VpcConfig's subnet ids (space- or comma-separated, repeatable)",
    )
    preflight.add_argument(
        "--security-groups",
        nargs="+",
        action="extend",
        default=[],
        metavar="SG",
        help="the VpcConfig's security group ids (space- or comma-separated, repeatable)",
    )
    preflight.add_argument(
        "--from-json",
        metavar="FILE",
        help='read the request from FILE (- for stdin): a VpcConfig ({"Subnets": [...], '
        '"SecurityGroupIds": [...]}), a CreateModel request (VpcConfig, ExecutionRoleArn, '
        "EnableNetworkIsolation) or a CreateTransformJob request (instance count, data locations, KMS "
        "keys; with --subnets/--security-groups), as aws sagemaker create-model --generate-cli-skeleton "
        "writes them. Flags given on the command line win over the file's values",
    )
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
        help="with --template: a template parameter's value (repeatable; wins over its Default)",
    )
    preflight.add_argument(
        "--instance-count",
        type=_positive_int,
        metavar="N",
        help="the transform job's InstanceCount (default: 1); above 1, the VpcConfig is checked as "
        "a transform job's (subnet capacity for N instances)",
    )
    preflight.add_argument(
        "--role-arn",
        metavar="ARN",
        help="the execution role (ExecutionRoleArn); without it the role check is reported as ERROR "
        "but does not make the exit code 2",
    )
    preflight.add_argument(
        "--kms-key-id",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY",
        help="the job's KMS keys (TransformOutput.KmsKeyId, TransformResources.VolumeKmsKeyId): "
        "checked as a transform job",
    )
    preflight.add_argument(
        "--input-s3-uri",
        nargs="+",
        action="extend",
        default=[],
        metavar="URI",
        help="the job's input location(s) (s3://bucket/prefix): checked as a transform job, its bucket "
        "policy included",
    )
    preflight.add_argument(
        "--output-s3-uri",
        nargs="+",
        action="extend",
        default=[],
        metavar="URI",
        help="the job's output location(s) (s3://bucket/prefix): checked as a transform job, its bucket "
        "policy included",
    )
    _add_aws_options(preflight)
    _add_output_options(preflight)
    _add_check_options(preflight)
    _add_log_option(preflight)
    preflight.set_defaults(handler=preflight_command)

    _add_guardrails_parser(commands)

    checks = commands.add_parser("checks", help="list the check catalog")
    checks.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    _add_log_option(checks)
    checks.set_defaults(handler=checks_command)
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
    parser.add_argument(
        "--subnets",
        nargs="+",
        action="extend",
        default=[],
        metavar="SUBNET",
        help="the approved subnet ids (space- or comma-separated, repeatable)",
    )
    parser.add_argument(
        "--security-groups",
        nargs="+",
        action="extend",
        default=[],
        metavar="SG",
        help="the approved security group ids (space- or comma-separated, repeatable)",
    )
    parser.add_argument(
        "--from-account",
        action="store_true",
        help="add the subnets and groups of every model whose network checks pass today (read-only scan)",
    )
    parser.add_argument(
        "--require-network-isolation",
        action="store_true",
        help="CreateModel must set EnableNetworkIsolation true",
    )
    parser.add_argument("--require-kms", action="store_true", help="transform jobs must name both KMS keys")
    parser.add_argument(
        "--approved-models",
        nargs="+",
        action="extend",
        default=[],
        metavar="ARN",
        help="transform jobs only for these model ARNs (wildcards allowed)",
    )
    parser.add_argument(
        "--format",
        choices=("scp", "guard"),
        default="scp",
        help="scp: a service control policy (default); guard: CloudFormation Guard rules",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the policy or rules to FILE instead of stdout"
    )
    _add_aws_options(parser)
    _add_log_option(parser)
    parser.set_defaults(handler=guardrails_command)
