"""Coalescing on moto's server (index table and FIFO queue from template.yaml): one
re-evaluation per subject for a burst, across invocations, and a failed send is never
coalesced away."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY, Stubber

from vpcguard.drift.changes import parse_change_event
from vpcguard.drift.coalesce import DriftPlanner, QueueError
from vpcguard.drift.index import DependencyIndex

from .cloudtrail import ACTOR, change_event


def planner(clients, stack) -> DriftPlanner:
    return DriftPlanner(
        clients=clients,
        index=DependencyIndex(clients, stack.refs["DependencyIndexTable"]),
        queue_url=stack.refs["ReevaluationQueue"],
        window_seconds=30,
    )


def queued(clients, stack) -> list[dict]:
    sqs = clients.client("sqs")
    url = stack.refs["ReevaluationQueue"]
    out = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        for m in messages:
            out.append({"body": json.loads(m["Body"]), "group": m["Attributes"]["MessageGroupId"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_one_change_to_four_subjects_costs_a_query_four_claims_and_one_send(
    indexed_world, stack, fresh_clients
):
    w = indexed_world
    clients = fresh_clients()
    change = parse_change_event(change_event("ModifyVpcEndpoint", w.a.s3_endpoint_id))
    result = planner(clients, stack).handle(change)
    assert result["queued"] == 4 and result["affected"] == sorted(w.subjects("m1", "m2", "j1", "m4"))
    assert clients.counter.snapshot() == {
        "dynamodb:Query": 1,
        "dynamodb:UpdateItem": 4,
        "sqs:SendMessageBatch": 1,
    }

    messages = queued(clients, stack)
    assert sorted(m["body"]["detail"]["name"] for m in messages) == sorted(w.subjects("m1", "m2", "j1", "m4"))
    assert len({m["group"] for m in messages}) == 4
    detail = messages[0]["body"]["detail"]
    assert detail["change"]["event_name"] == "ModifyVpcEndpoint"
    assert detail["change"]["actor"] == ACTOR
    assert detail["change"]["resources"] == [w.a.s3_endpoint_id]


def test_later_changes_in_the_window_are_coalesced_even_in_another_invocation(
    indexed_world, stack, fresh_clients
):
    w = indexed_world
    first = planner(fresh_clients(), stack).handle(
        parse_change_event(change_event("RevokeSecurityGroupIngress", w.a.security_group_id))
    )
    assert first["queued"] == 3
    clients = fresh_clients()
    later = planner(clients, stack)
    for _ in range(10):
        later.handle(parse_change_event(change_event("ModifySecurityGroupRules", w.a.security_group_id)))
    # A route change to one of the same subjects, and one the burst did not touch yet (m4).
    later.handle(parse_change_event(change_event("CreateRoute", w.a.main_route_table_id)))
    later.handle(parse_change_event(change_event("CreateRoute", w.a.route_table_ids[0])))
    # Ten changes to the group: one lookup, three claims refused; the main table: m4 claimed.
    assert clients.counter.snapshot() == {
        "dynamodb:Query": 3,
        "dynamodb:UpdateItem": 4,
        "sqs:SendMessageBatch": 1,
    }
    names = sorted(m["body"]["detail"]["name"] for m in queued(clients, stack))
    assert names == sorted(w.subjects("m1", "m2", "j1", "m4"))


def test_a_failed_send_is_retried_by_the_same_change_and_not_coalesced_away(
    indexed_world, stack, fresh_clients
):
    """SQS refusing the batch (throttled, an internal error) is played with botocore's
    Stubber and the real SendMessageBatch response shape; the claims are real (moto)."""
    w = indexed_world
    event = change_event("DeleteFlowLogs", w.b.flow_log_id)
    clients = fresh_clients()
    drift = planner(clients, stack)
    with Stubber(clients.client("sqs")) as stub:
        for _ in range(3):
            stub.add_response(
                "send_message_batch",
                {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]},
                {"QueueUrl": ANY, "Entries": ANY},
            )
        with pytest.raises(QueueError):
            drift.handle(parse_change_event(event))
    # The record is retried (a new invocation): the same change claims again and is queued.
    retried = planner(fresh_clients(), stack).handle(parse_change_event(event))
    assert retried["queued"] == 1
    # Another change now finds the claim and is coalesced into that message.
    other = planner(fresh_clients(), stack).handle(
        parse_change_event(change_event("DeleteSubnet", w.b.subnet_ids[0]))
    )
    assert other["queued"] == 0 and other["coalesced"] == 1
    assert [m["body"]["detail"]["name"] for m in queued(fresh_clients(), stack)] == [w.arns["m3"]]


def test_a_warm_instance_coalesces_a_bursts_later_batches_without_a_call(indexed_world, stack, fresh_clients):
    w = indexed_world
    pending: dict = {}  # what functions/drift/app.py keeps while the instance is warm
    first = planner(fresh_clients(), stack)
    first.pending = pending
    first.handle(parse_change_event(change_event("RevokeSecurityGroupIngress", w.a.security_group_id)))
    assert set(pending) == w.subjects("m1", "m2", "j1")
    clients = fresh_clients()
    next_batch = planner(clients, stack)
    next_batch.pending = pending
    result = next_batch.handle(
        parse_change_event(change_event("ModifySecurityGroupRules", w.a.security_group_id))
    )
    assert (result["queued"], result["coalesced"]) == (0, 3)
    assert clients.counter.snapshot() == {"dynamodb:Query": 1}


def test_a_reevaluation_carries_the_subjects_region_not_the_changes():
    """IAM's events are recorded in us-east-1; a model in eu-west-1 that uses the role is
    re-evaluated as a subject of eu-west-1 (the inspect path refuses other regions)."""
    from vpcguard.drift.coalesce import reevaluation_event
    from vpcguard.drift.index import IndexedSubject
    from vpcguard.events import parse_event

    change = parse_change_event(change_event("DetachRolePolicy", "sagemaker-execution"))
    assert change.region == "us-east-1"
    subject = IndexedSubject("model", "arn:aws:sagemaker:eu-west-1:123456789012:model/churn", "churn")
    work = parse_event(reevaluation_event(subject, change, 1_800_000_000))
    assert (work.region, work.account) == ("eu-west-1", "123456789012")
    assert work.subject_ref == subject.arn and work.subject_type == "model"
    assert "DetachRolePolicy" in work.trigger and ACTOR in work.trigger and change.event_id in work.trigger
