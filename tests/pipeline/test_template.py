"""template.yaml, read as CloudFormation reads it: what moto cannot enforce (IAM, encryption,
alarms, the event source mapping) is checked on the template itself, and the IAM policy is
checked against the AWS calls the engine really makes."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from typing import Any

import pytest

from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.events import WorkItem
from vpcguard.inspection import Inspector
from vpcguard.settings import Settings

from .cfn import ROOT, Resolver, load_template, parameter_defaults

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
INSPECT = RESOURCES["InspectFunction"]["Properties"]

# docs/architecture.md "Settings", plus the Powertools idempotency table the handler reads.
SETTINGS_VARIABLES = {
    "VPCGUARD_REMEDIATE",
    "VPCGUARD_DRY_RUN",
    "VPCGUARD_MODES",
    "VPCGUARD_FLOW_LOGS_LOG_GROUP",
    "VPCGUARD_FLOW_LOGS_ROLE_ARN",
    "VPCGUARD_FLOW_LOGS_S3_ARN",
    "VPCGUARD_AUDIT_TABLE",
    "VPCGUARD_FINDINGS_TOPIC_ARN",
    "VPCGUARD_SLACK_SECRET_ARN",
    "VPCGUARD_SLACK_TEAM_SECRETS",
    "VPCGUARD_CHATBOT_TOPIC_ARN",
    "VPCGUARD_SECURITY_HUB",
    "VPCGUARD_STATE_TABLE",
    "VPCGUARD_DEDUP_SECONDS",
    "VPCGUARD_WORK_QUEUE_URL",
    # Drift (issue 13): the dependency index every evaluation writes, and its entries' lifetime.
    "VPCGUARD_INDEX_TABLE",
    "VPCGUARD_INDEX_TTL_DAYS",
    # "Organization-wide": the member role a hub assumes.
    "VPCGUARD_MEMBER_ROLE_NAME",
}
WRITE_ACTIONS = {
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:ModifyVpcEndpoint",
    "ec2:CreateFlowLogs",
    "ec2:CreateTags",
    "ec2:CreateVpcEndpoint",
    "ec2:ModifyVpcAttribute",
    "iam:PassRole",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "sns:Publish",
}
# botocore's endpoint prefix -> IAM's service prefix, where they differ.
IAM_PREFIX = {"api.sagemaker": "sagemaker", "tagging": "tag"}


def inspect_statements() -> list[dict[str, Any]]:
    """Every statement the function can have: both branches of a conditional statement
    (`!If [Condition, statement, AWS::NoValue]`) count, so the checks below hold with every
    option turned on."""
    statements = []
    for policy in INSPECT["Policies"]:
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                _, when_true, when_false = statement["Fn::If"]
                statements += [s for s in (when_true, when_false) if s != {"Ref": "AWS::NoValue"}]
            else:
                statements.append(statement)
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(s["Action"]))
        for s in statements
    )


# --- events in ---------------------------------------------------------------------------


def test_rules_deliver_to_the_work_queue_with_retries_and_a_dead_letter_queue():
    # The drift rules (change events, to the drift queue) are test_drift_template.py's.
    rules = {
        k: r["Properties"]
        for k, r in RESOURCES.items()
        if r["Type"] == "AWS::Events::Rule" and not k.startswith("Drift")
    }
    # The Org* rules (OrganizationId set) take member accounts' events from the hub's bus.
    assert set(rules) == {
        "SageMakerCreateCallsRule",
        "TransformJobStateRule",
        "OrgSageMakerCreateCallsRule",
        "OrgTransformJobStateRule",
    }
    for name in ("SageMakerCreateCallsRule", "TransformJobStateRule"):
        assert rules[f"Org{name}"]["EventPattern"] == rules[name]["EventPattern"]
        assert rules[f"Org{name}"]["EventBusName"] == {"Ref": "HubEventBus"}
        assert RESOURCES[f"Org{name}"]["Condition"] == "OrgHub"
    for props in rules.values():
        [target] = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
        assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400
    cloudtrail = rules["SageMakerCreateCallsRule"]["EventPattern"]["detail"]
    assert cloudtrail["errorCode"] == [{"exists": False}]
    assert cloudtrail["eventName"] == ["CreateModel", "CreateTransformJob"]
    assert rules["TransformJobStateRule"]["EventPattern"]["detail"] == {"TransformJobStatus": ["InProgress"]}


def test_only_the_rules_may_send_to_the_queues():
    [statement] = RESOURCES["EventBridgeToQueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["SageMakerCreateCallsRule", "Arn"]},
        {"Fn::GetAtt": ["TransformJobStateRule", "Arn"]},
        {
            "Fn::If": [
                "OrgHub",
                {"Fn::GetAtt": ["OrgSageMakerCreateCallsRule", "Arn"]},
                {"Ref": "AWS::NoValue"},
            ]
        },
        {"Fn::If": ["OrgHub", {"Fn::GetAtt": ["OrgTransformJobStateRule", "Arn"]}, {"Ref": "AWS::NoValue"}]},
    ]


def test_queues_are_encrypted_and_the_work_queue_redrives_to_the_dlq():
    for name in ("WorkQueue", "DeadLetterQueue"):
        props = RESOURCES[name]["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name
    work = RESOURCES["WorkQueue"]["Properties"]
    assert work["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert work["RedrivePolicy"]["maxReceiveCount"] == 3
    # AWS: at least six times the function timeout for an SQS event source.
    assert work["VisibilityTimeout"] >= 6 * TEMPLATE["Globals"]["Function"]["Timeout"]


def test_inspect_reads_the_queue_in_batches_with_partial_failures():
    source = INSPECT["Events"]["WorkQueue"]
    assert source["Type"] == "SQS"
    props = source["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 < props["BatchSize"] <= 10
    assert props["ScalingConfig"]["MaximumConcurrency"] <= 10


# --- state and findings ------------------------------------------------------------------


def test_idempotency_table_matches_powertools_defaults_and_expires_items():
    props = RESOURCES["IdempotencyTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_audit_table_keys_match_the_audit_sink_and_survive_stack_deletion():
    resource = RESOURCES["AuditTable"]
    assert resource["DeletionPolicy"] == "Retain"
    keys = {k["AttributeName"]: k["KeyType"] for k in resource["Properties"]["KeySchema"]}
    assert keys == {"resource_id": "HASH", "recorded_at": "RANGE"}  # vpcguard.audit writes these


def test_findings_topic_is_kms_encrypted():
    assert RESOURCES["FindingsTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"


def test_alarms_watch_the_dlq_depth_and_the_function_errors():
    alarms = {k: r["Properties"] for k, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {(a["Namespace"], a["MetricName"], str(a["Dimensions"][0]["Value"])) for a in alarms.values()}
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}),
    ) in watched
    assert ("AWS/Lambda", "Errors", str({"Ref": "InspectFunction"})) in watched
    assert all(
        a["Threshold"] == 0
        for a in alarms.values()
        if a["MetricName"] in {"Errors", "ApproximateNumberOfMessagesVisible"}
    )


# --- settings ----------------------------------------------------------------------------


def test_environment_names_are_the_public_settings_and_parse(stack):
    env = stack.function_environment("InspectFunction")
    ours = {name for name in env if name.startswith("VPCGUARD_")}
    # Beside the settings: the Powertools idempotency table, and the account the stack runs in
    # (Lambda has no variable for it; a hub imports member findings into its own Security Hub).
    assert ours - SETTINGS_VARIABLES == {"VPCGUARD_IDEMPOTENCY_TABLE", "VPCGUARD_HUB_ACCOUNT"}
    assert env["VPCGUARD_HUB_ACCOUNT"] == stack.refs["AWS::AccountId"]
    settings = Settings.from_env(env)
    assert settings.remediate is True  # the stack's default (checks.md)
    assert settings.dry_run is False
    assert settings.flow_logs_log_group == stack.refs["FlowLogsLogGroup"]
    assert settings.flow_logs_role_arn == stack.attributes[("FlowLogsDeliveryRole", "Arn")]
    assert settings.flow_logs_s3_arn is None
    assert settings.audit_table == stack.refs["AuditTable"]
    assert settings.findings_topic_arn == stack.findings_topic_arn


def test_parameters_reach_the_settings(endpoint_url):
    from .deployment import deploy

    stack = deploy(
        endpoint_url,
        Remediate="false",
        DryRun="true",
        CheckModes="s3_endpoint_exists=fix,network_isolation=off",
        FlowLogsS3Arn="arn:aws:s3:::central-flow-logs/vpcguard/",
    )
    settings = Settings.from_env(stack.function_environment("InspectFunction"))
    assert (settings.remediate, settings.dry_run) == (False, True)
    assert settings.modes == {"s3_endpoint_exists": "fix", "network_isolation": "off"}
    assert settings.flow_logs_s3_arn == "arn:aws:s3:::central-flow-logs/vpcguard/"


def test_check_modes_pattern_accepts_what_settings_accept():
    pattern = TEMPLATE["Parameters"]["CheckModes"]["AllowedPattern"]
    for good in ("", "sg_self_ingress=off", "s3_endpoint_exists=fix,vpc_dns_support=notify"):
        assert re.fullmatch(pattern, good), good
    for bad in ("sg_self_ingress", "sg_self_ingress=maybe", "a=fix,"):
        assert not re.fullmatch(pattern, bad), bad


# --- the layer ---------------------------------------------------------------------------


def test_layer_is_built_for_the_function_runtime_without_boto3_or_powertools():
    layer = RESOURCES["VpcguardLayer"]
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"]
    assert layer["Properties"]["ContentUri"] == "layers/vpcguard"
    assert layer["Metadata"]["BuildMethod"] == runtime
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    requirements = [
        line.split("==")[0].lower()
        for line in (ROOT / "layers" / "vpcguard" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not {"boto3", "botocore", "aws-lambda-powertools"} & set(requirements)
    # The layer's pins are the dev environment's pins (tested together).
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pins = dict(item.split("==") for item in dev if "==" in item)
    for line in (ROOT / "layers" / "vpcguard" / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==")
            assert pins.get(name) == version, name
    assert TEMPLATE["Parameters"]["PowertoolsLayerArn"]["Default"].endswith(
        "/" + pins["aws-lambda-powertools"]
    )


# --- IAM ---------------------------------------------------------------------------------


def test_no_wildcard_actions_and_writes_are_never_on_every_resource():
    for statement in inspect_statements():
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
            if action in WRITE_ACTIONS:
                assert statement["Resource"] != "*", statement["Sid"]


def test_pass_role_is_only_the_flow_log_delivery_role_only_to_flow_logs():
    passing = [s for s in inspect_statements() if "iam:PassRole" in as_list(s["Action"])]
    assert len(passing) == 1
    assert passing[0]["Resource"] == {"Fn::GetAtt": ["FlowLogsDeliveryRole", "Arn"]}
    assert passing[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}}
    trust = RESOURCES["FlowLogsDeliveryRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "vpc-flow-logs.amazonaws.com"}]


@pytest.fixture
def account_with_every_gap(builder):
    """Models whose evaluation (with every fix enabled) makes every kind of call the engine
    has: a VPC with DNS off, no S3 endpoint and no flow logs; one with an endpoint missing a
    route table and a group without its self rule; a transform job (buckets, job describe);
    a model that is gone."""
    bare_vpc = builder.vpc("10.9.0.0/16", dns_support=False)
    bare_subnets = [
        builder.subnet(bare_vpc, "10.9.1.0/24", "a"),
        builder.subnet(bare_vpc, "10.9.2.0/24", "b"),
    ]
    bare_group = builder.security_group(bare_vpc, self_ingress=False)
    net = builder.compliant_vpc()
    extra_subnet = builder.subnet(net.vpc_id, "10.0.3.0/24", "c")
    builder.route_table(net.vpc_id, [extra_subnet])
    open_group = builder.security_group(net.vpc_id, self_ingress=False)
    builder.model("bare", subnet_ids=bare_subnets, security_group_ids=[bare_group], role_arn=net.role_arn)
    builder.model(
        "routes",
        subnet_ids=[*net.subnet_ids, extra_subnet],
        security_group_ids=[open_group],
        role_arn=net.role_arn,
    )
    builder.transform_job("nightly", "routes", instance_count=2)
    return ["model:bare", "model:routes", "transform_job:nightly", "model:gone"]


def test_the_policy_allows_every_call_the_inspect_path_makes(stack, endpoint_url, account_with_every_gap):
    """The engine, fixes, audit and publishing run in-process with call counting (the same
    library the function runs); every operation seen must be allowed by the template."""
    env = stack.function_environment("InspectFunction")
    settings = Settings.from_env(env, modes={"s3_endpoint_exists": "fix", "vpc_dns_support": "fix"})
    clients = AwsClients(region="us-east-1", endpoint_url=endpoint_url)
    from vpcguard.audit import audit_sink_for
    from vpcguard.drift.index import DependencyIndex

    engine = Engine(
        clients,
        settings,
        audit_sink=audit_sink_for(clients, settings.audit_table),
        index_sink=DependencyIndex(clients, settings.index_table),
    )
    inspector = Inspector(engine, settings.findings_topic_arn)
    for n, item in enumerate(account_with_every_gap):
        kind, name = item.split(":")
        inspector.inspect(
            WorkItem(
                event_id=f"e{n}", source="test", triggered_by="test", subject_type=kind, subject_ref=name
            )
        )

    seen = {
        f"{IAM_PREFIX.get(op.split(':')[0], op.split(':')[0])}:{op.split(':')[1]}"
        for op in clients.counter.snapshot()
    }
    assert {
        "sagemaker:DescribeModel",
        "sagemaker:DescribeTransformJob",
        "ec2:DescribeSubnets",
        "sns:Publish",
    } <= seen
    assert {"dynamodb:GetItem", "dynamodb:BatchWriteItem"} <= seen  # the dependency index
    denied = sorted(op for op in seen if not allows(inspect_statements(), op))
    assert denied == [], f"the inspect function calls these but template.yaml does not allow them: {denied}"


# --- IAM as the second line (issue 10) ------------------------------------------------------

EC2_FIX_ACTIONS = {
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:ModifyVpcEndpoint",
    "ec2:CreateFlowLogs",
    "ec2:CreateVpcEndpoint",
    "ec2:ModifyVpcAttribute",
    "ec2:CreateTags",
}
SQS_CONSUME_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
}


def granted(**parameters: str) -> tuple[set[str], list[dict[str, Any]]]:
    """The inspect function's allowed actions and its statements as CloudFormation would
    create them with these parameter values (every other parameter at its default)."""
    refs = {**parameter_defaults(TEMPLATE), **parameters}
    resolver = Resolver(TEMPLATE, refs, {})
    statements = []
    for policy in INSPECT["Policies"]:
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                name, when_true, when_false = statement["Fn::If"]
                statement = when_true if resolver.condition(name) else when_false
            if statement != {"Ref": "AWS::NoValue"}:
                statements.append(statement)
    actions = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    return actions, statements


def test_fix_actions_are_granted_only_when_the_fix_can_run():
    default, _ = granted()
    # The default-on fixes, and not the opt-in ones.
    assert {"ec2:AuthorizeSecurityGroupIngress", "ec2:ModifyVpcEndpoint", "ec2:CreateFlowLogs"} <= default
    assert not {"ec2:CreateVpcEndpoint", "ec2:ModifyVpcAttribute"} & default
    opted_in, _ = granted(CheckModes="network_isolation=off,s3_endpoint_exists=fix,vpc_dns_support=fix")
    assert {"ec2:CreateVpcEndpoint", "ec2:ModifyVpcAttribute", "ec2:CreateTags"} <= opted_in
    only_dns, _ = granted(CheckModes="vpc_dns_support=fix,s3_endpoint_exists=notify")
    assert "ec2:ModifyVpcAttribute" in only_dns and "ec2:CreateVpcEndpoint" not in only_dns
    notify_only, _ = granted(CheckModes="sg_self_ingress=notify,flow_logs_enabled=off")
    assert "ec2:AuthorizeSecurityGroupIngress" not in notify_only
    assert not {"ec2:CreateFlowLogs", "iam:PassRole"} & notify_only
    assert "ec2:ModifyVpcEndpoint" in notify_only
    # Without remediation, or in a dry run, no fix writes at all.
    for parameters in ({"Remediate": "false"}, {"DryRun": "true"}):
        actions, _ = granted(**parameters, CheckModes="s3_endpoint_exists=fix,vpc_dns_support=fix")
        assert not (EC2_FIX_ACTIONS | {"iam:PassRole"}) & actions, parameters


def test_every_fix_write_is_denied_on_resources_tagged_exempt():
    _, statements = granted(CheckModes="s3_endpoint_exists=fix,vpc_dns_support=fix")
    [deny] = [s for s in statements if s["Effect"] == "Deny" and "Null" in s.get("Condition", {})]
    assert deny["Condition"] == {"Null": {"aws:ResourceTag/vpcguard:exempt": "false"}}
    allowed_writes = {
        a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])
    } & EC2_FIX_ACTIONS
    assert allowed_writes <= set(as_list(deny["Action"]))
    resolver = Resolver(
        TEMPLATE,
        {
            **parameter_defaults(TEMPLATE),
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
        },
        {},
    )
    denied = {resolver(r).rsplit(":", 1)[1].split("/")[0] for r in as_list(deny["Resource"])}
    written = {
        resolver(r).rsplit(":", 1)[1].split("/")[0]
        for s in statements
        if s["Effect"] == "Allow" and set(as_list(s["Action"])) & EC2_FIX_ACTIONS
        for r in as_list(s["Resource"])
    }
    assert written <= denied, written - denied


def test_endpoint_and_security_group_writes_are_scoped():
    _, statements = granted(CheckModes="s3_endpoint_exists=fix")
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = set(as_list(statement["Action"]))
        resources = [str(r) for r in as_list(statement["Resource"])]
        if actions & {"ec2:AuthorizeSecurityGroupIngress", "ec2:ModifyVpcEndpoint"}:
            assert len(actions) == 1, statement["Sid"]
            assert all("${AWS::AccountId}" in r and "${AWS::Region}" in r for r in resources), statement[
                "Sid"
            ]
        if "ec2:AuthorizeSecurityGroupIngress" in actions:
            assert all(":security-group/*" in r for r in resources)
        if "ec2:ModifyVpcEndpoint" in actions and any(":vpc-endpoint/" in r for r in resources):
            # Only S3 endpoints: no other service's endpoint can be re-pointed.
            assert statement["Condition"] == {
                "StringEquals": {"ec2:VpceServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}}
            }
            assert all(":vpc-endpoint/" in r for r in resources)


@pytest.mark.parametrize(
    "function, queues",
    [
        # Drift (issue 13): the inspect function also reads the re-evaluation queue.
        ("InspectFunction", ["WorkQueue", "ReevaluationQueue"]),
        ("NotifyFunction", ["NotifyQueue"]),
        ("DriftFunction", ["DriftQueue"]),
    ],
)
def test_functions_consume_only_their_own_queue(function, queues):
    """SAM attaches AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage ... on every queue) to a
    function with an SQS event; an explicit Deny outside the function's own queues undoes it."""
    props = RESOURCES[function]["Properties"]
    sources = [e["Properties"] for e in props["Events"].values() if e["Type"] == "SQS"]
    assert [s["Queue"] for s in sources] == [{"Fn::GetAtt": [q, "Arn"]} for q in queues]
    statements = [s for policy in props["Policies"] for s in policy["Statement"] if "Fn::If" not in s]
    denies = [s for s in statements if s["Effect"] == "Deny" and "NotResource" in s]
    own = [{"Fn::GetAtt": [q, "Arn"]} for q in queues]
    assert any(
        set(as_list(s["Action"])) >= SQS_CONSUME_ACTIONS and as_list(s["NotResource"]) == own for s in denies
    ), function


def test_audit_write_failures_have_an_alarm():
    alarms = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    [alarm] = [a for a in alarms if a["MetricName"] == "AuditWriteFailures"]
    assert alarm["Namespace"] == "vpcguard"  # the inspect function's Powertools Metrics namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "vpcguard-inspect"}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        0,
        "GreaterThanThreshold",
    )
    app = (ROOT / "functions" / "inspect" / "app.py").read_text()
    assert (
        'name="AuditWriteFailures"' in app
        and 'Metrics(namespace="vpcguard", service="vpcguard-inspect")' in app
    )
