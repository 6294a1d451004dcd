"""`vpcguard preflight --template`: CloudFormation/SAM YAML and JSON templates with intrinsic
functions, and a Terraform plan, each model checked against a real local AWS world (moto's
server); SARIF 2.1.0 output with file and line. Reading and resolving templates is also
tested on its own (no AWS)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.checks.base import check_ids
from vpcguard.templates import (
    CfnResolver,
    TemplateError,
    Unresolved,
    load_json_with_lines,
    load_yaml_with_lines,
    read_template,
)


@pytest.fixture
def aws_args(endpoint_url) -> list[str]:
    return ["--region", REGION, "--endpoint-url", endpoint_url]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(text: str, needle: str) -> int:
    """1-based line of the one line of `text` that starts with `needle` (after indentation)."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith(needle)]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def by_name(document: dict) -> dict[str, dict]:
    return {s["name"]: s for s in document["subjects"]}


def results(subject: dict) -> dict[str, dict]:
    return {r["check_id"]: r for r in subject["results"]}


# --- a CloudFormation YAML template with short intrinsic tags -----------------------------------

CFN_YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: batch scoring models
Parameters:
  SubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
    Default: {subnets}
  GroupId:
    Type: AWS::EC2::SecurityGroup::Id
    Default: {group}
  LonelyGroupId:
    Type: String
    Default: {lonely}
  RoleName:
    Type: String
    Default: {role_name}
  Stage:
    Type: String
    Default: dev
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
Mappings:
  Network:
    {region}:
      SecondSubnet: {second_subnet}
Resources:
  ModelRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement: []
  NewSubnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: {vpc}
      CidrBlock: 10.0.200.0/24
  Scoring:
    Type: AWS::SageMaker::Model
    Properties:
      ModelName: !Sub "scoring-${{Stage}}"
      ExecutionRoleArn: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      EnableNetworkIsolation: true
      PrimaryContainer:
        Image: !Sub "${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/xgboost:1"
      VpcConfig:
        Subnets: !Ref SubnetIds
        SecurityGroupIds:
          - !Ref GroupId
  Picked:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !GetAtt ModelRole.Arn
      EnableNetworkIsolation: !If [IsNotProd, true, false]
      VpcConfig:
        Subnets:
          - !Select [0, !Ref SubnetIds]
          - !FindInMap [Network, !Ref "AWS::Region", SecondSubnet]
        SecurityGroupIds: !Split [",", !Join [",", [!Ref GroupId]]]
  Lonely:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !Sub "arn:aws:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      EnableNetworkIsolation: true
      VpcConfig:
        Subnets: !Ref SubnetIds
        SecurityGroupIds: [!Ref LonelyGroupId]
  Pending:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !GetAtt ModelRole.Arn
      VpcConfig:
        Subnets:
          - !Select [0, !Ref SubnetIds]
          - !Ref NewSubnet
        SecurityGroupIds: [!Ref GroupId]
  Public:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !Sub "arn:aws:iam::${{AWS::AccountId}}:role/${{RoleName}}"
      EnableNetworkIsolation: true
  ProdOnly:
    Type: AWS::SageMaker::Model
    Condition: IsProd
    Properties:
      ExecutionRoleArn: !GetAtt ModelRole.Arn
"""


@pytest.fixture
def cfn_world(builder, tmp_path, monkeypatch):
    """A compliant VPC, a group without the self rule, and the template above written to
    ./template.yaml (the working directory is the test's own, as a CI checkout would be)."""
    net = builder.compliant_vpc()
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    text = CFN_YAML.format(
        subnets=",".join(net.subnet_ids),
        group=net.security_group_id,
        lonely=lonely,
        role_name=net.role_arn.split("/")[-1],
        region=REGION,
        second_subnet=net.subnet_ids[1],
        vpc=net.vpc_id,
    )
    monkeypatch.chdir(tmp_path)
    Path("template.yaml").write_text(text)
    return net, lonely, text


def test_yaml_template_with_intrinsics_is_resolved_and_each_model_checked(cfn_world, capsys, aws_args):
    net, lonely, _ = cfn_world

    code, out, err = run(capsys, "preflight", "--template", "template.yaml", "--format", "json", *aws_args)

    subjects = by_name(json.loads(out))
    # ProdOnly's Condition is false: the stack would not create it.
    assert sorted(subjects) == ["Lonely", "Pending", "Picked", "Public", "Scoring"]
    scoring = subjects["Scoring"]
    assert scoring["model_name"] == "scoring-dev" and scoring["vpc_id"] == net.vpc_id
    assert scoring["account"] == "123456789012"  # the role ARN's !Sub ${AWS::AccountId}, read from STS
    assert sorted(results(scoring)) == sorted(check_ids())
    bad = {
        k: (r["status"], r["detail"])
        for k, r in results(scoring).items()
        if r["status"] not in ("PASS", "NOT_APPLICABLE")
    }
    assert bad == {}  # the compliant VPC, the real role, network isolation on

    picked = results(subjects["Picked"])
    assert picked["vpc_config_consistent"]["status"] == "PASS"  # !Select + !FindInMap + !Split/!Join
    assert picked["network_isolation"]["status"] == "PASS"  # !If on a condition
    role = picked["execution_role_vpc_permissions"]
    assert role["status"] == "ERROR" and "!GetAtt ModelRole.Arn" in role["detail"]
    assert "AWS::IAM::Role ModelRole of this template" in role["detail"]

    sg = results(subjects["Lonely"])["sg_self_ingress"]
    assert sg["status"] == "FAIL" and lonely in sg["detail"]

    (pending,) = subjects["Pending"]["results"]
    assert pending["status"] == "ERROR" and pending["check_id"] == "model_vpc_configured"
    assert (
        "VpcConfig.Subnets[1]: !Ref NewSubnet is the AWS::EC2::Subnet NewSubnet of this template"
        in pending["detail"]
    )
    assert "template.yaml line" in pending["detail"]

    assert results(subjects["Public"])["model_vpc_configured"]["status"] == "FAIL"
    # The unresolved subnet is an ERROR: exit 2, one stderr line naming the model and the value.
    assert code == 2
    assert err.count("\n") == 1 and "model Pending" in err and "!Ref NewSubnet" in err


def test_sarif_of_a_template_has_the_file_and_each_resource_line(cfn_world, capsys, aws_args):
    _, lonely, text = cfn_world

    code, out, _ = run(capsys, "preflight", "--template", "template.yaml", "--format", "sarif", *aws_args)

    log = json.loads(out)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (sarif_run,) = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert sarif_run["tool"]["driver"]["name"] == "vpcguard"
    assert [r["id"] for r in rules] == check_ids()
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in (
            "error",
            "warning",
            "note",
        )
        assert 0 < float(rule["properties"]["security-severity"]) <= 10

    found = {}
    for result in sarif_run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "template.yaml"
        found[(location["logicalLocations"][0]["name"], result["ruleId"])] = (
            physical["region"]["startLine"],
            result,
        )

    assert found[("Lonely", "sg_self_ingress")][0] == line_of(text, "Lonely:")
    assert lonely in found[("Lonely", "sg_self_ingress")][1]["message"]["text"]
    line, unresolved = found[("Pending", "model_vpc_configured")]
    assert line == line_of(text, "Pending:") and unresolved["level"] == "warning"
    assert (
        unresolved["message"]["text"].startswith("model Pending: ")
        and "could not be evaluated" in unresolved["message"]["text"]
    )
    assert found[("Public", "model_vpc_configured")][0] == line_of(text, "Public:")
    assert found[("Public", "model_vpc_configured")][1]["level"] == "error"  # HIGH
    # Nothing for the clean model, and the role check preflight cannot run is not an alert.
    assert not [key for key in found if key[0] == "Scoring"]
    assert ("Picked", "execution_role_vpc_permissions") not in found
    assert code == 2


def test_parameter_overrides_a_default_and_can_fix_an_unresolved_value(cfn_world, builder, capsys, aws_args):
    net, _, text = cfn_world
    stripped = text.replace("          - !Ref NewSubnet\n", "          - !Ref SecondSubnet\n").replace(
        "  Stage:\n", "  SecondSubnet:\n    Type: AWS::EC2::Subnet::Id\n  Stage:\n"
    )
    Path("template.yaml").write_text(stripped)

    code, out, err = run(capsys, "preflight", "--template", "template.yaml", "--format", "json", *aws_args)
    pending = by_name(json.loads(out))["Pending"]["results"][0]
    assert (
        code == 2
        and "parameter SecondSubnet has no Default (give its value with --parameter SecondSubnet=VALUE)"
        in pending["detail"]
    )

    code, out, err = run(
        capsys,
        "preflight",
        "--template",
        "template.yaml",
        "--format",
        "json",
        "--parameter",
        f"SecondSubnet={net.subnet_ids[1]}",
        "--parameter",
        "Stage=prod",
        *aws_args,
    )
    subjects = by_name(json.loads(out))
    assert "ProdOnly" in subjects and subjects["Scoring"]["model_name"] == "scoring-prod"
    assert results(subjects["Pending"])["vpc_config_consistent"]["status"] == "PASS"
    assert results(subjects["Picked"])["network_isolation"]["status"] == "FAIL"  # !If IsNotProd is now false


# --- a JSON template --------------------------------------------------------------------------------


def test_json_template_resolves_fn_sub_and_reports_the_lines(
    builder, capsys, aws_args, tmp_path, monkeypatch
):
    net = builder.compliant_vpc()
    template = {
        "Parameters": {"Prefix": {"Type": "String", "Default": net.subnet_ids[0].split("-")[0]}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ExecutionRoleArn": net.role_arn,
                    "EnableNetworkIsolation": "false",
                    "VpcConfig": {
                        "Subnets": [
                            {
                                "Fn::Sub": [
                                    "${P}-${Id}",
                                    {"P": {"Ref": "Prefix"}, "Id": net.subnet_ids[0].split("-", 1)[1]},
                                ]
                            },
                            net.subnet_ids[1],
                        ],
                        "SecurityGroupIds": [net.security_group_id],
                    },
                },
            },
        },
    }
    text = json.dumps(template, indent=2)
    monkeypatch.chdir(tmp_path)
    Path("infra").mkdir()
    Path("infra/stack.json").write_text(text)

    code, out, _ = run(
        capsys,
        "preflight",
        "--template",
        str(tmp_path / "infra/stack.json"),
        "--format",
        "sarif",
        *aws_args,
    )
    (result,) = json.loads(out)["runs"][0]["results"]  # only network isolation ("false" as a string)
    assert result["ruleId"] == "network_isolation" and result["level"] == "note"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "infra/stack.json"  # relative to the working directory
    assert location["region"]["startLine"] == line_of(text, '"Model": {')
    assert code == 0  # INFORMATIONAL is below the default --fail-on LOW


# --- a Terraform plan -------------------------------------------------------------------------------


def terraform_plan(net, lonely: str) -> dict:
    def change(name: str, actions: list[str], after: dict, after_unknown: dict | None = None) -> dict:
        return {
            "address": f"aws_sagemaker_model.{name}",
            "mode": "managed",
            "type": "aws_sagemaker_model",
            "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {
                "actions": actions,
                "before": None,
                "after": after,
                "after_unknown": after_unknown or {},
            },
        }

    def model(name: str, groups: list[str] | None, **extra) -> dict:
        after = {
            "name": name,
            "execution_role_arn": net.role_arn,
            "enable_network_isolation": True,
            "vpc_config": []
            if groups is None
            else [{"subnets": net.subnet_ids, "security_group_ids": groups}],
            "tags": None,
        }
        after.update(extra)
        return after

    return {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {}},
        "resource_changes": [
            {
                "address": "aws_security_group.extra",
                "mode": "managed",
                "type": "aws_security_group",
                "name": "extra",
                "change": {"actions": ["create"], "after": {}, "after_unknown": {"id": True}},
            },
            change("scoring", ["create"], model("scoring", [net.security_group_id])),
            change("lonely", ["update"], model("lonely", [lonely])),
            change(
                "pending",
                ["create"],
                model("pending", None, vpc_config=[{"subnets": net.subnet_ids}]),
                {"vpc_config": [{"security_group_ids": True}], "arn": True},
            ),
            change("retired", ["delete"], None),
        ],
    }


def test_terraform_plan_models_are_checked_with_lines_and_unknown_values_are_errors(
    builder, capsys, aws_args, tmp_path, monkeypatch
):
    net = builder.compliant_vpc()
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    text = json.dumps(terraform_plan(net, lonely), indent=2)
    monkeypatch.chdir(tmp_path)
    Path("plan.json").write_text(text)

    code, out, err = run(capsys, "preflight", "--template", "plan.json", "--format", "json", *aws_args)
    subjects = by_name(json.loads(out))
    assert sorted(subjects) == [
        "aws_sagemaker_model.lonely",
        "aws_sagemaker_model.pending",
        "aws_sagemaker_model.scoring",
    ]
    scoring = subjects["aws_sagemaker_model.scoring"]
    assert scoring["vpc_id"] == net.vpc_id and scoring["model_name"] == "scoring"
    assert not [r for r in scoring["results"] if r["status"] in ("FAIL", "ERROR")]
    assert results(subjects["aws_sagemaker_model.lonely"])["sg_self_ingress"]["status"] == "FAIL"
    (pending,) = subjects["aws_sagemaker_model.pending"]["results"]
    assert pending["status"] == "ERROR"
    assert "vpc_config.security_group_ids is known only after apply" in pending["detail"]
    assert code == 2 and "aws_sagemaker_model.pending" in err

    code, out, _ = run(capsys, "preflight", "--template", "plan.json", "--format", "sarif", *aws_args)
    lines = {
        r["locations"][0]["logicalLocations"][0]["name"]: r["locations"][0]["physicalLocation"]["region"][
            "startLine"
        ]
        for r in json.loads(out)["runs"][0]["results"]
    }
    source = text.splitlines()
    for address, line in lines.items():
        # The line the resource_changes entry opens on: "{" followed by its address.
        assert source[line - 1].strip() == "{" and f'"address": "{address}"' in source[line]


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Resources: [unclosed\n", "not valid YAML"),
        ("Resources:\n  M:\n    Type: !Bogus x\n", "line 3: unknown tag !Bogus"),
        ('{"Resources": {"M": }', "not valid JSON"),
        ("just: a mapping\n", "has no Resources"),
    ],
)
def test_a_file_that_is_no_template_is_one_clear_line(capsys, aws_args, tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    code, out, err = run(capsys, "preflight", "--template", str(path), *aws_args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_template_flags_are_checked(capsys, aws_args, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("Parameters:\n  A:\n    Type: String\nResources: {}\n")
    code, _, err = run(capsys, "preflight", "--template", str(path), "--parameter", "B=1", *aws_args)
    assert code == 2 and "--parameter names no parameter of the template: B" in err
    code, _, err = run(capsys, "preflight", "--template", str(path), "--subnets", "subnet-1", *aws_args)
    assert code == 2 and "leave out --subnets" in err
    code, _, err = run(capsys, "preflight", *aws_args)
    assert code == 2 and "needs --subnets and --security-groups, or --template FILE" in err
    code, _, err = run(capsys, "preflight", "--template", str(tmp_path / "missing.yaml"), *aws_args)
    assert code == 2 and "cannot read" in err and "missing.yaml" in err


# --- reading and resolving, without AWS ----------------------------------------------------------------


def test_json_loader_lines_match_the_text():
    text = '{\n  "a": [\n    1,\n    {"b": "x\\"y"}\n  ],\n  "c": {\n    "d": null\n  }\n}'
    value, lines = load_json_with_lines(text)
    assert value == json.loads(text)
    assert lines[("a",)] == 2 and lines[("a", 0)] == 3 and lines[("a", 1)] == 4 and lines[("a", 1, "b")] == 4
    assert lines[("c",)] == 6 and lines[("c", "d")] == 7


def test_yaml_loader_keeps_the_short_tags_as_intrinsics_and_dates_as_text():
    value, lines = load_yaml_with_lines(
        textwrap.dedent("""\
        Version: 2012-10-17
        A: !Ref X
        B: !GetAtt Role.Arn
        C: !Sub ["${x}", {x: !Ref Y}]
        D: !If [Cond, !Ref AWS::NoValue, [1, 2]]
    """)
    )
    assert value == {
        "Version": "2012-10-17",
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Role", "Arn"]},
        "C": {"Fn::Sub": ["${x}", {"x": {"Ref": "Y"}}]},
        "D": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, [1, 2]]},
    }
    assert lines[("B",)] == 3 and lines[("D",)] == 5


def test_resolver_functions():
    template = {
        "Parameters": {
            "Ids": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
            "Env": {"Type": "String", "Default": "dev"},
            "FromSsm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/net/subnet"},
        },
        "Conditions": {
            "Dev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
            "Both": {"Fn::And": [{"Condition": "Dev"}, True]},
        },
        "Mappings": {"M": {"us-east-1": {"k": "v"}}},
        "Resources": {"Sub1": {"Type": "AWS::EC2::Subnet"}},
    }
    resolver = CfnResolver(template, region="us-east-1", account_id=lambda: "111122223333")
    assert resolver.resolve({"Ref": "Ids"}) == ["a", "b", "c"]
    assert (
        resolver.resolve({"Fn::Sub": "${Env}-${!Literal}-${AWS::AccountId}"}) == "dev-${Literal}-111122223333"
    )
    assert resolver.resolve({"Fn::Select": [1, {"Ref": "Ids"}]}) == "b"
    assert resolver.resolve({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "k"]}) == "v"
    assert resolver.resolve({"Fn::If": ["Both", "yes", "no"]}) == "yes"
    assert resolver.resolve([{"Fn::If": ["Dev", {"Ref": "AWS::NoValue"}, "x"]}, "y"]) == ["y"]
    with pytest.raises(Unresolved, match="SSM Parameter Store"):
        resolver.resolve({"Ref": "FromSsm"})
    with pytest.raises(
        Unresolved, match="!GetAtt Sub1.SubnetId is an attribute of the AWS::EC2::Subnet Sub1"
    ):
        resolver.resolve({"Fn::GetAtt": ["Sub1", "SubnetId"]})
    with pytest.raises(Unresolved, match="another stack"):
        resolver.resolve({"Fn::ImportValue": "net-subnet"})
    with pytest.raises(Unresolved, match="names no parameter or resource"):
        resolver.resolve({"Ref": "Nope"})


def test_a_whole_vpc_config_behind_if_and_no_value(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        textwrap.dedent("""\
        Parameters:
          UseVpc: {Type: String, Default: "no"}
        Conditions:
          WithVpc: !Equals [!Ref UseVpc, "yes"]
        Resources:
          M:
            Type: AWS::SageMaker::Model
            Properties:
              VpcConfig: !If [WithVpc, {Subnets: [subnet-1], SecurityGroupIds: [sg-1]}, !Ref AWS::NoValue]
    """)
    )
    (model,) = read_template(str(path), region=REGION).models
    assert model.subnet_ids is None and model.error is None and model.line == 6
    (model,) = read_template(str(path), region=REGION, parameters={"UseVpc": "yes"}).models
    assert model.subnet_ids == ("subnet-1",) and model.security_group_ids == ("sg-1",)
    with pytest.raises(TemplateError, match="Terraform plans"):
        plan = tmp_path / "plan.json"
        plan.write_text('{"resource_changes": []}')
        read_template(str(plan), region=REGION, parameters={"X": "1"})


def test_sarif_of_a_plain_preflight_has_logical_locations_only(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    lonely = builder.security_group(net.vpc_id, self_ingress=False)

    code, out, err = run(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        lonely,
        "--format",
        "sarif",
        *aws_args,
    )

    results = json.loads(out)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [
        "sg_self_ingress"
    ]  # the role check preflight skips is not an alert
    (location,) = results[0]["locations"]
    assert "physicalLocation" not in location and location["logicalLocations"] == [
        {"name": "preflight", "kind": "resource"}
    ]
    assert code == 1 and err == ""
