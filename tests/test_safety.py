"""Issue 10: every automatic action is safe and accounted for, on moto's server.

- fixes never narrow what another workload reaches (a shared route table, a shared group);
- exemption tags match whatever their case and spaces, and an unknown value exempts all;
- a subject of another account or region is never evaluated with local credentials;
- the report describes the state after its own fixes (one fresh snapshot, every check again);
- no change without an audit record written first, and no record overwritten;
- the inspect path evaluates an event without `userIdentity` and retries a throttled one.

Where moto cannot play AWS (throttling, an AccessDenied) a botocore hook answers with the
real error response (tests/faults.py, tests/test_backfill_throttling.py); everything else
is moto's server.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from tests.conftest import result_of
from tests.faults import deny
from tests.localaws.builders import Builder, restricted_s3_policy
from tests.localaws.server import ACCOUNT, REGION
from tests.test_backfill_throttling import Throttle, ec2_throttle, fast_rate_floor  # noqa: F401
from tests.test_remediation import broken_vpc, endpoint, remediating, self_rules, vpc_without_s3_endpoint
from vpcguard import cli
from vpcguard.audit import AuditWriteError, DynamoDbAuditSink
from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.events import parse_event
from vpcguard.facts import NetworkInterface
from vpcguard.inspection import Inspector, RetryLater
from vpcguard.model import Status
from vpcguard.settings import Settings

SAGEMAKER_ENI = "[DO NOT DELETE] ENI managed by SageMaker for transform job nightly"


def fresh_engine(endpoint_url: str, settings: Settings | None = None, **kwargs: Any) -> Engine:
    return Engine(AwsClients(region=REGION, endpoint_url=endpoint_url), settings or Settings(), **kwargs)


# --- 1. the route fix on a shared route table ------------------------------------------------------


def _model_on_the_main_table(
    builder: Builder, *, neighbour: bool, policy: Any = "restricted"
) -> dict[str, Any]:
    """A VPC whose S3 gateway endpoint is on the model's first subnet's own table; the
    model's second subnet has no explicit association (it uses the main table), and
    optionally a neighbour's subnet does too."""
    vpc_id = builder.vpc("10.7.0.0/16")
    own = builder.subnet(vpc_id, "10.7.1.0/24", "a")
    loose = builder.subnet(vpc_id, "10.7.2.0/24", "b")
    other = builder.subnet(vpc_id, "10.7.9.0/24", "c") if neighbour else None
    table = builder.route_table(vpc_id, [own])
    doc = restricted_s3_policy(["input-data"]) if policy == "restricted" else policy
    vpce = builder.s3_gateway_endpoint(vpc_id, [table], policy=doc)
    group = builder.security_group(vpc_id)
    builder.flow_log(vpc_id)
    builder.model("shared-main", subnet_ids=[own, loose], security_group_ids=[group], role_arn=builder.role())
    return {
        "vpc": vpc_id,
        "main": builder.main_route_table(vpc_id),
        "vpce": vpce,
        "other": other,
        "table": table,
    }


def test_route_fix_refuses_the_main_table_when_another_subnet_uses_it(builder, endpoint_url):
    net = _model_on_the_main_table(builder, neighbour=True)

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_model("shared-main")

    result = result_of(report, "s3_endpoint_routes")
    assert result.status == Status.FAIL, result.detail
    assert (
        f"route table {net['main']} (the main route table of {net['vpc']}) is also used by {net['other']}"
        in (result.detail)
    )
    assert "not fixed automatically" in result.detail and "their own route table" in result.detail
    assert endpoint(builder, net["vpce"])["RouteTableIds"] == [net["table"]]
    assert [a for a in report.audit if a.check_id == "s3_endpoint_routes"] == []


def test_route_fix_refuses_an_explicit_table_shared_with_a_subnet_outside_the_model(builder, endpoint_url):
    net = builder.compliant_vpc()
    neighbour = builder.subnet(net.vpc_id, "10.0.8.0/24", "c")
    builder.ec2.modify_vpc_endpoint(
        VpcEndpointId=net.s3_endpoint_id, RemoveRouteTableIds=[net.route_table_ids[1]]
    )
    builder.ec2.associate_route_table(RouteTableId=net.route_table_ids[1], SubnetId=neighbour)
    builder.compliant_model("explicit", net)

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_model("explicit")

    result = result_of(report, "s3_endpoint_routes")
    assert result.status == Status.FAIL
    assert f"route table {net.route_table_ids[1]} is also used by {neighbour}" in result.detail
    assert endpoint(builder, net.s3_endpoint_id)["RouteTableIds"] == [net.route_table_ids[0]]


def test_route_fix_adds_the_main_table_when_only_the_models_subnets_use_it(builder, endpoint_url):
    net = _model_on_the_main_table(builder, neighbour=False)
    eng = fresh_engine(endpoint_url, remediating(builder))

    report = eng.evaluate_model("shared-main")

    assert result_of(report, "s3_endpoint_routes").status == Status.FIXED
    assert sorted(endpoint(builder, net["vpce"])["RouteTableIds"]) == sorted([net["table"], net["main"]])
    # Who uses the main table took one DescribeSubnets of the VPC, read only for the fix.
    assert eng.clients.counter.snapshot()["ec2:DescribeSubnets"] == 2


def test_route_fix_adds_a_shared_main_table_to_a_full_access_endpoint(builder, endpoint_url):
    """A full-access endpoint narrows nothing for the neighbours: the table is added."""
    net = _model_on_the_main_table(builder, neighbour=True, policy=None)
    eng = fresh_engine(endpoint_url, remediating(builder))

    report = eng.evaluate_model("shared-main")

    assert result_of(report, "s3_endpoint_routes").status == Status.FIXED
    assert sorted(endpoint(builder, net["vpce"])["RouteTableIds"]) == sorted([net["table"], net["main"]])
    assert eng.clients.counter.snapshot()["ec2:DescribeSubnets"] == 1  # no need to ask who else uses it


# --- 2. the security-group fix on a shared group ---------------------------------------------------


@pytest.mark.parametrize(
    "description", ["RDSNetworkInterface", "ELB app/web/50dc6c495c0c9188", "sagemaker notes db"]
)
def test_sg_fix_refuses_a_group_that_a_database_interface_also_uses(builder, endpoint_url, description):
    broken = broken_vpc(builder)
    database = builder.ec2.create_network_interface(
        SubnetId=broken.net.subnet_ids[0], Groups=[broken.group_id], Description=description
    )["NetworkInterface"]["NetworkInterfaceId"]

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_model("broken")

    result = result_of(report, "sg_self_ingress")
    assert result.status == Status.FAIL, result.detail
    assert f"{broken.group_id} is also used by network interfaces other than SageMaker's: " in result.detail
    assert f"{database} ({description})" in result.detail and "security group of its own" in result.detail
    assert self_rules(builder, broken.group_id) == []
    assert [a for a in report.audit if a.check_id == "sg_self_ingress"] == []


def test_sg_fix_goes_ahead_when_only_sagemakers_interfaces_use_the_group(builder, endpoint_url):
    broken = broken_vpc(builder)
    builder.ec2.create_network_interface(
        SubnetId=broken.net.subnet_ids[0], Groups=[broken.group_id], Description=SAGEMAKER_ENI
    )
    eng = fresh_engine(endpoint_url, remediating(builder))

    report = eng.evaluate_model("broken")

    assert result_of(report, "sg_self_ingress").status == Status.FIXED
    assert len(self_rules(builder, broken.group_id)) == 1
    assert eng.clients.counter.snapshot()["ec2:DescribeNetworkInterfaces"] == 1


def test_sagemaker_interfaces_are_told_apart_by_what_aws_says_of_them():
    """The fields of a real DescribeNetworkInterfaces answer (moto returns only the
    description): requester-managed by SageMaker, SageMaker's description, an instance's."""
    assert NetworkInterface("eni-1", description=SAGEMAKER_ENI).is_sagemaker
    assert NetworkInterface(
        "eni-2", requester_managed=True, requester_id="AROAEXAMPLE:SageMaker"
    ).is_sagemaker
    assert not NetworkInterface("eni-3", requester_id="amazon-rds", requester_managed=True).is_sagemaker
    assert not NetworkInterface("eni-4", description=SAGEMAKER_ENI, instance_id="i-0abc").is_sagemaker
    assert not NetworkInterface("eni-5", description="sagemaker notes db").is_sagemaker


def test_a_plain_scan_never_asks_who_else_uses_the_group_or_the_table(builder, endpoint_url):
    broken_vpc(builder)
    eng = fresh_engine(endpoint_url)

    report = eng.evaluate_model("broken")

    assert result_of(report, "sg_self_ingress").status == Status.FAIL
    calls = eng.clients.counter.snapshot()
    assert "ec2:DescribeNetworkInterfaces" not in calls and calls["ec2:DescribeSubnets"] == 1


# --- 3. exemption tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("vpcguard:exempt", "ALL"),
        ("vpcguard:exempt", "All"),
        ("vpcguard:exempt", " sg_self_ingress "),
        ("vpcguard:exempt", "SG_SELF_INGRESS"),
        (" VPCGuard:Exempt ", "subnets_multi_az , Sg_Self_Ingress"),
        ("vpcguard:exempt", "yes"),
    ],
)
def test_exemption_tags_match_without_regard_to_case_and_spaces(builder, endpoint_url, key, value):
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, self_ingress=False, tags={key: value})
    builder.compliant_model("exempt", net, security_group_ids=[group])
    before = builder.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_model("exempt")

    result = result_of(report, "sg_self_ingress")
    assert result.status == Status.EXEMPT, result.detail
    assert builder.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"] == before
    assert [a for a in report.audit if a.check_id == "sg_self_ingress"] == []
    if value == "yes":
        assert (
            f"exempted by vpcguard:exempt on {group} (unknown value 'yes' is treated as all)" in result.detail
        )


@pytest.mark.parametrize("value", ["S3_Endpoint_Routes ", "yes"])
def test_an_exempt_route_table_in_any_spelling_blocks_the_route_fix(builder, endpoint_url, value):
    broken = broken_vpc(builder)
    table = broken.net.route_table_ids[1]
    builder.ec2.create_tags(Resources=[table], Tags=[{"Key": "VPCGUARD:EXEMPT", "Value": value}])

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_model("broken")

    result = result_of(report, "s3_endpoint_routes")
    assert result.status == Status.FAIL
    assert f"not fixed: {table}" in result.detail and "is exempt via vpcguard:exempt" in result.detail
    if value == "yes":
        assert "unknown value 'yes' is treated as all" in result.detail
    assert endpoint(builder, broken.net.s3_endpoint_id)["RouteTableIds"] == [broken.net.route_table_ids[0]]


# --- 4. never the wrong account or region -------------------------------------------------------------


def cloudtrail_event(
    name: str, *, account: str = ACCOUNT, region: str = REGION, **detail: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventName": "CreateModel",
        "eventID": f"evt-{account}-{region}",
        "eventSource": "sagemaker.amazonaws.com",
        "awsRegion": region,
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{account}:assumed-role/ml/alice"},
        "requestParameters": {"modelName": name},
        "responseElements": {"modelArn": f"arn:aws:sagemaker:{region}:{account}:model/{name}"},
    }
    body.update(detail)
    return {
        "id": "eb-1",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": account,
        "region": region,
        "time": "2026-12-01T12:00:00Z",
        "resources": [],
        "detail": body,
    }


@pytest.mark.parametrize(("account", "region"), [("999999999999", REGION), (ACCOUNT, "us-west-2")])
def test_an_event_from_another_account_or_region_is_skipped_not_fixed_locally(
    builder, endpoint_url, caplog, account, region
):
    broken = broken_vpc(builder, model="m1")
    inspector = Inspector(fresh_engine(endpoint_url, remediating(builder)), findings_topic_arn=None)
    work = parse_event(cloudtrail_event("m1", account=account, region=region))

    with caplog.at_level(logging.WARNING, logger="vpcguard.inspection"):
        result = inspector.inspect(work)

    assert "skipped" in result and result["audit"] == 0
    where = f"account {account}" if account != ACCOUNT else f"region {region}"
    assert where in result["skipped"]
    assert any("skipped" in r.getMessage() and where in r.getMessage() for r in caplog.records)
    assert self_rules(builder, broken.group_id) == []  # the local model of that name is untouched
    assert inspector.engine.clients.counter.snapshot().get("api.sagemaker:DescribeModel") is None


def test_an_event_from_this_account_and_region_is_evaluated(builder, endpoint_url):
    broken = broken_vpc(builder, model="m1")
    inspector = Inspector(fresh_engine(endpoint_url, remediating(builder)), findings_topic_arn=None)

    result = inspector.inspect(parse_event(cloudtrail_event("m1")))

    assert result["statuses"]["FIXED"] == 3 and len(self_rules(builder, broken.group_id)) == 1
    # The credentials' account: one sts:GetCallerIdentity for the Inspector's clients.
    assert inspector.engine.clients.counter.snapshot()["sts:GetCallerIdentity"] == 1


@pytest.mark.parametrize(
    ("flag", "arn"),
    [
        ("--model", "arn:aws:sagemaker:eu-west-1:999999999999:model/m1"),
        ("--model", f"arn:aws:sagemaker:{REGION}:999999999999:model/m1"),
        ("--transform-job", "arn:aws:sagemaker:us-west-2:123456789012:transform-job/nightly"),
    ],
)
def test_cli_refuses_an_arn_of_another_account_or_region_with_one_line(
    builder, endpoint_url, capsys, flag, arn
):
    broken = broken_vpc(builder, model="m1")
    builder.transform_job("nightly", "m1")

    code = cli.main(["scan", flag, arn, "--remediate", "--region", REGION, "--endpoint-url", endpoint_url])

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("vpcguard: ") and arn in err
    assert "never evaluates or fixes it with these credentials" in err
    assert self_rules(builder, broken.group_id) == []


def test_cli_evaluates_an_arn_of_its_own_account_and_region(builder, endpoint_url, capsys):
    broken_vpc(builder, model="m1")
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m1"

    code = cli.main(["scan", "--model", arn, "--region", REGION, "--endpoint-url", endpoint_url])

    assert code == 1 and "sg_self_ingress" in capsys.readouterr().out


# --- 5. the report describes the state after its own fixes ----------------------------------------------


def test_a_route_fix_clears_the_bucket_policy_check_that_sorts_before_it(builder, endpoint_url):
    """s3_bucket_policy_vpc_only sorts before s3_endpoint_routes: before, it said the bucket
    policy would deny the job (a subnet without an endpoint route) although the route was
    FIXED below it."""
    broken = broken_vpc(builder)
    builder.transform_job("nightly", "broken", instance_count=2)
    plain = fresh_engine(endpoint_url).evaluate_transform_job("nightly")
    assert result_of(plain, "s3_bucket_policy_vpc_only").status == Status.FAIL

    report = fresh_engine(endpoint_url, remediating(builder)).evaluate_transform_job("nightly")

    assert result_of(report, "s3_endpoint_routes").status == Status.FIXED
    bucket = result_of(report, "s3_bucket_policy_vpc_only")
    assert bucket.status == Status.PASS, bucket.detail
    assert sorted(endpoint(builder, broken.net.s3_endpoint_id)["RouteTableIds"]) == sorted(
        broken.net.route_table_ids
    )


def test_a_created_endpoint_is_seen_by_the_endpoint_policy_checks(builder, endpoint_url):
    vpc_without_s3_endpoint(builder)
    settings = remediating(builder, modes={"s3_endpoint_exists": "fix"})

    report = fresh_engine(endpoint_url, settings).evaluate_model("no-endpoint")

    assert result_of(report, "s3_endpoint_exists").status == Status.FIXED
    repos = result_of(report, "s3_endpoint_denies_package_repos")
    assert repos.status == Status.PASS and "no endpoint" not in repos.detail.lower(), repos.detail
    assert result_of(report, "s3_endpoint_routes").status == Status.PASS


def test_after_fixes_every_other_result_is_what_a_fresh_scan_says(builder, endpoint_url):
    """Checks that depend on each other after a fix: each result that is not FIXED is the
    one a plain scan right after gives, and each FIXED one is PASS there."""
    broken_vpc(builder)
    builder.transform_job("nightly", "broken", instance_count=2)

    fixed = fresh_engine(endpoint_url, remediating(builder)).evaluate_transform_job("nightly")
    after = {r.check_id: r for r in fresh_engine(endpoint_url).evaluate_transform_job("nightly").results}

    assert sorted(r.check_id for r in fixed.results if r.status == Status.FIXED) == [
        "flow_logs_enabled",
        "s3_endpoint_routes",
        "sg_self_ingress",
    ]
    for result in fixed.results:
        if result.status == Status.FIXED:
            assert after[result.check_id].status == Status.PASS
        else:
            assert (result.status, result.detail) == (
                after[result.check_id].status,
                after[result.check_id].detail,
            )


# --- 6. audit: a record per change, written before it ----------------------------------------------------


def audit_table(builder: Builder, name: str = "vpcguard-audit") -> str:
    builder.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "resource_id", "KeyType": "HASH"},
            {"AttributeName": "recorded_at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "resource_id", "AttributeType": "S"},
            {"AttributeName": "recorded_at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def audit_items(builder: Builder, table: str = "vpcguard-audit") -> list[dict[str, Any]]:
    return builder.client("dynamodb").scan(TableName=table)["Items"]


def test_two_concurrent_remediation_runs_keep_every_audit_record(builder, endpoint_url):
    table = audit_table(builder)
    broken_vpc(builder)
    engines = []
    for _ in range(2):
        eng = fresh_engine(endpoint_url, remediating(builder))
        eng.audit_sink = DynamoDbAuditSink(eng.clients, table)
        engines.append(eng)
    together = threading.Barrier(2, timeout=30)

    def meet(**_: Any) -> None:
        together.wait()  # returning None lets the real request go ahead

    for eng in engines:  # both reach each write together, within the same second
        for op in ("AuthorizeSecurityGroupIngress", "ModifyVpcEndpoint", "CreateFlowLogs"):
            eng.clients.session.events.register(f"before-call.ec2.{op}", meet)
    reports: list[Any] = [None, None]

    def run(i: int) -> None:
        reports[i] = engines[i].evaluate_model("broken")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)

    records = [a for r in reports for a in r.audit]
    assert len(records) == 6
    items = audit_items(builder)
    assert len(items) == 6, [(i["resource_id"]["S"], i["recorded_at"]["S"]) for i in items]
    assert sorted(i["outcome"]["S"] for i in items) == ["applied"] * 6


def test_the_intent_is_recorded_before_the_change_and_completed_after(builder, endpoint_url):
    table = audit_table(builder)
    broken = broken_vpc(builder)
    eng = fresh_engine(endpoint_url, remediating(builder), trigger="CreateModel event 42")
    eng.audit_sink = DynamoDbAuditSink(eng.clients, table)
    seen_at_write: list[list[dict[str, Any]]] = []
    eng.clients.session.events.register(
        "before-call.ec2.AuthorizeSecurityGroupIngress",
        lambda **_: seen_at_write.append(audit_items(builder)),
    )

    report = eng.evaluate_model("broken")

    [before_write] = seen_at_write
    [intent] = [i for i in before_write if i["check_id"]["S"] == "sg_self_ingress"]
    assert intent["outcome"] == {"S": "intent"} and intent["resource_id"] == {"S": broken.group_id}
    assert intent["before"]["M"] and intent["after"] == {"M": {}}
    [done] = [i for i in audit_items(builder) if i["check_id"]["S"] == "sg_self_ingress"]
    assert done["recorded_at"] == intent["recorded_at"] and done["outcome"] == {"S": "applied"}
    assert "M" in done["after"] and done["after"]["M"]["GroupId"] == {"S": broken.group_id}
    [record] = [a for a in report.audit if a.check_id == "sg_self_ingress"]
    assert done["recorded_at"]["S"].split("#") == [
        record.time,
        "sg_self_ingress",
        report.arn,
        record.record_id,
    ]


def test_no_change_when_the_intent_cannot_be_written_cli_exits_2(builder, endpoint_url, capsys):
    broken = broken_vpc(builder)
    state = endpoint(builder, broken.net.s3_endpoint_id)["RouteTableIds"]
    group, role = builder.flow_log_destination()

    code = cli.main(
        [
            "scan",
            "--model",
            "broken",
            "--remediate",
            "--audit-table",
            "no-such-table",
            "--flow-logs-log-group",
            group,
            "--flow-logs-role-arn",
            role,
            "--region",
            REGION,
            "--endpoint-url",
            endpoint_url,
        ]
    )

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "could not be written" in err and "no change was made" in err
    assert self_rules(builder, broken.group_id) == []
    assert endpoint(builder, broken.net.s3_endpoint_id)["RouteTableIds"] == state
    assert (
        builder.ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [broken.net.vpc_id]}])[
            "FlowLogs"
        ]
        == []
    )


def test_no_change_when_the_intent_cannot_be_written_the_lambda_record_fails(builder, endpoint_url):
    broken = broken_vpc(builder, model="m1")
    eng = fresh_engine(endpoint_url, remediating(builder))
    eng.audit_sink = DynamoDbAuditSink(eng.clients, "vpcguard-audit")
    deny(eng.clients, "dynamodb", "PutItem")
    inspector = Inspector(eng, findings_topic_arn=None)

    with pytest.raises(AuditWriteError, match="no change was made"):
        inspector.inspect(parse_event(cloudtrail_event("m1")))

    assert self_rules(builder, broken.group_id) == []


# --- 7. the inspect path: no userIdentity, throttling ------------------------------------------------------


@pytest.mark.parametrize("identity", ["absent", "null"])
def test_an_event_without_user_identity_is_evaluated(builder, endpoint_url, identity):
    builder.compliant_model("m1", builder.compliant_vpc())
    event = cloudtrail_event("m1")
    if identity == "absent":
        del event["detail"]["userIdentity"]
    else:
        event["detail"]["userIdentity"] = None

    work = parse_event(json.dumps(event))
    result = Inspector(fresh_engine(endpoint_url), findings_topic_arn=None).inspect(work)

    assert work.triggered_by == "unknown" and work.subject_ref.endswith(":model/m1")
    assert result["subject"].endswith(":model/m1") and set(result["statuses"]) == {"PASS", "NOT_APPLICABLE"}


def test_persistent_throttling_fails_the_record_instead_of_publishing_an_error(builder, endpoint_url):
    builder.compliant_model("m1", builder.compliant_vpc())
    topic = builder.client("sns").create_topic(Name="findings")["TopicArn"]
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url, max_attempts=2)
    Throttle(clients, "ec2", "DescribeRouteTables", ec2_throttle, first=99)
    inspector = Inspector(Engine(clients, Settings()), findings_topic_arn=topic)

    with pytest.raises(RetryLater, match="throttled on ec2:DescribeRouteTables after retries ran out"):
        inspector.inspect(parse_event(cloudtrail_event("m1")))

    assert "sns:Publish" not in clients.counter.snapshot()


def test_access_denied_is_still_a_published_error_finding(builder, endpoint_url):
    builder.compliant_model("m1", builder.compliant_vpc())
    topic = builder.client("sns").create_topic(Name="findings")["TopicArn"]
    eng = fresh_engine(endpoint_url)
    deny(eng.clients, "ec2", "DescribeRouteTables")

    result = Inspector(eng, findings_topic_arn=topic).inspect(parse_event(cloudtrail_event("m1")))

    assert result["statuses"]["ERROR"] >= 1 and result["message_id"]
