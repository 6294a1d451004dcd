"""`--format ocsf`: OCSF 1.1.0 Compliance Finding events (class_uid 2003), for a security data
lake (Amazon Security Lake custom sources, or any OCSF-reading store).

A JSON list, one event per check result of every subject (PASS included: a data lake wants
the whole picture, not only problems), written subject by subject like jsonl: the writer
holds nothing. `jq -c '.[]'` turns it into one event a line where a loader wants that.

Each event: activity Create (type_uid 200301), `compliance.control` the check id and
`compliance.status` its outcome, `finding_info.uid` the same stable id as the Security Hub
finding, `resources` the model or job (and its VPC), `cloud` the AWS account and region.

How vpcguard's statuses map (compliance status_id / finding status_id):
- FAIL, WOULD_FIX: Fail (3) / New (1);
- PASS, FIXED: Pass (1) / Resolved (4);
- EXEMPT: Fail (3) / Suppressed (3);
- ERROR: Warning (2, "did not yield a result due to missing information") / New (1);
- NOT_APPLICABLE: Other (99) / Other (99).
`status_code` keeps vpcguard's own status, `status_detail` the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TextIO

from .. import __version__
from ..model import Severity, Status
from ..notify.securityhub import finding_id, partition_of
from ..remedy_text import remedy_for
from ..results import TOOL_NAME, CheckResult, SubjectReport
from .json import JsonListWriter

OCSF_VERSION = "1.1.0"
CLASS_UID = 2003
CLASS_NAME = "Compliance Finding"
CATEGORY_UID = 2
CATEGORY_NAME = "Findings"
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE  # 200301
STANDARD = "vpcguard: SageMaker batch transform on a private VPC"

SEVERITY_ID = {
    Severity.INFORMATIONAL: (1, "Informational"),
    Severity.LOW: (2, "Low"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"),
    Severity.CRITICAL: (5, "Critical"),
}
# vpcguard status -> (compliance status_id, status), (finding status_id, status)
COMPLIANCE_STATUS = {
    Status.FAIL: (3, "Fail"),
    Status.WOULD_FIX: (3, "Fail"),
    Status.PASS: (1, "Pass"),
    Status.FIXED: (1, "Pass"),
    Status.EXEMPT: (3, "Fail"),
    Status.ERROR: (2, "Warning"),
    Status.NOT_APPLICABLE: (99, "Not applicable"),
}
FINDING_STATUS = {
    Status.FAIL: (1, "New"),
    Status.WOULD_FIX: (1, "New"),
    Status.PASS: (4, "Resolved"),
    Status.FIXED: (4, "Resolved"),
    Status.EXEMPT: (3, "Suppressed"),
    Status.ERROR: (1, "New"),
    Status.NOT_APPLICABLE: (99, "Not applicable"),
}
RESOURCE_TYPE = {"model": "AWS::SageMaker::Model", "transform_job": "AWS::SageMaker::TransformJob"}


def _section(check_id: str) -> str | None:
    from ..checks.base import all_checks  # the catalog only when a report is written

    section = next((c.meta.section for c in all_checks() if c.meta.id == check_id), None)
    return section.strip('"') if section else None  # the catalog quotes a heading


def compliance_finding(report: SubjectReport, result: CheckResult, time_ms: int) -> dict[str, Any]:
    """One OCSF Compliance Finding event for `result`."""
    detail = " ".join(result.detail.split())
    kind = "transform job" if report.type == "transform_job" else "model"
    severity_id, severity = SEVERITY_ID[result.severity]
    compliance_id, compliance_status = COMPLIANCE_STATUS[result.status]
    status_id, status = FINDING_STATUS[result.status]
    resource: dict[str, Any] = {
        "uid": report.arn or report.name,
        "name": report.name,
        "type": RESOURCE_TYPE.get(report.type, report.type),
        "labels": [f"{key}={value}" for key, value in sorted(report.tags.items())],
        "data": {"model_name": report.model_name, "instance_count": report.instance_count},
    }
    if report.region:
        resource["region"] = report.region
        resource["cloud_partition"] = partition_of(report.region)
    resources = [resource]
    if report.vpc_id:
        vpc: dict[str, Any] = {"uid": report.vpc_id, "type": "AWS::EC2::VPC"}
        if report.vpc_name:
            vpc["name"] = report.vpc_name
        resources.append(vpc)
    compliance: dict[str, Any] = {
        "control": result.check_id,
        "standards": [STANDARD],
        "status_id": compliance_id,
        "status": compliance_status,
        "status_code": result.status.value,
        "status_detail": detail,
    }
    section = _section(result.check_id)
    if section:
        compliance["requirements"] = [section]
    cloud: dict[str, Any] = {"provider": "AWS"}
    if report.account:
        cloud["account"] = {"uid": report.account, "type": "AWS Account", "type_id": 10}
    if report.region:
        cloud["region"] = report.region
    event: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "type_uid": TYPE_UID,
        "type_name": f"{CLASS_NAME}: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_code": result.status.value,
        "status_detail": detail,
        "message": f"{kind} {report.name}: {result.title}: {detail}",
        "time": time_ms,
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": ["cloud"],
            "product": {"name": TOOL_NAME, "vendor_name": TOOL_NAME, "version": __version__},
        },
        "cloud": cloud,
        "compliance": compliance,
        "finding_info": {
            "uid": finding_id(report, result.check_id),
            "title": result.title,
            "desc": detail,
            "types": ["vpcguard/" + result.check_id],
            "product_uid": TOOL_NAME,
        },
        "resources": resources,
    }
    remedy = remedy_for(result, report.region or "us-east-1")
    if remedy is not None:
        event["remediation"] = {"desc": " ".join([remedy.text, *remedy.commands])}
    return event


def epoch_ms(moment: datetime | None = None) -> int:
    return int((moment or datetime.now(UTC)).timestamp() * 1000)


class OcsfWriter(JsonListWriter):
    """The events as a JSON list, written subject by subject (holds nothing)."""

    def __init__(self, stream: TextIO, pretty: bool = False) -> None:
        super().__init__(stream, self._events, pretty=pretty)
        self.time_ms = epoch_ms()

    def _events(self, report: SubjectReport) -> list[dict[str, Any]]:
        return [compliance_finding(report, result, self.time_ms) for result in report.results]
