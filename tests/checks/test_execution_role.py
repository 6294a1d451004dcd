"""execution_role_vpc_permissions against real IAM roles on moto's server.

The role's policies are read through the inventory (GetRole, ListRolePolicies,
GetRolePolicy, ListAttachedRolePolicies, GetPolicy/GetPolicyVersion) and evaluated by
vpcguard.iam_eval, since moto has no SimulatePrincipalPolicy.
"""

from __future__ import annotations

from tests.conftest import result_of
from tests.localaws.builders import ENI_ACTIONS
from tests.localaws.server import ACCOUNT
from vpcguard.checks.execution_role_vpc_permissions import ENI_ACTIONS as CHECK_ACTIONS
from vpcguard.model import Severity, Status

CHECK = "execution_role_vpc_permissions"
LIMITS = "evaluated from identity policies and boundary; SCPs and session policies not evaluated"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def evaluate(builder, engine, role_arn: str, name: str = "m"):
    net = builder.compliant_vpc()
    builder.compliant_model(name, net, role_arn=role_arn)
    return result_of(engine.evaluate_model(name), CHECK)


def test_check_requires_the_same_actions_as_the_guidance():
    assert list(CHECK_ACTIONS) == ENI_ACTIONS


def test_default_role_passes_and_states_the_limits(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), CHECK)
    assert result.status == Status.PASS, result.detail
    assert result.severity == Severity.HIGH
    assert LIMITS in result.detail
    assert result.resource_ids == [net.role_arn]
    assert result.fixable is False


def test_missing_actions_fail_and_are_listed_with_a_suggested_policy(builder, engine):
    granted = [
        a for a in ENI_ACTIONS if a not in ("ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions")
    ]
    role = builder.role("partial", inline=policy(allow(granted)))
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert result.severity == Severity.HIGH
    assert "ec2:DeleteNetworkInterfacePermission" in result.detail
    assert "ec2:DescribeDhcpOptions" in result.detail
    assert "2 of the 9" in result.detail
    assert "ec2:CreateNetworkInterface " not in result.detail  # granted ones are not listed
    assert result.remediation["action"] == "suggest"
    statement = result.remediation["suggestion"]["Statement"][0]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    assert statement["Action"] == ["ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions"]


def test_ec2_wildcard_passes(builder, engine):
    role = builder.role("wild", inline=policy(allow("ec2:*")))
    assert evaluate(builder, engine, role).status == Status.PASS


def test_describe_wildcard_plus_explicit_create_delete_passes(builder, engine):
    role = builder.role(
        "split",
        inline=policy(
            allow("ec2:Describe*"),
            allow(
                [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ]
            ),
        ),
    )
    assert evaluate(builder, engine, role).status == Status.PASS


def test_not_action_allow_passes(builder, engine):
    role = builder.role(
        "notaction", inline=policy({"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"})
    )
    assert evaluate(builder, engine, role).status == Status.PASS


def test_not_action_that_excludes_ec2_fails(builder, engine):
    role = builder.role("noec2", inline=policy({"Effect": "Allow", "NotAction": "ec2:*", "Resource": "*"}))
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert "9 of the 9" in result.detail


def test_explicit_deny_fails_naming_the_statement(builder, engine):
    role = builder.role(
        "denied",
        inline=policy(
            allow("ec2:*"),
            {
                "Sid": "NoEniDeletes",
                "Effect": "Deny",
                "Action": "ec2:DeleteNetworkInterface*",
                "Resource": "*",
            },
        ),
    )
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert result.severity == Severity.HIGH
    assert (
        "ec2:DeleteNetworkInterface, ec2:DeleteNetworkInterfacePermission "
        "(explicitly denied by inline policy vpc-access (Sid 'NoEniDeletes'))"
    ) in result.detail
    assert "2 of the 9" in result.detail
    assert "NoEniDeletes" in result.remediation["description"]


def test_conditional_allow_fails_at_low_as_unverifiable(builder, engine):
    cond = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    role = builder.role("cond", inline=policy(allow(ENI_ACTIONS, Sid="RegionOnly", Condition=cond)))
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert result.severity == Severity.LOW
    assert "unverifiable" in result.detail and "9 of the 9" in result.detail
    assert "RegionOnly" in result.detail and "condition" in result.detail


def test_conditional_deny_is_reported_as_a_possible_block_at_low(builder, engine):
    region_lock = {
        "Sid": "RegionLock",
        "Effect": "Deny",
        "Action": "ec2:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
    }
    role = builder.role("locked", inline=policy(allow("ec2:*"), region_lock))
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert result.severity == Severity.LOW
    assert "possibly denied" in result.detail and "RegionLock" in result.detail


def test_boundary_lacking_an_action_fails(builder, engine):
    boundary = policy(allow(["ec2:Describe*", "ec2:CreateNetworkInterface*", "ec2:DeleteNetworkInterface"]))
    role = builder.role("bounded", inline=policy(allow("ec2:*")), boundary=boundary)
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert result.severity == Severity.HIGH
    assert (
        "ec2:DeleteNetworkInterfacePermission (not allowed by the permissions boundary arn:aws:iam::"
        in result.detail
    )
    assert "1 of the 9" in result.detail
    assert "permissions boundary" in result.remediation["description"]


def test_boundary_that_allows_everything_needed_passes(builder, engine):
    role = builder.role("bounded-ok", inline=policy(allow("ec2:*")), boundary=policy(allow(ENI_ACTIONS)))
    result = evaluate(builder, engine, role)
    assert result.status == Status.PASS, result.detail
    assert "permissions boundary" in result.detail


def test_attached_managed_policy_passes(builder, engine):
    role = builder.role(
        "managed",
        managed=[
            policy(allow("ec2:Describe*")),
            policy(allow(["ec2:CreateNetworkInterface*", "ec2:DeleteNetworkInterface*"])),
        ],
    )
    assert evaluate(builder, engine, role).status == Status.PASS


def test_deny_in_attached_managed_policy_names_the_policy(builder, engine):
    guard = builder.managed_policy(
        policy({"Effect": "Deny", "Action": "ec2:CreateNetworkInterfacePermission", "Resource": "*"})
    )
    role = builder.role("guarded")
    builder.client("iam").attach_role_policy(RoleName="guarded", PolicyArn=guard)
    result = evaluate(builder, engine, role)
    assert result.status == Status.FAIL
    assert f"explicitly denied by managed policy {guard} (statement #1)" in result.detail


def test_role_that_does_not_exist_is_error_naming_it(builder, engine):
    ghost = f"arn:aws:iam::{ACCOUNT}:role/ghost-role"
    result = evaluate(builder, engine, ghost)
    assert result.status == Status.ERROR
    assert ghost in result.detail
    assert "NoSuchEntity" in result.detail


def test_role_read_costs_one_call_each_and_is_shared_between_models(builder, make_engine):
    net = builder.compliant_vpc()
    managed = builder.managed_policy(policy(allow("ec2:Describe*")))
    builder.client("iam").attach_role_policy(RoleName=net.role_arn.rsplit("/", 1)[-1], PolicyArn=managed)
    builder.compliant_model("one", net)
    builder.compliant_model("two", net)
    engine = make_engine()
    for name in ("one", "two"):
        assert result_of(engine.evaluate_model(name), CHECK).status == Status.PASS
    calls = engine.clients.counter.snapshot()
    iam = {k: v for k, v in calls.items() if k.startswith("iam:")}
    assert iam == {
        "iam:GetRole": 1,
        "iam:ListRolePolicies": 1,
        "iam:GetRolePolicy": 1,
        "iam:ListAttachedRolePolicies": 1,
        "iam:GetPolicy": 1,
        "iam:GetPolicyVersion": 1,
    }
