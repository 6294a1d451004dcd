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

The event shapes are checked by hand (field tables below), not with pydantic models: this
runs in the inspect Lambda, where importing pydantic and building its models was the
largest part of the cold start the function's own code added (issue 4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
JOB_STATE_DETAIL_TYPE = "SageMaker Transform Job State Change"
SAGEMAKER_SOURCE = "aws.sagemaker"
SAGEMAKER_EVENT_SOURCE = "sagemaker.amazonaws.com"
# The backfill Lambda's messages (vpcguard.backfill.backfill_messages): same envelope,
# detail {"type": "model"|"transform_job", "name": ..., "backfill_id": ...}.
BACKFILL_SOURCE = "vpcguard.backfill"
BACKFILL_DETAIL_TYPE = "Backfill Subject"
# The drift function's re-evaluations (vpcguard.drift.coalesce): same envelope, detail
# {"type", "name" (the subject's ARN), "until", "change": {event_id, event_name, actor, ...}}.
DRIFT_SOURCE = "vpcguard.drift"
DRIFT_DETAIL_TYPE = "Drift Re-evaluation"
# Job states worth an evaluation: the job has started and its ENIs are being made.
EVALUATED_JOB_STATES = frozenset({"InProgress"})

SubjectKind = Literal["model", "transform_job"]


# --- the event shapes we read -----------------------------------------------------------
# Each is (key, kind, default); `_REQUIRED` as default means the key must be there. Events
# carry many more fields than we read; unknown ones are ignored, so new ones never break
# parsing. Kinds: "str", "id" (a non-empty string), "dict", "list" (of strings), "kind"
# (a SubjectKind); a default of None allows null.
_REQUIRED: Any = object()

ENVELOPE_FIELDS = (
    ("id", "id", _REQUIRED),
    ("detail-type", "str", _REQUIRED),
    ("source", "str", _REQUIRED),
    ("account", "str", ""),
    ("region", "str", ""),
    ("time", "str", ""),
    ("resources", "list", ()),
    ("detail", "dict", _REQUIRED),
)
USER_IDENTITY_FIELDS = (
    ("type", "str", ""),
    ("arn", "str", None),
    ("principalId", "str", None),
    ("invokedBy", "str", None),
)
CLOUDTRAIL_FIELDS = (
    ("eventName", "str", _REQUIRED),
    ("eventID", "id", _REQUIRED),
    ("eventSource", "str", _REQUIRED),
    ("awsRegion", "str", ""),
    ("userIdentity", "dict", None),
    ("requestParameters", "dict", None),
    ("responseElements", "dict", None),
    ("errorCode", "str", None),
    ("errorMessage", "str", None),
)
JOB_STATE_FIELDS = (
    ("TransformJobName", "id", _REQUIRED),
    ("TransformJobStatus", "str", _REQUIRED),
    ("TransformJobArn", "str", None),
    ("ModelName", "str", None),
)
BACKFILL_FIELDS = (
    ("type", "kind", _REQUIRED),
    ("name", "id", _REQUIRED),
    ("backfill_id", "str", ""),
)
DRIFT_FIELDS = (
    ("type", "kind", _REQUIRED),
    ("name", "id", _REQUIRED),
    ("change", "dict", _REQUIRED),
)
DRIFT_CHANGE_FIELDS = (
    ("event_id", "id", _REQUIRED),
    ("event_name", "id", _REQUIRED),
    ("actor", "str", "unknown"),
    ("time", "str", ""),
    ("resources", "list", ()),
)
_SUBJECT_KINDS = ("model", "transform_job")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkItem:
    """One unit of work for the inspect function.

    `event_id` is the idempotency key: CloudTrail's `eventID` for an API call (unique per
    call, and the same on every re-delivery), else the EventBridge event id.
    """

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
    # A drift re-evaluation's cause: the CloudTrail change event (event_id, event_name,
    # actor, time, resources) that made the subject worth evaluating again.
    change: dict[str, Any] | None = None

    @property
    def skip(self) -> bool:
        return self.skip_reason is not None

    @property
    def trigger(self) -> str:
        """What audit records name as the trigger of a change."""
        if self.change:
            c = self.change
            return (
                f"drift: {c['event_name']} on {', '.join(c.get('resources') or ['?'])} by {c.get('actor')} "
                f"(CloudTrail event {c['event_id']})"
            )
        return f"{self.source} event {self.event_id} by {self.triggered_by}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (the idempotency layer hashes and stores them)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkItem:
        """Back from `to_dict` (what the idempotency layer hands the function)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a work item is a JSON object, not a {type(data).__name__}")
        kind = data.get("subject_type")
        if kind is not None and kind not in _SUBJECT_KINDS:
            raise ValueError(f"subject_type must be 'model' or 'transform_job', not {kind!r}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"not a work item: {exc}") from None


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
    envelope = _validate(ENVELOPE_FIELDS, event, "EventBridge event")
    source, detail_type = envelope["source"], envelope["detail-type"]

    if source == BACKFILL_SOURCE and detail_type == BACKFILL_DETAIL_TYPE:
        return _from_backfill(envelope)
    if source == DRIFT_SOURCE and detail_type == DRIFT_DETAIL_TYPE:
        return _from_drift(envelope)
    if source != SAGEMAKER_SOURCE:
        return _skipped(envelope, f"event source {source!r} is not {SAGEMAKER_SOURCE}")
    if detail_type == CLOUDTRAIL_DETAIL_TYPE:
        return _from_cloudtrail(envelope)
    if detail_type == JOB_STATE_DETAIL_TYPE:
        return _from_job_state(envelope)
    return _skipped(envelope, f"detail-type {detail_type!r} is not evaluated")


def _from_cloudtrail(envelope: dict[str, Any]) -> WorkItem:
    detail = _validate(CLOUDTRAIL_FIELDS, envelope["detail"], "CloudTrail event detail")
    # userIdentity may be absent or null (some service-made calls): the subject is still
    # evaluated, the caller is "unknown".
    caller = detail["userIdentity"] or {}
    who = caller.get("arn") or caller.get("invokedBy") or caller.get("principalId") or "unknown"
    name, event_id, event_source = detail["eventName"], detail["eventID"], detail["eventSource"]
    base = dict(
        event_id=event_id,
        source=name,
        triggered_by=who,
        account=envelope["account"],
        region=detail["awsRegion"] or envelope["region"],
    )
    if event_source != SAGEMAKER_EVENT_SOURCE:
        return WorkItem(**base, skip_reason=f"eventSource {event_source!r} is not {SAGEMAKER_EVENT_SOURCE}")
    if detail["errorCode"]:
        return WorkItem(**base, skip_reason=f"{name} failed with {detail['errorCode']}: nothing was created")
    request = detail["requestParameters"] or {}
    response = detail["responseElements"] or {}
    if name == "CreateModel":
        ref = response.get("modelArn") or request.get("modelName")
        kind: SubjectKind = "model"
    elif name == "CreateTransformJob":
        ref = response.get("transformJobArn") or request.get("transformJobName")
        kind = "transform_job"
    else:
        return WorkItem(**base, skip_reason=f"{name} does not create a model or transform job")
    if not isinstance(ref, str) or not ref:
        field = "modelArn/modelName" if kind == "model" else "transformJobArn/transformJobName"
        raise ValueError(
            f"{name} event {event_id} names no {kind.replace('_', ' ')} "
            f"(no {field} in responseElements/requestParameters)"
        )
    return WorkItem(**base, subject_type=kind, subject_ref=ref)


def _from_job_state(envelope: dict[str, Any]) -> WorkItem:
    detail = _validate(JOB_STATE_FIELDS, envelope["detail"], "transform job state change detail")
    base = dict(
        event_id=envelope["id"],
        source="Transform Job State Change",
        triggered_by="sagemaker.amazonaws.com",
        account=envelope["account"],
        region=envelope["region"],
    )
    job, state = detail["TransformJobName"], detail["TransformJobStatus"]
    if state not in EVALUATED_JOB_STATES:
        return WorkItem(**base, skip_reason=f"transform job {job} is {state}, not InProgress")
    ref = detail["TransformJobArn"] or next((r for r in envelope["resources"] if ":transform-job/" in r), job)
    return WorkItem(**base, subject_type="transform_job", subject_ref=ref)


def _from_backfill(envelope: dict[str, Any]) -> WorkItem:
    detail = _validate(BACKFILL_FIELDS, envelope["detail"], "backfill message detail")
    run = f" {detail['backfill_id']}" if detail["backfill_id"] else ""
    return WorkItem(
        event_id=envelope["id"],
        source="Backfill",
        triggered_by=f"vpcguard backfill{run}",
        account=envelope["account"],
        region=envelope["region"],
        subject_type=detail["type"],
        subject_ref=detail["name"],
    )


def _from_drift(envelope: dict[str, Any]) -> WorkItem:
    detail = _validate(DRIFT_FIELDS, envelope["detail"], "drift re-evaluation detail")
    change = _validate(DRIFT_CHANGE_FIELDS, detail["change"], "drift re-evaluation change")
    return WorkItem(
        event_id=envelope["id"],
        source=f"Drift after {change['event_name']}",
        triggered_by=change["actor"],
        account=envelope["account"],
        region=envelope["region"],
        subject_type=detail["type"],
        subject_ref=detail["name"],
        change=change,
    )


def _skipped(envelope: dict[str, Any], reason: str) -> WorkItem:
    return WorkItem(
        event_id=envelope["id"],
        source=envelope["detail-type"],
        triggered_by=envelope["source"],
        account=envelope["account"],
        region=envelope["region"],
        skip_reason=reason,
    )


def _validate(spec: tuple[tuple[str, str, Any], ...], data: Any, what: str) -> dict[str, Any]:
    """The fields `spec` names, checked; else ValueError listing every problem as
    "loc: message" (e.g. "detail.eventName: Field required")."""
    problems: list[str] = []
    fields = _fields(spec, data, "", problems)
    if fields.get("userIdentity") is not None:
        fields["userIdentity"] = _fields(
            USER_IDENTITY_FIELDS, fields["userIdentity"], "userIdentity.", problems
        )
    if problems:
        raise ValueError(f"not a valid {what}: {'; '.join(problems)}")
    return fields


def _fields(
    spec: tuple[tuple[str, str, Any], ...], data: Any, loc: str, problems: list[str]
) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        problems.append(f"{loc.rstrip('.') or '(top)'}: Input should be a valid dictionary")
        return {}
    out: dict[str, Any] = {}
    for key, kind, default in spec:
        if key not in data:
            if default is _REQUIRED:
                problems.append(f"{loc}{key}: Field required")
            out[key] = list(default) if isinstance(default, tuple) else default
            continue
        value = out[key] = data[key]
        if value is None and default is None:
            continue
        problem = _problem(kind, value, f"{loc}{key}")
        if problem:
            problems.append(problem)
    return out


def _problem(kind: str, value: Any, loc: str) -> str | None:
    if kind in ("str", "id") and not isinstance(value, str):
        return f"{loc}: Input should be a valid string"
    if kind == "id" and not value:
        return f"{loc}: String should have at least 1 character"
    if kind == "dict" and not isinstance(value, Mapping):
        return f"{loc}: Input should be a valid dictionary"
    if kind == "list":
        if not isinstance(value, list):
            return f"{loc}: Input should be a valid list"
        bad = next((i for i, item in enumerate(value) if not isinstance(item, str)), None)
        if bad is not None:
            return f"{loc}.{bad}: Input should be a valid string"
    if kind == "kind" and value not in _SUBJECT_KINDS:
        return f"{loc}: Input should be 'model' or 'transform_job'"
    return None
