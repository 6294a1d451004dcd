"""The deployed pipeline, end to end on moto's server.

Sample events from events/ go into EventBridge, whose rules (read from template.yaml) put
them on the SQS work queue; the inspect handler from the `sam build` output gets real SQS
batch events (one process per invocation, as Lambda); its findings are read from an SQS
queue subscribed to the SNS topic. Every message must end handled, published or in the DLQ.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import RESULT_KEYS, SUBJECT_KEYS, result_of
from vpcguard.checks import get_check
from vpcguard.checks.base import Check

from .harness import Finding, Pipeline, sample_event
from .runtime import BUILD_DIR

QUIET = {"PASS", "NOT_APPLICABLE", "EXEMPT"}
SEVERITY_RANK = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

# Each invocation is a fresh Python process importing the built function (as Lambda does).
pytestmark = pytest.mark.slow


def model_in_one_az_without_isolation(builder, name: str, **kwargs):
    """A model whose only gaps have no automatic fix (so the finding is the same whether or
    not fixes run): one subnet (subnets_multi_az, LOW) and network isolation off
    (network_isolation, INFORMATIONAL)."""
    net = builder.compliant_vpc()
    builder.model(
        name,
        subnet_ids=net.subnet_ids[:1],
        security_group_ids=[net.security_group_id],
        role_arn=net.role_arn,
        network_isolation=False,
        **kwargs,
    )
    return net


def assert_attributes_match_body(finding: Finding) -> None:
    """The message attributes say what the body says (architecture.md's contract)."""
    notable = [r for r in finding.body["results"] if r["status"] not in QUIET]
    assert notable, "a message was published for a subject with nothing to report"
    fails = [r["severity"] for r in notable if r["status"] == "FAIL"]
    expected = max(fails or [r["severity"] for r in notable], key=SEVERITY_RANK.index)
    assert finding.attributes["severity"] == expected
    assert finding.array("check_ids") == sorted({r["check_id"] for r in notable})
    assert finding.attributes["region"] == finding.body["region"]
    assert finding.attributes["account"] == finding.body["account"]


def assert_nothing_left(pipeline: Pipeline) -> None:
    assert pipeline.poller.receive() == []
    assert pipeline.dead_letters() == []


def test_create_model_event_becomes_one_published_finding(pipeline, builder, make_engine):
    net = model_in_one_az_without_isolation(builder, "fraud-v3", tags={"vpcguard:team": "risk"})
    isolation_watchers = pipeline.subscribe_queue("isolation-watchers", {"check_ids": ["network_isolation"]})
    high_only = pipeline.subscribe_queue("high-only", {"severity": ["HIGH", "CRITICAL"]})

    pipeline.put_event(sample_event("create_model", model="fraud-v3"))
    [invocation] = pipeline.run()

    # The handler and the engine really came from the build output.
    assert invocation.module_file == str(BUILD_DIR / "InspectFunction" / "app.py")
    assert invocation.vpcguard_file.startswith(str(BUILD_DIR / "VpcguardLayer" / "python" / "vpcguard"))
    assert invocation.response == {"batchItemFailures": []}
    # The cold start's import builds no AWS client and loads no heavy optional package; the
    # evaluation builds each client it uses once, one DynamoDB client serving both the
    # idempotency record and the audit table. No STS: the event's account is compared with
    # the function's own, which its ARN names (vpcguard.scope).
    assert invocation.clients_at_init == []
    assert invocation.heavy_packages_at_init == []
    # The import's objects are frozen (gc.freeze), so the collections that loading the service
    # models sets off do not walk them again (the cold-start budget, make bench (d)).
    assert invocation.frozen_objects_at_init > 10_000
    assert sorted(invocation.clients_in_invocation) == ["dynamodb", "ec2", "iam", "sagemaker", "sns"]

    [finding] = pipeline.findings()
    body = finding.body
    assert set(body) == SUBJECT_KEYS
    assert all(set(r) == RESULT_KEYS for r in body["results"])
    assert body["type"] == "model" and body["name"] == "fraud-v3" and body["model_name"] == "fraud-v3"
    assert body["arn"] == "arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v3"
    assert body["vpc_id"] == net.vpc_id and body["instance_count"] == 1
    assert body["tags"] == {"vpcguard:team": "risk"}
    assert finding.result("subnets_multi_az")["status"] == "FAIL"
    assert net.subnet_ids[0] in finding.result("subnets_multi_az")["detail"]
    assert finding.result("network_isolation")["status"] == "FAIL"
    assert finding.attributes["severity"] == "LOW"
    assert finding.array("check_ids") == ["network_isolation", "subnets_multi_az"]
    assert finding.attributes["account"] == "123456789012" and finding.attributes["region"] == "us-east-1"
    assert finding.subject == "vpcguard LOW: model fraud-v3 (2 findings)"
    assert_attributes_match_body(finding)
    # Who created the model (the CloudTrail caller) rides as an attribute, not in the body.
    assert (
        finding.attributes["actor"] == "arn:aws:sts::123456789012:assumed-role/ml-platform-deployer/ana.lopez"
    )

    # The Lambda path reports what the engine reports for the same model (the CLI's view).
    direct = make_engine().evaluate_model("fraud-v3")
    assert [(r["check_id"], r["status"]) for r in body["results"]] == [
        (r.check_id, r.status.value) for r in direct.results
    ]

    # Subscription filters work on the attributes (check_ids is a String.Array).
    assert len(pipeline.findings(isolation_watchers)) == 1
    assert pipeline.findings(high_only) == []
    assert_nothing_left(pipeline)


def test_transform_job_from_cloudtrail_and_from_its_state_change(pipeline, builder):
    net = model_in_one_az_without_isolation(builder, "fraud-v3")
    builder.transform_job("nightly-0001", "fraud-v3", instance_count=2)

    pipeline.put_event(sample_event("create_transform_job", model="fraud-v3", job="nightly-0001"))
    pipeline.put_event(sample_event("transform_job_state_change", model="fraud-v3", job="nightly-0001"))
    invocations = pipeline.run()
    assert all(i.failed_ids == [] for i in invocations)

    findings = pipeline.findings()
    assert len(findings) == 2  # two different events (two event ids), both evaluated
    for finding in findings:
        body = finding.body
        assert body["type"] == "transform_job" and body["name"] == "nightly-0001"
        assert body["arn"] == "arn:aws:sagemaker:us-east-1:123456789012:transform-job/nightly-0001"
        assert body["model_name"] == "fraud-v3" and body["instance_count"] == 2
        assert body["vpc_id"] == net.vpc_id
        capacity = finding.result("subnet_ip_capacity")
        assert capacity["status"] == "PASS"
        assert finding.result("subnets_multi_az")["status"] == "FAIL"
        assert_attributes_match_body(finding)
    # The CloudTrail event names who created the job; the state change names nobody.
    actors = sorted(f.attributes.get("actor", "none") for f in findings)
    assert actors == [
        "arn:aws:sts::123456789012:assumed-role/ml-batch-pipeline/botocore-session-1732786300",
        "none",
    ]
    assert_nothing_left(pipeline)


def test_delete_model_and_failed_calls_never_reach_the_queue(pipeline, builder):
    model_in_one_az_without_isolation(builder, "fraud-v3")
    pipeline.put_event(sample_event("delete_model", model="fraud-v3"))
    pipeline.put_event(sample_event("create_model_access_denied"))
    pipeline.put_event(sample_event("create_model", model="fraud-v3"))  # the control: matched

    queued = [json.loads(body) for body in pipeline.queued_bodies()]

    assert [q["detail"]["eventName"] for q in queued] == ["CreateModel"]
    assert "errorCode" not in queued[0]["detail"]


def test_an_event_that_asks_for_nothing_is_logged_and_succeeds(pipeline, builder):
    """A DeleteModel delivered anyway (a hand-made rule, a redrive): no finding, no retry."""
    pipeline.send_raw(json.dumps(sample_event("delete_model", model="fraud-v2")))

    [invocation] = pipeline.run()

    assert invocation.failed_ids == []
    skipped = [line for line in invocation.log_lines() if line.get("message") == "event skipped"]
    assert skipped and skipped[0]["reason"] == "DeleteModel does not create a model or transform job"
    assert (
        invocation.clients_at_init == invocation.clients_in_invocation == []
    )  # nothing to read, nothing built
    assert pipeline.findings() == []
    assert_nothing_left(pipeline)


def test_malformed_body_fails_alone_and_ends_in_the_dlq(pipeline, builder):
    model_in_one_az_without_isolation(builder, "fraud-v3")
    pipeline.put_event(sample_event("create_model", model="fraud-v3"))
    bad_id = pipeline.send_raw('{"detail-type": "AWS API Call via CloudTrail", "detail": ')

    invocations = pipeline.run()

    first = invocations[0]
    assert first.failed_ids == [bad_id]  # the good record in the same batch succeeded
    errors = [line for line in first.log_lines() if line.get("message") == "malformed event"]
    assert errors and "message body is not JSON" in errors[0]["reason"]
    assert len(pipeline.findings()) == 1
    # Retried until the queue's maxReceiveCount (from the template), then moved to the DLQ.
    max_receives = pipeline.stack.resolve(
        pipeline.stack.template["Resources"]["WorkQueue"]["Properties"]["RedrivePolicy"]
    )["maxReceiveCount"]
    assert [i.failed_ids for i in invocations] == [[bad_id]] * max_receives
    assert pipeline.poller.receive() == []
    assert pipeline.dead_letters() == ['{"detail-type": "AWS API Call via CloudTrail", "detail": ']


def test_model_deleted_before_evaluation_is_an_error_finding_not_a_retry(pipeline, builder):
    model_in_one_az_without_isolation(builder, "short-lived")
    pipeline.put_event(sample_event("create_model", model="short-lived"))
    builder.client("sagemaker").delete_model(ModelName="short-lived")

    [invocation] = pipeline.run()

    assert invocation.failed_ids == []
    [finding] = pipeline.findings()
    error = finding.result("model_vpc_configured")
    assert error["status"] == "ERROR"
    assert "model 'short-lived' not found in us-east-1" in error["detail"]
    # The ARN from the CloudTrail event keeps the subject and its account named.
    assert finding.body["arn"] == "arn:aws:sagemaker:us-east-1:123456789012:model/short-lived"
    assert finding.attributes["account"] == "123456789012"
    assert finding.attributes["severity"] == "HIGH"
    assert finding.array("statuses") == ["ERROR"]
    assert_nothing_left(pipeline)


def test_duplicate_deliveries_are_evaluated_and_published_once(pipeline, builder):
    """The same CloudTrail event put twice (two EventBridge envelopes, one eventID) and the
    same SQS body delivered again, each in its own invocation (its own process): the
    DynamoDB idempotency record makes the second and third a no-op."""
    model_in_one_az_without_isolation(builder, "fraud-v3")
    event = sample_event("create_model", model="fraud-v3")
    pipeline.put_event(event)
    pipeline.put_event(event)
    [first_body, second_body] = pipeline.queued_bodies()
    assert json.loads(first_body)["id"] != json.loads(second_body)["id"]
    for body in (first_body, second_body, first_body):
        pipeline.send_raw(body)
    pipeline.poller.batch_size = 1

    invocations = pipeline.run()

    assert len(invocations) == 3 and all(i.failed_ids == [] for i in invocations)
    assert len(pipeline.findings()) == 1
    table = pipeline.stack.refs["IdempotencyTable"]
    items = pipeline.stack.client("dynamodb").scan(TableName=table)["Items"]
    assert len(items) == 1 and items[0]["status"]["S"] == "COMPLETED"
    assert int(items[0]["expiration"]["N"]) > 0  # the TTL attribute the table expires on


def test_enabled_fix_is_applied_recorded_and_published_as_fixed(pipeline, builder):
    """With the stack's defaults (remediation on), the security-group fix runs from the
    Lambda path: the rule exists in AWS afterwards, the audit table has the record, and the
    finding says FIXED."""
    # A fix that disappears is a failure, not a skip.
    check = get_check("sg_self_ingress")
    assert check.meta.fixable and type(check).plan_fix is not Check.plan_fix, (
        "sg_self_ingress has lost its automatic fix"
    )
    net = builder.compliant_vpc()
    bare_group = builder.security_group(net.vpc_id, self_ingress=False)
    builder.model(
        "fraud-v3", subnet_ids=net.subnet_ids, security_group_ids=[bare_group], role_arn=net.role_arn
    )
    builder.transform_job("nightly-0001", "fraud-v3", instance_count=2)

    pipeline.put_event(sample_event("create_transform_job", model="fraud-v3", job="nightly-0001"))
    pipeline.run()

    [finding] = pipeline.findings()
    fixed = finding.result("sg_self_ingress")
    assert fixed["status"] == "FIXED", fixed["detail"]
    assert finding.array("statuses") == ["FIXED"]
    group = builder.ec2.describe_security_groups(GroupIds=[bare_group])["SecurityGroups"][0]
    assert any(
        p["IpProtocol"] == "-1" and [g["GroupId"] for g in p.get("UserIdGroupPairs", [])] == [bare_group]
        for p in group["IpPermissions"]
    )
    audit = pipeline.stack.client("dynamodb").scan(TableName=pipeline.stack.refs["AuditTable"])["Items"]
    assert [(a["check_id"]["S"], a["resource_id"]["S"]) for a in audit] == [("sg_self_ingress", bare_group)]
    assert "CreateTransformJob event" in audit[0]["trigger"]["S"]


def test_direct_engine_result_helper_still_matches(engine, builder):
    """Guards the test helper above: the chosen gaps are unfixable, so the finding does not
    depend on whether fixes run."""
    model_in_one_az_without_isolation(builder, "fraud-v3")
    report = engine.evaluate_model("fraud-v3")
    for check_id in ("subnets_multi_az", "network_isolation"):
        assert result_of(report, check_id).fixable is False
