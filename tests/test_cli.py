"""The `vpcguard` command line, against real resources on the local AWS endpoint.

Most tests run `main([...])` in-process (capsys); the ones marked "console script" run the
installed `vpcguard` entry point (or `python -m vpcguard`) as a subprocess, as a user would.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import METADATA_KEYS, RESULT_KEYS, SUBJECT_KEYS, run, run_console_script, run_json
from tests.faults import deny
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.checks.base import check_ids
from vpcguard.formats.json import scan_json_document
from vpcguard.formats.table import render_table
from vpcguard.formats.text import use_colour
from vpcguard.model import Severity, Status
from vpcguard.results import AuditRecord, CheckResult, SubjectReport

SUMMARY_KEYS = {"subjects", "fail", "fixed", "would_fix", "error", "exempt"}


def results_by_id(subject: dict) -> dict[str, dict]:
    ids = [r["check_id"] for r in subject["results"]]
    assert len(ids) == len(set(ids)), f"a check appears twice: {ids}"
    return {r["check_id"]: r for r in subject["results"]}


def isolated_model(builder, net, name: str, **kwargs) -> str:
    """A model in the compliant VPC whose own security group has no self-referencing rule:
    sg_self_ingress FAILs at MEDIUM for a model, everything else as compliant."""
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model(name, net, security_group_ids=[lonely], **kwargs)
    return lonely


# --- the JSON contract ------------------------------------------------------------------------


def test_scan_json_is_exactly_the_contract_document(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net, tags={"vpcguard:team": "risk"})
    builder.transform_job("nightly", "good", instance_count=3)

    code, doc, err = run_json(capsys, "scan", "--model", "good", "--transform-job", "nightly", *aws_args)

    assert set(doc) == {"subjects", "summary", "metadata"}  # no "audit" key when nothing was changed
    assert set(doc["metadata"]) == METADATA_KEYS
    assert set(doc["summary"]) == SUMMARY_KEYS
    assert doc["summary"]["subjects"] == 2
    model, job = doc["subjects"]
    for subject in (model, job):
        assert set(subject) == SUBJECT_KEYS
        assert subject["results"], "no results"
        for result in subject["results"]:
            assert set(result) == RESULT_KEYS, result["check_id"]
            assert result["status"] in {s.value for s in Status}
            assert result["severity"] in {s.value for s in Severity}
            assert isinstance(result["resource_ids"], list) and isinstance(result["fixable"], bool)
        assert sorted(results_by_id(subject)) == sorted(check_ids())
        assert subject["vpc_id"] == net.vpc_id
        assert subject["region"] == REGION and subject["account"] == "123456789012"
        assert subject["tags"] == {"vpcguard:team": "risk"}  # the model's tags, also on the job
    assert (model["type"], model["name"], model["model_name"], model["instance_count"]) == (
        "model",
        "good",
        "good",
        1,
    )
    assert model["arn"].endswith(":model/good")
    assert (job["type"], job["name"], job["model_name"], job["instance_count"]) == (
        "transform_job",
        "nightly",
        "good",
        3,
    )
    # Severity depends on the subject: sg_self_ingress is MEDIUM for a model, HIGH for a 3-instance job.
    assert results_by_id(model)["sg_self_ingress"]["severity"] == "MEDIUM"
    assert results_by_id(job)["sg_self_ingress"]["severity"] == "HIGH"
    assert results_by_id(job)["subnet_ip_capacity"]["status"] == "PASS"
    assert code in (0, 1) and err == ""


def test_json_carries_audit_records_beside_subjects_only_when_there_are_some():
    result = CheckResult(
        check_id="vpc_dns_support",
        status=Status.FIXED,
        severity=Severity.HIGH,
        title="t",
        detail="d",
        fixable=True,
    )
    record = AuditRecord(
        check_id="vpc_dns_support",
        subject_arn="arn:m",
        resource_id="vpc-1",
        action="ec2:ModifyVpcAttribute",
        params={},
        before={"enableDnsSupport": False},
        after={"enableDnsSupport": True},
        time="2026-01-01T00:00:00+00:00",
        trigger="cli",
        dry_run=False,
        outcome="applied",
    )
    fields = dict(
        type="model",
        name="m",
        arn="arn:m",
        region=REGION,
        account="1",
        vpc_id="vpc-1",
        instance_count=1,
        model_name="m",
        tags={},
        results=[result],
    )
    with_change = SubjectReport(**fields, audit=[record])
    doc = scan_json_document([with_change])
    assert list(doc) == ["subjects", "summary", "audit"]
    assert "audit" not in doc["subjects"][0]
    assert doc["audit"][0]["resource_id"] == "vpc-1" and doc["audit"][0]["outcome"] == "applied"
    assert "audit" not in scan_json_document([SubjectReport(**fields)])


# --- the table ------------------------------------------------------------------------------------


def test_table_shows_a_header_per_subject_every_check_and_a_summary(builder, capsys, aws_args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    net = builder.compliant_vpc()
    lonely = isolated_model(builder, net, "lonely")

    code, out, err = run(capsys, "scan", "--model", "lonely", *aws_args)

    lines = out.splitlines()
    assert lines[0].startswith("MODEL lonely") and net.vpc_id in lines[0] and "1 instance" in lines[0]
    for check_id in check_ids():
        assert any(check_id in line for line in lines), check_id
    fail_rows = [line for line in lines if "sg_self_ingress" in line]
    assert fail_rows[0].split()[:2] == ["FAIL", "MEDIUM"]
    assert lonely in out  # the failing detail is shown in full, naming the group
    assert any(line.split()[:1] == ["PASS"] for line in lines)
    assert max(len(line) for line in lines) <= 120
    assert "\033[" not in out  # captured output is not a terminal: no colour
    fail_count = sum(1 for line in lines if line.split()[:1] == ["FAIL"])
    assert lines[-1].startswith(f"1 subject: {fail_count} fail, 0 error")
    assert code == 1 and err == ""


def test_table_keeps_pass_rows_to_one_line_and_wraps_failures():
    long = "word " * 60
    results = [
        CheckResult(
            check_id="a_check",
            status=Status.PASS,
            severity=Severity.LOW,
            title="t",
            detail=long,
            fixable=False,
        ),
        CheckResult(
            check_id="b_check",
            status=Status.FAIL,
            severity=Severity.HIGH,
            title="t",
            detail=long,
            fixable=False,
        ),
    ]
    report = SubjectReport(
        type="transform_job",
        name="j",
        arn="",
        region=REGION,
        account="",
        vpc_id=None,
        instance_count=4,
        model_name="m",
        tags={},
        results=results,
    )
    lines = render_table([report], width=80).splitlines()
    assert lines[0] == "TRANSFORM JOB j (model m)  no VPC  4 instances"
    # Issue 14: a subject's rows by status (FAIL first), then severity.
    assert lines[1].split()[:3] == ["FAIL", "HIGH", "b_check"]
    continuation = [line for line in lines[2:] if line.startswith(" " * 20)]
    assert len(continuation) >= 3  # 300 characters of detail in a ~30-column field
    pass_row = next(n for n, line in enumerate(lines) if line.split()[:1] == ["PASS"])
    assert lines[pass_row].split()[:3] == ["PASS", "LOW", "a_check"] and lines[pass_row].endswith("…")
    assert sum(line.count("word") for line in lines[1:pass_row]) == 60  # nothing of a failure is cut
    assert all(len(line) <= 80 for line in lines)


def test_colour_only_for_a_terminal_and_never_with_no_color():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_colour(Tty(), env={}) is True
    assert use_colour(Tty(), env={"NO_COLOR": "1"}) is False
    assert use_colour(io.StringIO(), env={}) is False


# --- exit codes and --fail-on ------------------------------------------------------------------


def test_fail_on_sets_the_threshold_for_exit_1(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    isolated_model(builder, net, "lonely")  # sg_self_ingress FAIL at MEDIUM

    assert run(capsys, "scan", "--model", "lonely", *aws_args)[0] == 1  # default LOW
    assert run(capsys, "scan", "--model", "lonely", "--fail-on", "MEDIUM", *aws_args)[0] == 1
    assert run(capsys, "scan", "--model", "lonely", "--fail-on", "high", *aws_args)[0] == 0


def test_informational_failure_does_not_fail_the_run_by_default(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    builder.compliant_model("open", net, network_isolation=False)

    code, doc, _ = run_json(capsys, "scan", "--model", "open", *aws_args)
    failing = {r["check_id"]: r["severity"] for r in doc["subjects"][0]["results"] if r["status"] == "FAIL"}
    assert failing == {"network_isolation": "INFORMATIONAL"}
    assert code == 0
    assert run(capsys, "scan", "--model", "open", "--fail-on", "INFORMATIONAL", *aws_args)[0] == 1


def test_unknown_model_is_an_error_result_and_exit_2_with_one_line(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)

    code, doc, err = run_json(capsys, "scan", "--model", "good", "--model", "no-such-model", *aws_args)

    assert code == 2
    assert err.count("\n") == 1 and "no-such-model" in err and "not found" in err and "Traceback" not in err
    good, missing = doc["subjects"]
    assert missing["name"] == "no-such-model" and missing["vpc_id"] is None
    assert [(r["check_id"], r["status"]) for r in missing["results"]] == [("model_vpc_configured", "ERROR")]
    assert "no-such-model" in missing["results"][0]["detail"]
    assert doc["summary"]["error"] == 1
    assert results_by_id(good)["vpc_dns_support"]["status"] == "PASS"  # the other subject still evaluated


def test_access_denied_on_the_subject_read_names_the_action(builder, capsys, aws_args, monkeypatch):
    """moto allows every call; the AccessDenied is a real ClientError injected through
    botocore's before-call hook (tests/faults.py)."""
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    real_build = cli.setup.build_clients

    def denying(args):
        clients = real_build(args)
        deny(clients, "sagemaker", "DescribeModel")
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", denying)
    code, doc, err = run_json(capsys, "scan", "--model", "good", *aws_args)

    assert code == 2
    assert err.count("\n") == 1 and "AccessDenied on sagemaker:DescribeModel" in err
    (result,) = doc["subjects"][0]["results"]
    assert result["status"] == "ERROR" and "sagemaker:DescribeModel" in result["detail"]


@pytest.mark.parametrize(
    ("operation", "action", "only_check"),
    [
        ("DescribeFlowLogs", "ec2:DescribeFlowLogs", "flow_logs_enabled"),
        ("DescribeVpcAttribute", "ec2:DescribeVpcAttribute", "vpc_dns_support"),
    ],
)
def test_access_denied_on_one_fact_errors_only_the_check_that_needs_it(
    builder, capsys, aws_args, monkeypatch, operation, action, only_check
):
    """Injected AccessDenied (botocore before-call hook, tests/faults.py): one denied read
    turns exactly the checks that need that fact into ERROR; the rest are still evaluated."""
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    real_build = cli.setup.build_clients

    def denying(args):
        clients = real_build(args)
        deny(clients, "ec2", operation)
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", denying)
    code, doc, err = run_json(capsys, "scan", "--model", "good", *aws_args)

    results = results_by_id(doc["subjects"][0])
    errored = {cid for cid, r in results.items() if r["status"] == "ERROR"}
    assert errored == {only_check}
    assert action in results[only_check]["detail"] and "AccessDenied" in results[only_check]["detail"]
    assert results["model_vpc_configured"]["status"] == "PASS"
    assert results["sg_self_ingress"]["status"] == "PASS"
    assert code == 2 and err.count("\n") == 1 and action in err and only_check in err


# --- modes ------------------------------------------------------------------------------------


def test_mode_off_removes_the_check_from_the_output(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    builder.compliant_model("open", net, network_isolation=False)

    code, doc, _ = run_json(
        capsys,
        "scan",
        "--model",
        "open",
        "--mode",
        "network_isolation=off",
        "--fail-on",
        "INFORMATIONAL",
        *aws_args,
    )
    ids = set(results_by_id(doc["subjects"][0]))
    assert "network_isolation" not in ids and "vpc_dns_support" in ids
    assert code == 0  # the only failure was the check that is now off

    _, out, _ = run(capsys, "scan", "--model", "open", "--mode", "network_isolation=off", *aws_args)
    assert "network_isolation" not in out


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("network_isolation=loud", "bad mode 'network_isolation=loud'"),
        ("network_isolation", "expected CHECK=MODE"),
        ("no_such_check=off", "unknown check id(s): no_such_check"),
    ],
)
def test_bad_mode_is_a_usage_error(capsys, mode, message):
    code, out, err = run(capsys, "scan", "--model", "m", "--region", REGION, "--mode", mode)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_bad_vpcguard_modes_environment_is_one_line_too(capsys, monkeypatch):
    monkeypatch.setenv("VPCGUARD_MODES", "vpc_dns_support=sometimes")
    code, _, err = run(capsys, "scan", "--model", "m", "--region", REGION)
    assert code == 2 and err.count("\n") == 1 and "vpc_dns_support=sometimes" in err


@pytest.mark.parametrize(
    "command",
    [["scan", "--model", "m"], ["scan", "--all"], ["preflight", "--subnets", "s", "--security-groups", "g"]],
)
def test_unknown_check_id_in_vpcguard_modes_is_one_line_exit_2_before_any_aws_call(
    capsys, monkeypatch, command
):
    monkeypatch.setenv("VPCGUARD_MODES", "vpc_dns_support=off,no_such_check=fix")
    # An endpoint nothing listens on: any AWS call would end in a different error.
    code, out, err = run(capsys, *command, "--region", REGION, "--endpoint-url", "http://127.0.0.1:9")
    assert code == 2 and out == ""
    assert err == "vpcguard: unknown check id(s): no_such_check\n"


def test_argparse_usage_errors_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["scan", "--model", "m", "--fail-on", "SEVERE"])
    _, err = capsys.readouterr()
    assert stop.value.code == 2 and err.count("\n") == 1 and "unknown severity 'SEVERE'" in err

    code, _, err = run(capsys, "scan", "--region", REGION)
    assert code == 2 and "nothing to scan" in err


# --- remediation --------------------------------------------------------------------------------


def dns_support(builder, vpc_id: str) -> bool:
    attr = builder.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")
    return attr["EnableDnsSupport"]["Value"]


def dns_off_model(builder) -> str:
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("dark", net)
    return net.vpc_id


def test_plain_scan_never_writes_even_with_remediate_in_the_environment(
    builder, capsys, aws_args, monkeypatch
):
    vpc_id = dns_off_model(builder)
    monkeypatch.setenv("VPCGUARD_REMEDIATE", "true")

    code, doc, _ = run_json(capsys, "scan", "--model", "dark", "--mode", "vpc_dns_support=fix", *aws_args)

    assert results_by_id(doc["subjects"][0])["vpc_dns_support"]["status"] == "FAIL"
    assert "audit" not in doc
    assert dns_support(builder, vpc_id) is False
    assert code == 1


def test_dry_run_plans_the_fix_writes_nothing_and_still_fails_the_run(builder, capsys, aws_args):
    vpc_id = dns_off_model(builder)

    code, doc, _ = run_json(
        capsys, "scan", "--model", "dark", "--mode", "vpc_dns_support=fix", "--dry-run", *aws_args
    )

    result = results_by_id(doc["subjects"][0])["vpc_dns_support"]
    assert result["status"] == "WOULD_FIX" and result["remediation"]["action"] == "ec2:ModifyVpcAttribute"
    assert doc["summary"]["would_fix"] == 1
    assert [(a["action"], a["resource_id"], a["dry_run"], a["outcome"]) for a in doc["audit"]] == [
        ("ec2:ModifyVpcAttribute", vpc_id, True, "would_apply")
    ]
    assert dns_support(builder, vpc_id) is False
    assert code == 1  # the VPC is still broken


def test_remediate_fixes_records_to_the_audit_table_and_exits_clean(builder, capsys, aws_args):
    vpc_id = dns_off_model(builder)
    builder.client("dynamodb").create_table(
        TableName="vpcguard-audit",
        # The key schema of template.yaml's AuditTable.
        KeySchema=[
            {"AttributeName": "resource_id", "KeyType": "HASH"},
            {"AttributeName": "recorded_at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "resource_id", "AttributeType": "S"},
            {"AttributeName": "recorded_at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    code, doc, err = run_json(
        capsys,
        "scan",
        "--model",
        "dark",
        "--mode",
        "vpc_dns_support=fix",
        "--remediate",
        "--audit-table",
        "vpcguard-audit",
        *aws_args,
    )

    result = results_by_id(doc["subjects"][0])["vpc_dns_support"]
    assert result["status"] == "FIXED", result["detail"]
    assert dns_support(builder, vpc_id) is True
    assert [(a["resource_id"], a["outcome"]) for a in doc["audit"]] == [(vpc_id, "applied")]
    # Who did it: the local user and the AWS principal (moto's caller identity).
    assert doc["audit"][0]["trigger"].startswith("cli user ")
    assert " as arn:aws:sts::123456789012:" in doc["audit"][0]["trigger"]
    items = builder.client("dynamodb").scan(TableName="vpcguard-audit")["Items"]
    assert len(items) == 1
    assert items[0]["resource_id"] == {"S": vpc_id} and items[0]["action"] == {"S": "ec2:ModifyVpcAttribute"}
    assert items[0]["after"] == {"M": {"enableDnsSupport": {"BOOL": True}}}
    assert code == 0 and err == ""


# --- preflight ---------------------------------------------------------------------------------


def test_preflight_of_a_compliant_vpc_config_passes(builder, capsys, aws_args):
    net = builder.compliant_vpc()

    code, doc, err = run_json(
        capsys,
        "preflight",
        "--subnets",
        ",".join(net.subnet_ids),
        "--security-groups",
        net.security_group_id,
        "--role-arn",
        net.role_arn,
        *aws_args,
    )

    (subject,) = doc["subjects"]
    assert subject["type"] == "model" and subject["vpc_id"] == net.vpc_id
    results = results_by_id(subject)
    for check_id in (
        "vpc_config_consistent",
        "subnet_ip_capacity",
        "sg_self_ingress",
        "vpc_dns_support",
        "execution_role_vpc_permissions",
        "subnets_private",
        "s3_endpoint_routes",
    ):
        assert results[check_id]["status"] == "PASS", (check_id, results[check_id]["detail"])
    assert not [r for r in subject["results"] if r["status"] == "ERROR"]
    assert code == 0 and err == ""


def test_preflight_fails_a_subnet_too_small_for_the_instance_count(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    small_subnet = builder.subnet(net.vpc_id, "10.0.9.0/28", "a")  # 11 usable addresses

    code, doc, _ = run_json(
        capsys,
        "preflight",
        "--subnets",
        small_subnet,
        net.subnet_ids[1],
        "--security-groups",
        net.security_group_id,
        "--instance-count",
        "8",
        "--role-arn",
        net.role_arn,
        *aws_args,
    )

    (subject,) = doc["subjects"]
    assert subject["type"] == "transform_job" and subject["instance_count"] == 8
    capacity = results_by_id(subject)["subnet_ip_capacity"]
    assert capacity["status"] == "FAIL" and capacity["severity"] == "MEDIUM"  # the other subnet has room
    assert small_subnet in capacity["detail"] and "16" in capacity["detail"]
    assert code == 1


def test_preflight_without_role_reports_the_role_check_unverified_but_does_not_exit_2(
    builder, capsys, aws_args
):
    net = builder.compliant_vpc()

    code, doc, err = run_json(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        *aws_args,
    )

    role = results_by_id(doc["subjects"][0])["execution_role_vpc_permissions"]
    assert role["status"] == "ERROR" and "no --role-arn given" in role["detail"]
    assert code == 0 and err == ""


def test_preflight_with_an_unknown_subnet_fails_consistency(builder, capsys, aws_args):
    net = builder.compliant_vpc()

    code, doc, _ = run_json(
        capsys,
        "preflight",
        "--subnets",
        net.subnet_ids[0],
        "subnet-0000000000000dead",
        "--security-groups",
        net.security_group_id,
        "--role-arn",
        net.role_arn,
        *aws_args,
    )

    consistent = results_by_id(doc["subjects"][0])["vpc_config_consistent"]
    assert consistent["status"] == "FAIL" and "subnet-0000000000000dead" in consistent["detail"]
    assert code == 1


# --- the catalog ---------------------------------------------------------------------------------


def test_checks_lists_the_catalog(capsys):
    code, out, _ = run(capsys, "checks")
    assert code == 0
    rows = {
        line.split()[0]: line.split()[1:4]
        for line in out.splitlines()[1:]
        if line and not line.startswith(" ")
    }
    assert set(rows) == set(check_ids())
    assert rows["sg_self_ingress"][2] == "fix" and rows["vpc_dns_support"][1:] == ["opt-in", "notify"]

    code, out, _ = run(capsys, "checks", "--format", "json")
    catalog = {row["id"]: row for row in json.loads(out)}
    assert (
        catalog["vpc_dns_support"]["fixable"] is True
        and catalog["vpc_dns_support"]["default_mode"] == "notify"
    )
    assert catalog["subnet_ip_capacity"]["fixable"] is False


# --- the installed console script -------------------------------------------------------------


def test_console_script_scans_against_local_aws(builder, endpoint_url):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    builder.transform_job("nightly", "good", instance_count=2)

    proc = run_console_script(
        "scan",
        "--model",
        "good",
        "--transform-job",
        "nightly",
        "--format",
        "json",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint_url,
    )

    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"subjects", "summary", "metadata"} and doc["summary"]["subjects"] == 2
    assert [s["name"] for s in doc["subjects"]] == ["good", "nightly"]
    assert results_by_id(doc["subjects"][1])["vpc_config_consistent"]["status"] == "PASS"


def test_console_script_without_credentials_exits_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_EC2_METADATA_DISABLED="true",  # no instance-metadata lookup from a laptop or CI
        HOME=str(tmp_path),
    )

    proc = run_console_script("scan", "--model", "anything", "--region", REGION, env=env)

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no AWS credentials" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "vpcguard", "checks"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "vpc_dns_support" in proc.stdout


# --- issue 14: output traps ---------------------------------------------------------------------


def test_output_json_is_the_format_as_in_the_aws_cli(builder, capsys, aws_args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    builder.compliant_model("good", builder.compliant_vpc())

    code, out, err = run(capsys, "scan", "--model", "good", "--output", "json", *aws_args)

    assert json.loads(out)["subjects"][0]["name"] == "good"
    assert not (tmp_path / "json").exists() and err == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("text", "--output text: vpcguard has no text format; use --output json, --output table"),
        ("report", "--output takes a format, as in the AWS CLI"),
    ],
)
def test_output_that_is_no_format_is_refused_with_a_hint(capsys, value, message):
    code, out, err = run(capsys, "scan", "--model", "m", "--output", value, "--region", REGION)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    if value == "report":
        assert "--output-file FILE (or -o FILE)" in err


def test_output_file_infers_the_format_from_its_extension(builder, capsys, aws_args, tmp_path):
    builder.compliant_model("good", builder.compliant_vpc())
    for name, check in (
        ("r.json", lambda text: json.loads(text)["subjects"][0]["name"] == "good"),
        ("r.jsonl", lambda text: json.loads(text.splitlines()[-1])["summary"]["subjects"] == 1),
        ("r.csv", lambda text: text.startswith("subject_type,subject_name")),
        ("r.html", lambda text: text.startswith("<!DOCTYPE html>")),
    ):
        path = tmp_path / name
        code, out, _ = run(capsys, "scan", "--model", "good", "-o", str(path), *aws_args)
        assert out == "" and check(path.read_text()), name


def test_output_dir_writes_one_file_per_format(builder, capsys, aws_args, tmp_path):
    builder.compliant_model("good", builder.compliant_vpc())
    out_dir = tmp_path / "reports"

    code, out, err = run(
        capsys,
        "scan",
        "--model",
        "good",
        "--output-dir",
        str(out_dir),
        "--format",
        "json,html,csv,jsonl",
        *aws_args,
    )

    assert out == ""
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "vpcguard.csv",
        "vpcguard.html",
        "vpcguard.json",
        "vpcguard.jsonl",
    ]
    assert json.loads((out_dir / "vpcguard.json").read_text())["summary"]["subjects"] == 1


def test_several_formats_without_an_output_dir_are_refused(capsys):
    code, out, err = run(capsys, "scan", "--model", "m", "--format", "json,html", "--region", REGION)
    assert code == 2 and "2 formats need --output-dir DIR" in err


def test_table_in_a_pipe_is_not_wrapped_and_never_breaks_an_identifier(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    arn = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20240501T120000"
    detail = (
        f"role {arn} lacks ec2:CreateNetworkInterface, ec2:CreateNetworkInterfacePermission in us-east-1a "
        "and us-east-1b " + "word " * 40
    )
    report = SubjectReport(
        type="model",
        name="m",
        arn="",
        region=REGION,
        account="",
        vpc_id="vpc-0123456789abcdef0",
        instance_count=1,
        model_name="m",
        tags={},
        results=[
            CheckResult(
                check_id="execution_role_vpc_permissions",
                status=Status.FAIL,
                severity=Severity.HIGH,
                title="t",
                detail=detail,
                fixable=False,
            )
        ],
    )
    # In a pipe (not a terminal, COLUMNS not exported): one line per result, whatever its length.
    piped = cli.render_report("table", [report])
    row = next(line for line in piped.splitlines() if line.startswith("  FAIL"))
    assert arn in row and "ec2:CreateNetworkInterfacePermission" in row and len(row) > 200
    # On a narrow terminal: wrapped at spaces only.
    narrow = render_table([report], width=60)
    for identifier in (arn, "ec2:CreateNetworkInterface,", "us-east-1a", "us-east-1b"):
        assert any(identifier in line for line in narrow.splitlines()), identifier


def test_a_subjects_rows_are_sorted_by_status_then_severity():
    def result(check_id: str, status: Status, severity: Severity) -> CheckResult:
        return CheckResult(
            check_id=check_id, status=status, severity=severity, title="t", detail="d", fixable=False
        )

    report = SubjectReport(
        type="model",
        name="m",
        arn="",
        region=REGION,
        account="",
        vpc_id=None,
        instance_count=1,
        model_name="m",
        tags={},
        results=[
            result("p", Status.PASS, Severity.HIGH),
            result("f_low", Status.FAIL, Severity.LOW),
            result("e", Status.ERROR, Severity.MEDIUM),
            result("f_high", Status.FAIL, Severity.HIGH),
        ],
    )
    rows = [line.split()[2] for line in render_table([report], width=120).splitlines()[1:-2] if line.strip()]
    assert rows == ["f_high", "f_low", "e", "p"]


def test_aws_region_is_read_when_aws_default_region_is_not_set(
    builder, capsys, endpoint_url, monkeypatch, tmp_path
):
    builder.compliant_model("good", builder.compliant_vpc())
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_REGION", REGION)

    code, out, err = run(
        capsys, "scan", "--model", "good", "--endpoint-url", endpoint_url, "--format", "json"
    )
    assert json.loads(out)["subjects"][0]["region"] == REGION and err == ""

    monkeypatch.delenv("AWS_REGION")
    code, out, err = run(capsys, "scan", "--model", "good", "--endpoint-url", endpoint_url)
    assert code == 2 and out == ""
    assert (
        err
        == "vpcguard: no AWS region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a profile's region)\n"
    )
