"""The dependency index on moto's DynamoDB (table and GSI from template.yaml): every change
event type finds exactly the subjects that depend on what it changed, with one query."""

from __future__ import annotations

import json
import time

import pytest

from tests.localaws.server import ACCOUNT
from vpcguard.drift.changes import CHANGE_EVENTS, parse_change_event
from vpcguard.drift.coalesce import DriftPlanner
from vpcguard.drift.index import MANIFEST, DependencyIndex, DependencyIndexError
from vpcguard.engine import Engine

from .cloudtrail import change_event
from .world import KMS_KEY, association_of, main_association_of


def planner(clients, index_table: str, queue_url: str = "unused", window: int = 30) -> DriftPlanner:
    return DriftPlanner(
        clients=clients,
        index=DependencyIndex(clients, index_table),
        queue_url=queue_url,
        window_seconds=window,
    )


def test_each_change_event_type_maps_to_the_right_subjects_and_no_others(
    indexed_world, builder, index_table, fresh_clients
):
    w = indexed_world
    a, b = w.a, w.b
    role_a, role_b = a.role_arn.rsplit("/", 1)[-1], b.role_arn.rsplit("/", 1)[-1]
    cases = [
        ("RevokeSecurityGroupIngress", a.security_group_id, {"m1", "m2", "j1"}),
        ("RevokeSecurityGroupIngress", w.a_group_2, {"m4"}),
        ("RevokeSecurityGroupEgress", b.security_group_id, {"m3"}),
        ("ModifySecurityGroupRules", a.security_group_id, {"m1", "m2", "j1"}),
        ("ModifyVpcEndpoint", a.s3_endpoint_id, {"m1", "m2", "j1", "m4"}),
        ("DeleteVpcEndpoints", b.s3_endpoint_id, {"m3"}),
        ("DeleteFlowLogs", a.flow_log_id, {"m1", "m2", "j1", "m4"}),
        ("CreateRoute", a.route_table_ids[0], {"m1", "m2", "j1"}),
        ("CreateRoute", a.main_route_table_id, {"m4"}),
        ("ReplaceRoute", a.route_table_ids[1], {"m1", "j1"}),
        ("DeleteRoute", b.route_table_ids[0], {"m3"}),
        ("ReplaceRouteTableAssociation", association_of(builder, a.subnet_ids[1]), {"m1", "j1"}),
        ("ReplaceRouteTableAssociation", main_association_of(builder, a.vpc_id), {"m4"}),
        ("AssociateRouteTable", w.a_third_subnet, {"m4"}),
        ("AssociateRouteTable", a.subnet_ids[0], {"m1", "m2", "j1"}),
        ("DisassociateRouteTable", association_of(builder, b.subnet_ids[1]), {"m3"}),
        ("ModifyVpcAttribute", a.vpc_id, {"m1", "m2", "j1", "m4"}),
        ("DeleteSubnet", b.subnet_ids[0], {"m3"}),
        ("PutBucketPolicy", "input-data", {"j1"}),
        ("DeleteBucketPolicy", "output-data", {"j1"}),
        ("DetachRolePolicy", role_a, {"m1", "m2", "j1"}),
        ("DeleteRolePolicy", role_b, {"m3", "m4"}),
        ("PutRolePolicy", role_a, {"m1", "m2", "j1"}),
        ("PutRolePermissionsBoundary", role_b, {"m3", "m4"}),
    ]
    assert {name for name, _, _ in cases} == set(CHANGE_EVENTS)  # every event the rules deliver
    clients = fresh_clients()
    drift = planner(clients, index_table)
    wrong = {}
    for name, resource, expected in cases:
        found = set(drift.affected(parse_change_event(change_event(name, resource))))
        if found != w.subjects(*expected):
            wrong[f"{name} {resource}"] = sorted(found)
    assert wrong == {}
    # One query per distinct resource, and nothing else.
    distinct = len({r for _, r, _ in cases})
    assert clients.counter.snapshot() == {"dynamodb:Query": distinct}


def test_a_resource_no_subject_uses_costs_one_query_and_nothing_else(
    indexed_world, builder, stack, fresh_clients
):
    unused = builder.security_group(indexed_world.a.vpc_id)
    clients = fresh_clients()
    drift = planner(clients, stack.refs["DependencyIndexTable"], stack.refs["ReevaluationQueue"])
    result = drift.handle(parse_change_event(change_event("RevokeSecurityGroupIngress", unused)))
    assert result["affected"] == [] and result["queued"] == 0
    assert clients.counter.snapshot() == {"dynamodb:Query": 1}


def test_an_unreachable_index_raises_and_is_never_read_as_no_subject(indexed_world, fresh_clients):
    drift = planner(fresh_clients(), "no-such-table")
    change = parse_change_event(change_event("RevokeSecurityGroupIngress", indexed_world.a.security_group_id))
    with pytest.raises(Exception, match="ResourceNotFound|not found|non-existent"):
        drift.handle(change)


def _items(clients, table: str, subject: str) -> dict[str, dict]:
    items = clients.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="subject = :s",
        ExpressionAttributeValues={":s": {"S": subject}},
    )["Items"]
    return {i["dependency"]["S"]: i for i in items}


def test_the_index_holds_each_kind_of_dependency(indexed_world, builder, index_table, fresh_clients):
    w = indexed_world
    items = _items(fresh_clients(), index_table, w.arns["j1"])
    assert set(items) - {MANIFEST} == {
        w.a.vpc_id,
        *w.a.subnet_ids,
        w.a.security_group_id,
        *w.a.route_table_ids,
        association_of(builder, w.a.subnet_ids[0]),
        association_of(builder, w.a.subnet_ids[1]),
        w.a.s3_endpoint_id,
        w.a.flow_log_id,
        "arn:aws:s3:::input-data",
        "arn:aws:s3:::output-data",
        f"arn:aws:iam::{ACCOUNT}:role/{w.a.role_arn.rsplit('/', 1)[-1]}",
        KMS_KEY,
    }
    expires = {int(i["expires_at"]["N"]) for i in items.values()}
    assert len(expires) == 1 and 6 * 86400 < expires.pop() - time.time() <= 7 * 86400


def test_an_unchanged_dependency_set_costs_one_read_and_a_changed_one_one_write(
    indexed_world, builder, index_table, fresh_clients
):
    w = indexed_world
    clients = fresh_clients()
    Engine(clients, index_sink=DependencyIndex(clients, index_table)).evaluate_model("m2")
    assert {k: n for k, n in clients.counter.snapshot().items() if k.startswith("dynamodb")} == {
        "dynamodb:GetItem": 1
    }

    # m2's subnet moves to another route table: the old table and association leave its set.
    old_association = association_of(builder, w.a.subnet_ids[0])
    new_table = builder.ec2.create_route_table(VpcId=w.a.vpc_id)["RouteTable"]["RouteTableId"]
    new_association = builder.ec2.replace_route_table_association(
        AssociationId=old_association, RouteTableId=new_table
    )["NewAssociationId"]
    clients = fresh_clients()
    Engine(clients, index_sink=DependencyIndex(clients, index_table)).evaluate_model("m2")
    assert {k: n for k, n in clients.counter.snapshot().items() if k.startswith("dynamodb")} == {
        "dynamodb:GetItem": 1,
        "dynamodb:BatchWriteItem": 1,
    }
    deps = set(_items(clients, index_table, w.arns["m2"]))
    assert {new_table, new_association} <= deps
    assert not {w.a.route_table_ids[0], old_association} & deps
    manifest = _items(clients, index_table, w.arns["m2"])[MANIFEST]
    assert {v["S"] for v in manifest["resources"]["L"]} == deps - {MANIFEST}


def test_a_deleted_subject_leaves_the_index(indexed_world, builder, index_table, fresh_clients):
    w = indexed_world
    builder.client("sagemaker").delete_model(ModelName="m3")
    clients = fresh_clients()
    index = DependencyIndex(clients, index_table)
    Engine(clients, index_sink=index).evaluate_model(w.arns["m3"])
    assert _items(clients, index_table, w.arns["m3"]) == {}
    assert index.affected(w.b.security_group_id) == []


def test_expired_entries_are_not_read_before_ttl_deletes_them(indexed_world, index_table, fresh_clients):
    w = indexed_world
    clients = fresh_clients()
    dynamodb = clients.client("dynamodb")
    for key in _items(clients, index_table, w.arns["m4"]):
        dynamodb.update_item(
            TableName=index_table,
            Key={"subject": {"S": w.arns["m4"]}, "dependency": {"S": key}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}},
        )
    assert DependencyIndex(clients, index_table).affected(w.a_group_2) == []


def test_unprocessed_writes_raise_after_retries_and_reset_the_manifest(
    indexed_world, index_table, fresh_clients
):
    """moto never leaves items unprocessed; botocore's Stubber plays DynamoDB answering every
    BatchWriteItem with the items unprocessed (the real response shape), then the reset."""
    from botocore.stub import ANY, Stubber

    from vpcguard.inventory import Inventory
    from vpcguard.subjects import SubjectResolver

    clients = fresh_clients()
    subject = SubjectResolver(clients).model("m2")
    snapshot = Inventory(clients).snapshot(subject)
    dynamodb = clients.client("dynamodb")
    index = DependencyIndex(clients, index_table)
    with Stubber(dynamodb) as stub:
        stub.add_response("get_item", {}, {"TableName": index_table, "Key": ANY, "ConsistentRead": True})
        for _ in range(5):
            stub.add_response(
                "batch_write_item",
                {
                    "UnprocessedItems": {
                        index_table: [
                            {
                                "DeleteRequest": {
                                    "Key": {"subject": {"S": subject.arn}, "dependency": {"S": "x"}}
                                }
                            }
                        ]
                    }
                },
                {"RequestItems": ANY},
            )
        stub.add_response(
            "delete_item",
            {},
            {"TableName": index_table, "Key": {"subject": {"S": subject.arn}, "dependency": {"S": MANIFEST}}},
        )
        with pytest.raises(DependencyIndexError, match="not written after 5 attempts"):
            index.record(subject, snapshot)
        stub.assert_no_pending_responses()


def test_change_events_parse_both_cloudtrail_shapes_and_refuse_malformed_ones():
    change = parse_change_event(json.dumps(change_event("DeleteVpcEndpoints", "vpce-0abc")))
    assert change.resource_keys == ("vpce-0abc",)
    assert change.actor.endswith("assumed-role/network-admin/bob.martin")
    iam = parse_change_event(change_event("DetachRolePolicy", "sagemaker-execution"))
    assert iam.resource_keys == (f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution",)
    s3 = parse_change_event(change_event("PutBucketPolicy", "input-data"))
    assert s3.resource_keys == ("arn:aws:s3:::input-data",)

    failed = parse_change_event(
        change_event("DeleteSubnet", "subnet-0abc", error_code="UnauthorizedOperation")
    )
    assert failed.skip and "UnauthorizedOperation" in failed.skip_reason

    no_resource = change_event("RevokeSecurityGroupIngress", "sg-0abc")
    no_resource["detail"]["requestParameters"] = {"ipPermissions": {}}
    with pytest.raises(ValueError, match="names no groupId"):
        parse_change_event(no_resource)
    with pytest.raises(ValueError, match="not JSON"):
        parse_change_event("{not json")
    missing_name = change_event("DeleteSubnet", "subnet-0abc")
    del missing_name["detail"]["eventName"]
    with pytest.raises(ValueError, match="eventName: Field required"):
        parse_change_event(missing_name)
    not_an_id = change_event("DeleteSubnet", "my-subnet")
    with pytest.raises(ValueError, match="not an EC2 resource id"):
        parse_change_event(not_an_id)
