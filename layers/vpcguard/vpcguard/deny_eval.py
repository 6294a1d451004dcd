"""A small evaluator of Deny statements, for testing the policies `vpcguard guardrails` writes.

It answers one question: which Deny statements of a policy apply to a request (an action and
its request context)? That is all a service control policy does with a Deny, and all the
generated policy contains. It is not IAM: no Allow logic, no principals, no resource
matching beyond `*`, no policy variables. What it does evaluate, it evaluates the way IAM's
documentation describes:

- `Action` / `NotAction` with `*` and `?` wildcards, without regard to case.
- Several condition operators in a block are ANDed, several keys under one operator are
  ANDed, several values for one key are ORed for a positive operator (StringEquals: the
  request value equals one of them) and NORed for a negated one (StringNotEquals: it equals
  none of them).
- Operators: String{Not}Equals, String{Not}EqualsIgnoreCase, String{Not}Like,
  Arn{Not}Equals, Arn{Not}Like, Bool, each with the `IfExists` suffix, and `Null`.
- A key absent from the request context (context keys are absent, not empty, when the
  request does not carry them, e.g. `sagemaker:VpcSubnets` on a CreateModel without
  VpcConfig):
  * a positive operator is false, a negated one is true (IAM: "if the policy condition
    requires that the key is not matched ... and the key is not present, the condition is
    true");
  * `...IfExists` is true;
  * `Null: {"key": "true"}` is true, `"false"` is false;
  * `ForAnyValue:` is false: there is no value of which "any" could hold, whatever the
    operator, so `ForAnyValue:StringNotEquals` does NOT deny a request without the key;
  * `ForAllValues:` is true (vacuously: every one of no values matches).
- Multi-valued keys (a list in the context) need `ForAnyValue:` / `ForAllValues:`; a
  single-valued operator on a list is refused (ValueError), as IAM's policy validator warns,
  rather than guessed at. An empty list counts as absent.

Anything else (another operator, a malformed block) raises ValueError: a test of a policy
must never pass because the evaluator silently skipped a statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ContextValue = str | bool | Sequence[str]

_BASE_OPERATORS = {
    # name: (compare kind, negated)
    "StringEquals": ("equals", False),
    "StringNotEquals": ("equals", True),
    "StringEqualsIgnoreCase": ("iequals", False),
    "StringNotEqualsIgnoreCase": ("iequals", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "ArnEquals": ("like", False),  # IAM treats ArnEquals and ArnLike alike (wildcards allowed)
    "ArnLike": ("like", False),
    "ArnNotEquals": ("like", True),
    "ArnNotLike": ("like", True),
    "Bool": ("bool", False),
}


@dataclass(frozen=True)
class Request:
    """An API call as an SCP sees it: the action and its request context. A key missing
    from `context` is absent from the request; a list is a multi-valued key."""

    action: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@lru_cache(maxsize=512)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _matches(kind: str, request_value: Any, policy_value: Any) -> bool:
    req, pol = str(request_value), str(policy_value)
    if kind == "equals":
        return req == pol
    if kind == "iequals":
        return req.lower() == pol.lower()
    if kind == "like":
        return bool(_glob(pol, False).match(req))
    if kind == "bool":
        return req.lower() == pol.lower() and pol.lower() in ("true", "false")
    raise ValueError(f"unknown comparison {kind}")  # pragma: no cover


def _value_matches(kind: str, negated: bool, request_value: Any, policy_values: list[Any]) -> bool:
    hit = any(_matches(kind, request_value, p) for p in policy_values)
    return not hit if negated else hit


def _present(context: Mapping[str, ContextValue], key: str) -> tuple[bool, list[Any]]:
    # Condition keys are case-insensitive in IAM.
    for name, value in context.items():
        if name.lower() == key.lower():
            values = _as_list(value)
            return bool(values), values
    return False, []


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """`ForAnyValue:StringNotEqualsIfExists` -> ("ForAnyValue", "StringNotEquals", True)."""
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise ValueError(f"unknown set operator {qualifier!r}")
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base == "Null":
        if qualifier or if_exists:
            raise ValueError("Null takes no set operator and no IfExists")
    elif base not in _BASE_OPERATORS:
        raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
    return qualifier, base, if_exists


def key_condition_holds(
    operator: str, key: str, policy_value: Any, context: Mapping[str, ContextValue]
) -> bool:
    """One `operator: {key: value(s)}` entry against the request context."""
    qualifier, base, if_exists = _parse_operator(operator)
    present, values = _present(context, key)
    policy_values = _as_list(policy_value)
    if base == "Null":
        if len(policy_values) != 1 or str(policy_values[0]).lower() not in ("true", "false"):
            raise ValueError(f'Null on {key} needs "true" or "false", not {policy_value!r}')
        wants_absent = str(policy_values[0]).lower() == "true"
        return (not present) if wants_absent else present
    kind, negated = _BASE_OPERATORS[base]
    if not present:
        if if_exists:
            return True
        if qualifier == "ForAnyValue":
            return False
        if qualifier == "ForAllValues":
            return True
        return negated
    if qualifier == "ForAnyValue":
        return any(_value_matches(kind, negated, v, policy_values) for v in values)
    if qualifier == "ForAllValues":
        return all(_value_matches(kind, negated, v, policy_values) for v in values)
    if len(values) != 1:
        raise ValueError(
            f"{operator} on the multi-valued key {key} needs ForAnyValue: or ForAllValues: "
            "(a single-valued operator on a list is ambiguous)"
        )
    return _value_matches(kind, negated, values[0], policy_values)


def condition_holds(condition: Mapping[str, Any] | None, context: Mapping[str, ContextValue]) -> bool:
    """A whole Condition block: every operator and every key in it must hold."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        raise ValueError(f"Condition must be an object, not {type(condition).__name__}")
    for operator, entries in condition.items():
        if not isinstance(entries, Mapping) or not entries:
            raise ValueError(f"condition operator {operator} must map keys to values")
        for key, value in entries.items():
            if not key_condition_holds(operator, key, value, context):
                return False
    return True


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return any(_glob(p, True).match(action) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_glob(p, True).match(action) for p in _as_list(statement["NotAction"]))
    raise ValueError("a statement needs Action or NotAction")


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement")
    if statements is None:
        raise ValueError("the policy has no Statement")
    return [s for s in _as_list(statements)]


def denying_statements(policy: Mapping[str, Any], request: Request) -> list[str]:
    """Sids (or `#n`, 1-based) of the Deny statements that apply to `request`."""
    out = []
    for index, statement in enumerate(_statements(policy), start=1):
        if statement.get("Effect") != "Deny":
            continue
        resources = _as_list(statement.get("Resource", "*"))
        if resources != ["*"]:
            raise ValueError('this evaluator handles Deny statements on Resource "*" only')
        if _action_matches(statement, request.action) and condition_holds(
            statement.get("Condition"), request.context
        ):
            out.append(statement.get("Sid") or f"#{index}")
    return out


def is_denied(policy: Mapping[str, Any], request: Request) -> bool:
    return bool(denying_statements(policy, request))
