"""Every record the inspect function fails is explained in its log (issue 10): the batch
processor logs failures only at DEBUG, so four bad inputs once reached the DLQ without a
line. The built function runs in its own process per invocation on real SQS batches."""

from __future__ import annotations

import json

from .harness import Pipeline, sample_event
from .test_pipeline import model_in_one_az_without_isolation


def create_model(name: str) -> dict:
    return sample_event("create_model", model=name)


def bad_bodies() -> dict[str, str]:
    """The issue's four inputs, as SQS message bodies."""
    no_identity = create_model("fraud-v3")
    del no_identity["detail"]["userIdentity"]
    short_arn = create_model("fraud-v3")
    short_arn["detail"]["responseElements"]["modelArn"] = "arn:aws:sagemaker"
    short_arn["detail"]["requestParameters"].pop("modelName")
    big_name = create_model("fraud-v3")
    big_name["detail"]["responseElements"] = None
    big_name["detail"]["requestParameters"]["modelName"] = "m" * 200_000  # SQS takes up to 256 KiB
    return {
        "deep JSON": '{"detail": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "missing userIdentity": json.dumps(no_identity),
        "short ARN": json.dumps(short_arn),
        "200 KB name": json.dumps(big_name),
    }


def errors_for(invocation, message_id: str) -> list[dict]:
    return [
        line
        for line in invocation.log_lines()
        if line.get("level") == "ERROR" and line.get("message_id") == message_id
    ]


def test_every_failed_record_has_an_error_line_with_its_message_id_and_reason(pipeline: Pipeline, builder):
    ids = {name: pipeline.send_raw(body) for name, body in bad_bodies().items()}
    pipeline.poller.batch_size = 10

    invocation = pipeline.poller.poll_once()

    failed = set(invocation.failed_ids)
    assert {ids["deep JSON"], ids["short ARN"], ids["200 KB name"]} <= failed
    for name, message_id in ids.items():
        if message_id not in failed:
            continue  # evaluated (an absent userIdentity is not an error)
        [error] = errors_for(invocation, message_id)
        assert error["reason"], name
        assert len(json.dumps(error)) < 5_000, name  # the 200 KB name is not logged whole
    assert "RecursionError" in errors_for(invocation, ids["deep JSON"])[0]["reason"]


def test_a_failed_record_never_carries_the_previous_records_event_id(pipeline: Pipeline, builder):
    model_in_one_az_without_isolation(builder, "fraud-v3")
    pipeline.send_raw(json.dumps(create_model("fraud-v3")))
    # Cut-off JSON: a failure the handler always logged, once with the previous record's keys.
    bad = pipeline.send_raw('{"detail-type": "AWS API Call via CloudTrail", "detail": ')

    invocation = pipeline.poller.poll_once()

    assert invocation.failed_ids == [bad]
    evaluated = [line for line in invocation.log_lines() if line.get("message") == "subject evaluated"]
    assert evaluated and evaluated[0]["event_id"] == create_model("fraud-v3")["detail"]["eventID"]
    [error] = errors_for(invocation, bad)
    assert "event_id" not in error and "subject" not in error, error
    assert evaluated[0]["message_id"] != bad


def test_a_reused_event_id_for_another_subject_is_evaluated_not_skipped(pipeline: Pipeline, builder):
    """The idempotency key is the event id plus the subject: a redelivery is skipped, but a
    (hand-made, replayed or forged) event that reuses an event id for another model is not."""
    model_in_one_az_without_isolation(builder, "fraud-v3")
    model_in_one_az_without_isolation(builder, "fraud-v4")
    first, other = create_model("fraud-v3"), create_model("fraud-v4")
    assert first["detail"]["eventID"] == other["detail"]["eventID"]
    for body in (first, other, first):
        pipeline.send_raw(json.dumps(body))
    pipeline.poller.batch_size = 1

    invocations = pipeline.run()

    assert len(invocations) == 3 and all(i.failed_ids == [] for i in invocations)
    # One environment, as Lambda reuses a warm one: only the first invocation imported the
    # handler, so the skip of the redelivery does not depend on a fresh process.
    assert invocations[0].init_ms is not None and [i.init_ms for i in invocations[1:]] == [None, None]
    assert sorted(f.body["name"] for f in pipeline.findings()) == ["fraud-v3", "fraud-v4"]


def test_an_audit_write_failure_fails_the_record_and_is_counted(endpoint_url, monkeypatch, capsys):
    """The handler in this process (the engine is replaced by one whose audit intent write
    fails, as vpcguard.audit reports it): the record fails for SQS to retry, its ERROR line
    names the message, and the AuditWriteFailures metric (the template's alarm) is emitted."""
    import importlib.util
    import sys
    from types import SimpleNamespace

    from .cfn import ROOT

    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    spec = importlib.util.spec_from_file_location(
        "vpcguard_inspect_app", ROOT / "functions" / "inspect" / "app.py"
    )
    app = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = app
    spec.loader.exec_module(app)

    def audit_fails(*, work, inspector):
        raise app.AuditWriteError(
            "audit intent for sg-0123 not written: ProvisionedThroughputExceededException"
        )

    monkeypatch.setattr(app, "idempotent_inspect", lambda: audit_fails)
    record = {
        "messageId": "5f0c1d2e-aaaa-4bbb-8ccc-000000000001",
        "receiptHandle": "handle",
        "body": json.dumps(create_model("fraud-v3")),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work",
        "awsRegion": "us-east-1",
    }
    context = SimpleNamespace(
        function_name="vpcguard-inspect",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:vpcguard-inspect",
        aws_request_id="00000000-0000-4000-8000-000000000001",
    )

    response = app.lambda_handler({"Records": [record]}, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [error] = [line for line in lines if line.get("level") == "ERROR"]
    assert error["message_id"] == record["messageId"] and "audit intent" in error["reason"]
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["AuditWriteFailures"] == [1.0] or emf["AuditWriteFailures"] == 1.0
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "vpcguard"
    assert emf["service"] == "vpcguard-inspect"
