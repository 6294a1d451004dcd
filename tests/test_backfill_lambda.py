"""The backfill Lambda (functions/backfill/app.py) against moto: it lists the account and
puts one message per subject on a real SQS work queue; the inspect function's parser
(`vpcguard.events.parse_event`) accepts every message and the inspect path evaluates it.

Where SQS must refuse entries (moto never does), `queue_subjects` is driven with
botocore.stub.Stubber and SendMessageBatch's real response shape (Successful / Failed with
SenderFault)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tests.localaws.builders import Builder
from tests.localaws.server import ACCOUNT, REGION
from vpcguard.aws import AwsClients
from vpcguard.backfill import QUEUE_ATTEMPTS, AccountListing, queue_subjects
from vpcguard.engine import Engine
from vpcguard.events import BACKFILL_DETAIL_TYPE, BACKFILL_SOURCE, parse_event
from vpcguard.inspection import Inspector
from vpcguard.model import Status

APP = Path(__file__).resolve().parents[1] / "functions" / "backfill" / "app.py"
REQUEST_ID = "7d3c2a10-0000-4000-8000-00000000b4c1"
CONTEXT = SimpleNamespace(
    function_name="vpcguard-backfill",
    function_version="$LATEST",
    memory_limit_in_mb=256,
    invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:vpcguard-backfill",
    aws_request_id=REQUEST_ID,
)


def load_app() -> Any:
    spec = importlib.util.spec_from_file_location("vpcguard_backfill_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def work_queue(endpoint_url: str, monkeypatch) -> str:
    """A real queue in moto, wired as the stack wires it: VPCGUARD_WORK_QUEUE_URL, and
    AWS_ENDPOINT_URL so the handler's own clients reach moto."""
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    url = sqs.create_queue(QueueName="vpcguard-work")["QueueUrl"]
    monkeypatch.setenv("VPCGUARD_WORK_QUEUE_URL", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    return url


def drain(endpoint_url: str, queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    bodies: list[str] = []
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_scope_all_queues_every_model_and_job_for_the_inspect_path(
    builder: Builder, endpoint_url, work_queue
):
    net = builder.compliant_vpc()
    models = [f"scorer-{n:02d}" for n in range(23)]  # three SendMessageBatch calls' worth with the job
    for name in models:
        builder.compliant_model(name, net)
    builder.transform_job("nightly", "scorer-00", instance_count=2)

    response = load_app().lambda_handler({"scope": "all", "jobs": "all"}, CONTEXT)

    assert response == {"queued": {"models": 23, "transform_jobs": 1}, "failed": 0}
    bodies = drain(endpoint_url, work_queue)
    assert len(bodies) == 24
    work = [parse_event(body) for body in bodies]
    assert sorted((w.subject_type, w.subject_ref) for w in work) == sorted(
        [("model", n) for n in models] + [("transform_job", "nightly")]
    )
    assert all(not w.skip for w in work)
    # One idempotency key per message, and the run named as the trigger of any fix.
    assert len({w.event_id for w in work}) == 24
    assert {w.triggered_by for w in work} == {f"vpcguard backfill {REQUEST_ID}"}
    raw = json.loads(bodies[0])
    assert raw["source"] == BACKFILL_SOURCE and raw["detail-type"] == BACKFILL_DETAIL_TYPE
    assert raw["region"] == REGION

    # The inspect function's path evaluates what the message names.
    inspector = Inspector(
        Engine(AwsClients(region=REGION, endpoint_url=endpoint_url)), findings_topic_arn=None
    )
    job = next(w for w in work if w.subject_type == "transform_job")
    report = inspector.evaluate(job)
    assert (report.type, report.name, report.instance_count) == ("transform_job", "nightly", 2)
    statuses = {r.check_id: r.status for r in report.results}
    assert statuses["model_vpc_configured"] == Status.PASS
    assert statuses["subnet_ip_capacity"] == Status.PASS


def test_scope_all_defaults_to_in_progress_jobs(builder: Builder, endpoint_url, work_queue):
    """moto marks every job Completed at once, so only the model is queued."""
    net = builder.compliant_vpc()
    builder.compliant_model("scorer", net)
    builder.transform_job("finished", "scorer")

    response = load_app().lambda_handler({"scope": "all"}, CONTEXT)

    assert response == {"queued": {"models": 1, "transform_jobs": 0}, "failed": 0}
    assert [parse_event(b).subject_ref for b in drain(endpoint_url, work_queue)] == ["scorer"]


def test_named_subjects_are_queued_without_listing(builder: Builder, endpoint_url, work_queue):
    response = load_app().lambda_handler(
        {
            "models": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-v1", "churn-v2", "churn-v1"],
            "transform_jobs": ["nightly-2024-05-01"],
        },
        CONTEXT,
    )

    assert response == {"queued": {"models": 2, "transform_jobs": 1}, "failed": 0}
    work = sorted((w.subject_type, w.subject_ref) for w in map(parse_event, drain(endpoint_url, work_queue)))
    assert work == [("model", "churn-v1"), ("model", "churn-v2"), ("transform_job", "nightly-2024-05-01")]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, 'nothing to queue: give {"scope": "all"} or "models" / "transform_jobs"'),
        ({"scope": "all", "models": ["a"]}, 'give either {"scope": "all"} or names, not both'),
        ({"scope": "everything"}, "scope: Input should be 'all'"),
        ({"scope": "all", "jobs": "running"}, "jobs: Input should be 'in-progress', 'all' or 'none'"),
        ({"scope": "all", "since": "last week"}, "since: 'last week' is not a date"),
        ({"models": ["a"], "since": "2024-01-01"}, '"jobs" and "since" apply only with {"scope": "all"}'),
        ({"scope": "all", "dry_run": True}, "dry_run: Extra inputs are not permitted"),
        ({"models": ["a", 7]}, "models.1: Input should be a valid string"),
        ({"models": "a"}, "models: Input should be a valid list"),
        ({"scope": "all", "since": 1714521600}, "since: Input should be a valid datetime"),
    ],
)
def test_a_request_that_cannot_be_understood_fails_and_queues_nothing(
    endpoint_url, work_queue, event, message
):
    with pytest.raises(ValueError, match="not a backfill request") as raised:
        load_app().lambda_handler(event, CONTEXT)
    assert message in str(raised.value)
    assert drain(endpoint_url, work_queue) == []


def test_refused_entries_are_sent_again_and_the_rest_counted_as_failed(endpoint_url: str):
    """Stubber: SQS's partial-failure answer. First call: entries 0-6 taken, 7 refused
    for SQS's own reason (sent again), 8 refused as the sender's fault (not sent again, it
    would fail the same way), 9 refused for SQS's own reason on every attempt."""
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url, max_attempts=0)
    url = f"{endpoint_url}/{ACCOUNT}/vpcguard-work"
    listing = AccountListing(models=tuple(f"m-{n}" for n in range(9)), transform_jobs=("j-0",))
    sent: list[list[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append([json.loads(e["MessageBody"])["detail"]["name"] for e in params["Entries"]])

    sqs = clients.client("sqs")
    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", record)
    internal = {"SenderFault": False, "Code": "InternalError", "Message": "We encountered an internal error."}
    with Stubber(sqs) as stub:
        expected = {"QueueUrl": url, "Entries": ANY}
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [
                    {"Id": str(i), "MessageId": f"msg-{i}", "MD5OfMessageBody": "0" * 32} for i in range(7)
                ],
                "Failed": [
                    {"Id": "7", **internal},
                    {"Id": "8", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "too long"},
                    {"Id": "9", **internal},
                ],
            },
            expected,
        )
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "7", "MessageId": "msg-7", "MD5OfMessageBody": "0" * 32}],
                "Failed": [{"Id": "9", **internal}],
            },
            expected,
        )
        stub.add_response(
            "send_message_batch", {"Successful": [], "Failed": [{"Id": "9", **internal}]}, expected
        )

        result = queue_subjects(clients, url, listing, backfill_id="run-1")

        stub.assert_no_pending_responses()
    assert sent == [[*(f"m-{n}" for n in range(9)), "j-0"], ["m-7", "j-0"], ["j-0"]]
    assert len(sent) == QUEUE_ATTEMPTS
    assert result.response() == {"queued": {"models": 8, "transform_jobs": 0}, "failed": 2}
    assert result.failures == [
        "model m-8: InvalidParameterValue: too long",
        "transform_job j-0: InternalError: We encountered an internal error. (after 3 attempts)",
    ]


def test_a_malformed_backfill_message_is_a_poison_message():
    """The inspect function fails such a record, and the queue's redrive moves it to the DLQ."""
    body = {
        "id": "5f0c6b7e-0000-4000-8000-000000000001",
        "source": BACKFILL_SOURCE,
        "detail-type": BACKFILL_DETAIL_TYPE,
        "detail": {"type": "endpoint", "name": "x"},
    }
    with pytest.raises(
        ValueError, match="not a valid backfill message detail: type: Input should be 'model'"
    ):
        parse_event(json.dumps(body))
    body["detail"] = {"type": "model", "name": ""}
    with pytest.raises(ValueError, match="not a valid backfill message detail: name"):
        parse_event(body)
