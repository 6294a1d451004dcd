"""The commands that evaluate nothing: `vpcguard guardrails` (an SCP or CloudFormation Guard
rules) and `vpcguard checks` (the catalog)."""

from __future__ import annotations

import argparse
import json
import sys

from .. import guardrails
from ..checks.base import all_checks
from ..formats.catalog import catalog_rows, render_catalog
from ..formats.writers import EXIT_OK
from . import setup
from .setup import CliError, split_commas


def guardrails_command(args: argparse.Namespace) -> int:
    subnets, groups = split_commas(args.subnets), split_commas(args.security_groups)
    notes: list[str] = []
    if args.from_account:
        derived, account_notes = guardrails.lists_from_account(setup.build_clients(args))
        subnets, groups = derived.subnets + subnets, derived.security_groups + groups
        notes += account_notes
    spec = guardrails.GuardrailSpec(
        subnets=tuple(subnets),
        security_groups=tuple(groups),
        require_network_isolation=args.require_network_isolation,
        require_kms=args.require_kms,
        approved_models=tuple(split_commas(args.approved_models)),
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


def checks_command(args: argparse.Namespace) -> int:
    checks = all_checks()
    if args.format == "json":
        sys.stdout.write(json.dumps(catalog_rows(checks), indent=2) + "\n")
    else:
        sys.stdout.write(render_catalog(checks))
    return EXIT_OK
