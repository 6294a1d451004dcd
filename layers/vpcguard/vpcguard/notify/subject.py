"""Reading the SNS message body (the contract's subject object) that reaches the notifier."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine import CheckResult, SubjectReport
from ..model import Severity, Status
from ..publish import ACTOR

# Results a person is told about; PASS, NOT_APPLICABLE and EXEMPT are not news.
NOTIFIED_STATUSES: tuple[Status, ...] = (Status.FAIL, Status.WOULD_FIX, Status.ERROR, Status.FIXED)


class BadMessage(ValueError):
    """A queue record that is not a vpcguard subject: retrying it cannot help."""


def parse_subject(data: dict[str, Any] | str) -> SubjectReport:
    """The subject object (dict or JSON text) as a validated SubjectReport."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise BadMessage(f"message body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadMessage(f"message body is a JSON {type(data).__name__}, not a subject object")
    try:
        return SubjectReport.model_validate(data)
    except ValueError as exc:
        raise BadMessage(f"message body is not a vpcguard subject: {exc}") from None


def subject_from_sqs_body(body: str) -> SubjectReport:
    """An SQS record body: the SNS envelope (`"Type": "Notification"`, `"Message"`), or the
    subject itself when the subscription uses raw message delivery."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"record body is not JSON: {exc}") from None
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        report = parse_subject(data["Message"])
        report.created_by = _string_attribute(data.get("MessageAttributes"), ACTOR)
        return report
    return parse_subject(data)


def subject_from_sqs_record(body: str, attributes: Mapping[str, Any] | None = None) -> SubjectReport:
    """`subject_from_sqs_body`, plus the SQS message attributes, where SNS puts the message
    attributes when the subscription uses raw message delivery."""
    report = subject_from_sqs_body(body)
    if report.created_by is None and attributes:
        value = attributes.get(ACTOR) or {}
        text = value.get("stringValue") or value.get("StringValue") if isinstance(value, Mapping) else None
        report.created_by = text if isinstance(text, str) and text else None
    return report


def _string_attribute(attributes: Any, name: str) -> str | None:
    """A String message attribute of the SNS envelope (`{"Type": "String", "Value": ...}`)."""
    if not isinstance(attributes, Mapping):
        return None
    value = attributes.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("Value"), str) and value["Value"]:
        return value["Value"]
    return None


def change_from_sqs_body(body: str) -> dict[str, str] | None:
    """What changed and who changed it, for a drift re-evaluation: the SNS envelope's
    `change` and `changed_by` message attributes (vpcguard.publish). None for any other
    message, or with raw message delivery (no envelope)."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("MessageAttributes"), dict):
        return None
    attributes = data["MessageAttributes"]
    out = {
        name: str(attributes[name].get("Value"))
        for name in ("change", "changed_by")
        if isinstance(attributes.get(name), dict) and attributes[name].get("Value")
    }
    return out if "change" in out else None


def notified(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status in NOTIFIED_STATUSES]


def by_severity(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Worst first, then by check id (stable output)."""
    return sorted(results, key=lambda r: (-r.severity.rank, r.check_id))


def worst_severity(results: Iterable[CheckResult], status: Status = Status.FAIL) -> Severity | None:
    matching = [r.severity for r in results if r.status == status]
    return max(matching, key=lambda s: s.rank) if matching else None


def kind_label(subject: SubjectReport) -> str:
    return "transform job" if subject.type == "transform_job" else "model"


def console_url(region: str, kind: str, name: str) -> str:
    """The SageMaker console page of a model (`kind` "model") or a transform job."""
    fragment = "transform-jobs" if kind == "transform_job" else "models"
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{fragment}/{name}"
