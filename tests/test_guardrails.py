"""`vpcguard guardrails`: the SCP's behaviour through a small evaluator of the policy language
(vpcguard.deny_eval; moto has no policy simulator for SCP conditions), the Guard rules run by
CloudFormation Guard itself (the cfn-guard-rs binding), and `--from-account` against a local
AWS world."""

from __future__ import annotations

import json

import pytest

from tests.guard_runner import run_guard
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.deny_eval import Request, condition_holds, denying_statements, is_denied, key_condition_holds
from vpcguard.guardrails import (
    SCP_MAX_CHARS,
    STATEMENT_INTENTS,
    GuardrailError,
    GuardrailSpec,
    render_guard,
    render_scp,
    scp_document,
)

SUBNET_A, SUBNET_B, SUBNET_ROGUE = (
    "subnet-0aaaaaaaaaaaaaaa1",
    "subnet-0bbbbbbbbbbbbbbb2",
    "subnet-0ccccccccccccccc3",
)
GROUP, GROUP_ROGUE = "sg-01111111111111111", "sg-09999999999999999"
MODEL_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:model/scoring"
OTHER_MODEL_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:model/experiment"


def full_spec(**overrides) -> GuardrailSpec:
    fields = dict(
        subnets=(SUBNET_A, SUBNET_B),
        security_groups=(GROUP,),
        require_network_isolation=True,
        require_kms=True,
        approved_models=(MODEL_ARN, f"arn:aws:sagemaker:{REGION}:123456789012:model/batch-*"),
    )
    fields.update(overrides)
    return GuardrailSpec(**fields)


def create_model(subnets=None, groups=None, isolation=None) -> Request:
    """The request context SageMaker builds for CreateModel: the VPC keys only with a VpcConfig,
    NetworkIsolation only when EnableNetworkIsolation is given."""
    context: dict = {}
    if subnets is not None:
        context["sagemaker:VpcSubnets"] = list(subnets)
        context["sagemaker:VpcSecurityGroupIds"] = list(groups or [])
    if isolation is not None:
        context["sagemaker:NetworkIsolation"] = isolation
    return Request("sagemaker:CreateModel", context)


def create_job(
    model_arn=MODEL_ARN, volume_key="arn:aws:kms:r:1:key/v", output_key="arn:aws:kms:r:1:key/o"
) -> Request:
    context = {"sagemaker:ModelArn": model_arn}
    if volume_key:
        context["sagemaker:VolumeKmsKey"] = volume_key
    if output_key:
        context["sagemaker:OutputKmsKey"] = output_key
    return Request("sagemaker:CreateTransformJob", context)


# --- the evaluator itself: absent keys and set operators --------------------------------------


def test_for_any_value_on_an_absent_key_is_false_and_for_all_values_is_true():
    absent: dict = {}
    assert key_condition_holds("ForAnyValue:StringNotEquals", "k", ["a"], absent) is False
    assert key_condition_holds("ForAnyValue:StringEquals", "k", ["a"], absent) is False
    assert key_condition_holds("ForAllValues:StringEquals", "k", ["a"], absent) is True
    assert key_condition_holds("ForAllValues:StringNotEquals", "k", ["a"], absent) is True
    # An empty list is no value at all, like an absent key.
    assert key_condition_holds("ForAnyValue:StringNotEquals", "k", ["a"], {"k": []}) is False


def test_plain_operators_on_an_absent_key_positive_false_negated_true_ifexists_true():
    assert key_condition_holds("StringEquals", "k", "a", {}) is False
    assert key_condition_holds("StringNotEquals", "k", "a", {}) is True
    assert key_condition_holds("ArnNotLike", "k", "arn:*", {}) is True
    assert key_condition_holds("Bool", "k", "false", {}) is False
    assert key_condition_holds("BoolIfExists", "k", "false", {}) is True
    assert key_condition_holds("Null", "k", "true", {}) is True
    assert key_condition_holds("Null", "k", "false", {}) is False
    assert key_condition_holds("Null", "k", "true", {"k": "v"}) is False


def test_multi_valued_keys_and_negated_values_nor():
    ctx = {"k": ["a", "b"]}
    assert key_condition_holds("ForAnyValue:StringNotEquals", "k", ["a", "b", "c"], ctx) is False
    assert key_condition_holds("ForAnyValue:StringNotEquals", "k", ["a"], ctx) is True  # b is not listed
    assert key_condition_holds("ForAllValues:StringEquals", "k", ["a", "b"], ctx) is True
    assert key_condition_holds("ForAllValues:StringEquals", "k", ["a"], ctx) is False
    # Several values for one key under a negated operator: NOR.
    assert key_condition_holds("StringNotEquals", "k", ["x", "y"], {"k": "x"}) is False
    assert key_condition_holds("StringNotEquals", "k", ["x", "y"], {"k": "z"}) is True
    # Operators and keys in one block are ANDed.
    block = {"StringEquals": {"k": "x"}, "Null": {"j": "true"}}
    assert condition_holds(block, {"k": "x"}) is True
    assert condition_holds(block, {"k": "x", "j": "1"}) is False


def test_the_evaluator_refuses_what_it_does_not_understand():
    with pytest.raises(ValueError, match="not supported"):
        key_condition_holds("NumericLessThan", "k", "1", {"k": "0"})
    with pytest.raises(ValueError, match="multi-valued"):
        key_condition_holds("StringNotEquals", "k", "a", {"k": ["a", "b"]})


# --- the SCP ------------------------------------------------------------------------------------


def test_every_statement_is_a_deny_on_one_of_the_two_create_actions_with_a_documented_sid():
    policy = scp_document(full_spec())
    sids = [s["Sid"] for s in policy["Statement"]]
    assert sids == list(STATEMENT_INTENTS)  # all seven with every option on, in the documented order
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Deny" and statement["Resource"] == "*" and statement["Condition"]
        assert statement["Action"] in ("sagemaker:CreateModel", "sagemaker:CreateTransformJob")
        assert statement["Sid"].isalnum()  # SCP Sids: letters and digits only
    minimal = scp_document(full_spec(require_network_isolation=False, require_kms=False, approved_models=()))
    assert [s["Sid"] for s in minimal["Statement"]] == [
        "DenyCreateModelWithoutVpcConfig",
        "DenyCreateModelOutsideApprovedSubnets",
        "DenyCreateModelOutsideApprovedSecurityGroups",
    ]


DENIED = {
    "no VpcConfig at all": (create_model(isolation=True), ["DenyCreateModelWithoutVpcConfig"]),
    "one approved and one rogue subnet": (
        create_model([SUBNET_A, SUBNET_ROGUE], [GROUP], isolation=True),
        ["DenyCreateModelOutsideApprovedSubnets"],
    ),
    "a rogue security group": (
        create_model([SUBNET_A], [GROUP, GROUP_ROGUE], isolation=True),
        ["DenyCreateModelOutsideApprovedSecurityGroups"],
    ),
    "network isolation false": (
        create_model([SUBNET_A], [GROUP], isolation=False),
        ["DenyCreateModelWithoutNetworkIsolation"],
    ),
    "network isolation not given": (
        create_model([SUBNET_A], [GROUP]),
        ["DenyCreateModelWithoutNetworkIsolation"],
    ),
    "job without a volume key": (create_job(volume_key=None), ["DenyCreateTransformJobWithoutVolumeKmsKey"]),
    "job without an output key": (create_job(output_key=None), ["DenyCreateTransformJobWithoutOutputKmsKey"]),
    "job for a model not approved": (
        create_job(model_arn=OTHER_MODEL_ARN),
        ["DenyCreateTransformJobForUnapprovedModels"],
    ),
}


@pytest.mark.parametrize("case", list(DENIED))
def test_requests_that_must_be_denied_are_denied_by_the_statement_meant_for_them(case):
    request, expected_sids = DENIED[case]
    assert denying_statements(scp_document(full_spec()), request) == expected_sids


ALLOWED = {
    "approved subnets and group, isolation on": create_model([SUBNET_A, SUBNET_B], [GROUP], isolation=True),
    "a subset of the approved subnets": create_model([SUBNET_B], [GROUP], isolation=True),
    "isolation as the string true": create_model([SUBNET_A], [GROUP], isolation="true"),
    "job with both keys for an approved model": create_job(),
    "job for a model matching an approved wildcard": create_job(
        model_arn=f"arn:aws:sagemaker:{REGION}:123456789012:model/batch-nightly"
    ),
    "another SageMaker action": Request("sagemaker:CreateTrainingJob", {}),
    "DescribeModel": Request("sagemaker:DescribeModel", {}),
    "another service": Request("s3:PutObject", {}),
}


@pytest.mark.parametrize("case", list(ALLOWED))
def test_requests_that_must_not_be_denied_are_not(case):
    assert not is_denied(scp_document(full_spec()), ALLOWED[case])


def test_without_the_options_only_the_network_is_enforced():
    policy = scp_document(full_spec(require_network_isolation=False, require_kms=False, approved_models=()))
    assert not is_denied(policy, create_model([SUBNET_A], [GROUP], isolation=False))
    assert not is_denied(policy, create_job(model_arn=OTHER_MODEL_ARN, volume_key=None, output_key=None))
    assert is_denied(policy, create_model())
    assert is_denied(policy, create_model([SUBNET_ROGUE], [GROUP]))


def test_without_the_null_statement_a_model_without_vpc_config_would_get_through():
    """Why DenyCreateModelWithoutVpcConfig exists: ForAnyValue on an absent key is false."""
    policy = scp_document(full_spec())
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "DenyCreateModelWithoutVpcConfig"]
    assert not is_denied(policy, create_model(isolation=True))


def test_the_policy_fits_the_scp_limit_indented_or_minified_and_fails_clearly_over_it():
    text, notes = render_scp(full_spec())
    assert len(text.rstrip("\n")) <= SCP_MAX_CHARS and "\n  " in text
    assert any("no VPC condition keys" in note for note in notes)

    many = tuple(f"subnet-{i:017x}" for i in range(120))
    text, notes = render_scp(full_spec(subnets=many))
    assert len(text.rstrip("\n")) <= SCP_MAX_CHARS and "\n" not in text.rstrip("\n")
    assert any("minified" in note for note in notes)
    assert json.loads(text)["Statement"][1]["Condition"]["ForAnyValue:StringNotEquals"][
        "sagemaker:VpcSubnets"
    ] == list(many)

    too_many = tuple(f"subnet-{i:017x}" for i in range(400))
    with pytest.raises(GuardrailError, match=r"over the SCP limit of 5,120"):
        render_scp(full_spec(subnets=too_many))


def test_bad_ids_are_refused_with_the_expected_shape():
    with pytest.raises(GuardrailError, match="not a subnet id: sg-01111111111111111"):
        GuardrailSpec(subnets=(GROUP,), security_groups=(GROUP,))
    with pytest.raises(GuardrailError, match="not a model ARN: scoring"):
        GuardrailSpec(subnets=(SUBNET_A,), security_groups=(GROUP,), approved_models=("scoring",))
    with pytest.raises(GuardrailError, match="at least one approved subnet"):
        GuardrailSpec(subnets=(), security_groups=(GROUP,))


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_writes_the_scp_on_stdout_and_the_transform_job_note_on_stderr(capsys):
    code = cli.main(
        [
            "guardrails",
            "--subnets",
            f"{SUBNET_A},{SUBNET_B}",
            "--security-groups",
            GROUP,
            "--require-network-isolation",
            "--require-kms",
            "--approved-models",
            MODEL_ARN,
        ]
    )
    out, err = capsys.readouterr()
    policy = json.loads(out)
    assert code == 0
    assert [s["Sid"] for s in policy["Statement"]] == list(STATEMENT_INTENTS)
    assert "CreateTransformJob has no VPC condition keys" in err
    assert is_denied(policy, create_model([SUBNET_ROGUE], [GROUP], isolation=True))


def test_cli_refuses_bad_input_in_one_line(capsys):
    code = cli.main(["guardrails", "--subnets", "subnet-nope", "--security-groups", GROUP])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "not a subnet id: subnet-nope" in err
    code = cli.main(["guardrails", "--security-groups", GROUP])
    _, err = capsys.readouterr()
    assert code == 2 and "at least one approved subnet" in err


# --- Guard rules, run by CloudFormation Guard --------------------------------------------------


def sagemaker_model(vpc: dict | None, isolation=True) -> dict:
    properties: dict = {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
        "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"},
    }
    if vpc is not None:
        properties["VpcConfig"] = vpc
    if isolation is not None:
        properties["EnableNetworkIsolation"] = isolation
    return {"Type": "AWS::SageMaker::Model", "Properties": properties}


def guard(template_resources: dict, spec: GuardrailSpec | None = None) -> tuple[str, dict[str, list[str]]]:
    outcome = run_guard({"Resources": template_resources}, render_guard(spec or full_spec()))
    return outcome.status, outcome.failing


APPROVED_VPC = {"Subnets": [SUBNET_A, SUBNET_B], "SecurityGroupIds": [GROUP]}


def test_guard_passes_a_compliant_template():
    status, failing = guard(
        {
            "Scoring": sagemaker_model(APPROVED_VPC),
            "AsString": sagemaker_model(
                {"Subnets": [SUBNET_B], "SecurityGroupIds": [GROUP]}, isolation="true"
            ),
            "Bucket": {"Type": "AWS::S3::Bucket"},
        }
    )
    assert (status, failing) == ("PASS", {})


def test_guard_skips_a_template_without_models():
    assert guard({"Bucket": {"Type": "AWS::S3::Bucket"}}) == ("SKIP", {})


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (sagemaker_model(None), ["sagemaker_model_vpc_config_present"]),
        (sagemaker_model({"Subnets": [SUBNET_A]}), ["sagemaker_model_vpc_config_present"]),
        (
            sagemaker_model({"Subnets": [SUBNET_A, SUBNET_ROGUE], "SecurityGroupIds": [GROUP]}),
            ["sagemaker_model_subnets_approved"],
        ),
        (
            sagemaker_model({"Subnets": [SUBNET_A], "SecurityGroupIds": [GROUP_ROGUE]}),
            ["sagemaker_model_security_groups_approved"],
        ),
        (sagemaker_model({"Subnets": [], "SecurityGroupIds": [GROUP]}), ["sagemaker_model_subnets_approved"]),
        (
            sagemaker_model({"Subnets": [{"Ref": "SubnetParam"}], "SecurityGroupIds": [GROUP]}),
            ["sagemaker_model_subnets_approved"],
        ),
        (sagemaker_model(APPROVED_VPC, isolation=False), ["sagemaker_model_network_isolation"]),
        (sagemaker_model(APPROVED_VPC, isolation=None), ["sagemaker_model_network_isolation"]),
    ],
    ids=[
        "no-vpc",
        "no-groups",
        "rogue-subnet",
        "rogue-group",
        "no-subnets",
        "unresolved-ref",
        "isolation-false",
        "isolation-absent",
    ],
)
def test_guard_fails_a_broken_model_with_the_rule_that_names_the_problem(model, expected):
    status, failing = guard({"Good": sagemaker_model(APPROVED_VPC), "Broken": model})
    assert (status, failing) == ("FAIL", {"Broken": expected})  # and "Good" passes


def test_guard_network_isolation_rule_only_when_asked():
    spec = full_spec(require_network_isolation=False)
    assert "network_isolation" not in render_guard(spec)
    assert guard({"M": sagemaker_model(APPROVED_VPC, isolation=False)}, spec) == ("PASS", {})


def test_cli_guard_format_writes_rules_guard_accepts(capsys, tmp_path):
    out_file = tmp_path / "sagemaker.guard"
    code = cli.main(
        [
            "guardrails",
            "--subnets",
            SUBNET_A,
            "--security-groups",
            GROUP,
            "--format",
            "guard",
            "--output",
            str(out_file),
        ]
    )
    assert code == 0
    rules = out_file.read_text()
    compliant = {"Resources": {"M": sagemaker_model({"Subnets": [SUBNET_A], "SecurityGroupIds": [GROUP]})}}
    assert run_guard(compliant, rules).status == "PASS"
    assert run_guard({"Resources": {"M": sagemaker_model(None)}}, rules).failing == {
        "M": ["sagemaker_model_vpc_config_present"]
    }


def test_guard_reports_each_model_of_a_template_with_several_broken_ones():
    """Three broken models at once: the report per model stays small (see tests/guard_runner.py)."""
    status, failing = guard(
        {
            "NoVpc": sagemaker_model(None, isolation=None),
            "Rogue": sagemaker_model(
                {"Subnets": [SUBNET_ROGUE], "SecurityGroupIds": [GROUP_ROGUE]}, isolation=False
            ),
            "Good": sagemaker_model(APPROVED_VPC),
            "Bucket": {"Type": "AWS::S3::Bucket"},
        }
    )
    assert status == "FAIL"
    assert failing == {
        "NoVpc": ["sagemaker_model_network_isolation", "sagemaker_model_vpc_config_present"],
        "Rogue": [
            "sagemaker_model_network_isolation",
            "sagemaker_model_security_groups_approved",
            "sagemaker_model_subnets_approved",
        ],
    }


# --- --from-account -------------------------------------------------------------------------------


def test_from_account_approves_the_subnets_and_groups_of_models_that_pass_the_network_checks(
    builder, capsys, endpoint_url
):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    # Same VPC, but a group without the self rule: sg_self_ingress FAILs, so neither its group
    # nor (through this model) anything else is approved.
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    extra_subnet = builder.subnet(net.vpc_id, "10.0.7.0/24", "a")
    builder.compliant_model(
        "lonely", net, security_group_ids=[lonely], subnet_ids=[extra_subnet, net.subnet_ids[1]]
    )
    builder.model("public", subnet_ids=None, role_arn=net.role_arn)

    code = cli.main(
        [
            "guardrails",
            "--from-account",
            "--region",
            REGION,
            "--endpoint-url",
            endpoint_url,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    statements = {s["Sid"]: s for s in json.loads(out)["Statement"]}
    subnets = statements["DenyCreateModelOutsideApprovedSubnets"]["Condition"]["ForAnyValue:StringNotEquals"]
    groups = statements["DenyCreateModelOutsideApprovedSecurityGroups"]["Condition"][
        "ForAnyValue:StringNotEquals"
    ]
    assert subnets == {"sagemaker:VpcSubnets": net.subnet_ids}
    assert groups == {"sagemaker:VpcSecurityGroupIds": [net.security_group_id]}
    assert "1 of 3 models qualify" in err
    assert "not approved from lonely:" in err and "sg_self_ingress FAIL" in err
    assert "not approved from public: no VpcConfig" in err


def test_from_account_with_no_qualifying_model_is_a_clear_error(builder, capsys, endpoint_url):
    net = builder.compliant_vpc()
    builder.model("public", subnet_ids=None, role_arn=net.role_arn)
    code = cli.main(["guardrails", "--from-account", "--region", REGION, "--endpoint-url", endpoint_url])
    _, err = capsys.readouterr()
    assert code == 2 and "no model in" in err and "passes the network checks" in err
