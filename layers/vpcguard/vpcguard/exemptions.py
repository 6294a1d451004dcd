"""Exemptions: the `vpcguard:exempt` tag on a resource, and which checks it exempts.

A FAIL on an exempt resource is reported EXEMPT, and a fix never touches an exempt resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .checks.base import check_ids

if TYPE_CHECKING:
    from .facts import Snapshot

EXEMPT_TAG = "vpcguard:exempt"


@dataclass(frozen=True, slots=True)
class Exemption:
    """What a resource's `vpcguard:exempt` tag says: the check ids it names ("all" for all),
    and the values that are not check ids (an unknown value counts as "all": a typo must
    never turn into a fix)."""

    checks: frozenset[str]
    unknown: tuple[str, ...] = ()

    def covers(self, check_id: str) -> bool:
        return "all" in self.checks or check_id in self.checks

    def note(self) -> str:
        if not self.unknown:
            return ""
        values = ", ".join(repr(v) for v in self.unknown)
        return f" (unknown value {values} is treated as all)"


def exemption_of(tags: Mapping[str, str]) -> Exemption | None:
    """A resource's exemption, or None if it has no `vpcguard:exempt` tag. The key and the
    values are matched without regard to case and surrounding spaces."""
    value = next((v for k, v in tags.items() if k.strip().lower() == EXEMPT_TAG), None)
    if value is None:
        return None
    names = [item.strip().lower() for item in value.split(",") if item.strip()]
    known = {"all", *check_ids()}
    unknown = tuple(n for n in names if n not in known) or (() if names else (value,))
    if unknown:
        return Exemption(frozenset({"all"}), unknown)
    return Exemption(frozenset(names))


def exempted_checks(tags: Mapping[str, str]) -> set[str] | None:
    """Check ids a resource's `vpcguard:exempt` tag names; {"all"} for all (also for an
    unknown value); None if untagged."""
    found = exemption_of(tags)
    return None if found is None else set(found.checks)


def exempting_resources(snap: Snapshot, check_id: str) -> list[str]:
    return [rid for rid, _ in exemptions_covering(snap.exempt_resources(), check_id)]


def exemptions_covering(
    tags_by_id: Mapping[str, Mapping[str, str]], check_id: str
) -> list[tuple[str, Exemption]]:
    out = []
    for resource_id, tags in tags_by_id.items():
        found = exemption_of(tags)
        if found is not None and found.covers(check_id):
            out.append((resource_id, found))
    return out


def exempt_note(found: list[tuple[str, Exemption]]) -> str:
    return ", ".join(f"{rid}{exemption.note()}" for rid, exemption in found)
