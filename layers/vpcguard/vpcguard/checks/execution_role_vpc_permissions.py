from __future__ import annotations

from typing import Any

from .. import facts as F
from ..facts import RolePolicies, Snapshot
from ..iam_eval import ActionDecision, Verdict, evaluate_actions
from ..model import Outcome, Remediation, Severity, failed, passed
from .base import Check, CheckMeta, register

# The permissions the guidance requires of the execution role for a model in a VPC.
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)

LIMITS = "evaluated from identity policies and boundary; SCPs and session policies not evaluated"


def identity_policies(role: RolePolicies) -> dict[str, Any]:
    """Display name -> document, for every identity policy of the role."""
    named: dict[str, Any] = {f"inline policy {name}": doc for name, doc in role.inline.items()}
    named.update({f"managed policy {arn}": doc for arn, doc in role.attached.items()})
    return named


def suggested_policy(actions: list[str]) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SageMakerVpcAccess", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }


def _listing(decisions: list[ActionDecision]) -> str:
    """Actions grouped by why, so nine actions blocked by one statement read as one line."""
    by_reason: dict[str, list[str]] = {}
    for d in decisions:
        by_reason.setdefault(d.reason, []).append(d.action)
    return "; ".join(f"{', '.join(actions)} ({reason})" for reason, actions in by_reason.items())


@register
class ExecutionRoleVpcPermissions(Check):
    """FAIL when the execution role's identity policies (inline, attached managed, and a
    permissions boundary if any) do not allow every ENI action SageMaker needs in a VPC,
    or an explicit Deny blocks one. Wildcards and NotAction count; an Allow that depends
    on a Condition cannot be verified and fails at LOW, saying so. The result lists the
    missing actions and a policy that grants them. An unreadable role is ERROR."""

    meta = CheckMeta(
        id="execution_role_vpc_permissions",
        title="Execution role allows the ENI actions SageMaker needs in a VPC",
        severity=Severity.HIGH,
        section='"CreateModel API: Execution Role Permissions"',
        requires=(F.ROLE,),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        role = snap.role
        if role is None:  # the engine reports ERROR via requires=ROLE before this
            raise RuntimeError("no role facts in the snapshot")
        boundary_name = f"permissions boundary {role.boundary_arn}"
        decisions = evaluate_actions(ENI_ACTIONS, identity_policies(role), role.boundary, boundary_name)
        blocked = [d for d in decisions.values() if d.verdict in (Verdict.DENIED, Verdict.NOT_ALLOWED)]
        unsure = [d for d in decisions.values() if d.verdict == Verdict.UNVERIFIABLE]
        where = f"role {role.name} ({role.arn})"

        if not blocked and not unsure:
            bounded = (
                f" and its permissions boundary {role.boundary_arn} allow" if role.boundary_arn else " allows"
            )
            return passed(f"{where}{bounded} all {len(ENI_ACTIONS)} ENI actions ({LIMITS})", [role.arn])

        not_allowed = {d.action for d in (*blocked, *unsure)}
        missing = [a for a in ENI_ACTIONS if a in not_allowed]
        denied = [d for d in blocked if d.verdict == Verdict.DENIED]
        # The result names each action once: the detail says which and why; the remedy refers
        # to them and the suggested policy (the command a person copies) lists them.
        steps = [
            f"grant the {len(missing)} action{'s' if len(missing) > 1 else ''} the result names "
            'with Resource "*" (the suggested policy)'
        ]
        if denied:
            steps.append(
                "remove or narrow the Deny statement(s): "
                + ", ".join(dict.fromkeys(str(r) for d in denied for r in d.denied_by))
            )
        if any(boundary_name in d.missing_from for d in blocked):
            steps.append(f"allow them in the permissions boundary {role.boundary_arn} too")
        remediation = Remediation(
            action="suggest",
            resource_id=role.arn,
            description="; ".join(steps),
            suggestion=suggested_policy(missing),
        )

        if blocked:
            detail = (
                f"{where} cannot use {len(blocked)} of the {len(ENI_ACTIONS)} ENI actions SageMaker "
                f"needs to run in the VPC: {_listing(blocked)}."
            )
            if unsure:
                detail += f" Also unverifiable: {_listing(unsure)}."
            detail += f" ({LIMITS})."
            return failed(detail, [role.arn], remediation=remediation)

        return failed(
            f"unverifiable: {where} allows {len(unsure)} of the {len(ENI_ACTIONS)} ENI actions only under a "
            f"condition, on some resources, or with a possible Deny, which vpcguard does not evaluate: "
            f"{_listing(unsure)}. "
            f"Grant them unconditionally or confirm the conditions hold for SageMaker ({LIMITS}).",
            [role.arn],
            severity=Severity.LOW,
            remediation=remediation,
        )
