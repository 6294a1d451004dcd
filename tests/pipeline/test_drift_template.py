"""Drift's part of template.yaml, read as CloudFormation reads it (what moto does not enforce:
the schedule, IAM, encryption, alarms, the event source mappings)."""

from __future__ import annotations

import fnmatch

from vpcguard.aws import AwsClients
from vpcguard.drift.changes import CHANGE_EVENTS, EVENT_SOURCES
from vpcguard.drift.coalesce import MAX_WINDOW_SECONDS, DriftPlanner
from vpcguard.drift.index import GSI_NAME, MANIFEST, DependencyIndex

from .cfn import ROOT, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_sweep_schedule_runs_the_backfill_daily_by_default_with_its_period_a_parameter():
    schedule = RESOURCES["SweepSchedule"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == {"Ref": "SweepScheduleExpression"}
    assert PARAMETERS["SweepScheduleExpression"]["Default"] == "rate(1 day)"
    assert props["State"] == "ENABLED"
    target = props["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["BackfillFunction", "Arn"]}
    assert target["Input"] == '{"scope": "all"}'
    role = RESOURCES["SweepSchedulerRole"]["Properties"]
    assert target["RoleArn"] == {"Fn::GetAtt": ["SweepSchedulerRole", "Arn"]}
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": {"Fn::GetAtt": ["BackfillFunction", "Arn"]},
    }


def test_the_drift_rules_cover_every_change_event_of_the_architecture_and_only_successful_calls():
    rules = {
        k: r["Properties"]
        for k, r in RESOURCES.items()
        if k.startswith("Drift") and r["Type"] == "AWS::Events::Rule"
    }
    assert set(rules) == {"DriftEc2ChangesRule", "DriftS3ChangesRule", "DriftIamChangesRule"}
    routed = {}
    for props in rules.values():
        pattern = props["EventPattern"]
        [source] = pattern["source"]
        [event_source] = pattern["detail"]["eventSource"]
        assert EVENT_SOURCES[event_source] == source
        assert pattern["detail"]["errorCode"] == [{"exists": False}]
        for name in pattern["detail"]["eventName"]:
            routed[name] = event_source
        [target] = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["DriftQueue", "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DriftDeadLetterQueue", "Arn"]}
    assert routed == {name: source for name, (source, _) in CHANGE_EVENTS.items()}
    assert "us-east-1" in rules["DriftIamChangesRule"]["Description"]
    [statement] = RESOURCES["DriftQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": [name, "Arn"]}
        for name in ("DriftEc2ChangesRule", "DriftS3ChangesRule", "DriftIamChangesRule")
    ]


def test_the_iam_forwarder_sends_the_iam_rule_events_from_us_east_1_to_the_stack_region():
    forwarder = load_template(ROOT / "drift-iam-forwarder.yaml")
    rule = forwarder["Resources"]["ForwardIamChangesRule"]["Properties"]
    assert rule["EventPattern"] == RESOURCES["DriftIamChangesRule"]["Properties"]["EventPattern"]
    [target] = rule["Targets"]
    assert "event-bus/default" in str(target["Arn"]) and "TargetRegion" in str(target["Arn"])
    assert forwarder["Rules"]["OnlyInUsEast1"]


def test_the_queues_the_index_and_the_alarms():
    reevaluation = RESOURCES["ReevaluationQueue"]["Properties"]
    assert reevaluation["FifoQueue"] is True and reevaluation["ContentBasedDeduplication"] is False
    assert reevaluation["DelaySeconds"] == {"Ref": "DriftCoalesceSeconds"}
    assert PARAMETERS["DriftCoalesceSeconds"]["MaxValue"] == MAX_WINDOW_SECONDS == 900  # SQS's longest delay
    assert RESOURCES["ReevaluationDeadLetterQueue"]["Properties"]["FifoQueue"] is True
    for name in ("DriftQueue", "DriftDeadLetterQueue", "ReevaluationQueue", "ReevaluationDeadLetterQueue"):
        assert RESOURCES[name]["Properties"]["SqsManagedSseEnabled"] is True, name
    for name in ("DriftQueue", "ReevaluationQueue"):
        assert RESOURCES[name]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3

    table = RESOURCES["DependencyIndexTable"]["Properties"]
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    assert keys == {"subject": "HASH", "dependency": "RANGE"}
    [gsi] = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == GSI_NAME
    assert {k["AttributeName"]: k["KeyType"] for k in gsi["KeySchema"]} == {
        "resource_id": "HASH",
        "subject": "RANGE",
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert MANIFEST.startswith("#")

    alarms = {
        str(r["Properties"]["Dimensions"][0]["Value"])
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    for queue in ("DriftDeadLetterQueue", "ReevaluationDeadLetterQueue"):
        assert str({"Fn::GetAtt": [queue, "QueueName"]}) in alarms

    inspect = RESOURCES["InspectFunction"]["Properties"]
    source = inspect["Events"]["Reevaluations"]["Properties"]
    assert source["Queue"] == {"Fn::GetAtt": ["ReevaluationQueue", "Arn"]}
    assert "MaximumBatchingWindowInSeconds" not in source  # not allowed on a FIFO queue
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _allowed(statements, action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, a) for a in as_list(s["Action"]))
        and resource in [str(r) for r in as_list(s["Resource"])]
        for s in statements
    )


def test_the_drift_function_may_do_what_it_does_and_nothing_more(stack, endpoint_url, builder):
    """The planner runs in-process against the deployed table and queue; every call it makes
    must be allowed by DriftFunction's policy, on the resource it is made on."""
    statements = RESOURCES["DriftFunction"]["Properties"]["Policies"][0]["Statement"]
    assert {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])} == {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
    }
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    clients = AwsClients(region="us-east-1", endpoint_url=endpoint_url)
    from tests.drift.cloudtrail import change_event
    from vpcguard.drift.changes import parse_change_event
    from vpcguard.engine import Engine

    index = DependencyIndex(clients, stack.refs["DependencyIndexTable"])
    Engine(clients, index_sink=index).evaluate_model("m")
    clients.counter.reset()
    DriftPlanner(
        clients=clients, index=index, queue_url=stack.refs["ReevaluationQueue"], window_seconds=30
    ).handle(parse_change_event(change_event("RevokeSecurityGroupIngress", net.security_group_id)))
    calls = clients.counter.snapshot()
    assert calls == {"dynamodb:Query": 1, "dynamodb:UpdateItem": 1, "sqs:SendMessageBatch": 1}
    as_iam = {
        "dynamodb:Query": (
            "dynamodb:Query",
            str({"Fn::Sub": "${DependencyIndexTable.Arn}/index/by-resource"}),
        ),
        "dynamodb:UpdateItem": ("dynamodb:UpdateItem", str({"Fn::GetAtt": ["DependencyIndexTable", "Arn"]})),
        # SendMessageBatch is authorised as sqs:SendMessage.
        "sqs:SendMessageBatch": ("sqs:SendMessage", str({"Fn::GetAtt": ["ReevaluationQueue", "Arn"]})),
    }
    for op in calls:
        action, resource = as_iam[op]
        assert _allowed(statements, action, resource), op
