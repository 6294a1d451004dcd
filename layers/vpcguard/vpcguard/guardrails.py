"""`vpcguard guardrails`: policies that refuse what the checks detect, before it exists.

Two outputs from one set of approved subnets and security groups (docs/guardrails.md):

- `scp`: a service control policy (it works as an IAM policy too) made only of Deny
  statements on `sagemaker:CreateModel` and `sagemaker:CreateTransformJob`. Each statement
  has one job and a Sid that says it (`STATEMENT_INTENTS` below is the same text for the docs
  and the tests). Nothing else is denied: an SCP's Deny cannot grant anything, and every
  statement names one of the two actions.
- `guard`: CloudFormation Guard rules for `AWS::SageMaker::Model` in a template.

Why the SCP has a separate `Null` statement: the approved-list statements use
`ForAnyValue:StringNotEquals` on the multi-valued keys `sagemaker:VpcSubnets` and
`sagemaker:VpcSecurityGroupIds` ("deny if any value in the request is not one of the
approved ones"). When the request has no VpcConfig those keys are absent, and a
`ForAnyValue:` condition on an absent key is false: there is no value to be "any". So, alone,
they would let a model WITHOUT a VpcConfig through, the worst case. (The opposite
formulation, `ForAllValues:StringEquals` in an Allow, fails the same way: on an absent key it
is vacuously true.) `Null: {"sagemaker:VpcSubnets": "true"}` closes that gap.

`CreateTransformJob` has no VPC condition keys at all: a job runs in its model's VpcConfig,
so the CreateModel statements are what keep jobs in the approved network. The job
statements only cover KMS keys and approved models.

`--from-account` (approved lists derived from the account) is `derive_approved_lists`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .aws import AwsClients
from .backfill import list_model_names
from .engine import Engine
from .model import Status, Subject
from .results import CheckResult, SubjectReport
from .settings import Settings

SCP_MAX_CHARS = 5120  # AWS Organizations' limit for one SCP document, whitespace included

CREATE_MODEL = "sagemaker:CreateModel"
CREATE_TRANSFORM_JOB = "sagemaker:CreateTransformJob"

NO_JOB_VPC_KEYS_NOTE = (
    "sagemaker:CreateTransformJob has no VPC condition keys: a transform job runs in its model's "
    "VpcConfig, so the CreateModel statements are what keep jobs on the approved subnets and groups"
)

# Sid -> what the statement refuses. Sids in an SCP may only be letters and digits.
STATEMENT_INTENTS: dict[str, str] = {
    "DenyCreateModelWithoutVpcConfig": (
        "CreateModel with no VpcConfig (Null on sagemaker:VpcSubnets): the approved-list statements "
        "cannot catch it, since a ForAnyValue condition on an absent key is false"
    ),
    "DenyCreateModelOutsideApprovedSubnets": (
        "CreateModel naming any subnet that is not approved (ForAnyValue:StringNotEquals on the "
        "multi-valued key sagemaker:VpcSubnets)"
    ),
    "DenyCreateModelOutsideApprovedSecurityGroups": (
        "CreateModel naming any security group that is not approved (ForAnyValue:StringNotEquals on "
        "sagemaker:VpcSecurityGroupIds)"
    ),
    "DenyCreateModelWithoutNetworkIsolation": (
        "with --require-network-isolation: CreateModel whose EnableNetworkIsolation is false or not "
        "given (BoolIfExists false on sagemaker:NetworkIsolation: true when the key is absent)"
    ),
    "DenyCreateTransformJobWithoutVolumeKmsKey": (
        "with --require-kms: CreateTransformJob without TransformResources.VolumeKmsKeyId "
        "(Null on sagemaker:VolumeKmsKey)"
    ),
    "DenyCreateTransformJobWithoutOutputKmsKey": (
        "with --require-kms: CreateTransformJob without TransformOutput.KmsKeyId "
        "(Null on sagemaker:OutputKmsKey)"
    ),
    "DenyCreateTransformJobForUnapprovedModels": (
        "with --approved-models: CreateTransformJob for a model whose ARN matches none of the "
        "approved ARNs (ArnNotLike on sagemaker:ModelArn; wildcards allowed)"
    ),
}

_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_MODEL_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9*?-]*:[0-9*?]*:model/\S+$")


class GuardrailError(ValueError):
    """Input the policies cannot be written from (one line for the CLI)."""


@dataclass(frozen=True)
class GuardrailSpec:
    """What is approved and what is required. Lists are de-duplicated, order kept."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    require_network_isolation: bool = False
    require_kms: bool = False
    approved_models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("subnets", "security_groups", "approved_models"):
            object.__setattr__(self, name, tuple(dict.fromkeys(getattr(self, name))))
        if not self.subnets or not self.security_groups:
            raise GuardrailError(
                "guardrails need at least one approved subnet and one approved security group "
                "(--subnets/--security-groups, or --from-account)"
            )
        _validate(self.subnets, _SUBNET_ID, "subnet id", "subnet-0123456789abcdef0")
        _validate(self.security_groups, _GROUP_ID, "security group id", "sg-0123456789abcdef0")
        _validate(
            self.approved_models,
            _MODEL_ARN,
            "model ARN",
            "arn:aws:sagemaker:us-east-1:123456789012:model/name",
        )


def _validate(values: Iterable[str], pattern: re.Pattern[str], what: str, example: str) -> None:
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise GuardrailError(f"not a {what}: {', '.join(bad)} (expected e.g. {example})")


# --- the service control policy -------------------------------------------------------------


def _deny(sid: str, action: str, condition: Mapping[str, Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Action": action, "Resource": "*", "Condition": dict(condition)}


def scp_document(spec: GuardrailSpec) -> dict[str, Any]:
    """The policy as a dict (statements in a fixed order: CreateModel first)."""
    statements = [
        _deny("DenyCreateModelWithoutVpcConfig", CREATE_MODEL, {"Null": {"sagemaker:VpcSubnets": "true"}}),
        _deny(
            "DenyCreateModelOutsideApprovedSubnets",
            CREATE_MODEL,
            {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": list(spec.subnets)}},
        ),
        _deny(
            "DenyCreateModelOutsideApprovedSecurityGroups",
            CREATE_MODEL,
            {"ForAnyValue:StringNotEquals": {"sagemaker:VpcSecurityGroupIds": list(spec.security_groups)}},
        ),
    ]
    if spec.require_network_isolation:
        statements.append(
            _deny(
                "DenyCreateModelWithoutNetworkIsolation",
                CREATE_MODEL,
                {"BoolIfExists": {"sagemaker:NetworkIsolation": "false"}},
            )
        )
    if spec.require_kms:
        statements.append(
            _deny(
                "DenyCreateTransformJobWithoutVolumeKmsKey",
                CREATE_TRANSFORM_JOB,
                {"Null": {"sagemaker:VolumeKmsKey": "true"}},
            )
        )
        statements.append(
            _deny(
                "DenyCreateTransformJobWithoutOutputKmsKey",
                CREATE_TRANSFORM_JOB,
                {"Null": {"sagemaker:OutputKmsKey": "true"}},
            )
        )
    if spec.approved_models:
        statements.append(
            _deny(
                "DenyCreateTransformJobForUnapprovedModels",
                CREATE_TRANSFORM_JOB,
                {"ArnNotLike": {"sagemaker:ModelArn": list(spec.approved_models)}},
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render_scp(spec: GuardrailSpec) -> tuple[str, list[str]]:
    """The policy text within SCP_MAX_CHARS, and notes for stderr. Indented when that fits,
    else minified (AWS counts whitespace); GuardrailError when even that is too long."""
    document = scp_document(spec)
    notes = [NO_JOB_VPC_KEYS_NOTE]
    pretty = json.dumps(document, indent=2)
    if len(pretty) <= SCP_MAX_CHARS:
        return pretty + "\n", notes
    compact = json.dumps(document, separators=(",", ":"))
    if len(compact) > SCP_MAX_CHARS:
        raise GuardrailError(
            f"the policy would be {len(compact):,} characters even minified, over the SCP limit of "
            f"{SCP_MAX_CHARS:,}: approve fewer subnets, security groups or models (e.g. model ARN "
            "wildcards), or split the lists over several policies"
        )
    notes.append(
        f"printed minified ({len(compact):,} characters): indented it would be {len(pretty):,}, over the "
        f"SCP limit of {SCP_MAX_CHARS:,}"
    )
    return compact + "\n", notes


# --- CloudFormation Guard rules ---------------------------------------------------------------


def _guard_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def render_guard(spec: GuardrailSpec) -> str:
    """Guard rules for every AWS::SageMaker::Model of a template (cfn-guard 3).

    The rules compare literal ids: a `Ref` or `Fn::*` in Subnets or SecurityGroupIds is not a
    listed id, so it fails here (`vpcguard preflight --template` resolves parameters)."""
    lines = [
        "# vpcguard guardrails: CloudFormation Guard rules for AWS::SageMaker::Model",
        "# Run with: cfn-guard validate --rules sagemaker-vpc.guard --data template.yaml",
        "",
        "let sagemaker_models = Resources.*[ Type == 'AWS::SageMaker::Model' ]",
        "let sagemaker_models_with_subnets = %sagemaker_models[ Properties.VpcConfig.Subnets exists ]",
        "let sagemaker_models_with_groups = "
        "%sagemaker_models[ Properties.VpcConfig.SecurityGroupIds exists ]",
        f"let vpcguard_approved_subnets = {_guard_list(spec.subnets)}",
        f"let vpcguard_approved_security_groups = {_guard_list(spec.security_groups)}",
        "",
        "# Every model runs in a VPC: no VpcConfig means SageMaker's own network.",
        "rule sagemaker_model_vpc_config_present when %sagemaker_models !empty {",
        "    %sagemaker_models.Properties.VpcConfig exists",
        "    %sagemaker_models.Properties.VpcConfig.Subnets exists",
        "    %sagemaker_models.Properties.VpcConfig.SecurityGroupIds exists",
        "    <<",
        "        Violation: an AWS::SageMaker::Model has no VpcConfig (with Subnets and SecurityGroupIds)",
        "        Fix: set VpcConfig with approved Subnets and SecurityGroupIds",
        "    >>",
        "}",
        "",
        "# The subnets of every model's VpcConfig are all approved (a model without any: the rule above).",
        "rule sagemaker_model_subnets_approved when %sagemaker_models_with_subnets !empty {",
        "    %sagemaker_models_with_subnets.Properties.VpcConfig.Subnets !empty",
        "    %sagemaker_models_with_subnets.Properties.VpcConfig.Subnets[*] in %vpcguard_approved_subnets",
        "    <<",
        "        Violation: a model's VpcConfig names a subnet that is not approved",
        "        Fix: use only the approved subnets (literal ids)",
        "    >>",
        "}",
        "",
        "# The security groups of every model's VpcConfig are all approved.",
        "rule sagemaker_model_security_groups_approved when %sagemaker_models_with_groups !empty {",
        "    %sagemaker_models_with_groups.Properties.VpcConfig.SecurityGroupIds !empty",
        "    %sagemaker_models_with_groups.Properties.VpcConfig.SecurityGroupIds[*] in "
        "%vpcguard_approved_security_groups",
        "    <<",
        "        Violation: a model's VpcConfig names a security group that is not approved",
        "        Fix: use only the approved security groups (literal ids)",
        "    >>",
        "}",
    ]
    if spec.require_network_isolation:
        lines += [
            "",
            '# Every model has network isolation on (true, or the string "true" CloudFormation accepts).',
            "rule sagemaker_model_network_isolation when %sagemaker_models !empty {",
            "    %sagemaker_models.Properties.EnableNetworkIsolation exists",
            '    %sagemaker_models.Properties.EnableNetworkIsolation in [true, "true"]',
            "    <<",
            "        Violation: a model does not set EnableNetworkIsolation to true",
            "        Fix: set EnableNetworkIsolation: true",
            "    >>",
            "}",
        ]
    return "\n".join(lines) + "\n"


# --- approved lists from the account (--from-account) -------------------------------------------

# Checks that are not about the network a model's subnets and groups make: the execution
# role, a setting of the model itself, and job buckets (NOT_APPLICABLE to models anyway).
NOT_NETWORK_CHECKS = frozenset(
    {"execution_role_vpc_permissions", "network_isolation", "s3_bucket_policy_vpc_only"}
)
# A network check result that keeps a model's subnets and groups off the approved lists.
_DISQUALIFYING = {Status.FAIL, Status.WOULD_FIX, Status.ERROR, Status.EXEMPT}


@dataclass
class DerivedLists:
    """The approved lists `--from-account` found, and why each other model did not count."""

    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    qualifying_models: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)  # model name -> reason


def _disqualifiers(results: Iterable[CheckResult]) -> list[str]:
    return [
        f"{r.check_id} {r.status.value}"
        for r in results
        if r.check_id not in NOT_NETWORK_CHECKS and r.status in _DISQUALIFYING
    ]


def derive_approved_lists(evaluated: Iterable[tuple[Subject, SubjectReport]]) -> DerivedLists:
    """The rule: a model's subnets and security groups are approved when the model has a
    VpcConfig and every network check (all checks but NOT_NETWORK_CHECKS) is PASS or
    NOT_APPLICABLE for it today; FAIL, WOULD_FIX, ERROR and EXEMPT (a failure someone
    accepted) all disqualify, whatever the severity. The lists are the union over the
    qualifying models, in the order first seen. A subnet or group also used by a failing
    model is still approved when one qualifying model uses it."""
    derived = DerivedLists()
    subnets: dict[str, None] = {}
    groups: dict[str, None] = {}
    for subject, report in evaluated:
        if subject.error:
            derived.excluded[report.name] = f"could not be read: {subject.error}"
            continue
        if subject.vpc_config is None:
            derived.excluded[report.name] = "no VpcConfig"
            continue
        reasons = _disqualifiers(report.results)
        if reasons:
            derived.excluded[report.name] = ", ".join(reasons)
            continue
        derived.qualifying_models.append(report.name)
        subnets.update(dict.fromkeys(subject.vpc_config.subnet_ids))
        groups.update(dict.fromkeys(subject.vpc_config.security_group_ids))
    derived.subnets, derived.security_groups = list(subnets), list(groups)
    return derived


def evaluate_account_models(
    engine: Engine, model_names: Iterable[str]
) -> list[tuple[Subject, SubjectReport]]:
    """Every named model, resolved and evaluated read-only through one engine (one shared
    inventory: each VPC's facts are read once)."""
    out = []
    for name in model_names:
        subject = engine.resolver.model(name)
        out.append((subject, engine.evaluate(subject)))
    return out


def lists_from_account(clients: AwsClients) -> tuple[DerivedLists, list[str]]:
    """`--from-account`: list every model of the region, evaluate each read-only (no fixes,
    whatever the environment says), and derive the approved lists; notes say which models
    counted and why the others did not. GuardrailError when no model qualifies."""
    engine = Engine(
        clients, Settings(remediate=False, dry_run=False), trigger="cli guardrails --from-account"
    )
    names = list(list_model_names(clients, None))
    derived = derive_approved_lists(evaluate_account_models(engine, names))
    if not derived.qualifying_models:
        raise GuardrailError(
            f"no model in {clients.region} passes the network checks today ({len(names)} model(s) read), "
            "so --from-account found nothing to approve: give --subnets and --security-groups"
        )
    notes = [
        f"--from-account: {len(derived.qualifying_models)} of {len(names)} models qualify "
        f"({', '.join(derived.qualifying_models)}): {len(derived.subnets)} subnet(s), "
        f"{len(derived.security_groups)} security group(s) approved"
    ]
    notes += [f"  not approved from {name}: {reason}" for name, reason in derived.excluded.items()]
    return derived, notes
