"""One settings object: environment variables (Lambda) and CLI flags (which win).

Names are the public interface in docs/architecture.md ("Settings"); keep them exact.

A frozen dataclass that validates itself, not a pydantic model: the inspect Lambda reads
its settings at every cold start, and pydantic's import and model build cost more than
the rest of the function's own code (issue 4). Any bad value raises ValueError naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["off", "notify", "fix"]
MODES: tuple[str, ...] = ("off", "notify", "fix")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def parse_modes(pairs: Iterable[str]) -> dict[str, Mode]:
    """`check=mode` items (from VPCGUARD_MODES split on commas, or repeated --mode)."""
    modes: dict[str, Mode] = {}
    for raw in pairs:
        item = raw.strip()
        if not item:
            continue
        check_id, sep, mode = item.partition("=")
        check_id, mode = check_id.strip(), mode.strip().lower()
        if not sep or not check_id or mode not in MODES:
            raise ValueError(f"bad mode {raw!r}: expected CHECK=MODE with MODE one of {', '.join(MODES)}")
        modes[check_id] = mode  # type: ignore[assignment]
    return modes


_TEXT_FIELDS = (
    "flow_logs_log_group",
    "flow_logs_role_arn",
    "flow_logs_s3_arn",
    "audit_table",
    "findings_topic_arn",
    "slack_secret_arn",
    "chatbot_topic_arn",
    "state_table",
    "work_queue_url",
    "index_table",
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    remediate: bool = False
    dry_run: bool = False
    modes: dict[str, Mode] = field(default_factory=dict)
    flow_logs_log_group: str | None = None
    flow_logs_role_arn: str | None = None
    flow_logs_s3_arn: str | None = None
    audit_table: str | None = None
    findings_topic_arn: str | None = None
    slack_secret_arn: str | None = None
    slack_team_secrets: dict[str, str] = field(default_factory=dict)
    chatbot_topic_arn: str | None = None
    security_hub: bool = False
    state_table: str | None = None
    dedup_seconds: int = 86400
    work_queue_url: str | None = None
    index_table: str | None = None  # the drift dependency index (VPCGUARD_INDEX_TABLE)
    index_ttl_days: int = 7  # its entries expire this long after the last evaluation
    # The checks to evaluate (the CLI's --checks / --exclude-checks); None: every check. Only
    # these are evaluated, and only the facts they need are read (Engine).
    checks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("remediate", "dry_run", "security_hub"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be text, not {value!r}")
        if isinstance(self.dedup_seconds, bool) or not isinstance(self.dedup_seconds, int):
            raise ValueError(f"dedup_seconds must be a whole number, not {self.dedup_seconds!r}")
        ttl = self.index_ttl_days
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise ValueError(f"index_ttl_days must be a whole number of days, at least 1, not {ttl!r}")
        if not isinstance(self.slack_team_secrets, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.slack_team_secrets.items()
        ):
            raise ValueError("slack_team_secrets must map team names to secret ARNs")
        if self.checks is not None and (
            not isinstance(self.checks, tuple) or not all(isinstance(c, str) for c in self.checks)
        ):
            raise ValueError(f"checks must be a tuple of check ids, not {self.checks!r}")
        if not isinstance(self.modes, Mapping):
            raise ValueError("modes must map check ids to modes")
        bad = [f"{check_id}={mode}" for check_id, mode in self.modes.items() if mode not in MODES]
        if bad:
            raise ValueError(f"bad mode {', '.join(bad)}: MODE must be one of {', '.join(MODES)}")
        # Whether each id names a check is decided where the engine is built (Engine, and
        # the CLI before any AWS call): settings know nothing of the checks, so reading
        # them (the notify function does) does not import the check catalog.

    @property
    def plans_fixes(self) -> bool:
        """Fixes are planned when remediating, and in a dry run (which writes nothing)."""
        return self.remediate or self.dry_run

    def mode_for(self, check_id: str, default: Mode) -> Mode:
        return self.modes.get(check_id, default)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read VPCGUARD_* variables, then apply overrides (CLI flags; None = not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def text(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        if (v := text("VPCGUARD_REMEDIATE")) is not None:
            values["remediate"] = parse_bool("VPCGUARD_REMEDIATE", v)
        if (v := text("VPCGUARD_DRY_RUN")) is not None:
            values["dry_run"] = parse_bool("VPCGUARD_DRY_RUN", v)
        if (v := text("VPCGUARD_MODES")) is not None:
            values["modes"] = parse_modes(v.split(","))
        if (v := text("VPCGUARD_SECURITY_HUB")) is not None:
            values["security_hub"] = parse_bool("VPCGUARD_SECURITY_HUB", v)
        if (v := text("VPCGUARD_DEDUP_SECONDS")) is not None:
            values["dedup_seconds"] = int(v)
        if (v := text("VPCGUARD_INDEX_TTL_DAYS")) is not None:
            try:
                values["index_ttl_days"] = int(v)
            except ValueError:
                raise ValueError(
                    f"VPCGUARD_INDEX_TTL_DAYS must be a whole number of days, not {v!r}"
                ) from None
        if (v := text("VPCGUARD_SLACK_TEAM_SECRETS")) is not None:
            try:
                teams = json.loads(v)
            except json.JSONDecodeError as exc:
                raise ValueError(f"VPCGUARD_SLACK_TEAM_SECRETS is not JSON: {exc}") from None
            if not isinstance(teams, dict):
                raise ValueError("VPCGUARD_SLACK_TEAM_SECRETS must be a JSON object: team -> secret ARN")
            values["slack_team_secrets"] = {str(k): str(val) for k, val in teams.items()}
        for field_name, var in (
            ("flow_logs_log_group", "VPCGUARD_FLOW_LOGS_LOG_GROUP"),
            ("flow_logs_role_arn", "VPCGUARD_FLOW_LOGS_ROLE_ARN"),
            ("flow_logs_s3_arn", "VPCGUARD_FLOW_LOGS_S3_ARN"),
            ("audit_table", "VPCGUARD_AUDIT_TABLE"),
            ("findings_topic_arn", "VPCGUARD_FINDINGS_TOPIC_ARN"),
            ("slack_secret_arn", "VPCGUARD_SLACK_SECRET_ARN"),
            ("chatbot_topic_arn", "VPCGUARD_CHATBOT_TOPIC_ARN"),
            ("state_table", "VPCGUARD_STATE_TABLE"),
            ("work_queue_url", "VPCGUARD_WORK_QUEUE_URL"),
            ("index_table", "VPCGUARD_INDEX_TABLE"),
        ):
            if (v := text(var)) is not None:
                values[field_name] = v

        for key, value in overrides.items():
            if value is None:
                continue
            if key == "modes":
                values["modes"] = {**values.get("modes", {}), **value}
            else:
                values[key] = value
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**values)
