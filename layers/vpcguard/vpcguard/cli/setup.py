"""What the commands share before they evaluate: the one-line usage error (`CliError`),
list flags, and the run's clients, settings (the flags over the environment), check selection
and engine. Tests replace `build_clients` here (the commands look it up in this module)."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..audit import audit_sink_for
from ..aws import AwsClients
from ..checks.base import check_ids, validate_ids
from ..engine import Engine
from ..settings import Settings, parse_modes


class CliError(Exception):
    """A problem the user can fix from the command line: one line, exit code 2."""


def split_commas(values: Iterable[str]) -> list[str]:
    """`--subnets a b`, `--subnets a,b` and repeated flags all mean the same list."""
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return list(dict.fromkeys(out))


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
