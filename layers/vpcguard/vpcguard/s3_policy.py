"""Small, honest reading of S3 endpoint and bucket policies.

Not an IAM evaluator (that is `iam_eval.py`): just what the S3 checks need. Statements are
normalised once; actions and resources are matched with IAM's wildcards (`*`, `?`), actions
case-insensitively. A target may itself be a wildcard pattern (e.g. the package-repository
ARNs), so two questions are kept apart:

- *covers*: every string the target stands for is matched (the target's own `*` is read as
  a literal character, which a `*` in the pattern absorbs). Used for Deny statements, where
  claiming too much would hide a gap.
- *may match*: some string is matched by both. Used for Allow statements, where missing one
  would hide an exposure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from .model import frozen_map

# The Amazon Linux / Amazon Linux 2 package repositories the guidance tells to deny.
PACKAGE_REPO_RESOURCES = (
    "arn:aws:s3:::packages.*.amazonaws.com/*",
    "arn:aws:s3:::repo.*.amazonaws.com/*",
    "arn:aws:s3:::amazonlinux.*.amazonaws.com/*",
)
GET_OBJECT = "s3:GetObject"

# Condition keys that pin a request to a VPC or an endpoint (compared lower-case).
SOURCE_VPCE = "aws:sourcevpce"
SOURCE_VPC = "aws:sourcevpc"


# --- wildcard matching --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style match of `value` (taken literally) against `pattern` (`*`, `?`)."""
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


# --- statements -----------------------------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return tuple(str(v) for v in value)
    return (str(value),)


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in _strings(principal.get("AWS"))
    return False


@dataclass(frozen=True)
class Statement:
    """One policy statement, with Action/Resource lists normalised to tuples."""

    index: int
    sid: str | None
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    # True when the statement applies to every principal (Principal "*" or absent, no NotPrincipal).
    everyone: bool = True
    # operator -> condition key (lower-case) -> values
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=frozen_map)

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


def statements(document: Mapping[str, Any] | None) -> tuple[Statement, ...]:
    """The policy's statements, normalised; a missing document has none."""
    if not document:
        return ()
    raw = document.get("Statement", [])
    if isinstance(raw, Mapping):
        raw = [raw]
    out = []
    for index, s in enumerate(raw or []):
        if not isinstance(s, Mapping):
            continue
        conditions = {
            str(op): frozen_map({str(k).lower(): _strings(v) for k, v in (body or {}).items()})
            for op, body in (s.get("Condition") or {}).items()
        }
        out.append(
            Statement(
                index=index,
                sid=s.get("Sid"),
                effect=str(s.get("Effect", "")),
                actions=_strings(s.get("Action")),
                not_actions=_strings(s.get("NotAction")),
                resources=_strings(s.get("Resource")),
                not_resources=_strings(s.get("NotResource")),
                everyone="NotPrincipal" not in s and ("Principal" not in s or _everyone(s.get("Principal"))),
                conditions=frozen_map(conditions),
            )
        )
    return tuple(out)


# --- conditions ------------------------------------------------------------------------------

_STRING_OPERATORS = {
    "stringequals": (False, False, False),  # (negated, ignore_case, like)
    "stringnotequals": (True, False, False),
    "stringequalsignorecase": (False, True, False),
    "stringnotequalsignorecase": (True, True, False),
    "stringlike": (False, False, True),
    "stringnotlike": (True, False, True),
}


def _operator_true(operator: str, values: tuple[str, ...], present: list[str]) -> bool | None:
    """Whether one condition operator holds for a request whose key has `present` values
    (empty: the key is absent). None for an operator this module does not understand."""
    op = operator.lower()
    qualifier = None
    if ":" in op:
        qualifier, op = op.split(":", 1)
        if qualifier not in {"foranyvalue", "forallvalues"}:
            return None
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    if op not in _STRING_OPERATORS:
        return None
    negated, ignore_case, like = _STRING_OPERATORS[op]

    def one(value: str) -> bool:
        if like:
            hit = any(wildcard_match(v, value, ignore_case=ignore_case) for v in values)
        elif ignore_case:
            hit = value.lower() in {v.lower() for v in values}
        else:
            hit = value in values
        return not hit if negated else hit

    if not present:
        # IAM: ForAnyValue on a missing key is false, ForAllValues true; IfExists is true;
        # a plain negated operator is true (nothing equals), a positive one false.
        if qualifier == "foranyvalue":
            return False
        if qualifier == "forallvalues" or if_exists:
            return True
        return negated
    if qualifier == "forallvalues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def condition_true(
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, str]
) -> bool | None:
    """Whether a statement's whole Condition block holds for a request with `context`
    (lower-case key -> value). None when it uses an operator this module cannot judge."""
    result = True
    for operator, keys in conditions.items():
        for key, values in keys.items():
            present = [context[key]] if key in context else []
            held = _operator_true(operator, values, present)
            if held is None:
                return None
            result = result and held
    return result


def condition_keys(conditions: Mapping[str, Mapping[str, tuple[str, ...]]]) -> set[str]:
    return {key for keys in conditions.values() for key in keys}


def condition_values(conditions: Mapping[str, Mapping[str, tuple[str, ...]]], key: str) -> list[str]:
    return [v for keys in conditions.values() for v in keys.get(key, ())]


# --- questions the checks ask ---------------------------------------------------------------


def is_default_full_access(document: Mapping[str, Any] | None) -> tuple[bool, Statement | None]:
    """Whether a policy is in effect the default full-access one: an unconditional Allow of
    every action on every resource to everyone, and no Deny. A missing policy is the
    default. Returns the statement that grants it, when there is one."""
    stmts = statements(document)
    if document is None:
        return True, None
    if any(s.denies for s in stmts):
        return False, None
    for s in stmts:
        # On an S3 endpoint `s3:*` is every action the endpoint can carry.
        if (
            s.allows
            and s.everyone
            and s.unconditional
            and s.action_covers("s3:*")
            and s.resource_covers("arn:aws:s3:::*")
        ):
            return True, s
    return False, None


@dataclass(frozen=True)
class RepoExposure:
    repo: str  # one of PACKAGE_REPO_RESOURCES
    statement: str  # label of the Allow statement that lets it through ("default policy" when none)


def package_repo_exposures(document: Mapping[str, Any] | None) -> list[RepoExposure]:
    """The package repositories this policy lets `s3:GetObject` reach, each with the Allow
    that lets it through. A missing policy is the default full access: all of them.

    An Allow counts even with a Condition or a narrower Principal (it may still let the job
    through); a Deny counts only when it is unconditional, for every principal, covers
    `s3:GetObject` and covers the repository or the Allow's own overlapping resources."""
    if document is None:
        return [RepoExposure(repo, "the default full-access policy") for repo in PACKAGE_REPO_RESOURCES]
    stmts = statements(document)
    denies = [s for s in stmts if s.denies and s.everyone and s.unconditional and s.action_covers(GET_OBJECT)]
    allows = [s for s in stmts if s.allows and s.action_may_match(GET_OBJECT)]
    out = []
    for repo in PACKAGE_REPO_RESOURCES:
        if any(d.resource_covers(repo) for d in denies):
            continue
        for allow in allows:
            exposed = [r for r in allow.resources_meeting(repo) if not any(d.resource_covers(r) for d in denies)]
            if exposed:
                out.append(RepoExposure(repo, allow.label))
                break
    return out


def package_repo_deny_statement() -> dict[str, Any]:
    return {
        "Sid": "DenyAmazonLinuxPackageRepositories",
        "Effect": "Deny",
        "Principal": "*",
        "Action": [GET_OBJECT],
        "Resource": list(PACKAGE_REPO_RESOURCES),
    }


def suggested_endpoint_policy(buckets: Iterable[str]) -> dict[str, Any]:
    """An endpoint policy limited to the named buckets (a placeholder when none are known),
    that also denies the Amazon Linux package repositories."""
    names = list(dict.fromkeys(buckets)) or ["<your-data-bucket>"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowDataBuckets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{b}" for b in names] + [f"arn:aws:s3:::{b}/*" for b in names],
            },
            package_repo_deny_statement(),
        ],
    }
