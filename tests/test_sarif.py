"""vpcguard.formats.sarif on reports built by hand: which statuses become results, levels,
suppressions for EXEMPT, and locations with and without a file."""

from __future__ import annotations

from vpcguard.checks.base import check_ids
from vpcguard.formats.sarif import Location, sarif_log
from vpcguard.model import Severity, Status
from vpcguard.results import CheckResult, SubjectReport


def result(check_id: str, status: Status, severity: Severity) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        status=status,
        severity=severity,
        title=f"{check_id} title",
        detail=f"{check_id}  detail",
        resource_ids=["sg-1"],
        fixable=False,
    )


def report(name: str, *results: CheckResult) -> SubjectReport:
    return SubjectReport(
        type="model",
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:model/{name}",
        region="us-east-1",
        account="123456789012",
        vpc_id="vpc-1",
        instance_count=1,
        model_name=name,
        tags={},
        results=list(results),
    )


def test_statuses_levels_suppressions_and_locations():
    reports = [
        report(
            "a",
            result("sg_self_ingress", Status.PASS, Severity.MEDIUM),
            result("subnets_private", Status.FAIL, Severity.MEDIUM),
            result("vpc_dns_support", Status.WOULD_FIX, Severity.HIGH),
            result("flow_logs_enabled", Status.EXEMPT, Severity.MEDIUM),
            result("subnets_multi_az", Status.NOT_APPLICABLE, Severity.LOW),
        ),
        report("b", result("execution_role_vpc_permissions", Status.ERROR, Severity.HIGH)),
    ]
    where = {"a": Location(uri="infra/models.yaml", line=12, logical_name="ModelA")}

    log = sarif_log(reports, lambda r: where.get(r.name))

    driver = log["runs"][0]["tool"]["driver"]
    assert [rule["id"] for rule in driver["rules"]] == check_ids()
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("subnets_private", "warning"),
        ("vpc_dns_support", "error"),
        ("flow_logs_enabled", "warning"),
        ("execution_role_vpc_permissions", "warning"),
    ]
    assert "suppressions" not in results[0]
    assert results[2]["suppressions"] == [{"kind": "external", "justification": "flow_logs_enabled  detail"}]
    assert results[0]["message"]["text"] == "model a: subnets_private title: subnets_private detail"
    assert results[0]["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "infra/models.yaml"},
                "region": {"startLine": 12},
            },
            "logicalLocations": [{"name": "ModelA", "kind": "resource"}],
        }
    ]
    errored = results[3]
    assert "could not be evaluated" in errored["message"]["text"]
    assert errored["locations"] == [
        {
            "logicalLocations": [
                {"name": "arn:aws:sagemaker:us-east-1:123456789012:model/b", "kind": "resource"}
            ]
        }
    ]
    for entry in results:
        assert driver["rules"][entry["ruleIndex"]]["id"] == entry["ruleId"]
