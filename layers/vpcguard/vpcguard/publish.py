"""The SNS findings message (docs/architecture.md, "The JSON contract").

Body: the subject object of the JSON contract (`SubjectReport.to_dict()`), as JSON text.

Message attributes, for subscription filter policies:

| attribute | type | value |
|---|---|---|
| `severity` | String | the highest severity among FAIL results; when nothing is FAIL (only FIXED, WOULD_FIX or ERROR), the highest severity among those |
| `check_ids` | String.Array | JSON array of the ids of every result that is not PASS, NOT_APPLICABLE or EXEMPT, sorted |
| `statuses` | String.Array | JSON array of the distinct statuses of those results, sorted |
| `account` | String | the subject's account (left out when unknown, e.g. a model deleted before it was read) |
| `region` | String | the subject's region |
| `actor` | String | who created the model or job: the caller ARN of the CloudTrail `CreateModel`/`CreateTransformJob` event (left out for other triggers) |
| `change` | String | drift re-evaluations only: the CloudTrail event that changed a dependency and what it changed, e.g. `RevokeSecurityGroupIngress on sg-0123` |
| `changed_by` | String | drift re-evaluations only: who made that change (CloudTrail `userIdentity` ARN) |

`check_ids` is a String.Array, not comma-separated text, so that a filter policy such as
`{"check_ids": ["sg_self_ingress"]}` matches a message carrying that id among others
(SNS matches a String.Array attribute when any element matches).

A message is published only when at least one result is not PASS, NOT_APPLICABLE or EXEMPT.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .model import Severity, Status

if TYPE_CHECKING:
    from .aws import AwsClients
    from .results import CheckResult, SubjectReport

QUIET_STATUSES = frozenset({Status.PASS, Status.NOT_APPLICABLE, Status.EXEMPT})
# The message attribute naming who created the subject (the notifier reads it back).
ACTOR = "actor"
# SNS limits a Subject (used by email subscribers) to fewer than 100 ASCII characters.
SUBJECT_LIMIT = 99


def notable_results(report: SubjectReport) -> list[CheckResult]:
    """Results someone should hear about: FAIL, FIXED, WOULD_FIX, ERROR."""
    return [r for r in report.results if r.status not in QUIET_STATUSES]


def should_publish(report: SubjectReport) -> bool:
    return bool(notable_results(report))


def message_severity(report: SubjectReport) -> Severity | None:
    """The highest FAIL severity; without a FAIL, the highest of the other notable results."""
    fails = [r.severity for r in report.results if r.status == Status.FAIL]
    pool = fails or [r.severity for r in notable_results(report)]
    return max(pool, key=lambda s: s.rank) if pool else None


def change_attributes(change: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """What changed and who changed it, for a drift re-evaluation's message."""
    if not change:
        return {}
    resources = ", ".join(change.get("resources") or [])
    what = (
        f"{change.get('event_name', '?')} on {resources}" if resources else str(change.get("event_name", "?"))
    )
    out = {"change": {"DataType": "String", "StringValue": what}}
    if change.get("actor"):
        out["changed_by"] = {"DataType": "String", "StringValue": str(change["actor"])}
    return out


def message_attributes(report: SubjectReport) -> dict[str, dict[str, str]]:
    notable = notable_results(report)
    attributes: dict[str, dict[str, str]] = {
        "check_ids": {
            "DataType": "String.Array",
            "StringValue": json.dumps(sorted({r.check_id for r in notable})),
        },
        "statuses": {
            "DataType": "String.Array",
            "StringValue": json.dumps(sorted({r.status.value for r in notable})),
        },
    }
    severity = message_severity(report)
    if severity is not None:
        attributes["severity"] = {"DataType": "String", "StringValue": severity.value}
    # SNS rejects an empty String attribute: an unknown account or region is left out.
    for name, value in (("account", report.account), ("region", report.region), (ACTOR, report.created_by)):
        if value:
            attributes[name] = {"DataType": "String", "StringValue": value}
    return attributes


def message_subject(report: SubjectReport) -> str:
    """`vpcguard HIGH: transform_job fraud-nightly (3 findings)`, cut to SNS's limit."""
    severity = message_severity(report)
    count = len(notable_results(report))
    text = (
        f"vpcguard {severity.value if severity else 'INFO'}: {report.type} {report.name} "
        f"({count} finding{'s' if count != 1 else ''})"
    )
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def publish_findings(
    clients: AwsClients, topic_arn: str, report: SubjectReport, change: Mapping[str, Any] | None = None
) -> str | None:
    """Publish the report to the findings topic; the SNS message id, or None when the
    report has nothing to say (everything PASS, NOT_APPLICABLE or EXEMPT). `change`: the
    drift change that led to this evaluation, named in the message attributes."""
    if not should_publish(report):
        return None
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Message": json.dumps(report.to_dict(), sort_keys=True),
        "Subject": message_subject(report),
        "MessageAttributes": {**message_attributes(report), **change_attributes(change)},
    }
    return clients.client("sns").publish(**request)["MessageId"]
