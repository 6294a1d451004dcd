"""Small, honest reading of S3 endpoint and bucket policies.

Not an IAM evaluator (that is `iam_eval.py`): just what the S3 checks need. Statements are
read by `policy_doc` (one shape for every policy reader); this module adds the S3
questions: whether an endpoint policy is in effect the default full access, which package
repositories it lets through, and whether a bucket policy's conditions admit a request
from this VPC. Deny statements are credited only where they *cover* a target, Allow
statements counted wherever they *may match* it (see `policy_doc.Statement`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .policy_doc import Statement, statements, wildcard_match, wildcards_intersect

__all__ = [
    "GET_OBJECT",
    "PACKAGE_REPO_RESOURCES",
    "PRINCIPAL_ARN",
    "SOURCE_VPC",
    "SOURCE_VPCE",
    "RepoExposure",
    "Statement",
    "condition_keys",
    "condition_true",
    "condition_values",
    "is_default_full_access",
    "package_repo_deny_statement",
    "package_repo_exposures",
    "statements",
    "suggested_endpoint_policy",
    "wildcard_match",
    "wildcards_intersect",
]

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
# The caller's role (for an assumed-role session, the role's ARN): a VPC-only Deny's usual
# exception for administrators (ArnNotLike), so the policy does not lock them out.
PRINCIPAL_ARN = "aws:principalarn"
# Keys whose values are ARNs: the ARN operators are judged on these only (elsewhere an ARN
# operator on a non-ARN value is left unjudged).
ARN_KEYS = frozenset({PRINCIPAL_ARN})


# --- conditions ------------------------------------------------------------------------------

_STRING_OPERATORS = {
    "stringequals": (False, False, False),  # (negated, ignore_case, like)
    "stringnotequals": (True, False, False),
    "stringequalsignorecase": (False, True, False),
    "stringnotequalsignorecase": (True, True, False),
    "stringlike": (False, False, True),
    "stringnotlike": (True, False, True),
}
# ArnEquals and ArnLike both take wildcards; an ARN is compared case-sensitively.
_ARN_OPERATORS = {
    "arnequals": (False, False, True),
    "arnlike": (False, False, True),
    "arnnotequals": (True, False, True),
    "arnnotlike": (True, False, True),
}


def _operator_true(
    operator: str, values: tuple[str, ...], present: list[str], arn_key: bool = False
) -> bool | None:
    """Whether one condition operator holds for a request whose key has `present` values
    (empty: the key is absent). None for an operator this module does not understand.
    `arn_key`: the key's values are ARNs, so the Arn* operators are judged too."""
    op = operator.lower()
    qualifier = None
    if ":" in op:
        qualifier, op = op.split(":", 1)
        if qualifier not in {"foranyvalue", "forallvalues"}:
            return None
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    known = {**_STRING_OPERATORS, **_ARN_OPERATORS} if arn_key else _STRING_OPERATORS
    if op not in known:
        return None
    negated, ignore_case, like = known[op]

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
            held = _operator_true(operator, values, present, arn_key=key in ARN_KEYS)
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
            exposed = [
                r for r in allow.resources_meeting(repo) if not any(d.resource_covers(r) for d in denies)
            ]
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
