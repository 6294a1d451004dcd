"""Issue 14's machine formats, from the real CLI against the local AWS: junit (parsed with
xml.etree, as a CI system reads it), asff (imported into moto's Security Hub with
BatchImportFindings), ocsf, the JSON document's metadata object, and --output-dir writing
one file per format. The exit code is the same whatever the format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.conftest import run
from tests.localaws.server import ACCOUNT, REGION
from vpcguard import __version__
from vpcguard.checks.base import check_ids
from vpcguard.model import Status

ALL_FORMATS = "json,jsonl,csv,html,sarif,junit,asff,ocsf"


def lonely_model(builder, net, name: str, **kwargs) -> str:
    """A model whose own security group has no self-referencing rule: sg_self_ingress FAILs
    (MEDIUM), everything else passes."""
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model(name, net, security_group_ids=[lonely], **kwargs)
    return lonely


def statuses(capsys, aws_args, *models: str) -> list[tuple[str, str, str]]:
    """(subject, check id, status) of every result, from the JSON document of the same scan."""
    _, out, _ = run(capsys, "scan", "--model", *models, "--format", "json", *aws_args)
    return [
        (subject["name"], r["check_id"], r["status"])
        for subject in json.loads(out)["subjects"]
        for r in subject["results"]
    ]


@pytest.fixture
def three_models(builder):
    """`lonely` fails sg_self_ingress, `waived` fails it too but is exempt by its tag,
    `novpc` has no VpcConfig (model_vpc_configured FAILs, every other check is NOT_APPLICABLE)."""
    net = builder.compliant_vpc()
    sg = lonely_model(builder, net, "lonely")
    lonely_model(builder, net, "waived", tags={"vpcguard:exempt": "sg_self_ingress"})
    builder.model("novpc", subnet_ids=None, role_arn=net.role_arn)
    return sg


# --- junit ------------------------------------------------------------------------------------


def test_junit_is_a_testcase_per_subject_and_check_with_failures_errors_and_skips(
    builder, capsys, aws_args, three_models
):
    code, out, err = run(
        capsys,
        "scan",
        "--model",
        "lonely",
        "waived",
        "novpc",
        "ghost",
        "--format",
        "junit",
        *aws_args,
    )

    assert code == 2  # ghost cannot be read: an ERROR, exit 2 as with every format
    assert "ghost" in err and err.count("\n") == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and root.get("name") == "vpcguard"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["model lonely", "model waived", "model novpc", "model ghost"]
    n = len(check_ids())
    # A model on its own leaves the transform-job-only checks NOT_APPLICABLE: skipped too.
    na = sum(1 for _, _, status in statuses(capsys, aws_args, "lonely") if status == "NOT_APPLICABLE")
    counts = {
        s.get("name"): {k: int(s.get(k)) for k in ("tests", "failures", "errors", "skipped")} for s in suites
    }
    assert counts["model lonely"] == {"tests": n, "failures": 1, "errors": 0, "skipped": na}
    assert counts["model waived"] == {"tests": n, "failures": 0, "errors": 0, "skipped": na + 1}
    assert counts["model novpc"] == {"tests": n, "failures": 1, "errors": 0, "skipped": n - 1}
    assert counts["model ghost"]["errors"] == 1 and counts["model ghost"]["failures"] == 0
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(c[key] for c in counts.values()), key
    # Every test case is a (subject, check) pair: classname the subject, name the check id.
    lonely = suites[0]
    cases = lonely.findall("testcase")
    assert {c.get("classname") for c in cases} == {"model.lonely"}
    assert sorted(c.get("name") for c in cases) == sorted(check_ids())
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["sg_self_ingress"]
    failure = failed[0].find("failure")
    detail = json.loads(run(capsys, "scan", "--model", "lonely", "--format", "json", *aws_args)[1])[
        "subjects"
    ][0]["results"]
    reason = next(r["detail"] for r in detail if r["check_id"] == "sg_self_ingress")
    assert failure.get("message") == " ".join(reason.split())
    assert failure.get("type") == "MEDIUM"
    # The text adds the resources and what to do: the command to copy.
    assert f"Resources: {three_models}" in failure.text
    assert "$ aws ec2 authorize-security-group-ingress" in failure.text
    skipped = suites[1].find("testcase[@name='sg_self_ingress']/skipped")
    assert skipped.get("message").startswith("exempt: ")
    assert (
        suites[2]
        .find("testcase[@name='subnets_private']/skipped")
        .get("message")
        .startswith("not applicable: ")
    )
    error = suites[3].find("testcase/error")
    assert "ghost" in error.get("message")


def test_junit_without_failures_exits_0_and_a_dot_xml_file_is_junit(builder, capsys, aws_args, tmp_path):
    builder.compliant_model("good", builder.compliant_vpc())
    path = tmp_path / "vpcguard-results.xml"

    code, out, err = run(capsys, "scan", "--model", "good", "-o", str(path), *aws_args)

    assert (code, out, err) == (0, "", "")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(len(check_ids())), "0", "0")


def test_junit_of_a_preflight_without_role_skips_the_role_check_rather_than_erroring(
    builder, capsys, aws_args
):
    net = builder.compliant_vpc()
    code, out, _ = run(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--format",
        "junit",
        *aws_args,
    )

    assert code == 0  # leaving the role out is a choice: not exit 2, and not a junit error
    root = ET.fromstring(out)
    assert root.get("errors") == "0"
    role = root.find(".//testcase[@name='execution_role_vpc_permissions']/skipped")
    assert role is not None and role.get("message").startswith("not evaluated: ")


# --- asff -------------------------------------------------------------------------------------


@pytest.fixture
def securityhub(endpoint_url):
    client = boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url)
    client.enable_security_hub()
    return client


def long_path_role(builder) -> str:
    """An execution role with no policy, a 64-character name (IAM's longest) under a 505-character
    path (IAM allows 512): the execution-role check FAILs with a reason (naming the role, its ARN
    and each missing action once) over 1,024 characters."""
    path = "/" + "/".join(["platform-team-machine-learning-workloads"] * 12) + "/"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return builder.client("iam").create_role(
        RoleName="long-path-role-" + "x" * 49, Path=path, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]


def test_asff_is_accepted_by_batch_import_findings_with_long_reasons_cut(
    builder, capsys, aws_args, tmp_path, securityhub
):
    net = builder.compliant_vpc()
    builder.compliant_model("unroled", net, role_arn=long_path_role(builder))
    lonely_model(builder, net, "lonely")
    path = tmp_path / "findings.asff.json"  # the format from the file name

    code, out, err = run(capsys, "scan", "--model", "unroled", "lonely", "-o", str(path), *aws_args)

    assert (code, out, err) == (1, "", "")  # exit code as for any format: FAILs at MEDIUM and up
    reasons = json.loads(run(capsys, "scan", "--model", "unroled", "--format", "json", *aws_args)[1])
    role_reason = next(
        r["detail"]
        for r in reasons["subjects"][0]["results"]
        if r["check_id"] == "execution_role_vpc_permissions"
    )
    assert len(role_reason) > 1100, "the test needs a reason longer than ASFF's Description"
    findings = json.loads(path.read_text())
    assert isinstance(findings, list)
    # Every result but NOT_APPLICABLE (no ERROR here): one finding each.
    evaluated = [r for r in statuses(capsys, aws_args, "unroled", "lonely") if r[2] != "NOT_APPLICABLE"]
    assert len(findings) == len(evaluated)
    by_id = {f["Id"]: f for f in findings}
    role = by_id[
        f"vpcguard/arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/unroled/execution_role_vpc_permissions"
    ]
    assert len(role["Description"]) == 1024 and role["Description"].endswith("…")
    assert role["Description"].startswith("FAIL: ")
    assert role["Compliance"] == {"Status": "FAILED"} and role["RecordState"] == "ACTIVE"
    assert all(len(f["Title"]) <= 256 and len(f["Description"]) <= 1024 for f in findings)
    assert {f["Compliance"]["Status"] for f in findings} == {"FAILED", "PASSED"}

    # The real request shape: botocore validates the parameters against Security Hub's service
    # model before sending, and moto's Security Hub imports them (at most 100 per call).
    for start in range(0, len(findings), 100):
        response = securityhub.batch_import_findings(Findings=findings[start : start + 100])
        assert response["FailedCount"] == 0, response["FailedFindings"]
        assert response["SuccessCount"] == len(findings[start : start + 100])
    imported = {
        f["Id"] for page in securityhub.get_paginator("get_findings").paginate() for f in page["Findings"]
    }
    assert set(by_id) <= imported


def test_asff_title_is_cut_to_256_characters_with_an_ellipsis():
    # A check title plus a subject name cannot reach 256 characters from real resources
    # (model names stop at 63), so this one is a report built by hand.
    from vpcguard.formats.asff import asff_findings
    from vpcguard.results import CheckResult, SubjectReport

    result = CheckResult(
        check_id="sg_self_ingress",
        status=Status.FAIL,
        severity="MEDIUM",
        title="T" * 300,
        detail="x " * 800,
        fixable=True,
    )
    report = SubjectReport(
        type="model",
        name="m",
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m",
        region=REGION,
        account=ACCOUNT,
        vpc_id=None,
        instance_count=1,
        model_name="m",
        tags={},
        results=[result],
    )
    (finding,) = asff_findings(report, "2026-01-01T00:00:00.000Z")
    assert len(finding["Title"]) == 256 and finding["Title"].endswith("…")
    assert len(finding["Description"]) == 1024 and finding["Description"].endswith("…")


def test_asff_leaves_out_errors_and_says_so_for_subjects_without_an_account(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    code, out, err = run(capsys, "scan", "--model", "ghost", "--format", "asff", *aws_args)
    assert code == 2 and json.loads(out) == []  # an unknown state neither opens nor closes a finding

    code, out, err = run(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--format",
        "asff",
        *aws_args,
    )
    assert code == 0 and json.loads(out) == []
    assert "asff: " in err and "left out" in err and "--role-arn" in err


# --- ocsf -------------------------------------------------------------------------------------


def test_ocsf_is_one_compliance_finding_per_result(builder, capsys, aws_args, three_models):
    before = datetime.now(UTC) - timedelta(seconds=1)
    code, out, err = run(capsys, "scan", "--model", "lonely", "waived", "--format", "ocsf", *aws_args)

    assert code == 1 and err == ""
    events = json.loads(out)
    assert len(events) == 2 * len(check_ids())
    for event in events:
        assert (event["class_uid"], event["category_uid"], event["type_uid"], event["activity_id"]) == (
            2003,
            2,
            200301,
            1,
        )
        assert event["metadata"]["product"] == {
            "name": "vpcguard",
            "vendor_name": "vpcguard",
            "version": __version__,
        }
        assert event["metadata"]["version"] == "1.1.0"
        assert event["cloud"] == {
            "provider": "AWS",
            "account": {"uid": ACCOUNT, "type": "AWS Account", "type_id": 10},
            "region": REGION,
        }
        assert datetime.fromtimestamp(event["time"] / 1000, UTC) >= before
        assert event["compliance"]["control"] == event["finding_info"]["types"][0].removeprefix("vpcguard/")
        assert event["resources"][0]["type"] == "AWS::SageMaker::Model"
        assert event["finding_info"]["uid"].startswith("vpcguard/arn:aws:sagemaker:")
    failing = [e for e in events if e["compliance"]["status"] == "Fail"]
    assert [(e["resources"][0]["name"], e["compliance"]["control"], e["status"]) for e in failing] == [
        ("lonely", "sg_self_ingress", "New"),
        ("waived", "sg_self_ingress", "Suppressed"),
    ]
    lonely = failing[0]
    assert (lonely["severity_id"], lonely["severity"], lonely["status_code"]) == (3, "Medium", "FAIL")
    assert lonely["finding_info"]["desc"] == lonely["compliance"]["status_detail"]
    assert lonely["compliance"]["requirements"] == ["Configure the VPC Security Group"]  # the AWS guidance
    assert "aws ec2 authorize-security-group-ingress" in lonely["remediation"]["desc"]
    assert {e["compliance"]["status"] for e in events} == {"Fail", "Pass", "Not applicable"}
    assert {r["type"] for e in events for r in e["resources"]} == {"AWS::SageMaker::Model", "AWS::EC2::VPC"}


def test_ocsf_maps_error_to_warning_and_not_applicable_to_other(builder, capsys, aws_args, three_models):
    code, out, _ = run(capsys, "scan", "--model", "novpc", "ghost", "--format", "ocsf", *aws_args)
    assert code == 2
    events = json.loads(out)
    by_status = {(e["status_code"], e["compliance"]["status_id"], e["status_id"]) for e in events}
    assert by_status == {("FAIL", 3, 1), ("NOT_APPLICABLE", 99, 99), ("ERROR", 2, 1)}


# --- the JSON document's metadata -----------------------------------------------------------------


def test_json_and_jsonl_carry_the_runs_metadata(builder, capsys, aws_args):
    builder.compliant_model("good", builder.compliant_vpc())
    before = datetime.now(UTC).replace(microsecond=0)

    code, out, err = run(capsys, "scan", "--model", "good", "--format", "json", *aws_args)

    doc = json.loads(out)
    assert set(doc) == {"subjects", "summary", "metadata"}
    meta = doc["metadata"]
    assert meta == {
        "tool": "vpcguard",
        "version": __version__,
        "time": meta["time"],
        "account": ACCOUNT,
        "region": REGION,
        "checks": None,  # every check of the catalog
    }
    assert meta["time"].endswith("Z")
    assert before <= datetime.fromisoformat(meta["time"]) <= datetime.now(UTC)

    code, out, err = run(capsys, "scan", "--model", "good", "--format", "jsonl", *aws_args)
    last = json.loads(out.splitlines()[-1])
    assert set(last) == {"summary", "metadata"} and last["metadata"]["account"] == ACCOUNT


def test_an_empty_account_scan_still_names_its_region(capsys, aws_args):
    code, out, _ = run(capsys, "scan", "--all", "--format", "json", *aws_args)
    doc = json.loads(out)
    assert code == 0 and doc["subjects"] == []
    assert doc["metadata"]["region"] == REGION and doc["metadata"]["account"] is None


def test_metadata_lists_the_checks_the_run_selected(builder, capsys, aws_args):
    builder.compliant_model("good", builder.compliant_vpc())
    code, out, _ = run(
        capsys,
        "scan",
        "--model",
        "good",
        "--format",
        "json",
        "--checks",
        "vpc_dns_support,sg_self_ingress",
        *aws_args,
    )
    # In catalog order, whatever order they were given in.
    assert json.loads(out)["metadata"]["checks"] == ["sg_self_ingress", "vpc_dns_support"]
    code, out, _ = run(capsys, "scan", "--model", "good", "--format", "json", *aws_args)
    assert json.loads(out)["metadata"]["checks"] is None


# --- several formats at once ------------------------------------------------------------------------


def test_output_dir_writes_every_format_one_file_each(builder, capsys, aws_args, tmp_path):
    lonely_model(builder, builder.compliant_vpc(), "lonely")
    out_dir = tmp_path / "reports"

    code, out, err = run(
        capsys, "scan", "--model", "lonely", "--output-dir", str(out_dir), "--format", ALL_FORMATS, *aws_args
    )

    assert (code, out, err) == (1, "", "")
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "vpcguard.asff.json",
        "vpcguard.csv",
        "vpcguard.html",
        "vpcguard.json",
        "vpcguard.jsonl",
        "vpcguard.junit.xml",
        "vpcguard.ocsf.json",
        "vpcguard.sarif",
    ]
    n = len(check_ids())
    applicable = [r for r in statuses(capsys, aws_args, "lonely") if r[2] != "NOT_APPLICABLE"]
    assert json.loads((out_dir / "vpcguard.json").read_text())["summary"]["fail"] == 1
    assert ET.parse(out_dir / "vpcguard.junit.xml").getroot().get("failures") == "1"
    assert len(json.loads((out_dir / "vpcguard.asff.json").read_text())) == len(applicable)
    assert len(json.loads((out_dir / "vpcguard.ocsf.json").read_text())) == n
    assert json.loads((out_dir / "vpcguard.sarif").read_text())["runs"][0]["results"][0]["ruleId"] == (
        "sg_self_ingress"
    )
    # Each file read back by name alone: -o with the same name writes the same format.
    for name in ("vpcguard.asff.json", "vpcguard.ocsf.json", "vpcguard.junit.xml"):
        again = tmp_path / name
        run(capsys, "scan", "--model", "lonely", "-o", str(again), *aws_args)
        assert again.read_text()[:40] == (out_dir / name).read_text()[:40], name
