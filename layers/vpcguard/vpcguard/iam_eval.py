"""A small evaluator of IAM identity policies for a handful of actions.

moto has no `iam:SimulatePrincipalPolicy`, and the real one would cost a call per role and
need its own permission, so the engine decides from the policy documents it already read:
for each action, is it allowed, explicitly denied, allowed only in a way we cannot verify,
or not allowed at all.

What is evaluated
- Identity policies (inline and attached managed, any number) and an optional permissions
  boundary. An action is allowed only when the identity policies allow it AND the
  boundary (when there is one) allows it. A Deny in any of them wins over every Allow.
- `Action` / `NotAction` (string or list), with `*` and `?` wildcards, matched without
  regard to case (`ec2:*`, `ec2:Describe*`, `*`). An Allow with `NotAction` allows every
  action it does not list.
- `Resource` / `NotResource`, decided per action as covering ALL, SOME or NONE of what the
  action touches:
  * a pattern that matches the literal resource `*` (i.e. `*`) covers all;
  * ec2 `Describe*` actions have no resource-level permissions: IAM authorises them
    against `*`, so only such a pattern covers them and an ARN pattern covers nothing;
  * other actions (CreateNetworkInterface, ...) also count as fully covered by an ARN
    pattern of their service whose resource part is `*` (`arn:aws:ec2:*:*:*`,
    `arn:aws:ec2:us-east-1:123456789012:*`; region and account are not compared with the
    role's), and as partly covered by a narrower ARN of their service
    (`arn:aws:ec2:*:*:subnet/*`);
  * `NotResource` is the complement: it covers all unless one of its patterns covers all
    or some of the action's resources (then NONE or SOME);
  * a statement with neither (IAM rejects that in identity policies) covers all.
- Conditions are not evaluated. An Allow with a `Condition`, or one limited to some
  resources, makes the action UNVERIFIABLE (unless an unconditional Allow also covers it).
  A Deny with a `Condition`, or one limited to some resources, is reported as a possible
  block: the action is UNVERIFIABLE, naming the statement. Only an unconditional Deny that
  covers all resources makes it DENIED.

What is NOT evaluated (a PASS says so): service control policies and resource control
policies, resource-based policies, session policies, condition keys and their values,
policy variables, and the `Principal` element (identity policies have none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .policy_doc import Statement, wildcard_match
from .policy_doc import statements as policy_statements


class Verdict(StrEnum):
    ALLOWED = "ALLOWED"
    DENIED = "DENIED"  # an unconditional Deny covers it
    UNVERIFIABLE = "UNVERIFIABLE"  # allowed only under a condition / on some resources, or possibly denied
    NOT_ALLOWED = "NOT_ALLOWED"  # no Allow (in the identity policies or in the boundary)


class Scope(StrEnum):
    ALL = "ALL"
    SOME = "SOME"
    NONE = "NONE"


@dataclass(frozen=True)
class StatementRef:
    """Where a statement is: the policy's display name and its Sid (or position)."""

    policy: str
    index: int  # 0-based position in the policy's Statement list
    sid: str | None = None

    def __str__(self) -> str:
        label = f"Sid {self.sid!r}" if self.sid else f"statement #{self.index + 1}"
        return f"{self.policy} ({label})"


@dataclass(frozen=True)
class ActionDecision:
    action: str
    verdict: Verdict
    reason: str  # one line a person can act on
    denied_by: tuple[StatementRef, ...] = ()  # unconditional Deny statements
    possibly_denied_by: tuple[StatementRef, ...] = ()  # conditional or resource-scoped Deny
    conditional_allows: tuple[StatementRef, ...] = ()  # Allow statements we cannot verify
    missing_from: tuple[str, ...] = ()  # "identity policies" and/or the boundary's name

    @property
    def allowed(self) -> bool:
        return self.verdict == Verdict.ALLOWED


# --- matching ------------------------------------------------------------------------


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive in IAM."""
    return wildcard_match(pattern.strip(), action, ignore_case=True)


def _has_resource_level_permissions(action: str) -> bool:
    # ec2 Describe* calls are authorised against Resource "*" only.
    service, _, name = action.partition(":")
    return not (service.lower() == "ec2" and name.lower().startswith("describe"))


def _pattern_scope(pattern: str, action: str) -> Scope:
    if wildcard_match(pattern, "*"):
        return Scope.ALL
    if not _has_resource_level_permissions(action):
        return Scope.NONE
    parts = pattern.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return Scope.NONE
    service = action.partition(":")[0]
    if not wildcard_match(parts[2], service, ignore_case=True):
        return Scope.NONE
    return Scope.ALL if parts[5] == "*" else Scope.SOME


def _statement(statement: Statement | Mapping[str, Any]) -> Statement:
    return statement if isinstance(statement, Statement) else Statement.parse(statement)


def resource_scope(statement: Statement | Mapping[str, Any], action: str) -> Scope:
    """How much of what `action` touches the statement's Resource/NotResource covers."""
    stmt = _statement(statement)
    if "Resource" in stmt.given:
        scopes = {_pattern_scope(p, action) for p in stmt.resources}
        if Scope.ALL in scopes:
            return Scope.ALL
        return Scope.SOME if Scope.SOME in scopes else Scope.NONE
    if "NotResource" in stmt.given:
        excluded = {_pattern_scope(p, action) for p in stmt.not_resources}
        if Scope.ALL in excluded:
            return Scope.NONE
        return Scope.SOME if Scope.SOME in excluded else Scope.ALL
    return Scope.ALL


def statement_matches_action(statement: Statement | Mapping[str, Any], action: str) -> bool:
    stmt = _statement(statement)
    if "Action" in stmt.given:
        return any(action_matches(p, action) for p in stmt.actions)
    if "NotAction" in stmt.given:
        return not any(action_matches(p, action) for p in stmt.not_actions)
    return False


def statements(document: Mapping[str, Any] | str | None) -> list[Statement]:
    """The statements of a policy document (a dict, or its JSON text); Statement may be
    one dict or a list. Anything that is not a dict statement is skipped."""
    return list(policy_statements(document))


# --- evaluation ----------------------------------------------------------------------


@dataclass
class _Findings:
    allows: list[StatementRef]
    unverifiable_allows: list[StatementRef]
    denies: list[StatementRef]
    possible_denies: list[StatementRef]


def _scan(policies: Mapping[str, Mapping[str, Any] | str | None], action: str) -> _Findings:
    found = _Findings([], [], [], [])
    for policy_name, document in policies.items():
        # The position among the policy's statement objects names the statement.
        for position, stmt in enumerate(statements(document)):
            if not statement_matches_action(stmt, action):
                continue
            scope = resource_scope(stmt, action)
            if scope == Scope.NONE:
                continue
            ref = StatementRef(policy=policy_name, index=position, sid=stmt.sid)
            definite = scope == Scope.ALL and stmt.unconditional
            if stmt.allows:
                (found.allows if definite else found.unverifiable_allows).append(ref)
            elif stmt.denies:
                (found.denies if definite else found.possible_denies).append(ref)
    return found


def _refs(refs: Iterable[StatementRef]) -> str:
    return ", ".join(str(r) for r in refs)


def evaluate_action(
    action: str,
    identity_policies: Mapping[str, Mapping[str, Any] | str | None],
    boundary: Mapping[str, Any] | str | None = None,
    boundary_name: str = "permissions boundary",
) -> ActionDecision:
    """Decide one action. `identity_policies` maps a display name (e.g. "inline policy
    vpc-access", a managed policy ARN) to its document; `boundary` is the permissions
    boundary document, None when the role has none."""
    identity = _scan(identity_policies, action)
    bound = _scan({boundary_name: boundary}, action) if boundary is not None else None

    denies = identity.denies + (bound.denies if bound else [])
    possible_denies = identity.possible_denies + (bound.possible_denies if bound else [])
    if denies:
        return ActionDecision(
            action,
            Verdict.DENIED,
            f"explicitly denied by {_refs(denies)}",
            denied_by=tuple(denies),
            possibly_denied_by=tuple(possible_denies),
        )

    missing: list[str] = []
    unverifiable_allows: list[StatementRef] = []
    for label, found in (("identity policies", identity), (boundary_name, bound)):
        if found is None or found.allows:
            continue
        if found.unverifiable_allows:
            unverifiable_allows.extend(found.unverifiable_allows)
        else:
            missing.append(label)
    if missing:
        return ActionDecision(
            action,
            Verdict.NOT_ALLOWED,
            f"not allowed by the {' nor the '.join(missing)}",
            possibly_denied_by=tuple(possible_denies),
            missing_from=tuple(missing),
        )
    if unverifiable_allows or possible_denies:
        why = []
        if unverifiable_allows:
            why.append(f"allowed only under a condition or on some resources by {_refs(unverifiable_allows)}")
        if possible_denies:
            why.append(f"possibly denied (condition or resource scope) by {_refs(possible_denies)}")
        return ActionDecision(
            action,
            Verdict.UNVERIFIABLE,
            "; ".join(why),
            possibly_denied_by=tuple(possible_denies),
            conditional_allows=tuple(unverifiable_allows),
        )
    return ActionDecision(action, Verdict.ALLOWED, "allowed")


def evaluate_actions(
    actions: Sequence[str],
    identity_policies: Mapping[str, Mapping[str, Any] | str | None],
    boundary: Mapping[str, Any] | str | None = None,
    boundary_name: str = "permissions boundary",
) -> dict[str, ActionDecision]:
    """Action -> decision, in the order given."""
    return {a: evaluate_action(a, identity_policies, boundary, boundary_name) for a in actions}
