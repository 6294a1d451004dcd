from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from .. import facts as F
from ..facts import Snapshot
from ..model import Outcome, Remediation, Severity, errored, failed, not_applicable, passed
from ..s3_policy import (
    PRINCIPAL_ARN,
    SOURCE_VPC,
    SOURCE_VPCE,
    Statement,
    condition_keys,
    condition_true,
    condition_values,
    statements,
)
from ._s3 import endpoints_serving_subnet
from .base import Check, CheckMeta, register

VPC_KEYS = {SOURCE_VPC, SOURCE_VPCE}
# A VPC-only Deny may exempt administrative roles by aws:PrincipalArn: it still limits the job
# as long as the job's own execution role is not among them.
DENY_KEYS = VPC_KEYS | {PRINCIPAL_ARN}
# The suggested statement's exception, to be filled in before it is pasted.
ADMIN_ROLE_PLACEHOLDER = "<ADMIN_ROLE>"


@dataclass(frozen=True)
class _Target:
    role: str  # "input" | "output"
    bucket: str
    action: str  # what the job needs on it
    resource: str  # the object ARN pattern the job touches


def _targets(snap: Snapshot) -> list[_Target]:
    out: dict[tuple[str, str], _Target] = {}
    subject = snap.subject
    for role, uris, action in (
        ("input", subject.input_s3_uris, "s3:GetObject"),
        ("output", subject.output_s3_uris, "s3:PutObject"),
    ):
        for uri in uris:
            parsed = urlparse(uri)
            if parsed.scheme != "s3" or not parsed.netloc:
                continue
            resource = f"arn:aws:s3:::{parsed.netloc}/{parsed.path.lstrip('/')}*"
            out.setdefault((parsed.netloc, action), _Target(role, parsed.netloc, action, resource))
    return list(out.values())


@dataclass(frozen=True)
class _Path:
    """One way the job's requests reach S3: the VPC condition keys S3 sees on them, and
    the model subnets that send them. A subnet with no S3 endpoint sends none of the keys."""

    context: dict[str, str]
    subnet_ids: tuple[str, ...]

    @property
    def via(self) -> str:
        who = f"from {', '.join(self.subnet_ids)} " if self.subnet_ids else ""
        if SOURCE_VPCE in self.context:
            return f"requests {who}go through {self.context[SOURCE_VPCE]}"
        return f"requests {who}go without an S3 endpoint of this VPC (see s3_endpoint_routes)"


def _paths(snap: Snapshot) -> list[_Path]:
    by_context: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[str]]] = {}
    # The job's requests are made by its execution role (aws:PrincipalArn: the role's ARN).
    caller = {PRINCIPAL_ARN: snap.subject.execution_role_arn} if snap.subject.execution_role_arn else {}

    def add(ctx: dict[str, str], subnet_id: str | None) -> None:
        ctx = {**ctx, **caller}
        _, subnets = by_context.setdefault(tuple(sorted(ctx.items())), (ctx, []))
        if subnet_id:
            subnets.append(subnet_id)

    for sid in sorted(snap.subnets):
        endpoints = endpoints_serving_subnet(snap, sid)
        for ctx in [{SOURCE_VPC: snap.vpc_id or "", SOURCE_VPCE: ep.id} for ep in endpoints] or [{}]:
            add(ctx, sid)
    if not snap.subnets:
        for ep in snap.s3_endpoints():
            add({SOURCE_VPC: snap.vpc_id or "", SOURCE_VPCE: ep.id}, None)
    if not by_context:
        add({}, None)
    return [_Path(ctx, tuple(subnets)) for ctx, subnets in by_context.values()]


def _pins(statement: Statement) -> str:
    parts = []
    for key, name in ((SOURCE_VPCE, "aws:SourceVpce"), (SOURCE_VPC, "aws:SourceVpc")):
        values = condition_values(statement.conditions, key)
        if values:
            parts.append(f"{name} {', '.join(values)}")
    return " or ".join(parts)


@register
class S3BucketPolicyVpcOnly(Check):
    """FAIL when the job's input or output bucket has no bucket policy statement that denies
    access unless the request comes through one of this VPC's S3 endpoints
    (aws:SourceVpce) or from this VPC (aws:SourceVpc), or when its policy pins another VPC
    or endpoint, so the job would be denied. The Deny may exempt administrative roles by
    aws:PrincipalArn (ArnNotLike), as the suggested statement does, as long as the job's
    execution role is not one of them. Transform jobs only (NOT_APPLICABLE for a model,
    which names no buckets)."""

    meta = CheckMeta(
        id="s3_bucket_policy_vpc_only",
        title="The job's buckets only accept requests from this VPC",
        severity=Severity.LOW,
        section='"Use a Custom Endpoint Policy to Restrict Access to S3" (bucket policy paragraph)',
        requires=(F.ROUTE_TABLES, F.ENDPOINTS, F.BUCKET_POLICIES),
    )

    def evaluate(self, snap: Snapshot) -> Outcome:
        if not snap.subject.is_job:
            return not_applicable("applies to transform jobs only: a model on its own names no data buckets")
        targets = _targets(snap)
        if not targets:
            return not_applicable("the job names no S3 input or output location")
        paths = _paths(snap)
        ours = [ep.id for ep in snap.s3_endpoints(available_only=False)]
        ours_text = f"aws:SourceVpce {', '.join(ours)} or " if ours else ""
        admits = f"{ours_text}aws:SourceVpc {snap.vpc_id}"

        problems: list[str] = []
        good: list[str] = []
        for target in targets:
            label = f"{target.role} bucket {target.bucket}"
            bp = snap.bucket_policies.get(target.bucket)
            if bp is None:
                return errored(f"the policy of {label} was not read")
            if bp.policy is None:
                problems.append(f"{label} has no bucket policy, so it accepts requests from outside the VPC")
                continue
            restricting: list[Statement] = []
            blocking: list[tuple[Statement, _Path]] = []
            for s in statements(bp.policy):
                if not (
                    s.denies
                    and s.everyone
                    and s.conditions
                    and condition_keys(s.conditions) & VPC_KEYS
                    and condition_keys(s.conditions) <= DENY_KEYS
                    and s.action_covers(target.action)
                    and s.resource_covers(target.resource)
                ):
                    continue
                if PRINCIPAL_ARN in condition_keys(s.conditions) and not _limits_the_job(s, snap):
                    continue  # the job's own role is exempt (or unknown): it limits others only
                verdicts = [(condition_true(s.conditions, path.context), path) for path in paths]
                if any(held is None for held, _ in verdicts):
                    continue  # an operator we cannot judge: neither credit nor blame
                denied = [path for held, path in verdicts if held]
                if denied:
                    blocking.append((s, denied[0]))
                else:
                    restricting.append(s)
            if blocking:
                s, path = blocking[0]
                pinned = set(condition_values(s.conditions, SOURCE_VPCE)) | set(
                    condition_values(s.conditions, SOURCE_VPC)
                )
                whose = (
                    "which admits this VPC"
                    if pinned & {*ours, snap.vpc_id}
                    else f"which is another VPC or endpoint, not this VPC's S3 path ({admits})"
                )
                problems.append(
                    f"{label}: {s.label} denies {target.action} unless {_pins(s)}, {whose}; "
                    f"{path.via}, so the job will be denied"
                )
            elif restricting:
                good.append(f"{label} ({restricting[0].label} admits only {_pins(restricting[0])})")
            else:
                problems.append(
                    f"{label} has no Deny statement limiting {target.action} to this VPC "
                    f"({admits}), so it accepts requests from anywhere its other statements allow"
                )

        buckets = list(dict.fromkeys(t.bucket for t in targets))
        if problems:
            return failed(
                "; ".join(problems) + ".",
                [*buckets, *ours],
                remediation=Remediation(
                    action="suggest",
                    description="Add a statement like this to each bucket's policy. Before pasting it, "
                    f"replace {ADMIN_ROLE_PLACEHOLDER} in aws:PrincipalArn with the role(s) administrators, "
                    "the console and CI use (wildcards allowed; never the job's execution role): without "
                    "them, the Deny locks everyone outside the VPC out of the bucket",
                    suggestion=_suggested_statement(buckets, ours, snap.vpc_id or "", snap.subject.account),
                ),
            )
        return passed(f"every job bucket only accepts requests from this VPC: {'; '.join(good)}", buckets)


def _limits_the_job(statement: Statement, snap: Snapshot) -> bool:
    """Whether a Deny with an aws:PrincipalArn exception still denies the job's execution
    role a request from outside the VPC (no endpoint, no VPC keys)."""
    role = snap.subject.execution_role_arn
    return bool(role) and condition_true(statement.conditions, {PRINCIPAL_ARN: role or ""}) is True


def admin_role_pattern(account: str) -> str:
    """The exception's placeholder: the account is known, the role is the user's to name."""
    return f"arn:aws:iam::{account or '<ACCOUNT_ID>'}:role/{ADMIN_ROLE_PLACEHOLDER}"


def _suggested_statement(buckets: list[str], endpoint_ids: list[str], vpc_id: str, account: str) -> dict:
    key, values = ("aws:SourceVpce", endpoint_ids) if endpoint_ids else ("aws:SourceVpc", [vpc_id])
    return {
        "Sid": "OnlyFromTheJobVpc",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{b}" for b in buckets] + [f"arn:aws:s3:::{b}/*" for b in buckets],
        # Both must hold for the Deny to apply: outside the VPC, and not an administrative role
        # (without the exception, administrators, the console and CI are locked out too).
        "Condition": {
            "StringNotEquals": {key: values},
            "ArnNotLike": {"aws:PrincipalArn": [admin_role_pattern(account)]},
        },
    }
