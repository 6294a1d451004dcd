"""`vpcguard preflight`: a VpcConfig checked before any model exists, from the flags (or a
request file), or every SageMaker model of a template (`--template`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import facts as F
from ..checks.base import all_checks
from ..formats.writers import ErrorFilter
from ..results import CheckResult, SubjectReport
from ..template_check import check_template
from ..templates import TemplateError
from .emit import emit
from .setup import CliError, build_engine, settings_from_args, split_commas


def _role_checks() -> set[str]:
    return {c.meta.id for c in all_checks() if F.ROLE in c.meta.requires}


def preflight_command(args: argparse.Namespace) -> int:
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
        subnet_ids=split_commas(args.subnets),
        security_group_ids=split_commas(args.security_groups),
        instance_count=args.instance_count,
        role_arn=args.role_arn,
        kms_key_ids=split_commas(args.kms_key_id),
        input_s3_uris=args.input_s3_uri,
        output_s3_uris=args.output_s3_uri,
    )
    report = engine.evaluate(subject)
    ignore: ErrorFilter | None = None
    if not args.role_arn:
        role_checks = _role_checks()

        def ignore(_: SubjectReport, result: CheckResult) -> bool:
            return result.check_id in role_checks

    return emit(args, [report], ignore, home=engine.clients)


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
    return emit(args, run.reports, run.ignore_error, locate=run.locate, home=engine.clients)
