"""Findings in AWS Security Finding Format (ASFF), imported with BatchImportFindings.

One finding per (subject, check), with a stable Id, so a later evaluation updates it:
- FAIL / WOULD_FIX: an active, FAILED finding;
- FIXED, or PASS for a finding reported before: Compliance PASSED, RecordState ARCHIVED,
  and Workflow RESOLVED;
- EXEMPT for a finding reported before: Workflow SUPPRESSED;
- ERROR: nothing (an unknown state must not resolve or reopen anything).

BatchImportFindings cannot change Workflow on an existing finding (that field belongs to
the people triaging it), so resolving one reported earlier is a BatchUpdateFindings call.
"Reported before" is what Security Hub itself holds: one GetFindings by Id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import Status
from ..results import CheckResult, SubjectReport
from .findings import fit, what_to_do
from .subject import console_url

log = logging.getLogger(__name__)

SCHEMA_VERSION = "2018-10-08"
IMPORT_CHUNK = 100  # BatchImportFindings: at most 100 findings per call
UPDATE_CHUNK = 100  # BatchUpdateFindings: at most 100 identifiers per call
ID_FILTER_CHUNK = 20  # values per filter field kept small for GetFindings
FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices/Network Reachability"
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512

_FAILING = (Status.FAIL, Status.WOULD_FIX)


class SecurityHubImportError(RuntimeError):
    """Security Hub rejected findings; the record must fail rather than lose them."""


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def product_arn(region: str, account: str) -> str:
    """The product ARN for an account's own findings (the "default" product)."""
    return f"arn:{partition_of(region)}:securityhub:{region}:{account}:product/{account}/default"


def finding_id(subject: SubjectReport, check_id: str) -> str:
    return f"vpcguard/{subject.arn or subject.name}/{check_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_asff(
    subject: SubjectReport,
    result: CheckResult,
    *,
    now: str,
    created_at: str | None = None,
    new: bool = True,
    home: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One ASFF finding for `result`. `created_at` keeps an existing finding's CreatedAt.

    `home` is the (account, region) whose Security Hub imports the finding. A finding of the
    default product must carry the importing account as AwsAccountId, so a hub's finding for
    a member account's subject names the member in its title, resources and product fields."""
    failing = result.status in _FAILING
    # An exempted failure (only `vpcguard scan --format asff` sends one; the notifier
    # suppresses through BatchUpdateFindings) is still not compliant: a SUPPRESSED finding.
    exempt = result.status == Status.EXEMPT
    importer_account, importer_region = home or (subject.account, subject.region)
    member = bool(subject.account) and subject.account != importer_account
    partition = partition_of(subject.region)
    kind = "transform job" if subject.type == "transform_job" else "model"
    resources: list[dict[str, Any]] = [
        {
            "Type": "Other",
            "Id": subject.arn or subject.name,
            "Partition": partition,
            "Region": subject.region,
            "Details": {
                "Other": {
                    "vpcguard/type": subject.type,
                    "vpcguard/name": subject.name,
                    "vpcguard/model_name": subject.model_name,
                }
            },
        }
    ]
    if subject.vpc_id:
        resources.append(
            {
                "Type": "AwsEc2Vpc",
                "Id": f"arn:{partition}:ec2:{subject.region}:{subject.account}:vpc/{subject.vpc_id}",
                "Partition": partition,
                "Region": subject.region,
            }
        )
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(subject, result.check_id),
        "ProductArn": product_arn(importer_region, importer_account),
        "GeneratorId": f"vpcguard/{result.check_id}",
        "AwsAccountId": importer_account,
        "Types": [FINDING_TYPE],
        "CreatedAt": created_at or now,
        "UpdatedAt": now,
        "Severity": {"Label": result.severity.value},
        "Title": fit(
            f"{result.title} ({kind} {subject.name}"
            + (f" in account {subject.account} {subject.region})" if member else ")"),
            MAX_TITLE,
        ),
        "Description": fit(f"{result.status.value}: {result.detail}", MAX_DESCRIPTION),
        "Resources": resources,
        "Compliance": {"Status": "FAILED" if failing or exempt else "PASSED"},
        "RecordState": "ACTIVE" if failing or exempt else "ARCHIVED",
        "SourceUrl": console_url(subject.region, subject.type, subject.name),
        "ProductFields": {
            "vpcguard/check_id": result.check_id,
            "vpcguard/status": result.status.value,
            "vpcguard/resource_ids": fit(",".join(result.resource_ids), 2000),
            "vpcguard/account": subject.account,
            "vpcguard/region": subject.region,
        },
        "ProductName": "vpcguard",
        "CompanyName": "vpcguard",
    }
    if new:
        # Workflow can be set only when the finding is created.
        finding["Workflow"] = {"Status": "NEW" if failing else "SUPPRESSED" if exempt else "RESOLVED"}
    todo = what_to_do(result)
    if todo:
        finding["Remediation"] = {"Recommendation": {"Text": fit(_plain(todo), MAX_RECOMMENDATION)}}
    return finding


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class ImportSummary:
    imported: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)


class SecurityHubPublisher:
    def __init__(self, client: Any, home: tuple[str, str] | None = None) -> None:
        """`home`: the (account, region) of this client's Security Hub, when the subjects
        may be another account's (a hub); None: each subject's own."""
        self.client = client
        self.home = home

    def existing(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Findings Security Hub already holds, by Id. (moto ignores the filter; keeping
        only the asked Ids makes the answer right either way.)"""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        paginator = self.client.get_paginator("get_findings")
        for chunk in _chunks(wanted, ID_FILTER_CHUNK):
            filters = {"Id": [{"Value": i, "Comparison": "EQUALS"} for i in chunk]}
            for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
                for finding in page.get("Findings", []):
                    if finding.get("Id") in chunk:
                        found[finding["Id"]] = finding
        return found

    def publish(self, subject: SubjectReport) -> ImportSummary:
        relevant = [
            r for r in subject.results if r.status in (*_FAILING, Status.FIXED, Status.PASS, Status.EXEMPT)
        ]
        if not relevant:
            return ImportSummary()
        existing = self.existing(finding_id(subject, r.check_id) for r in relevant)
        now = _now()
        findings: list[dict[str, Any]] = []
        resolve: list[str] = []
        suppress: list[str] = []
        for result in relevant:
            fid = finding_id(subject, result.check_id)
            before = existing.get(fid)
            if result.status in (Status.PASS, Status.EXEMPT) and before is None:
                continue  # never reported: nothing to close
            if result.status == Status.EXEMPT:
                if (before or {}).get("Workflow", {}).get("Status") != "SUPPRESSED":
                    suppress.append(fid)
                continue
            if result.status == Status.PASS and _closed(before):
                continue  # already resolved: no update every evaluation
            created = before.get("CreatedAt") if before else None
            findings.append(
                to_asff(subject, result, now=now, created_at=created, new=before is None, home=self.home)
            )
            if before is not None and result.status in (Status.PASS, Status.FIXED):
                resolve.append(fid)

        summary = ImportSummary()
        for chunk in _chunks(findings, IMPORT_CHUNK):
            response = self.client.batch_import_findings(Findings=list(chunk))
            if response.get("FailedCount"):
                reasons = "; ".join(
                    f"{f.get('Id')}: {f.get('ErrorCode')} {f.get('ErrorMessage')}"
                    for f in response.get("FailedFindings", [])
                )
                raise SecurityHubImportError(
                    f"Security Hub rejected {response['FailedCount']} finding(s): {reasons}"
                )
            summary.imported += [f["Id"] for f in chunk]
        pa = product_arn(*reversed(self.home)) if self.home else product_arn(subject.region, subject.account)
        summary.resolved = self._set_workflow(resolve, pa, "RESOLVED", "vpcguard: the check passes again")
        summary.suppressed = self._set_workflow(
            suppress, pa, "SUPPRESSED", "vpcguard: exempted by the vpcguard:exempt tag"
        )
        return summary

    def _set_workflow(self, ids: list[str], pa: str, status: str, note: str) -> list[str]:
        done: list[str] = []
        for chunk in _chunks(ids, UPDATE_CHUNK):
            response = self.client.batch_update_findings(
                FindingIdentifiers=[{"Id": i, "ProductArn": pa} for i in chunk],
                Workflow={"Status": status},
                Note={"Text": note, "UpdatedBy": "vpcguard"},
            )
            unprocessed = response.get("UnprocessedFindings", [])
            if unprocessed:
                reasons = "; ".join(
                    f"{u['FindingIdentifier']['Id']}: {u.get('ErrorMessage')}" for u in unprocessed
                )
                raise SecurityHubImportError(f"Security Hub did not set {status} on: {reasons}")
            done += [p["Id"] for p in response.get("ProcessedFindings", [])]
        return done


def _closed(finding: dict[str, Any] | None) -> bool:
    if not finding:
        return False
    return (
        finding.get("Compliance", {}).get("Status") == "PASSED"
        and finding.get("Workflow", {}).get("Status") == "RESOLVED"
    )
