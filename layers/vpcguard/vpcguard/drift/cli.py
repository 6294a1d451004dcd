"""`vpcguard scan --affected-by RESOURCE [--index-table NAME] [--jobs SCOPE]` (cli/scan.py hands
the parsed arguments here, so the CLI module stays free of drift code)."""

from __future__ import annotations

import argparse
import sys

from botocore.exceptions import BotoCoreError, ClientError

from ..audit import audit_sink_for
from ..aws import describe_error
from ..backfill import JobScope
from ..engine import Engine
from ..results import SubjectReport
from .affected import by_listing, from_index
from .index import DependencyIndex
from .resources import resource_key


def scan_affected(args: argparse.Namespace) -> int:
    from ..cli.emit import emit
    from ..cli.setup import CliError, build_clients, cli_trigger, settings_from_args

    given = [flag for flag, value in (("--since", args.since), ("--max-workers", args.max_workers)) if value]
    if given:
        raise CliError(f"{', '.join(given)} only apply with --all")
    try:
        key = resource_key(args.affected_by)
    except ValueError as exc:
        raise CliError(f"--affected-by: {exc}") from None
    jobs: JobScope = args.jobs or "none"
    settings = settings_from_args(args)
    clients = build_clients(args)
    trigger = f"{cli_trigger(clients, settings)} (scan --affected-by {key})"
    audit_sink = audit_sink_for(clients, settings.audit_table)
    reports: list[SubjectReport]
    if args.index_table:
        index = DependencyIndex(clients, args.index_table)
        try:
            found = from_index(index, key, jobs=jobs)
        except (ClientError, BotoCoreError) as exc:
            # Never "nothing depends on it" because the index could not be read.
            raise CliError(
                f"cannot read the dependency index {args.index_table}: {describe_error(exc)}"
            ) from None
        engine = Engine(clients, settings, trigger=trigger, audit_sink=audit_sink, index_sink=index)
        reports = [
            engine.evaluate_model(s.arn) if s.type == "model" else engine.evaluate_transform_job(s.arn)
            for s in found
        ]
    else:
        dependents = by_listing(clients, key, jobs=jobs)
        engine = Engine(
            clients,
            settings,
            inventory=dependents.inventory,
            resolver=dependents.resolver,
            trigger=trigger,
            audit_sink=audit_sink,
        )
        reports = [engine.evaluate(subject) for subject in dependents.subjects]
    if not reports:
        what = "model or transform job" if jobs != "none" else "model"
        print(f"vpcguard: no {what} depends on {key}", file=sys.stderr)
    return emit(args, reports, home=clients)
