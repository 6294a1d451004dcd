"""The backfill Lambda's request: parsed and checked by hand, every problem on one line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..aws import AwsClients
from ..subjects import name_from_arn
from .listing import JOB_SCOPES, AccountListing, JobScope, list_subjects, parse_since


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillRequest:
    """The backfill Lambda's event: `{"scope": "all"}` (optional "jobs", "since"), or
    `{"models": [...], "transform_jobs": [...]}` (names or ARNs), or across an organization
    `{"accounts": [...] | "org": true, "regions": [...]}` (implies "scope": "all";
    "regions" alone scans those regions of this account; "all" = every enabled region).

    Checked by hand (`parse`, field readers below), not with a pydantic model: this was
    the layer's only pydantic model, and pydantic was three quarters of the layer."""

    scope: Literal["all"] | None = None
    jobs: JobScope | None = None
    since: datetime | None = None
    models: tuple[str, ...] = ()
    transform_jobs: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    org: bool = False
    regions: tuple[str, ...] = ()

    @property
    def fans_out(self) -> bool:
        """One message per account and region first (vpcguard.org.queue_targets)."""
        return bool(self.accounts or self.org or self.regions)

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> BackfillRequest:
        """Raises ValueError with every problem on one line (each field's, then unknown
        keys; how the fields combine once each is right)."""
        if not isinstance(event, Mapping):
            raise ValueError("not a backfill request: Input should be a valid dictionary")
        problems: list[str] = []
        fields: dict[str, Any] = {}
        for key, read in _REQUEST_FIELDS.items():
            if key in event:
                try:
                    fields[key] = read(event[key])
                except ValueError as exc:
                    problems.append(f"{key}{exc}")
        problems += [f"{key}: Extra inputs are not permitted" for key in event if key not in _REQUEST_FIELDS]
        if not problems:
            request = cls(**fields)
            problem = request._kind_problem()
            if problem is None:
                return request
            problems.append(problem)
        raise ValueError(f"not a backfill request: {'; '.join(problems)}")

    def _kind_problem(self) -> str | None:
        named = bool(self.models or self.transform_jobs)
        if self.org and self.accounts:
            return 'give "org": true or "accounts", not both'
        if self.fans_out:
            return '"accounts" / "org" / "regions" scan every subject: give no names' if named else None
        if self.scope is None and not named:
            return 'nothing to queue: give {"scope": "all"} or "models" / "transform_jobs"'
        if self.scope is not None and named:
            return 'give either {"scope": "all"} or names, not both'
        if self.scope is None and (self.jobs is not None or self.since is not None):
            return '"jobs" and "since" apply only with {"scope": "all"}'
        return None

    def listing(self, clients: AwsClients) -> AccountListing:
        if self.scope == "all":
            return list_subjects(clients, jobs=self.jobs or "in-progress", since=self.since)
        return AccountListing(
            models=tuple(dict.fromkeys(name_from_arn(n) for n in self.models)),
            transform_jobs=tuple(dict.fromkeys(name_from_arn(n) for n in self.transform_jobs)),
        )


# --- the request's fields: each reader returns the value or raises ValueError(": why") ---


def _one_of(*allowed: str) -> Callable[[Any], Any]:
    names = " or ".join(filter(None, [", ".join(repr(a) for a in allowed[:-1]), repr(allowed[-1])]))

    def read(value: Any) -> Any:
        if value is not None and value not in allowed:
            raise ValueError(f": Input should be {names}")
        return value

    return read


def _since(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(": Input should be a valid datetime")
    try:
        return parse_since(value)
    except ValueError as exc:
        raise ValueError(f": {exc}") from None


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(": Input should be a valid list")
    bad = [i for i, item in enumerate(value) if not isinstance(item, str)]
    if bad:
        raise ValueError(f".{bad[0]}: Input should be a valid string")
    return tuple(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(": Input should be a valid boolean")
    return value


def _account_ids(value: Any) -> tuple[str, ...]:
    from ..accounts import parse_account_ids  # the organization code, only when asked for

    try:
        return tuple(parse_account_ids(_names(value)))
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith((":", ".")) else f": {exc}") from None


def _region_names(value: Any) -> tuple[str, ...]:
    from ..accounts import parse_regions

    try:
        return tuple(parse_regions(_names(value)))
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith((":", ".")) else f": {exc}") from None


_REQUEST_FIELDS: dict[str, Callable[[Any], Any]] = {
    "scope": _one_of("all"),
    "jobs": _one_of(*JOB_SCOPES),
    "since": _since,
    "models": _names,
    "transform_jobs": _names,
    "accounts": _account_ids,
    "org": _flag,
    "regions": _region_names,
}
