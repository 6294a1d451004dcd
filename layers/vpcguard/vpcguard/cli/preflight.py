"""`vpcguard preflight`: a VpcConfig checked before any model exists, from the flags (or a
request file), or every SageMaker model of a template (`--template`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import facts as F
from ..checks.base import all_checks
from ..formats.writers import ErrorFilter
from ..preflight_input import SHAPES, PreflightRequest, read_request
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
        if args.from_json:
            raise CliError("--template and --from-json are two inputs: give one of them")
        if args.subnets or args.security_groups:
            raise CliError(
                "--template checks the template's own VpcConfigs: leave out --subnets/--security-groups"
            )
        return _preflight_template(args)
    if args.parameter:
        raise CliError("--parameter applies only with --template")
    request = _preflight_request(args)
    if not request.subnet_ids or not request.security_group_ids:
        raise CliError(
            "preflight needs --subnets and --security-groups, or --template FILE, or --from-json FILE "
            "(a VpcConfig or a CreateModel request)"
        )
    settings = settings_from_args(args)
    engine = build_engine(args, settings)
    subject = engine.resolver.preflight(
        subnet_ids=request.subnet_ids,
        security_group_ids=request.security_group_ids,
        instance_count=request.instance_count or 1,
        role_arn=request.role_arn,
        kms_key_ids=request.kms_key_ids,
        input_s3_uris=request.input_s3_uris,
        output_s3_uris=request.output_s3_uris,
        enable_network_isolation=request.enable_network_isolation,
        name=request.name,
    )
    report = engine.evaluate(subject)
    ignore: ErrorFilter | None = None
    if not request.role_arn:
        role_checks = _role_checks()

        def ignore(_: SubjectReport, result: CheckResult) -> bool:
            return result.check_id in role_checks

    return emit(args, [report], ignore, home=engine.clients)


def _preflight_request(args: argparse.Namespace) -> PreflightRequest:
    """The flags over --from-json's file: each flag given replaces the file's value of it."""
    from_file = PreflightRequest("flags")
    if args.from_json:
        try:
            from_file = read_request(args.from_json, sys.stdin)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        given_network = args.subnets and args.security_groups
        if not from_file.has_vpc_config and not given_network:
            what = "a CreateTransformJob request" if from_file.kind == "CreateTransformJob" else "it"
            raise CliError(
                f"--from-json {args.from_json}: {what} has no VpcConfig: give --subnets and --security-groups "
                f"too ({SHAPES})"
            )
    return PreflightRequest(
        kind=from_file.kind,
        subnet_ids=tuple(split_commas(args.subnets)) or from_file.subnet_ids,
        security_group_ids=tuple(split_commas(args.security_groups)) or from_file.security_group_ids,
        role_arn=args.role_arn or from_file.role_arn,
        enable_network_isolation=from_file.enable_network_isolation,
        name=from_file.name,
        instance_count=args.instance_count or from_file.instance_count,
        kms_key_ids=tuple(split_commas(args.kms_key_id)) or from_file.kms_key_ids,
        input_s3_uris=tuple(args.input_s3_uri) or from_file.input_s3_uris,
        output_s3_uris=tuple(args.output_s3_uri) or from_file.output_s3_uris,
    )


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
