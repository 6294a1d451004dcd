"""Pure tests of the identity-policy evaluator (no AWS)."""

from __future__ import annotations

import json

import pytest

from vpcguard.iam_eval import (
    Scope,
    Verdict,
    action_matches,
    evaluate_action,
    evaluate_actions,
    resource_scope,
    statements,
)

CREATE = "ec2:CreateNetworkInterface"
DESCRIBE = "ec2:DescribeVpcs"


def doc(*stmts: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def verdict(action: str, policies: dict, boundary=None) -> Verdict:
    return evaluate_action(action, policies, boundary).verdict


# --- action matching -----------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, action, expected",
    [
        ("ec2:*", CREATE, True),
        ("*", CREATE, True),
        ("ec2:Describe*", DESCRIBE, True),
        ("ec2:Describe*", CREATE, False),
        ("EC2:describevpcs", DESCRIBE, True),  # case-insensitive
        ("ec2:Describe?pcs", DESCRIBE, True),
        ("ec2:DescribeVpc", DESCRIBE, False),  # no implicit prefix match
        ("s3:*", CREATE, False),
        ("ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", False),
        ("ec2:CreateNetworkInterface*", "ec2:CreateNetworkInterfacePermission", True),
    ],
)
def test_action_patterns(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_statement_may_be_a_single_dict_and_document_may_be_json_text():
    single = {"Version": "2012-10-17", "Statement": allow(DESCRIBE)}
    assert len(statements(single)) == 1
    assert len(statements(json.dumps(single))) == 1
    assert statements(None) == [] and statements({}) == []
    assert verdict(DESCRIBE, {"p": single}) == Verdict.ALLOWED


def test_action_may_be_a_string_or_a_list():
    assert verdict(DESCRIBE, {"p": doc(allow(DESCRIBE))}) == Verdict.ALLOWED
    assert verdict(DESCRIBE, {"p": doc(allow(["s3:GetObject", DESCRIBE]))}) == Verdict.ALLOWED


# --- allow / not allowed -------------------------------------------------------------


def test_no_policies_means_not_allowed():
    decision = evaluate_action(CREATE, {})
    assert decision.verdict == Verdict.NOT_ALLOWED
    assert decision.missing_from == ("identity policies",)
    assert "not allowed by the identity policies" in decision.reason


def test_other_actions_do_not_allow():
    assert verdict(CREATE, {"p": doc(allow("ec2:Describe*"))}) == Verdict.NOT_ALLOWED


def test_allows_across_several_policies_combine():
    policies = {"a": doc(allow("ec2:Describe*")), "b": doc(allow(["ec2:Create*", "ec2:Delete*"]))}
    decisions = evaluate_actions([CREATE, DESCRIBE, "ec2:DeleteNetworkInterface"], policies)
    assert all(d.allowed for d in decisions.values())
    assert list(decisions) == [CREATE, DESCRIBE, "ec2:DeleteNetworkInterface"]


def test_not_action_allow_allows_everything_not_listed():
    policies = {
        "p": doc({"Effect": "Allow", "NotAction": ["iam:*", "ec2:DeleteNetworkInterface"], "Resource": "*"})
    }
    assert verdict(CREATE, policies) == Verdict.ALLOWED
    assert verdict("ec2:DeleteNetworkInterface", policies) == Verdict.NOT_ALLOWED


def test_effect_other_than_allow_or_deny_is_ignored():
    assert (
        verdict(CREATE, {"p": doc({"Effect": "Maybe", "Action": "*", "Resource": "*"})})
        == Verdict.NOT_ALLOWED
    )


# --- resources -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource, action, expected",
    [
        ("*", DESCRIBE, Scope.ALL),
        ("*", CREATE, Scope.ALL),
        ("arn:aws:ec2:*:*:*", CREATE, Scope.ALL),
        ("arn:aws:ec2:us-east-1:123456789012:*", CREATE, Scope.ALL),
        ("arn:aws:ec2:*:*:subnet/*", CREATE, Scope.SOME),
        ("arn:aws:ec2:*:*:*", DESCRIBE, Scope.NONE),  # Describe* is authorised against "*" only
        ("arn:aws:s3:::bucket/*", CREATE, Scope.NONE),
        (["arn:aws:s3:::bucket/*", "*"], CREATE, Scope.ALL),
    ],
)
def test_resource_scope(resource, action, expected):
    assert resource_scope({"Resource": resource}, action) == expected


@pytest.mark.parametrize(
    "not_resource, action, expected",
    [
        ("arn:aws:s3:::bucket/*", CREATE, Scope.ALL),
        ("arn:aws:ec2:*:*:subnet/*", CREATE, Scope.SOME),
        ("arn:aws:ec2:*:*:*", CREATE, Scope.NONE),
        ("*", DESCRIBE, Scope.NONE),
        ("arn:aws:ec2:*:*:subnet/*", DESCRIBE, Scope.ALL),
    ],
)
def test_not_resource_scope(not_resource, action, expected):
    assert resource_scope({"NotResource": not_resource}, action) == expected


def test_allow_on_unrelated_resource_does_not_count():
    assert verdict(CREATE, {"p": doc(allow(CREATE, "arn:aws:s3:::data/*"))}) == Verdict.NOT_ALLOWED


def test_allow_limited_to_some_ec2_resources_is_unverifiable():
    decision = evaluate_action(CREATE, {"p": doc(allow(CREATE, "arn:aws:ec2:*:*:subnet/subnet-1"))})
    assert decision.verdict == Verdict.UNVERIFIABLE
    assert "on some resources" in decision.reason


def test_allow_with_not_resource_excluding_other_services_allows():
    policies = {"p": doc({"Effect": "Allow", "Action": "ec2:*", "NotResource": "arn:aws:s3:::secret/*"})}
    assert verdict(CREATE, policies) == Verdict.ALLOWED


# --- deny ----------------------------------------------------------------------------


def test_unconditional_deny_wins_and_is_named_by_policy_and_sid():
    policies = {
        "inline policy admin": doc(allow("*")),
        "inline policy guard": doc(deny("ec2:DeleteNetwork*", Sid="NoDeletes")),
    }
    decision = evaluate_action("ec2:DeleteNetworkInterface", policies)
    assert decision.verdict == Verdict.DENIED
    assert "inline policy guard (Sid 'NoDeletes')" in decision.reason
    assert verdict(CREATE, policies) == Verdict.ALLOWED


def test_deny_without_sid_is_named_by_position():
    decision = evaluate_action(CREATE, {"p": doc(allow("*"), deny("ec2:*"))})
    assert decision.verdict == Verdict.DENIED
    assert "p (statement #2)" in decision.reason


def test_not_action_deny_blocks_everything_not_listed():
    policies = {"p": doc(allow("*"), {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"})}
    assert verdict(CREATE, policies) == Verdict.DENIED


def test_conditional_deny_is_a_possible_block():
    cond = {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}
    decision = evaluate_action(
        CREATE, {"p": doc(allow("ec2:*"), deny("ec2:*", Sid="RegionLock", Condition=cond))}
    )
    assert decision.verdict == Verdict.UNVERIFIABLE
    assert "possibly denied" in decision.reason and "RegionLock" in decision.reason


def test_deny_on_some_ec2_resources_is_a_possible_block():
    policies = {"p": doc(allow("ec2:*"), deny(CREATE, "arn:aws:ec2:*:*:subnet/subnet-9"))}
    assert verdict(CREATE, policies) == Verdict.UNVERIFIABLE


def test_deny_on_other_resources_does_not_block():
    policies = {"p": doc(allow("ec2:*"), deny("*", "arn:aws:s3:::secret/*"))}
    assert verdict(CREATE, policies) == Verdict.ALLOWED


# --- conditions ----------------------------------------------------------------------


def test_conditional_allow_is_unverifiable():
    cond = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    decision = evaluate_action(CREATE, {"p": doc(allow("ec2:*", Sid="OnlyHere", Condition=cond))})
    assert decision.verdict == Verdict.UNVERIFIABLE
    assert [str(r) for r in decision.conditional_allows] == ["p (Sid 'OnlyHere')"]
    assert "under a condition" in decision.reason


def test_unconditional_allow_makes_a_conditional_one_irrelevant():
    cond = {"Bool": {"aws:SecureTransport": "true"}}
    policies = {"p": doc(allow("ec2:*", Condition=cond), allow(CREATE))}
    assert verdict(CREATE, policies) == Verdict.ALLOWED


# --- permissions boundary ------------------------------------------------------------


def test_boundary_must_allow_too():
    identity = {"p": doc(allow("ec2:*"))}
    boundary = doc(allow("ec2:Describe*"))
    decision = evaluate_action(CREATE, identity, boundary, "permissions boundary arn:b")
    assert decision.verdict == Verdict.NOT_ALLOWED
    assert decision.missing_from == ("permissions boundary arn:b",)
    assert "permissions boundary arn:b" in decision.reason
    assert verdict(DESCRIBE, identity, boundary) == Verdict.ALLOWED


def test_boundary_alone_grants_nothing():
    decision = evaluate_action(CREATE, {}, doc(allow("*")))
    assert decision.verdict == Verdict.NOT_ALLOWED
    assert decision.missing_from == ("identity policies",)


def test_missing_in_both_names_both():
    decision = evaluate_action(CREATE, {"p": doc(allow("s3:*"))}, doc(allow("s3:*")), "boundary B")
    assert decision.missing_from == ("identity policies", "boundary B")


def test_deny_in_boundary_blocks():
    assert verdict(CREATE, {"p": doc(allow("*"))}, doc(allow("*"), deny(CREATE))) == Verdict.DENIED


def test_conditional_allow_in_boundary_is_unverifiable():
    cond = {"StringEquals": {"aws:PrincipalTag/team": "ml"}}
    assert verdict(CREATE, {"p": doc(allow("*"))}, doc(allow("*", Condition=cond))) == Verdict.UNVERIFIABLE


def test_empty_boundary_allows_nothing():
    assert verdict(CREATE, {"p": doc(allow("*"))}, {}) == Verdict.NOT_ALLOWED
