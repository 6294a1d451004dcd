"""IAM policy documents: statements read once into one shape, and IAM's wildcards.

Shared by the two readers of policies, which ask different questions of the same
statements: `iam_eval` (is an action allowed by a role's identity policies) and `s3_policy`
(what an S3 endpoint or bucket policy lets through). Neither reimplements the parsing.

- `statements(document)`: a document (a dict, its JSON text, or None) as `Statement`s;
  `Statement` may be one object or a list, and entries that are not objects are skipped.
- `wildcard_match` / `wildcards_intersect`: IAM's `*` and `?` (no character classes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from .model import frozen_map

# --- wildcards ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style match of `value` (taken literally) against `pattern`: `*` any run of
    characters, `?` one character."""
    return _regex(pattern, ignore_case).fullmatch(value) is not None


def wildcards_intersect(a: str, b: str, *, ignore_case: bool = False) -> bool:
    """True when some string is matched by both wildcard patterns."""
    if ignore_case:
        a, b = a.lower(), b.lower()

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            # a's star produces nothing, or absorbs b's next token.
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i == len(a) or j == len(b):
            return False
        return (a[i] == b[j] or "?" in (a[i], b[j])) and meet(i + 1, j + 1)

    return meet(0, 0)


# --- statements --------------------------------------------------------------------------


def strings(value: Any) -> tuple[str, ...]:
    """An element that may be one string or a list of them (Action, Resource, a condition's
    values), as a tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return tuple(str(v) for v in value)
    return (str(value),)


# A Condition block (or one operator's body) that is not an object: IAM refuses such
# policies, but if one is read it is kept as a condition under an operator nobody knows,
# so it is never judged true and never dropped.
UNREADABLE_OPERATOR = "(unreadable condition)"


def _conditions(block: Any) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """operator -> condition key (lower-case) -> values."""
    out: dict[str, Mapping[str, tuple[str, ...]]] = {}
    if block and not isinstance(block, Mapping):
        block = {UNREADABLE_OPERATOR: {UNREADABLE_OPERATOR: ()}}
    for op, body in (block or {}).items():
        if body and not isinstance(body, Mapping):
            out[UNREADABLE_OPERATOR] = frozen_map({UNREADABLE_OPERATOR: ()})
            continue
        out[str(op)] = frozen_map({str(k).lower(): strings(v) for k, v in (body or {}).items()})
    return frozen_map(out)


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in strings(principal.get("AWS"))
    return False


@dataclass(frozen=True)
class Statement:
    """One policy statement, with Action/Resource lists normalised to tuples.

    A target may itself be a wildcard pattern (e.g. the package-repository ARNs), so two
    questions are kept apart:
    - *covers*: every string the target stands for is matched (the target's own `*` is read
      as a literal character, which a `*` in the pattern absorbs). For Deny statements,
      where claiming too much would hide a gap.
    - *may match*: some string is matched by both. For Allow statements, where missing one
      would hide an exposure.

    `given` names the elements the statement has among Action, NotAction, Resource and
    NotResource: an element that is present but empty matches nothing, which is not the
    same as an absent one."""

    index: int  # 0-based position in the policy's Statement list
    sid: str | None
    effect: str  # "Allow" | "Deny" as written
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    given: frozenset[str] = frozenset()
    # True when the statement applies to every principal (Principal "*" or absent, no NotPrincipal).
    everyone: bool = True
    # operator -> condition key (lower-case) -> values
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=frozen_map)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], index: int = 0) -> Statement:
        conditions = _conditions(raw.get("Condition"))
        return cls(
            index=index,
            sid=raw.get("Sid") or None,
            effect=str(raw.get("Effect", "")),
            actions=strings(raw.get("Action")),
            not_actions=strings(raw.get("NotAction")),
            resources=strings(raw.get("Resource")),
            not_resources=strings(raw.get("NotResource")),
            given=frozenset(k for k in ("Action", "NotAction", "Resource", "NotResource") if k in raw),
            everyone="NotPrincipal" not in raw
            and ("Principal" not in raw or _everyone(raw.get("Principal"))),
            conditions=conditions,
        )

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index + 1}"

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"

    @property
    def denies(self) -> bool:
        return self.effect.lower() == "deny"

    @property
    def unconditional(self) -> bool:
        return not self.conditions

    # Actions (case-insensitive) ------------------------------------------------------------

    def action_covers(self, action: str) -> bool:
        """Every action `action` stands for is in this statement."""
        if self.not_actions:
            return not any(wildcards_intersect(p, action, ignore_case=True) for p in self.not_actions)
        return any(wildcard_match(p, action, ignore_case=True) for p in self.actions)

    def action_may_match(self, action: str) -> bool:
        """Some action `action` stands for is in this statement."""
        if self.not_actions:
            return not any(wildcard_match(p, action, ignore_case=True) for p in self.not_actions)
        return any(wildcards_intersect(p, action, ignore_case=True) for p in self.actions)

    # Resources (case-sensitive) ------------------------------------------------------------

    def resource_covers(self, resource: str) -> bool:
        if self.not_resources:
            return not any(wildcards_intersect(p, resource) for p in self.not_resources)
        return any(wildcard_match(p, resource) for p in self.resources)

    def resource_may_match(self, resource: str) -> bool:
        if self.not_resources:
            return not any(wildcard_match(p, resource) for p in self.not_resources)
        return any(wildcards_intersect(p, resource) for p in self.resources)

    def resources_meeting(self, resource: str) -> tuple[str, ...]:
        """This statement's own resource patterns that overlap `resource` (for Allow
        statements, the part of the target they expose); `resource` itself for NotResource."""
        if self.not_resources:
            return (resource,) if self.resource_may_match(resource) else ()
        return tuple(p for p in self.resources if wildcards_intersect(p, resource))


def statements(document: Mapping[str, Any] | str | None) -> tuple[Statement, ...]:
    """The policy's statements, normalised; a missing or empty document has none. JSON text
    is parsed (IAM's APIs return some documents as text)."""
    if document is None or document == "":
        return ()
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return ()
    raw = document.get("Statement")
    if raw is None:
        return ()
    if isinstance(raw, str | Mapping):
        raw = [raw]
    return tuple(Statement.parse(s, index) for index, s in enumerate(raw) if isinstance(s, Mapping))
