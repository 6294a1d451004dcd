"""What an EventBridge event asks vpcguard to evaluate.

Two kinds of event reach the work queue (template.yaml's rules):

- `AWS API Call via CloudTrail` from `sagemaker.amazonaws.com` for `CreateModel` or
  `CreateTransformJob`; CloudTrail writes `requestParameters` / `responseElements` in
  lower camel case (`modelName`, `transformJobArn`).
- the native `SageMaker Transform Job State Change` (detail in SageMaker's own upper camel
  case: `TransformJobName`, `TransformJobStatus`), which catches jobs where CloudTrail
  management events are not delivered to EventBridge.

`parse_event` turns one into a `WorkItem`: evaluate a model, evaluate a transform job, or
skip (with the reason). An event that cannot be understood raises `ValueError`: it is a
poison message and the work queue's redrive moves it to the DLQ. An event that is
well-formed but asks for nothing (a failed call, an unrelated API) is a skip, not an
error: retrying it could never produce anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
JOB_STATE_DETAIL_TYPE = "SageMaker Transform Job State Change"
SAGEMAKER_SOURCE = "aws.sagemaker"
SAGEMAKER_EVENT_SOURCE = "sagemaker.amazonaws.com"
# The backfill Lambda's messages (vpcguard.backfill.backfill_messages): same envelope,
# detail {"type": "model"|"transform_job", "name": ..., "backfill_id": ...}.
BACKFILL_SOURCE = "vpcguard.backfill"
BACKFILL_DETAIL_TYPE = "Backfill Subject"
# Job states worth an evaluation: the job has started and its ENIs are being made.
EVALUATED_JOB_STATES = frozenset({"InProgress"})

SubjectKind = Literal["model", "transform_job"]


class _Lenient(BaseModel):
    # Events carry many more fields than we read; new ones must never break parsing.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class EventEnvelope(_Lenient):
    """The EventBridge envelope every event shares."""

    id: str = Field(min_length=1)
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str = ""
    region: str = ""
    time: str = ""
    resources: list[str] = Field(default_factory=list)
    detail: dict[str, Any]


class UserIdentity(_Lenient):
    type: str = ""
    arn: str | None = None
    principalId: str | None = None
    invokedBy: str | None = None


class CloudTrailDetail(_Lenient):
    eventName: str
    eventID: str = Field(min_length=1)
    eventSource: str
    awsRegion: str = ""
    userIdentity: UserIdentity = Field(default_factory=UserIdentity)
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None


class TransformJobStateDetail(_Lenient):
    TransformJobName: str = Field(min_length=1)
    TransformJobStatus: str
    TransformJobArn: str | None = None
    ModelName: str | None = None


class BackfillDetail(_Lenient):
    type: SubjectKind
    name: str = Field(min_length=1)
    backfill_id: str = ""


class WorkItem(BaseModel):
    """One unit of work for the inspect function.

    `event_id` is the idempotency key: CloudTrail's `eventID` for an API call (unique per
    call, and the same on every re-delivery), else the EventBridge event id.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    source: str  # "CreateModel", "CreateTransformJob", "Transform Job State Change", ...
    triggered_by: str  # the caller's ARN, or the service that emitted the event
    account: str = ""
    region: str = ""
    subject_type: SubjectKind | None = None
    # An ARN when the event has one (it survives a deletion, so a report for a model that
    # is already gone still names it and its account), else the name.
    subject_ref: str | None = None
    skip_reason: str | None = None

    @property
    def skip(self) -> bool:
        return self.skip_reason is not None

    @property
    def trigger(self) -> str:
        """What audit records name as the trigger of a change."""
        return f"{self.source} event {self.event_id} by {self.triggered_by}"


def parse_event(event: str | bytes | Mapping[str, Any]) -> WorkItem:
    """An EventBridge event (a dict, or the JSON text an SQS record carries) -> WorkItem.

    Raises ValueError, naming what is wrong, for anything that is not an event we can act on.
    """
    if isinstance(event, str | bytes):
        try:
            event = json.loads(event)
        except json.JSONDecodeError as exc:
            raise ValueError(f"message body is not JSON: {exc}") from None
    if not isinstance(event, Mapping):
        raise ValueError(f"message body is a JSON {type(event).__name__}, not an EventBridge event object")
    envelope = _validate(EventEnvelope, event, "EventBridge event")

    if envelope.source == BACKFILL_SOURCE and envelope.detail_type == BACKFILL_DETAIL_TYPE:
        return _from_backfill(envelope)
    if envelope.source != SAGEMAKER_SOURCE:
        return _skipped(envelope, envelope.id, f"event source {envelope.source!r} is not {SAGEMAKER_SOURCE}")
    if envelope.detail_type == CLOUDTRAIL_DETAIL_TYPE:
        return _from_cloudtrail(envelope)
    if envelope.detail_type == JOB_STATE_DETAIL_TYPE:
        return _from_job_state(envelope)
    return _skipped(envelope, envelope.id, f"detail-type {envelope.detail_type!r} is not evaluated")


def _from_cloudtrail(envelope: EventEnvelope) -> WorkItem:
    detail = _validate(CloudTrailDetail, envelope.detail, "CloudTrail event detail")
    who = detail.userIdentity.arn or detail.userIdentity.invokedBy or detail.userIdentity.principalId or "unknown"
    base = dict(
        event_id=detail.eventID,
        source=detail.eventName,
        triggered_by=who,
        account=envelope.account,
        region=detail.awsRegion or envelope.region,
    )
    if detail.eventSource != SAGEMAKER_EVENT_SOURCE:
        return WorkItem(**base, skip_reason=f"eventSource {detail.eventSource!r} is not {SAGEMAKER_EVENT_SOURCE}")
    if detail.errorCode:
        return WorkItem(
            **base,
            skip_reason=f"{detail.eventName} failed with {detail.errorCode}: nothing was created",
        )
    request = detail.requestParameters or {}
    response = detail.responseElements or {}
    if detail.eventName == "CreateModel":
        ref = response.get("modelArn") or request.get("modelName")
        kind: SubjectKind = "model"
    elif detail.eventName == "CreateTransformJob":
        ref = response.get("transformJobArn") or request.get("transformJobName")
        kind = "transform_job"
    else:
        return WorkItem(**base, skip_reason=f"{detail.eventName} does not create a model or transform job")
    if not isinstance(ref, str) or not ref:
        field = "modelArn/modelName" if kind == "model" else "transformJobArn/transformJobName"
        raise ValueError(
            f"{detail.eventName} event {detail.eventID} names no {kind.replace('_', ' ')} "
            f"(no {field} in responseElements/requestParameters)"
        )
    return WorkItem(**base, subject_type=kind, subject_ref=ref)


def _from_job_state(envelope: EventEnvelope) -> WorkItem:
    detail = _validate(TransformJobStateDetail, envelope.detail, "transform job state change detail")
    base = dict(
        event_id=envelope.id,
        source="Transform Job State Change",
        triggered_by="sagemaker.amazonaws.com",
        account=envelope.account,
        region=envelope.region,
    )
    if detail.TransformJobStatus not in EVALUATED_JOB_STATES:
        return WorkItem(
            **base,
            skip_reason=f"transform job {detail.TransformJobName} is {detail.TransformJobStatus}, not InProgress",
        )
    ref = detail.TransformJobArn or next(
        (r for r in envelope.resources if ":transform-job/" in r), detail.TransformJobName
    )
    return WorkItem(**base, subject_type="transform_job", subject_ref=ref)


def _from_backfill(envelope: EventEnvelope) -> WorkItem:
    detail = _validate(BackfillDetail, envelope.detail, "backfill message detail")
    run = f" {detail.backfill_id}" if detail.backfill_id else ""
    return WorkItem(
        event_id=envelope.id,
        source="Backfill",
        triggered_by=f"vpcguard backfill{run}",
        account=envelope.account,
        region=envelope.region,
        subject_type=detail.type,
        subject_ref=detail.name,
    )


def _skipped(envelope: EventEnvelope, event_id: str, reason: str) -> WorkItem:
    return WorkItem(
        event_id=event_id,
        source=envelope.detail_type,
        triggered_by=envelope.source,
        account=envelope.account,
        region=envelope.region,
        skip_reason=reason,
    )


def _validate(model: type[_Lenient], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"not a valid {what}: {problems}") from None
