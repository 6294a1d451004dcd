"""Stage 5 of `make demo`: guardrails that refuse a bad setup before it exists.

1. `vpcguard guardrails --from-account ...`: an SCP whose approved subnets and groups are those
   of the models that pass the network checks today; checked with vpcguard's Deny evaluator
   (a rogue subnet and a missing VpcConfig are denied, the approved network is not).
2. The same lists as CloudFormation Guard rules, run by Guard (cfn-guard-rs, a dev dependency)
   on the template of step 3. Guard compares literal ids: a `!Ref` it cannot resolve fails.
3. `vpcguard preflight --template ... --format sarif` on a small CloudFormation template with
   short intrinsic tags: one model on the approved network, one on the legacy VPC, one whose
   subnets come from a parameter and from a subnet the template itself creates; SARIF results
   with the line of each resource.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from demo_support import Expectations, first_sentence, say

from tests.localaws.builders import Builder
from tests.localaws.demo_account import DemoAccount
from tests.localaws.server import ACCOUNT, REGION
from vpcguard.deny_eval import Request, denying_statements
from vpcguard.guardrails import SCP_MAX_CHARS
from vpcguard.templates import load_yaml_with_lines

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: batch scoring models (vpcguard demo)
Parameters:
  SubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
    Default: {approved_subnets}
  GroupId:
    Type: AWS::EC2::SecurityGroup::Id
    Default: {approved_group}
  RoleName:
    Type: String
    Default: {role_name}
Resources:
  ScoringSubnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: {vpc}
      CidrBlock: 10.0.50.0/24
  ChurnScoringV2:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      EnableNetworkIsolation: true
      PrimaryContainer:
        Image: !Sub "${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.amazonaws.com/xgboost:1"
      VpcConfig:
        Subnets: {approved_subnets_list}
        SecurityGroupIds: [{approved_group}]
  FraudScoringV2:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      EnableNetworkIsolation: true
      VpcConfig:
        Subnets: {legacy_subnets}
        SecurityGroupIds: [{legacy_group}]
  StagingScoring:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      VpcConfig:
        Subnets: [!Select [0, !Ref SubnetIds], !Ref ScoringSubnet]
        SecurityGroupIds: [!Ref GroupId]
"""


def _vpcguard(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, check=False)


def _model_vpc(builder: Builder, name: str) -> dict[str, Any]:
    return builder.client("sagemaker").describe_model(ModelName=name)


def run_guardrails_stage(
    endpoint_url: str, builder: Builder, account: DemoAccount, command: list[str], expect: Expectations
) -> None:
    aws = ["--endpoint-url", endpoint_url, "--region", REGION]
    churn = _model_vpc(builder, "churn-scoring")
    legacy = _model_vpc(builder, "fraud-legacy")
    approved_subnets = churn["VpcConfig"]["Subnets"]
    rogue_subnet = legacy["VpcConfig"]["Subnets"][0]

    # --- 5a. the SCP
    flags = [
        "--require-network-isolation",
        "--require-kms",
        "--approved-models",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-*",
    ]
    say("5a. $ vpcguard guardrails --from-account " + " ".join(flags))
    scp = _vpcguard(command, "guardrails", "--from-account", *flags, *aws)
    expect.check(scp.returncode == 0, f"vpcguard guardrails exits 0 ({scp.returncode}: {scp.stderr.strip()})")
    if scp.returncode != 0:
        return
    policy = json.loads(scp.stdout)
    shown = scp.stdout.splitlines()
    for line in shown[:14]:
        say(f"  {line}")
    say(
        f"  ... ({len(shown)} lines, {len(scp.stdout.rstrip())} of {SCP_MAX_CHARS:,} characters; "
        f"{len(policy['Statement'])} Deny statements: "
        + ", ".join(s["Sid"] for s in policy["Statement"])
        + ")"
    )
    for note in scp.stderr.strip().splitlines():
        say(f"  stderr: {note}")
    expect.check(len(scp.stdout.rstrip()) <= SCP_MAX_CHARS, "the SCP is within 5,120 characters")

    checks = {
        "CreateModel on churn-scoring's subnets and group, isolation on": (
            Request(
                "sagemaker:CreateModel",
                {
                    "sagemaker:VpcSubnets": approved_subnets,
                    "sagemaker:VpcSecurityGroupIds": churn["VpcConfig"]["SecurityGroupIds"],
                    "sagemaker:NetworkIsolation": "true",
                },
            ),
            False,
        ),
        f"CreateModel adding the legacy subnet {rogue_subnet}": (
            Request(
                "sagemaker:CreateModel",
                {
                    "sagemaker:VpcSubnets": [approved_subnets[0], rogue_subnet],
                    "sagemaker:VpcSecurityGroupIds": churn["VpcConfig"]["SecurityGroupIds"],
                    "sagemaker:NetworkIsolation": "true",
                },
            ),
            True,
        ),
        "CreateModel without a VpcConfig": (
            Request("sagemaker:CreateModel", {"sagemaker:NetworkIsolation": "true"}),
            True,
        ),
        "CreateTransformJob without a volume KMS key": (
            Request(
                "sagemaker:CreateTransformJob",
                {"sagemaker:ModelArn": churn["ModelArn"], "sagemaker:OutputKmsKey": "k"},
            ),
            True,
        ),
    }
    say("  The policy against requests (vpcguard's Deny evaluator):")
    for label, (request, should_deny) in checks.items():
        denied_by = denying_statements(policy, request)
        verdict = f"DENIED by {', '.join(denied_by)}" if denied_by else "allowed"
        say(f"    {label}: {verdict}")
        expect.check(
            bool(denied_by) == should_deny, f"SCP: {label} is {'denied' if should_deny else 'allowed'}"
        )

    subnets_statement = next(
        s for s in policy["Statement"] if s["Sid"] == "DenyCreateModelOutsideApprovedSubnets"
    )
    derived_subnets = subnets_statement["Condition"]["ForAnyValue:StringNotEquals"]["sagemaker:VpcSubnets"]
    groups_statement = next(
        s for s in policy["Statement"] if s["Sid"] == "DenyCreateModelOutsideApprovedSecurityGroups"
    )
    derived_groups = groups_statement["Condition"]["ForAnyValue:StringNotEquals"][
        "sagemaker:VpcSecurityGroupIds"
    ]
    expect.check(rogue_subnet not in derived_subnets, "the legacy VPC's subnets are not approved")

    with tempfile.TemporaryDirectory(prefix="vpcguard-demo-") as workdir:
        template_path = Path(workdir) / "models.yaml"
        template_path.write_text(
            TEMPLATE.format(
                approved_subnets=",".join(approved_subnets),
                approved_subnets_list=json.dumps(approved_subnets),
                approved_group=churn["VpcConfig"]["SecurityGroupIds"][0],
                role_name=churn["ExecutionRoleArn"].split("/")[-1],
                vpc=account.vpcs["prod"],
                legacy_subnets=json.dumps(legacy["VpcConfig"]["Subnets"]),
                legacy_group=legacy["VpcConfig"]["SecurityGroupIds"][0],
            )
        )

        # --- 5b. Guard rules
        say(
            "\n5b. $ vpcguard guardrails --format guard --subnets ... --security-groups ... "
            "--require-network-isolation"
        )
        guard = _vpcguard(
            command,
            "guardrails",
            "--format",
            "guard",
            "--require-network-isolation",
            "--subnets",
            *derived_subnets,
            "--security-groups",
            *derived_groups,
        )
        expect.check(guard.returncode == 0, "vpcguard guardrails --format guard exits 0")
        rule_lines = [line for line in guard.stdout.splitlines() if line.strip()]
        for line in rule_lines[3:12]:
            say(f"  {line}")
        say(f"  ... ({sum(1 for line in rule_lines if line.startswith('rule '))} rules)")
        _run_guard(guard.stdout, template_path, expect)

        # --- 5c. template preflight, SARIF
        say(f"\n5c. $ vpcguard preflight --template {template_path.name} --format sarif")
        sarif = subprocess.run(
            [*command, "preflight", "--template", template_path.name, "--format", "sarif", *aws],
            capture_output=True,
            text=True,
            check=False,
            cwd=workdir,
        )
        expect.check(
            sarif.returncode == 2,
            f"the template preflight exits 2 (an unresolved subnet; got "
            f"{sarif.returncode}: {sarif.stderr.strip()})",
        )
        if not sarif.stdout.strip():
            return
        log = json.loads(sarif.stdout)
        results = log["runs"][0]["results"]
        say(
            f"  SARIF {log['version']}: {len(log['runs'][0]['tool']['driver']['rules'])} rules, "
            f"{len(results)} results; e.g.:"
        )
        say("  " + json.dumps(results[0], indent=2).replace("\n", "\n  ")[:1600])
        say("  All results (model, line, rule, level):")
        lines_seen = {}
        for result in results:
            location = result["locations"][0]
            name = location["logicalLocations"][0]["name"]
            line = location["physicalLocation"]["region"]["startLine"]
            lines_seen[name] = line
            say(
                f"    {name:<15} line {line:<3} {result['ruleId']:<32} {result['level']:<7} "
                f"{first_sentence(result['message']['text'], 70)}"
            )
        say(f"  stderr: {sarif.stderr.strip()}")
        text = template_path.read_text().splitlines()
        expect.check(
            all(text[line - 1].strip() == f"{name}:" for name, line in lines_seen.items()),
            "every SARIF result points at its resource's line",
        )
        expect.check(
            "ChurnScoringV2" not in lines_seen, "the model on the approved network has no SARIF result"
        )
        expect.check(
            {"FraudScoringV2", "StagingScoring"} <= set(lines_seen),
            "the legacy-VPC model and the unresolved one are reported",
        )


def _run_guard(rules: str, template_path: Path, expect: Expectations) -> None:
    try:
        from tests.guard_runner import run_guard
    except ImportError:  # cfn-guard-rs is a dev dependency; `make demo` installs it
        say("  (cfn-guard-rs is not installed: Guard not run)")
        return
    template, _ = load_yaml_with_lines(template_path.read_text())
    outcome = run_guard(template, rules)
    say(f"  Guard (cfn-guard-rs) on {template_path.name}: {outcome.status}")
    for logical_id, rules_failed in outcome.failing.items():
        say(f"    {logical_id}: {', '.join(rules_failed)}")
    expect.check(
        outcome.status == "FAIL" and set(outcome.failing) == {"FraudScoringV2", "StagingScoring"},
        "Guard fails the legacy-VPC model and the one with a !Ref it cannot resolve, not the approved one",
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `make demo` (scripts/demo.py): this stage needs the demo account")
