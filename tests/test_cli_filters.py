"""The CLI's filters and the preflight input a user of the AWS CLI and Prowler expects (issue 14):
`--status`/`--severity` (only those results shown; the exit code and the summary still count
everything evaluated), `--log-level` (stderr only), `preflight --from-json`, help text on every
option, and the messages whose advice a user pastes (the execution role's missing actions, the
suggested bucket policy). Every test runs the real CLI against the local AWS endpoint."""

from __future__ import annotations

import argparse
import io
import json
import re

import pytest

from tests.conftest import run, run_json
from tests.localaws.builders import ENI_ACTIONS
from tests.localaws.server import ACCOUNT
from vpcguard import cli
from vpcguard.model import Status
from vpcguard.notify.slack import render_text
from vpcguard.results import SubjectReport


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- the execution role's missing actions, once each ----------------------------------------


MISSING = ("ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions")


def partial_role_preflight(builder) -> list[str]:
    """preflight's flags for a compliant VPC whose execution role lacks the MISSING actions."""
    net = builder.compliant_vpc()
    granted = [a for a in ENI_ACTIONS if a not in MISSING]
    role = builder.role("partial", inline=policy({"Effect": "Allow", "Action": granted, "Resource": "*"}))
    return [
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--role-arn",
        role,
    ]


def mentions(text: str, action: str) -> int:
    # Whole action names only: ec2:DescribeDhcpOptions is not inside ec2:DescribeDhcpOptionsX.
    return len(re.findall(re.escape(action) + r"(?![A-Za-z])", text))


def test_the_execution_role_message_names_each_missing_action_once(builder, capsys, aws_args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    preflight = partial_role_preflight(builder)
    code, table, _ = run(capsys, *preflight, *aws_args)
    assert code == 1
    for action in MISSING:
        assert mentions(table, action) == 1, (action, table)

    _, doc, _ = run_json(capsys, *preflight, *aws_args)
    (subject,) = doc["subjects"]
    (role,) = [r for r in subject["results"] if r["check_id"] == "execution_role_vpc_permissions"]
    assert role["status"] == "FAIL"
    said = role["detail"] + "\n" + role["remediation"]["description"]
    for action in MISSING:
        assert mentions(said, action) == 1, (action, said)
    assert role["remediation"]["suggestion"]["Statement"][0]["Action"] == list(MISSING)

    # Slack: the prose names each once; the copyable command carries the policy that grants them.
    slack = render_text(SubjectReport.from_dict(subject))
    prose = re.sub(r"```.*?```", "", slack, flags=re.S)
    commands = re.findall(r"```(.*?)```", slack, flags=re.S)
    for action in MISSING:
        assert mentions(prose, action) == 1, (action, slack)
        assert sum(mentions(c, action) for c in commands) == 1, (action, commands)


# --- the suggested bucket policy keeps administrators in ---------------------------------------


def test_suggested_bucket_policy_exempts_admin_roles_and_passes_the_check_once_applied(
    builder, capsys, aws_args
):
    net = builder.compliant_vpc(buckets=("output-data",))
    builder.bucket("raw-data")  # no policy: accepts requests from anywhere
    builder.compliant_model("m", net)
    builder.transform_job("job", "m", input_uri="s3://raw-data/2024/")
    scan = ["scan", "--transform-job", "job", *aws_args]

    _, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "FAIL"
    statement = bucket["remediation"]["suggestion"]
    pasted = json.loads(json.dumps(statement))  # what a person copies is JSON
    assert pasted["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": [net.s3_endpoint_id]},
        "ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/<ADMIN_ROLE>"]},
    }
    description = bucket["remediation"]["description"]
    assert "replace <ADMIN_ROLE>" in description and "locks everyone outside the VPC out" in description

    # The Slack message says so too, before the statement.
    slack = render_text(SubjectReport.from_dict(doc["subjects"][0]))
    assert "<ADMIN_ROLE>" in slack and "Before pasting it, replace <ADMIN_ROLE>" in slack

    # Filled in and applied, the check that suggested it passes: the advice does not contradict it.
    filled = json.loads(json.dumps(statement).replace("<ADMIN_ROLE>", "Admin"))
    s3 = builder.client("s3")
    s3.put_bucket_policy(
        Bucket="raw-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [filled]})
    )
    code, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "PASS", bucket["detail"]
    assert "input bucket raw-data" in bucket["detail"]

    # Filled in with the job's own execution role, it no longer limits the job: not credited.
    own = json.loads(json.dumps(statement).replace(f"arn:aws:iam::{ACCOUNT}:role/<ADMIN_ROLE>", net.role_arn))
    s3.put_bucket_policy(Bucket="raw-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [own]}))
    _, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "FAIL"
    assert "input bucket raw-data has no Deny statement limiting s3:GetObject" in bucket["detail"]


# --- --status and --severity: only those shown, everything evaluated still counts -----------


def two_models(builder) -> None:
    """`lonely` fails sg_self_ingress (MEDIUM), everything else passes or does not apply;
    `spotless` passes every check."""
    net = builder.compliant_vpc()
    builder.compliant_model("spotless", net)
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model("lonely", net, security_group_ids=[lonely])


SCAN_BOTH = ("scan", "--model", "spotless", "lonely")


def test_status_fail_shows_only_failing_results_and_the_summary_counts_everything(builder, capsys, aws_args):
    two_models(builder)
    _, everything, _ = run_json(capsys, *SCAN_BOTH, *aws_args)

    code, doc, err = run_json(capsys, *SCAN_BOTH, "--status", "fail", *aws_args)

    # The subject with nothing left is left out; the one left shows its FAIL results only.
    assert [s["name"] for s in doc["subjects"]] == ["lonely"]
    assert [(r["check_id"], r["status"]) for r in doc["subjects"][0]["results"]] == [
        ("sg_self_ingress", "FAIL")
    ]
    # The summary is what was evaluated, as without the filter; so is the exit code.
    assert doc["summary"] == everything["summary"]
    assert doc["summary"]["subjects"] == 2 and doc["summary"]["fail"] == 1
    assert code == 1 and err == ""


def test_status_pass_on_a_failing_scan_still_exits_1(builder, capsys, aws_args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    two_models(builder)

    code, table, err = run(capsys, *SCAN_BOTH, "--status", "PASS", *aws_args)

    assert code == 1 and err == ""
    statuses = {line.split()[0] for line in table.splitlines() if line.startswith("  ") and line.split()}
    assert statuses == {"PASS"}  # the failure (and NOT_APPLICABLE) is not shown
    assert "spotless" in table and "lonely" in table  # both have PASS results
    assert "NOT_APPLICABLE" not in table
    assert table.rstrip().endswith("2 subjects: 1 fail, 0 error, 0 fixed, 0 would fix, 0 exempt")


def test_severity_filter_hides_a_subject_with_nothing_left_in_the_table(
    builder, capsys, aws_args, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")
    two_models(builder)

    # Case-insensitive, comma-separated and repeatable; the MEDIUM failure is not shown.
    code, table, err = run(
        capsys,
        "scan",
        "--model",
        "lonely",
        "--severity",
        "high",
        "--severity",
        "Critical",
        "--status",
        "FAIL",
        *aws_args,
    )

    assert code == 1 and err == ""
    assert "lonely" not in table and "sg_self_ingress" not in table
    assert table == "1 subject: 1 fail, 0 error, 0 fixed, 0 would fix, 0 exempt\n"

    code, table, _ = run(
        capsys, "scan", "--model", "lonely", "--severity", "MEDIUM,low", "--status", "FAIL", *aws_args
    )
    assert code == 1 and "lonely" in table and "sg_self_ingress" in table


def test_filters_apply_to_every_format(builder, capsys, aws_args, tmp_path):
    two_models(builder)
    out_dir = tmp_path / "reports"

    code, out, err = run(
        capsys,
        *SCAN_BOTH,
        "--status",
        "FAIL,ERROR",
        "--output-dir",
        str(out_dir),
        "--format",
        ",".join(cli.REPORT_FORMATS),
        *aws_args,
    )

    assert code == 1 and out == ""
    files = {p.name.removeprefix("vpcguard."): p.read_text() for p in out_dir.iterdir()}
    assert len(files) == len(cli.REPORT_FORMATS) == 9
    for name, text in files.items():
        assert "spotless" not in text, name  # nothing left of it: in no format
        assert "sg_self_ingress" in text, name
    csv_rows = files["csv"].splitlines()[1:]
    assert len(csv_rows) == 1 and ",FAIL,MEDIUM," in csv_rows[0]
    lines = [json.loads(line) for line in files["jsonl"].splitlines()]
    assert [line.get("name") for line in lines if "name" in line] == ["lonely"]
    assert lines[-1]["summary"]["subjects"] == 2  # evaluated
    assert json.loads(files["json"])["summary"]["subjects"] == 2
    assert "2 subjects: 1 fail" in files["txt"] and "2 subjects: 1 fail" in files["html"]
    assert "PASS" not in files["txt"]
    sarif = json.loads(files["sarif"])
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["sg_self_ingress"]
    assert files["junit.xml"].count("<testcase ") == 1


def test_preflight_takes_the_filters_too(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    # No --role-arn: the role check is ERROR, which alone does not fail the run.
    code, doc, err = run_json(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--status",
        "error",
        *aws_args,
    )
    (subject,) = doc["subjects"]
    assert [(r["check_id"], r["status"]) for r in subject["results"]] == [
        ("execution_role_vpc_permissions", "ERROR")
    ]
    assert code == 0 and err == ""


def test_a_fix_hidden_by_the_filters_still_reports_its_audit_record(builder, capsys, aws_args):
    """--status FAIL hides the FIXED result and leaves nothing of the subject, but the change
    vpcguard made is never missing from the report."""
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("dark", net)

    code, doc, _ = run_json(
        capsys,
        "scan",
        "--model",
        "dark",
        "--mode",
        "vpc_dns_support=fix",
        "--dry-run",
        "--status",
        "FAIL",
        *aws_args,
    )

    assert doc["subjects"] == []  # WOULD_FIX is not FAIL, and nothing else failed
    assert doc["summary"]["would_fix"] == 1 and doc["summary"]["subjects"] == 1
    assert [(a["action"], a["resource_id"], a["outcome"]) for a in doc["audit"]] == [
        ("ec2:ModifyVpcAttribute", net.vpc_id, "would_apply")
    ]
    assert code == 1  # the VPC is still broken


@pytest.mark.parametrize(
    ("flag", "value", "valid"),
    [
        ("--status", "FAILED", "PASS, FAIL, FIXED, WOULD_FIX, EXEMPT, NOT_APPLICABLE, ERROR"),
        ("--status", "FAIL,", None),  # a trailing comma is fine
        ("--severity", "SEVERE", "CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL"),
        ("--severity", "high,warn", "CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL"),
    ],
)
def test_a_bad_status_or_severity_is_one_line_naming_the_valid_ones(capsys, flag, value, valid):
    if valid is None:
        args = cli.build_parser().parse_args(["scan", "--model", "m", flag, value])
        assert cli.result_filter(args).statuses == {Status.FAIL}
        return
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["scan", "--model", "m", flag, value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and valid in err and repr(value.split(",")[-1]) in err
    assert err.startswith(f"vpcguard scan: error: argument {flag}:")


# --- --log-level: stderr only ---------------------------------------------------------------------


def test_log_level_debug_shows_the_aws_calls_on_stderr_and_json_stays_parseable(builder, capsys, aws_args):
    builder.compliant_model("spotless", builder.compliant_vpc())

    code, doc, err = run_json(capsys, "scan", "--model", "spotless", "--log-level", "debug", *aws_args)

    assert code == 0 and doc["subjects"][0]["name"] == "spotless"  # stdout is the report alone
    lines = err.splitlines()
    assert "vpcguard: DEBUG vpcguard.aws: AWS call sagemaker:DescribeModel (us-east-1)" in lines
    assert "vpcguard: DEBUG vpcguard.engine: evaluating model spotless" in lines
    assert any(
        line.startswith("vpcguard: DEBUG vpcguard.aws: AWS call ec2:DescribeSubnets") for line in lines
    )
    assert all(line.startswith("vpcguard: ") for line in lines)

    # The default (WARNING) and INFO print nothing for a clean run.
    for level in ([], ["--log-level", "INFO"]):
        code, _, err = run_json(capsys, "scan", "--model", "spotless", *level, *aws_args)
        assert code == 0 and err == ""


def test_log_level_is_on_every_command(capsys):
    code, out, err = run(capsys, "checks", "--format", "json", "--log-level", "error")
    assert code == 0 and json.loads(out) and err == ""
    for command in ("scan", "preflight", "guardrails", "checks"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--log-level", "LOUD"])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1
        assert "argument --log-level: invalid choice: 'LOUD' (choose from " in err, err
        assert all(level in err for level in ("DEBUG", "INFO", "WARNING", "ERROR"))


# --- preflight: help on every flag, and --from-json -----------------------------------------------


def test_every_option_of_every_command_has_help_text():
    """`--help` is what a user reads: no option may show up there without a word about it."""
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    undocumented = [
        f"{name} {'/'.join(action.option_strings)}"
        for name, sub in [("vpcguard", parser), *commands.choices.items()]
        for action in sub._actions
        if action.option_strings and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert set(commands.choices) >= {"scan", "preflight", "guardrails", "checks"}
    assert undocumented == []


def create_model_request(net, **changes) -> dict:
    """`aws sagemaker create-model --generate-cli-skeleton`, filled in (its empty strings left
    where a user leaves them)."""
    request = {
        "ModelName": "churn-model",
        "PrimaryContainer": {
            "ContainerHostname": "",
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
            "ImageConfig": {"RepositoryAccessMode": "Platform"},
            "Mode": "SingleModel",
            "ModelDataUrl": "s3://models/model.tar.gz",
            "Environment": {"KeyName": ""},
            "ModelPackageName": "",
        },
        "InferenceExecutionConfig": {"Mode": "Serial"},
        "ExecutionRoleArn": net.role_arn,
        "Tags": [{"Key": "", "Value": ""}],
        "VpcConfig": {"SecurityGroupIds": [net.security_group_id], "Subnets": list(net.subnet_ids)},
        "EnableNetworkIsolation": True,
    }
    request.update(changes)
    return request


def statuses(subject: dict) -> dict[str, str]:
    return {r["check_id"]: r["status"] for r in subject["results"]}


def test_preflight_from_a_create_model_request(builder, capsys, aws_args, tmp_path):
    net = builder.compliant_vpc()
    path = tmp_path / "create-model.json"
    path.write_text(json.dumps(create_model_request(net), indent=4))

    code, doc, err = run_json(capsys, "preflight", "--from-json", str(path), *aws_args)

    (subject,) = doc["subjects"]
    assert subject["type"] == "model" and subject["name"] == "churn-model" and subject["vpc_id"] == net.vpc_id
    checked = statuses(subject)
    # The request's role and its EnableNetworkIsolation are judged, as for a model that exists.
    assert checked["execution_role_vpc_permissions"] == "PASS"
    assert checked["network_isolation"] == "PASS"
    assert checked["vpc_config_consistent"] == "PASS"
    assert code == 0 and err == ""

    path.write_text(json.dumps(create_model_request(net, EnableNetworkIsolation=False)))
    code, doc, _ = run_json(capsys, "preflight", "--from-json", str(path), *aws_args)
    assert statuses(doc["subjects"][0])["network_isolation"] == "FAIL" and code == 0  # INFORMATIONAL


def test_preflight_from_a_vpc_config_on_stdin(builder, capsys, aws_args, monkeypatch):
    net = builder.compliant_vpc()
    vpc_config = {"Subnets": net.subnet_ids, "SecurityGroupIds": [net.security_group_id]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(vpc_config)))

    code, doc, err = run_json(capsys, "preflight", "--from-json", "-", "--role-arn", net.role_arn, *aws_args)

    (subject,) = doc["subjects"]
    assert subject["name"] == "preflight" and subject["vpc_id"] == net.vpc_id
    assert statuses(subject)["network_isolation"] == "NOT_APPLICABLE"  # a bare VpcConfig does not say
    assert code == 0 and err == ""


def test_flags_win_over_the_files_values(builder, capsys, aws_args, tmp_path):
    net = builder.compliant_vpc()
    request = create_model_request(
        net,
        VpcConfig={"Subnets": ["subnet-00000000000000000"], "SecurityGroupIds": [net.security_group_id]},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/no-such-role",
    )
    path = tmp_path / "create-model.json"
    path.write_text(json.dumps(request))

    code, doc, _ = run_json(
        capsys,
        "preflight",
        "--from-json",
        str(path),
        "--subnets",
        ",".join(net.subnet_ids),
        "--role-arn",
        net.role_arn,
        *aws_args,
    )

    checked = statuses(doc["subjects"][0])
    assert checked["vpc_config_consistent"] == "PASS"  # the file's unknown subnet was replaced
    assert checked["execution_role_vpc_permissions"] == "PASS"  # and so was its role
    assert code == 0


def test_preflight_from_a_create_transform_job_request_with_the_network_as_flags(
    builder, capsys, aws_args, tmp_path
):
    net = builder.compliant_vpc()
    request = {
        "TransformJobName": "nightly",
        "ModelName": "churn-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://input-data/b/"}}
        },
        "TransformOutput": {"S3OutputPath": "s3://output-data/r/", "KmsKeyId": ""},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 4, "VolumeKmsKeyId": ""},
    }
    path = tmp_path / "create-transform-job.json"
    path.write_text(json.dumps(request))

    code, doc, _ = run_json(
        capsys,
        "preflight",
        "--from-json",
        str(path),
        "--subnets",
        ",".join(net.subnet_ids),
        "--security-groups",
        net.security_group_id,
        "--role-arn",
        net.role_arn,
        *aws_args,
    )

    (subject,) = doc["subjects"]
    assert (
        subject["type"] == "transform_job" and subject["name"] == "nightly" and subject["instance_count"] == 4
    )
    checked = statuses(subject)
    assert checked["subnet_ip_capacity"] == "PASS"
    assert checked["s3_bucket_policy_vpc_only"] == "PASS"  # the request's buckets were checked
    assert checked["s3_endpoint_policy_restricted"] == "PASS"
    assert code == 0

    # Without the network on the command line, it is a one-line error: the job has no VpcConfig.
    code, out, err = run(capsys, "preflight", "--from-json", str(path), *aws_args)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "a CreateTransformJob request has no VpcConfig: give --subnets and --security-groups" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"Subnets": ["subnet-1"],', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            json.dumps({"ModelName": "m", "PrimaryContainer": {"Image": "x"}}),
            "the CreateModel request has no VpcConfig",
        ),
        (json.dumps({"Foo": 1}), "no VpcConfig (a VpcConfig ("),
        (json.dumps({"Subnets": "subnet-1", "SecurityGroupIds": []}), "Subnets must be a list of strings"),
        (
            json.dumps({"VpcConfig": {"Subnets": [""], "SecurityGroupIds": [""]}}),
            "VpcConfig names no subnets",
        ),
    ],
)
def test_a_bad_from_json_file_is_one_line_exit_2(capsys, tmp_path, content, message):
    path = tmp_path / "request.json"
    path.write_text(content)

    code, out, err = run(capsys, "preflight", "--from-json", str(path), "--region", "us-east-1")

    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"vpcguard: --from-json {path}: ") and message in err, err


def test_a_missing_from_json_file_is_one_line_exit_2(capsys, tmp_path):
    code, _, err = run(
        capsys, "preflight", "--from-json", str(tmp_path / "nope.json"), "--region", "us-east-1"
    )
    assert code == 2 and err.count("\n") == 1 and "cannot read it: No such file or directory" in err
