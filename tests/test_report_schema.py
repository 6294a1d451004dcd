"""docs/schema/report.schema.json (JSON Schema 2020-12) against real output: the installed
`vpcguard` console script scanning the local AWS, and a dry run with audit records; one
document it must refuse; and its status and severity enums equal the code's."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import run, run_console_script
from tests.localaws.server import REGION
from tests.test_cli import dns_off_model
from vpcguard.model import Severity, Status

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "schema" / "report.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)  # the schema itself is valid 2020-12
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_a_real_scan_validates_against_the_published_schema(builder, endpoint_url, validator):
    net = builder.compliant_vpc()
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model("good", net, tags={"vpcguard:team": "risk"})
    builder.compliant_model("lonely", net, security_group_ids=[lonely])
    builder.model("novpc", subnet_ids=None, role_arn=net.role_arn)
    builder.transform_job("nightly", "good", instance_count=3)

    proc = run_console_script(
        "scan",
        "--model",
        "good",
        "lonely",
        "novpc",
        "ghost",
        "--transform-job",
        "nightly",
        "--format",
        "json",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint_url,
    )

    assert proc.returncode == 2, proc.stderr  # ghost is an ERROR: exit 2, as always
    document = json.loads(proc.stdout)
    assert errors(validator, document) == []
    # The run covers every status but the remediation ones (those come from the dry run below).
    seen = {r["status"] for s in document["subjects"] for r in s["results"]}
    assert {"PASS", "FAIL", "NOT_APPLICABLE", "ERROR"} <= seen


def test_a_dry_run_with_audit_records_validates_too(builder, capsys, aws_args, validator):
    dns_off_model(builder)

    code, out, _ = run(
        capsys,
        "scan",
        "--model",
        "dark",
        "--mode",
        "vpc_dns_support=fix",
        "--dry-run",
        "--format",
        "json",
        "--pretty",
        *aws_args,
    )

    document = json.loads(out)
    assert code == 1 and document["audit"] and document["summary"]["would_fix"] == 1
    assert errors(validator, document) == []


def test_the_schema_refuses_an_unknown_status_and_a_missing_key(builder, capsys, aws_args, validator):
    builder.compliant_model("good", builder.compliant_vpc())
    _, out, _ = run(capsys, "scan", "--model", "good", "--format", "json", *aws_args)
    document = json.loads(out)
    assert errors(validator, document) == []

    unknown = copy.deepcopy(document)
    unknown["subjects"][0]["results"][0]["status"] = "MAYBE"
    assert errors(validator, unknown) == [
        "subjects/0/results/0/status: 'MAYBE' is not one of " + repr([s.value for s in Status])
    ]
    no_metadata = {k: v for k, v in document.items() if k != "metadata"}
    assert errors(validator, no_metadata) == [": 'metadata' is a required property"]


def test_the_schemas_statuses_and_severities_are_the_codes():
    defs = json.loads(SCHEMA_PATH.read_text())["$defs"]
    assert defs["status"]["enum"] == [s.value for s in Status]
    assert defs["severity"]["enum"] == [s.value for s in Severity]
