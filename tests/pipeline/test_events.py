"""What each sample event (events/) asks the inspect function to do, and how a malformed
one is refused. Pure parsing: no AWS."""

from __future__ import annotations

import json

import pytest

from vpcguard.events import parse_event

from .harness import sample_event


def test_create_model_names_the_model_by_arn_and_the_caller():
    work = parse_event(json.dumps(sample_event("create_model")))
    assert not work.skip
    assert work.subject_type == "model"
    # The ARN from responseElements, so a report on a model deleted meanwhile still names it.
    assert work.subject_ref == "arn:aws:sagemaker:us-east-1:123456789012:model/fraud-scoring-v3"
    assert work.event_id == "0d5a8bb4-0a1c-4f62-9a61-1f3e0c9b2e55"  # CloudTrail's eventID
    assert work.triggered_by == "arn:aws:sts::123456789012:assumed-role/ml-platform-deployer/ana.lopez"
    assert work.account == "123456789012" and work.region == "us-east-1"
    assert "CreateModel event 0d5a8bb4-0a1c-4f62-9a61-1f3e0c9b2e55 by arn:aws:sts::" in work.trigger


def test_create_transform_job_names_the_job():
    work = parse_event(sample_event("create_transform_job"))
    assert (work.subject_type, work.subject_ref) == (
        "transform_job",
        "arn:aws:sagemaker:us-east-1:123456789012:transform-job/fraud-scoring-nightly-20251128",
    )
    assert work.triggered_by.endswith("assumed-role/ml-batch-pipeline/botocore-session-1732786300")


def test_job_state_change_in_progress_names_the_job_and_uses_the_eventbridge_id():
    work = parse_event(sample_event("transform_job_state_change"))
    assert work.subject_type == "transform_job"
    assert work.subject_ref.endswith(":transform-job/fraud-scoring-nightly-20251128")
    assert work.event_id == "8e4a2c6f-1d3b-4e5a-9f7c-b2d0e8a6c413"
    assert work.triggered_by == "sagemaker.amazonaws.com"


def test_job_state_change_other_than_in_progress_is_skipped():
    event = sample_event("transform_job_state_change")
    event["detail"]["TransformJobStatus"] = "Completed"
    work = parse_event(event)
    assert work.skip and "Completed, not InProgress" in work.skip_reason


def test_a_failed_call_is_skipped_with_its_error_code():
    work = parse_event(sample_event("create_model_access_denied"))
    assert work.skip
    assert work.skip_reason == "CreateModel failed with AccessDenied: nothing was created"
    assert work.subject_ref is None


def test_delete_model_is_skipped():
    work = parse_event(sample_event("delete_model"))
    assert work.skip and work.skip_reason == "DeleteModel does not create a model or transform job"


def test_another_service_or_detail_type_is_skipped_not_an_error():
    event = sample_event("create_model")
    event["source"] = "aws.ec2"
    assert "is not aws.sagemaker" in parse_event(event).skip_reason
    event = sample_event("create_model")
    event["detail-type"] = "SageMaker Model State Change"
    assert "is not evaluated" in parse_event(event).skip_reason


def test_request_name_is_used_when_the_response_has_no_arn():
    event = sample_event("create_model", model="churn-v1")
    event["detail"]["responseElements"] = None
    assert parse_event(event).subject_ref == "churn-v1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json at all", "message body is not JSON"),
        ("[1, 2]", "message body is a JSON list"),
        (
            json.dumps({"detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker"}),
            "id: Field required",
        ),
        (
            json.dumps(
                {
                    "id": "e1",
                    "detail-type": "AWS API Call via CloudTrail",
                    "source": "aws.sagemaker",
                    "detail": {},
                }
            ),
            "not a valid CloudTrail event detail: eventName: Field required",
        ),
    ],
)
def test_malformed_bodies_raise_a_value_error_that_says_what_is_wrong(body, message):
    with pytest.raises(ValueError, match=message):
        parse_event(body)


def test_create_model_that_names_no_model_is_malformed():
    event = sample_event("create_model")
    event["detail"]["requestParameters"] = {}
    event["detail"]["responseElements"] = {}
    with pytest.raises(ValueError, match="CreateModel event 0d5a8bb4-.* names no model"):
        parse_event(event)


def test_job_state_change_without_a_job_name_is_malformed():
    event = sample_event("transform_job_state_change")
    del event["detail"]["TransformJobName"]
    with pytest.raises(ValueError, match="TransformJobName: Field required"):
        parse_event(event)
