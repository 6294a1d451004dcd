"""What a check is: metadata next to logic, found through a registry.

Each check lives in its own module in this package, named after its id, and registers
itself with `@register`. The engine asks `all_checks()`; nobody keeps a list by hand.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from ..facts import Snapshot
from ..model import Outcome, Severity

if TYPE_CHECKING:
    from ..fixes import FixPlan
    from ..settings import Settings

FixMode = Literal["fix", "notify"]


@dataclass(frozen=True)
class CheckMeta:
    id: str
    title: str
    severity: Severity
    section: str  # the section of the AWS guidance the check comes from
    requires: tuple[str, ...] = ()  # fact groups (vpcguard.facts) the check reads
    # Default mode of the automatic fix: "fix" for the safe ones, "notify" for opt-in
    # ones; None when the check has no automatic fix.
    fix_default: FixMode | None = None
    # False only for the check that decides whether there is a VPC at all.
    needs_vpc: bool = True

    @property
    def fixable(self) -> bool:
        return self.fix_default is not None


class Check:
    """Base class: subclasses set `meta` and implement `evaluate` (pure, no I/O)."""

    meta: ClassVar[CheckMeta]

    def severity_for(self, snap: Snapshot) -> Severity:
        """The check's severity for this subject; checks whose severity depends on the
        subject (not on the outcome) override this."""
        return self.meta.severity

    def evaluate(self, snap: Snapshot) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def fix_facts(self, snap: Snapshot, outcome: Outcome) -> tuple[str, ...]:
        """Fact groups read only when this check's fix is about to be planned (e.g. who else
        uses what the fix would change); the engine reads them into the snapshot `plan_fix`
        gets. Not read for a plain check, so they cost nothing on the usual path."""
        return ()

    def plan_fix(self, snap: Snapshot, outcome: Outcome, settings: Settings) -> FixPlan:
        """The change that would turn this FAIL into PASS. Raises `NoSafeFix` with the
        reason when there is none for this subject. Only checks with `fix_default` set
        implement it."""
        from ..fixes import NoSafeFix

        raise NoSafeFix(f"{self.meta.id} has no automatic fix")


_registry: dict[str, Check] = {}
_loaded = False
_load_lock = threading.Lock()


def register(cls: type[Check]) -> type[Check]:
    meta = cls.meta
    if meta.id in _registry and type(_registry[meta.id]) is not cls:
        raise ValueError(f"check id {meta.id!r} registered twice")
    _registry[meta.id] = cls()
    return cls


def _load_all() -> None:
    global _loaded
    with _load_lock:
        if _loaded:
            return
        package = importlib.import_module(__package__)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name not in {"base"} and not info.name.startswith("_"):
                importlib.import_module(f"{__package__}.{info.name}")
        _loaded = True


def all_checks() -> list[Check]:
    """Every registered check, ordered by id (stable output order)."""
    _load_all()
    return [_registry[key] for key in sorted(_registry)]


def get_check(check_id: str) -> Check:
    _load_all()
    try:
        return _registry[check_id]
    except KeyError:
        raise KeyError(f"unknown check id {check_id!r}") from None


def check_ids() -> list[str]:
    return [c.meta.id for c in all_checks()]


def validate_ids(ids: Iterable[str]) -> None:
    known = set(check_ids())
    unknown = sorted(set(ids) - known)
    if unknown:
        raise ValueError(f"unknown check id(s): {', '.join(unknown)}")
