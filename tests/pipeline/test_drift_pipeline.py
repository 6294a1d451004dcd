"""Drift, end to end on moto's server: change events go through the template's drift rules to
the built drift function, which finds the affected subjects in the dependency index and queues
one re-evaluation each; the built inspect function re-evaluates, fixes and publishes."""

from __future__ import annotations

import json

from tests.drift.cloudtrail import ACTOR, change_event
from tests.localaws.builders import Builder
from vpcguard.aws import AwsClients
from vpcguard.drift.changes import CHANGE_EVENTS
from vpcguard.drift.index import DependencyIndex
from vpcguard.engine import Engine

from .drift_harness import DriftPipeline, evaluated_subjects
from .harness import sample_event


def self_rule_present(builder: Builder, group_id: str) -> bool:
    group = builder.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return any(
        p["IpProtocol"] == "-1" and any(g["GroupId"] == group_id for g in p.get("UserIdGroupPairs", []))
        for p in group["IpPermissions"]
    )


def index_for(drift: DriftPipeline) -> DependencyIndex:
    clients = AwsClients(region="us-east-1", endpoint_url=drift.stack.endpoint_url)
    return DependencyIndex(clients, drift.stack.refs["DependencyIndexTable"])


def test_a_revoked_self_rule_is_restored_audited_and_the_message_names_the_actor(drift, builder):
    net = builder.compliant_vpc()
    model_arn = builder.compliant_model("fraud-v3", net)
    # The model's creation: evaluated by the inspect function, which writes the index.
    drift.pipeline.put_event(sample_event("create_model", model="fraud-v3"))
    drift.pipeline.run()
    drift.pipeline.findings()
    assert [s.arn for s in index_for(drift).affected(net.security_group_id)] == [model_arn]

    # Someone removes the self rule; CloudTrail reports it.
    group = net.security_group_id
    builder.ec2.revoke_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    )
    assert not self_rule_present(builder, group)
    event = change_event("RevokeSecurityGroupIngress", group)
    drift.put_change(event)
    [planned] = drift.run_drift()
    assert drift.queued_reevaluations() == 1
    [done] = drift.run_reevaluations()
    assert evaluated_subjects([done]) == [model_arn]

    assert self_rule_present(builder, group)
    [finding] = drift.pipeline.findings()
    assert finding.result("sg_self_ingress")["status"] == "FIXED"
    assert finding.attributes["change"] == f"RevokeSecurityGroupIngress on {group}"
    assert finding.attributes["changed_by"] == ACTOR
    audit = drift.stack.client("dynamodb").scan(TableName=drift.stack.refs["AuditTable"])["Items"]
    [record] = [a for a in audit if a["check_id"]["S"] == "sg_self_ingress"]
    assert record["resource_id"]["S"] == group and record["outcome"]["S"] == "applied"
    trigger = record["trigger"]["S"]
    assert (
        "RevokeSecurityGroupIngress" in trigger and ACTOR in trigger and event["detail"]["eventID"] in trigger
    )
    assert drift.pipeline.dead_letters() == [] and drift.drift_dead_letters() == []


def test_a_burst_of_50_changes_to_one_vpc_gives_one_evaluation_per_subject(drift, builder):
    net = builder.compliant_vpc()
    other = builder.compliant_vpc("10.1", buckets=("b-input", "b-output"))
    arns = {builder.compliant_model(f"scorer-{i}", net) for i in range(3)}
    elsewhere = builder.compliant_model("elsewhere", other)
    clients = AwsClients(region="us-east-1", endpoint_url=drift.stack.endpoint_url)
    engine = Engine(clients, index_sink=DependencyIndex(clients, drift.stack.refs["DependencyIndexTable"]))
    for name in ("scorer-0", "scorer-1", "scorer-2", "elsewhere"):
        engine.evaluate_model(name)

    # A Terraform apply: 40 rule changes on the group, routes on both tables, the endpoint.
    changes = [("RevokeSecurityGroupIngress", net.security_group_id)] * 20
    changes += [("ModifySecurityGroupRules", net.security_group_id)] * 20
    changes += [("ReplaceRoute", table) for table in net.route_table_ids] * 4
    changes += [("ModifyVpcEndpoint", net.s3_endpoint_id)] * 2
    assert len(changes) == 50
    for name, resource in changes:
        drift.put_change(change_event(name, resource))
    drift_invocations = drift.run_drift()
    assert len(drift_invocations) == 5  # batches of 10, as Lambda's poller hands them out

    assert drift.queued_reevaluations() == 3
    evaluated = evaluated_subjects(drift.run_reevaluations())
    assert sorted(evaluated) == sorted(arns)
    assert elsewhere not in evaluated


def test_a_malformed_change_event_is_logged_and_ends_in_the_dead_letter_queue(drift):
    drift.sqs.send_message(QueueUrl=drift.drift_queue_url, MessageBody="{not json")
    nameless = change_event("RevokeSecurityGroupIngress", "sg-0abc")
    nameless["detail"]["requestParameters"] = {}
    drift.sqs.send_message(QueueUrl=drift.drift_queue_url, MessageBody=json.dumps(nameless))
    invocations = drift.run_drift(expect_errors=True)
    assert all(i.error is None for i in invocations)
    reasons = [
        line["reason"]
        for i in invocations
        for line in i.log_lines()
        if line.get("message") == "malformed change event"
    ]
    assert any("not JSON" in r for r in reasons) and any("names no groupId" in r for r in reasons)
    assert sorted(drift.drift_dead_letters()) == sorted(["{not json", json.dumps(nameless)])
    assert drift.queued_reevaluations() == 0


def test_an_unreachable_index_fails_the_record_which_is_retried_then_parked(drift, builder):
    net = builder.compliant_vpc()
    drift.stack.client("dynamodb").delete_table(TableName=drift.stack.refs["DependencyIndexTable"])
    event = change_event("RevokeSecurityGroupIngress", net.security_group_id)
    drift.put_change(event)
    invocations = drift.run_drift(expect_errors=True)
    assert len(invocations) == 3  # delivered, failed and retried until the redrive policy's maxReceiveCount
    assert all(len(i.failed_ids) == 1 for i in invocations)
    assert all(
        any(line.get("message") == "change not handled" for line in i.log_lines()) for i in invocations
    )
    [parked] = drift.drift_dead_letters()
    assert json.loads(parked)["detail"]["eventID"] == event["detail"]["eventID"]
    assert drift.queued_reevaluations() == 0


def test_the_template_rules_route_every_change_event_and_nothing_else(drift):
    for name in CHANGE_EVENTS:
        drift.put_change(
            change_event(
                name,
                {"ec2": "sg-0abc", "s3": "input-data", "iam": "role-x"}[
                    {"aws.ec2": "ec2", "aws.s3": "s3", "aws.iam": "iam"}[change_event(name, "x")["source"]]
                ],
            )
        )
    drift.put_change(change_event("DeleteSubnet", "subnet-0abc", error_code="UnauthorizedOperation"))
    drift.pipeline.put_event(sample_event("create_model", model="m"))
    bodies = []
    while messages := drift.sqs.receive_message(QueueUrl=drift.drift_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in messages:
            bodies.append(json.loads(m["Body"]))
            drift.sqs.delete_message(QueueUrl=drift.drift_queue_url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(b["detail"]["eventName"] for b in bodies) == sorted(CHANGE_EVENTS)
    assert all("errorCode" not in b["detail"] for b in bodies)
    # The creation event went to the inspect path's work queue, not to drift.
    assert [json.loads(b)["detail"]["eventName"] for b in drift.pipeline.queued_bodies()] == ["CreateModel"]


def test_a_subject_deleted_since_it_was_indexed_is_dropped_from_the_index_without_a_finding(drift, builder):
    net = builder.compliant_vpc()
    kept = builder.compliant_model("kept", net)
    gone = builder.compliant_model("gone", net)
    clients = AwsClients(region="us-east-1", endpoint_url=drift.stack.endpoint_url)
    index = DependencyIndex(clients, drift.stack.refs["DependencyIndexTable"])
    engine = Engine(clients, index_sink=index)
    engine.evaluate_model("kept")
    engine.evaluate_model("gone")
    builder.client("sagemaker").delete_model(ModelName="gone")

    drift.put_change(change_event("ModifyVpcAttribute", net.vpc_id))
    drift.run_drift()
    assert drift.queued_reevaluations() == 2
    invocations = drift.run_reevaluations()
    assert evaluated_subjects(invocations) == [kept]  # "gone" was looked up, then dropped
    assert [s.arn for s in index.affected(net.vpc_id)] == [kept]
    assert all(f.body["name"] != "gone" for f in drift.pipeline.findings())
    skipped = [
        line["result"]
        for i in invocations
        for line in i.log_lines()
        if line.get("message") == "subject evaluated" and "skipped" in line["result"]
    ]
    assert [(r["subject"], r["skipped"]) for r in skipped] == [(gone, "the subject no longer exists")]
