"""The automatic fixes, end to end against moto's server, as a user sees them.

Each fix goes FAIL (plain scan) -> FIXED (remediate, re-verified from AWS) -> PASS (a new
scan with a fresh engine), and a second remediation run changes nothing. Dry runs write
nothing. No fix opens a CIDR, creates a gateway or touches IAM. Exempt resources are left
alone, concurrent runs converge, a failing fix is reported and the run goes on, and every
change is an audit record (in the report and in the DynamoDB audit table).

Where moto cannot play AWS (an AccessDenied on one write) a botocore `before-call` hook
injects the real error response (tests/faults.py).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import result_of
from tests.faults import deny
from tests.localaws.builders import Builder, CompliantVpc
from vpcguard.audit import DynamoDbAuditSink
from vpcguard.checks.sg_self_ingress import SELF_RULE_DESCRIPTION
from vpcguard.model import Status
from vpcguard.s3_policy import PACKAGE_REPO_RESOURCES
from vpcguard.settings import Settings

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


# --- helpers ------------------------------------------------------------------------------------


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def describe_touchable(builder: Builder, vpc_id: str) -> dict[str, Any]:
    """The describe output of everything a fix may write to in one VPC."""
    ec2 = builder.ec2
    by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    return {
        "security_groups": _strip(ec2.describe_security_groups(Filters=by_vpc)),
        "vpc_endpoints": _strip(ec2.describe_vpc_endpoints(Filters=by_vpc)),
        "route_tables": _strip(ec2.describe_route_tables(Filters=by_vpc)),
        "flow_logs": _strip(ec2.describe_flow_logs()),
        "dns_support": _strip(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsSupport")),
    }


def self_rules(builder: Builder, group_id: str) -> list[dict[str, Any]]:
    """The group's inbound rules whose only source is the group itself, all protocols."""
    group = builder.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return [
        pair
        for p in group["IpPermissions"]
        if p["IpProtocol"] == "-1"
        for pair in p.get("UserIdGroupPairs", [])
        if pair["GroupId"] == group_id
    ]


def endpoint(builder: Builder, endpoint_id: str) -> dict[str, Any]:
    return builder.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]


def vpc_flow_logs(builder: Builder, vpc_id: str) -> list[dict[str, Any]]:
    return builder.ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def remediating(builder: Builder, **overrides: Any) -> Settings:
    """Remediation on, with a working CloudWatch flow-log destination (as the stack has)."""
    group, role = builder.flow_log_destination()
    return Settings(remediate=True, flow_logs_log_group=group, flow_logs_role_arn=role, **overrides)


@dataclass
class BrokenVpc:
    net: CompliantVpc
    group_id: str  # the model's group, with no self rule


def broken_vpc(builder: Builder, model: str = "broken") -> BrokenVpc:
    """A compliant VPC with the three default-fixable gaps: the model's group has no self
    rule, the S3 gateway endpoint is on only the first subnet's route table, and the VPC's
    flow log is gone."""
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, self_ingress=False)
    builder.ec2.modify_vpc_endpoint(
        VpcEndpointId=net.s3_endpoint_id, RemoveRouteTableIds=[net.route_table_ids[1]]
    )
    builder.ec2.delete_flow_logs(FlowLogIds=[net.flow_log_id])
    builder.compliant_model(model, net, security_group_ids=[group])
    return BrokenVpc(net, group)


def vpc_without_s3_endpoint(builder: Builder, model: str = "no-endpoint") -> tuple[str, list[str], list[str]]:
    """A VPC like the compliant one, but no S3 endpoint at all: (vpc, subnets, route tables)."""
    vpc_id = builder.vpc("10.9.0.0/16")
    subnets = [builder.subnet(vpc_id, "10.9.1.0/24", "a"), builder.subnet(vpc_id, "10.9.2.0/24", "b")]
    tables = [builder.route_table(vpc_id, [sid]) for sid in subnets]
    group = builder.security_group(vpc_id)
    builder.flow_log(vpc_id)
    builder.model(model, subnet_ids=subnets, security_group_ids=[group], role_arn=builder.role())
    return vpc_id, subnets, tables


def applied(report) -> list:
    return [a for a in report.audit if a.outcome == "applied"]


# --- sg_self_ingress ------------------------------------------------------------------------------


def test_sg_fix_adds_one_self_rule_to_the_first_group_then_a_rescan_passes(builder, make_engine):
    net = builder.compliant_vpc()
    first, second = sorted(builder.security_group(net.vpc_id, self_ingress=False) for _ in range(2))[::-1]
    # VpcConfig order, not id order, decides: the first group named has the larger id.
    builder.compliant_model("pair", net, security_group_ids=[first, second])
    builder.transform_job("nightly", "pair", instance_count=2)
    untouched = builder.ec2.describe_security_groups(GroupIds=[second])["SecurityGroups"]

    scan = make_engine().evaluate_transform_job("nightly")
    assert result_of(scan, "sg_self_ingress").status == Status.FAIL
    assert scan.audit == [] and self_rules(builder, first) == []

    fixed = make_engine(remediating(builder), trigger="cli user test").evaluate_transform_job("nightly")

    result = result_of(fixed, "sg_self_ingress")
    assert result.status == Status.FIXED, result.detail
    assert f"{first} allows inbound traffic, all protocols, from" in result.detail  # the re-check's words
    assert result.remediation["action"] == "ec2:AuthorizeSecurityGroupIngress"
    assert result.remediation["params"] == {
        "GroupId": first,
        "IpPermissions": [
            {
                "IpProtocol": "-1",
                "UserIdGroupPairs": [{"GroupId": first, "Description": SELF_RULE_DESCRIPTION}],
            }
        ],
    }
    [rule] = self_rules(builder, first)
    assert rule["Description"] == SELF_RULE_DESCRIPTION and "vpcguard" in rule["Description"]
    assert builder.ec2.describe_security_groups(GroupIds=[second])["SecurityGroups"] == untouched

    [record] = fixed.audit
    assert (record.check_id, record.resource_id, record.action, record.outcome, record.dry_run) == (
        "sg_self_ingress",
        first,
        "ec2:AuthorizeSecurityGroupIngress",
        "applied",
        False,
    )
    assert record.trigger == "cli user test" and record.time.endswith("+00:00")
    assert record.subject_arn.endswith(":transform-job/nightly")
    assert record.before == {"GroupId": first, "IpPermissions": []}
    after_sources = [
        pair["GroupId"] for p in record.after["IpPermissions"] for pair in p.get("UserIdGroupPairs", [])
    ]
    assert record.after["GroupId"] == first and after_sources == [first]  # read back from AWS

    rescan = make_engine().evaluate_transform_job("nightly")
    assert result_of(rescan, "sg_self_ingress").status == Status.PASS

    state = describe_touchable(builder, net.vpc_id)
    again = make_engine(remediating(builder)).evaluate_transform_job("nightly")
    assert result_of(again, "sg_self_ingress").status == Status.PASS
    assert (
        applied(again) == []
        and describe_touchable(builder, net.vpc_id)["security_groups"] == state["security_groups"]
    )


def test_sg_fix_records_what_the_group_allowed_before(builder, make_engine):
    """A group with a partial self rule (TCP 443 only): "before" lists it, the fix adds
    the all-protocol rule beside it."""
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, self_ingress=False)
    builder.ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": group}]}
        ],
    )
    builder.compliant_model("partial", net, security_group_ids=[group])

    report = make_engine(remediating(builder)).evaluate_model("partial")

    assert result_of(report, "sg_self_ingress").status == Status.FIXED
    [record] = report.audit
    [before] = record.before["IpPermissions"]
    assert (before["IpProtocol"], before["FromPort"], before["ToPort"]) == ("tcp", 443, 443)
    assert before["UserIdGroupPairs"] == [{"GroupId": group}]
    assert len(self_rules(builder, group)) == 1


def test_two_runs_at_once_on_one_group_end_with_exactly_one_rule_and_no_error(builder, make_engine):
    """Both engines read the group without the rule and reach the write together (a
    barrier in a before-call hook holds each until the other arrives); the one that comes
    second gets InvalidPermission.Duplicate from EC2, which is success."""
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model("shared", net, security_group_ids=[group])
    engines = [make_engine(remediating(builder)) for _ in range(2)]
    together = threading.Barrier(2, timeout=20)

    def meet(**_: Any) -> None:
        together.wait()  # returning None lets the real request go ahead

    for eng in engines:
        eng.clients.session.events.register("before-call.ec2.AuthorizeSecurityGroupIngress", meet)
    reports: list = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            reports[i] = engines[i].evaluate_model("shared")
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    results = [result_of(r, "sg_self_ingress") for r in reports]
    assert [r.status for r in results] == [Status.FIXED, Status.FIXED], [r.detail for r in results]
    assert len(self_rules(builder, group)) == 1
    records = [a for r in reports for a in r.audit]
    assert [a.outcome for a in records] == ["applied", "applied"]
    assert sorted(bool(a.after.get("already_present")) for a in records) == [False, True]


@pytest.mark.parametrize("exempt", ["sg_self_ingress", "all", "subnets_multi_az, sg_self_ingress"])
def test_exempt_security_group_is_left_untouched(builder, make_engine, exempt):
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, self_ingress=False, tags={"vpcguard:exempt": exempt})
    builder.compliant_model("exempt", net, security_group_ids=[group])
    before = builder.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]

    report = make_engine(remediating(builder)).evaluate_model("exempt")

    result = result_of(report, "sg_self_ingress")
    assert result.status == Status.EXEMPT and group in result.detail
    assert [a for a in report.audit if a.check_id == "sg_self_ingress"] == []
    assert builder.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"] == before


def test_a_failing_fix_is_reported_recorded_and_the_run_goes_on(builder, make_engine):
    broken = broken_vpc(builder)
    eng = make_engine(remediating(builder))
    deny(eng.clients, "ec2", "AuthorizeSecurityGroupIngress")

    report = eng.evaluate_model("broken")

    sg = result_of(report, "sg_self_ingress")
    assert sg.status == Status.FAIL
    assert "automatic fix failed: AccessDenied on ec2:AuthorizeSecurityGroupIngress" in sg.detail
    assert self_rules(builder, broken.group_id) == []
    failed = [a for a in report.audit if a.check_id == "sg_self_ingress"]
    assert len(failed) == 1 and failed[0].outcome.startswith(
        "failed: AccessDenied on ec2:AuthorizeSecurityGroupIngress"
    )
    assert failed[0].after == {} and failed[0].resource_id == broken.group_id
    # The other fixes still ran and were re-verified.
    assert result_of(report, "s3_endpoint_routes").status == Status.FIXED
    assert result_of(report, "flow_logs_enabled").status == Status.FIXED
    assert result_of(report, "vpc_config_consistent").status == Status.PASS


# --- s3_endpoint_routes ---------------------------------------------------------------------------


def test_route_fix_adds_the_missing_effective_route_table_then_a_rescan_passes(builder, make_engine):
    broken = broken_vpc(builder)
    net = broken.net
    scan = make_engine().evaluate_model("broken")
    routes = result_of(scan, "s3_endpoint_routes")
    assert routes.status == Status.FAIL and net.route_table_ids[1] in routes.detail
    assert endpoint(builder, net.s3_endpoint_id)["RouteTableIds"] == [net.route_table_ids[0]]

    report = make_engine(remediating(builder)).evaluate_model("broken")

    result = result_of(report, "s3_endpoint_routes")
    assert result.status == Status.FIXED, result.detail
    assert result.remediation["params"] == {
        "VpcEndpointId": net.s3_endpoint_id,
        "AddRouteTableIds": [net.route_table_ids[1]],
    }
    assert sorted(endpoint(builder, net.s3_endpoint_id)["RouteTableIds"]) == sorted(net.route_table_ids)
    [record] = [a for a in report.audit if a.check_id == "s3_endpoint_routes"]
    assert record.action == "ec2:ModifyVpcEndpoint" and record.resource_id == net.s3_endpoint_id
    assert record.before == {"VpcEndpointId": net.s3_endpoint_id, "RouteTableIds": [net.route_table_ids[0]]}
    assert sorted(record.after["RouteTableIds"]) == sorted(net.route_table_ids)

    assert result_of(make_engine().evaluate_model("broken"), "s3_endpoint_routes").status == Status.PASS
    state = describe_touchable(builder, net.vpc_id)
    again = make_engine(remediating(builder)).evaluate_model("broken")
    assert applied(again) == [] and describe_touchable(builder, net.vpc_id) == state


def test_route_fix_adds_the_main_table_for_a_subnet_without_an_explicit_association(builder, make_engine):
    """The effective route table of an unassociated subnet is the VPC's main table: that
    one is added, not some other table of the VPC."""
    net = builder.compliant_vpc()
    loose = builder.subnet(net.vpc_id, "10.0.3.0/24", "c")
    builder.route_table(net.vpc_id)  # an unrelated table, not associated with anything
    builder.compliant_model("loose", net, subnet_ids=[net.subnet_ids[0], loose])

    report = make_engine(remediating(builder)).evaluate_model("loose")

    assert result_of(report, "s3_endpoint_routes").status == Status.FIXED
    assert sorted(endpoint(builder, net.s3_endpoint_id)["RouteTableIds"]) == sorted(
        [*net.route_table_ids, net.main_route_table_id]
    )


@pytest.mark.parametrize("where", ["route_table", "endpoint"])
def test_exempt_route_table_or_endpoint_blocks_the_route_fix(builder, make_engine, where):
    broken = broken_vpc(builder)
    net = broken.net
    tagged = net.route_table_ids[1] if where == "route_table" else net.s3_endpoint_id
    builder.ec2.create_tags(
        Resources=[tagged], Tags=[{"Key": "vpcguard:exempt", "Value": "s3_endpoint_routes"}]
    )

    report = make_engine(remediating(builder)).evaluate_model("broken")

    result = result_of(report, "s3_endpoint_routes")
    assert result.status == Status.FAIL
    assert f"not fixed: {tagged} is exempt via vpcguard:exempt" in result.detail
    assert endpoint(builder, net.s3_endpoint_id)["RouteTableIds"] == [net.route_table_ids[0]]
    assert [a for a in report.audit if a.check_id == "s3_endpoint_routes"] == []
    assert result_of(report, "sg_self_ingress").status == Status.FIXED  # only that fix is held back


# --- flow_logs_enabled ----------------------------------------------------------------------------


def test_flow_log_fix_creates_a_tagged_all_traffic_flow_log_then_a_rescan_passes(builder, make_engine):
    broken = broken_vpc(builder)
    vpc_id = broken.net.vpc_id
    assert result_of(make_engine().evaluate_model("broken"), "flow_logs_enabled").status == Status.FAIL
    settings = remediating(builder)

    report = make_engine(settings).evaluate_model("broken")

    result = result_of(report, "flow_logs_enabled")
    assert result.status == Status.FIXED, result.detail
    assert settings.flow_logs_log_group in result.detail
    created = [f for f in vpc_flow_logs(builder, vpc_id) if f["FlowLogStatus"] == "ACTIVE"]
    [log] = [f for f in created if f["LogGroupName"] == settings.flow_logs_log_group]
    assert log["TrafficType"] == "ALL" and log["DeliverLogsPermissionArn"] == settings.flow_logs_role_arn
    assert {t["Key"]: t["Value"] for t in log["Tags"]} == {
        "vpcguard:managed": "true",
        "vpcguard:created-by": "vpcguard flow_logs_enabled fix",
    }
    [record] = [a for a in report.audit if a.check_id == "flow_logs_enabled"]
    assert record.action == "ec2:CreateFlowLogs" and record.resource_id == vpc_id
    assert record.before == {"FlowLogs": []}
    assert [f["FlowLogId"] for f in record.after["FlowLogs"]] == [log["FlowLogId"]]
    assert record.after["FlowLogs"][0]["DeliverLogsStatus"] == "SUCCESS"

    assert result_of(make_engine().evaluate_model("broken"), "flow_logs_enabled").status == Status.PASS
    state = describe_touchable(builder, vpc_id)
    again = make_engine(settings).evaluate_model("broken")
    assert applied(again) == [] and describe_touchable(builder, vpc_id) == state


def test_flow_log_fix_to_s3_when_a_bucket_arn_is_configured(builder, make_engine):
    broken = broken_vpc(builder)
    builder.bucket("vpc-flow-logs-archive")
    settings = Settings(remediate=True, flow_logs_s3_arn="arn:aws:s3:::vpc-flow-logs-archive")

    report = make_engine(settings).evaluate_model("broken")

    assert result_of(report, "flow_logs_enabled").status == Status.FIXED
    [log] = vpc_flow_logs(builder, broken.net.vpc_id)
    assert (log["LogDestinationType"], log["LogDestination"], log["TrafficType"]) == (
        "s3",
        "arn:aws:s3:::vpc-flow-logs-archive",
        "ALL",
    )


def test_flow_log_fix_without_a_destination_says_which_settings_to_set(builder, make_engine):
    broken = broken_vpc(builder)

    report = make_engine(Settings(remediate=True)).evaluate_model("broken")

    result = result_of(report, "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert "not fixed automatically: no flow-log destination configured" in result.detail
    assert "VPCGUARD_FLOW_LOGS_LOG_GROUP" in result.detail and "VPCGUARD_FLOW_LOGS_S3_ARN" in result.detail
    assert vpc_flow_logs(builder, broken.net.vpc_id) == []
    assert [a for a in report.audit if a.check_id == "flow_logs_enabled"] == []


def test_flow_log_whose_delivery_fails_is_fail_with_the_delivery_error_not_fixed(builder, make_engine):
    """The configured log group does not exist: EC2 creates the flow log, then reports its
    delivery FAILED. Read back and re-checked, that is a FAIL that says so."""
    broken = broken_vpc(builder)
    settings = Settings(
        remediate=True,
        flow_logs_log_group="/vpcguard/deleted-by-someone",
        flow_logs_role_arn=f"arn:aws:iam::{broken.net.role_arn.split(':')[4]}:role/flow-logs-delivery",
    )

    report = make_engine(settings).evaluate_model("broken")

    result = result_of(report, "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert "was applied, but the re-check says FAIL" in result.detail
    assert "failed delivery to /vpcguard/deleted-by-someone: Access error" in result.detail
    [record] = [a for a in report.audit if a.check_id == "flow_logs_enabled"]
    assert record.outcome == "applied" and record.after["FlowLogs"][0]["DeliverLogsStatus"] == "FAILED"
    # A second run does not pile up flow logs: the same one is found and still reported.
    again = make_engine(settings).evaluate_model("broken")
    assert result_of(again, "flow_logs_enabled").status == Status.FAIL
    assert len(vpc_flow_logs(builder, broken.net.vpc_id)) == 1


def test_flow_log_fix_that_ec2_refuses_is_fail_with_the_reason(builder, make_engine):
    """CreateFlowLogs answers a missing bucket with an `Unsuccessful` item, not an error."""
    broken = broken_vpc(builder)
    settings = Settings(remediate=True, flow_logs_s3_arn="arn:aws:s3:::no-such-flow-log-bucket")

    report = make_engine(settings).evaluate_model("broken")

    result = result_of(report, "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert "automatic fix failed: ec2:CreateFlowLogs failed" in result.detail
    assert "no-such-flow-log-bucket does not exist" in result.detail
    [record] = [a for a in report.audit if a.check_id == "flow_logs_enabled"]
    assert record.outcome.startswith("failed: ec2:CreateFlowLogs failed")
    assert vpc_flow_logs(builder, broken.net.vpc_id) == []


# --- s3_endpoint_exists (opt-in) --------------------------------------------------------------------


def test_endpoint_creation_is_opt_in(builder, make_engine):
    vpc_id, _, _ = vpc_without_s3_endpoint(builder)

    report = make_engine(remediating(builder)).evaluate_model("no-endpoint")

    result = result_of(report, "s3_endpoint_exists")
    assert result.status == Status.FAIL and result.fixable is True
    assert report.audit == []
    assert (
        builder.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
        == []
    )


def test_endpoint_fix_creates_a_tagged_gateway_on_the_effective_route_tables(builder, make_engine):
    vpc_id, _, tables = vpc_without_s3_endpoint(builder)
    settings = remediating(builder, modes={"s3_endpoint_exists": "fix"})

    report = make_engine(settings).evaluate_model("no-endpoint")

    result = result_of(report, "s3_endpoint_exists")
    assert result.status == Status.FIXED, result.detail
    [created] = builder.ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "VpcEndpoints"
    ]
    assert created["ServiceName"] == "com.amazonaws.us-east-1.s3" and created["VpcEndpointType"] == "Gateway"
    assert sorted(created["RouteTableIds"]) == sorted(tables)
    assert {t["Key"]: t["Value"] for t in created["Tags"]} == {
        "vpcguard:managed": "true",
        "vpcguard:created-by": "vpcguard s3_endpoint_exists fix",
    }
    policy = json.loads(created["PolicyDocument"])
    [deny_stmt] = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert sorted(deny_stmt["Resource"]) == sorted(PACKAGE_REPO_RESOURCES)
    [record] = report.audit
    assert record.action == "ec2:CreateVpcEndpoint" and record.before == {"VpcId": vpc_id, "S3Endpoints": []}
    assert record.after["VpcEndpoints"][0]["VpcEndpointId"] == created["VpcEndpointId"]
    assert record.params["ClientToken"].startswith("vpcguard-s3-")
    # The checks after it in the same run judge the new endpoint.
    assert result_of(report, "s3_endpoint_routes").status == Status.PASS
    assert result_of(report, "s3_endpoint_policy_restricted").status == Status.PASS

    rescan = make_engine().evaluate_model("no-endpoint")
    for check_id in ("s3_endpoint_exists", "s3_endpoint_routes", "s3_endpoint_denies_package_repos"):
        assert result_of(rescan, check_id).status == Status.PASS, check_id
    state = describe_touchable(builder, vpc_id)
    again = make_engine(settings).evaluate_model("no-endpoint")
    assert applied(again) == [] and describe_touchable(builder, vpc_id) == state


# --- dry run, no widening, audit table -----------------------------------------------------------------


def test_dry_run_reports_would_fix_with_the_exact_change_and_writes_nothing(builder, make_engine):
    broken = broken_vpc(builder)
    net = broken.net
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    no_endpoint_vpc, _, tables = vpc_without_s3_endpoint(builder)
    group, role = builder.flow_log_destination()
    settings = Settings(
        dry_run=True,
        flow_logs_log_group=group,
        flow_logs_role_arn=role,
        modes={"vpc_dns_support": "fix", "s3_endpoint_exists": "fix"},
    )
    before = [describe_touchable(builder, v) for v in (net.vpc_id, no_endpoint_vpc)]

    broken_report = make_engine(settings).evaluate_model("broken")
    no_endpoint_report = make_engine(settings).evaluate_model("no-endpoint")

    assert [describe_touchable(builder, v) for v in (net.vpc_id, no_endpoint_vpc)] == before
    expected = {
        "sg_self_ingress": ("ec2:AuthorizeSecurityGroupIngress", broken.group_id),
        "s3_endpoint_routes": ("ec2:ModifyVpcEndpoint", net.s3_endpoint_id),
        "flow_logs_enabled": ("ec2:CreateFlowLogs", net.vpc_id),
        "vpc_dns_support": ("ec2:ModifyVpcAttribute", net.vpc_id),
    }
    for check_id, (action, resource) in expected.items():
        result = result_of(broken_report, check_id)
        assert result.status == Status.WOULD_FIX, (check_id, result.detail)
        assert (result.remediation["action"], result.remediation["resource_id"]) == (action, resource)
        assert "dry run: would " in result.detail
    assert result_of(broken_report, "s3_endpoint_routes").remediation["params"] == {
        "VpcEndpointId": net.s3_endpoint_id,
        "AddRouteTableIds": [net.route_table_ids[1]],
    }
    flow_params = result_of(broken_report, "flow_logs_enabled").remediation["params"]
    assert (flow_params["ResourceIds"], flow_params["TrafficType"], flow_params["LogGroupName"]) == (
        [net.vpc_id],
        "ALL",
        group,
    )
    endpoint_result = result_of(no_endpoint_report, "s3_endpoint_exists")
    assert endpoint_result.status == Status.WOULD_FIX
    assert sorted(endpoint_result.remediation["params"]["RouteTableIds"]) == sorted(tables)
    records = [*broken_report.audit, *no_endpoint_report.audit]
    assert sorted(a.check_id for a in records) == sorted([*expected, "s3_endpoint_exists"])
    assert all(a.dry_run and a.outcome == "would_apply" and a.after == {} for a in records)
    [sg_record] = [a for a in records if a.check_id == "sg_self_ingress"]
    assert sg_record.before == {"GroupId": broken.group_id, "IpPermissions": []}


def _cidr_rules(permissions: list[dict[str, Any]]) -> list[tuple[str, Any, Any, str]]:
    """Every (protocol, from, to, CIDR) a group's rules open, IPv4 and IPv6."""
    return sorted(
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r.get("CidrIp") or r.get("CidrIpv6"))
        for p in permissions
        for r in [*p.get("IpRanges", []), *p.get("Ipv6Ranges", [])]
    )


def _exposure(builder: Builder) -> dict[str, Any]:
    ec2, iam = builder.ec2, builder.client("iam")
    groups = ec2.describe_security_groups()["SecurityGroups"]
    roles = iam.list_roles()["Roles"]
    return {
        "cidr_ingress": {g["GroupId"]: _cidr_rules(g["IpPermissions"]) for g in groups},
        "cidr_egress": {g["GroupId"]: _cidr_rules(g["IpPermissionsEgress"]) for g in groups},
        "internet_gateways": _strip(ec2.describe_internet_gateways()),
        "nat_gateways": _strip(ec2.describe_nat_gateways()),
        "roles": roles,
        "policies": iam.list_policies(Scope="Local")["Policies"],
        "role_policies": {
            r["RoleName"]: (
                iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"],
                iam.list_attached_role_policies(RoleName=r["RoleName"])["AttachedPolicies"],
            )
            for r in roles
        },
    }


def test_no_fix_opens_a_cidr_creates_a_gateway_or_changes_iam(builder, make_engine):
    broken = broken_vpc(builder)
    builder.ec2.modify_vpc_attribute(VpcId=broken.net.vpc_id, EnableDnsSupport={"Value": False})
    vpc_without_s3_endpoint(builder)
    settings = remediating(builder, modes={"vpc_dns_support": "fix", "s3_endpoint_exists": "fix"})
    before = _exposure(builder)

    reports = [make_engine(settings).evaluate_model(m) for m in ("broken", "no-endpoint")]

    fixed = sorted(r.check_id for rep in reports for r in rep.results if r.status == Status.FIXED)
    assert fixed == sorted(
        [
            "sg_self_ingress",
            "s3_endpoint_routes",
            "flow_logs_enabled",
            "vpc_dns_support",
            "s3_endpoint_exists",
        ]
    )
    after = _exposure(builder)
    for key in before:
        assert after[key] == before[key], key


def test_audit_records_go_to_the_table_with_the_templates_key_schema(builder, make_engine):
    class _Cfn(yaml.SafeLoader):
        pass

    _Cfn.add_multi_constructor("!", lambda loader, suffix, node: None)
    table = yaml.load(TEMPLATE.read_text(), Loader=_Cfn)["Resources"]["AuditTable"]["Properties"]
    builder.client("dynamodb").create_table(
        TableName="vpcguard-audit",
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "resource_id": "HASH",
        "recorded_at": "RANGE",
    }
    broken = broken_vpc(builder)
    eng = make_engine(remediating(builder), trigger="CreateModel event 1234")
    eng.audit_sink = DynamoDbAuditSink(eng.clients, "vpcguard-audit")

    report = eng.evaluate_model("broken")

    items = builder.client("dynamodb").scan(TableName="vpcguard-audit")["Items"]
    assert len(items) == len(report.audit) == 3
    by_check = {i["check_id"]["S"]: i for i in items}
    sg = by_check["sg_self_ingress"]
    assert sg["resource_id"] == {"S": broken.group_id}
    # The sort key ends with the record's own id: unique per change (issue 10).
    [sg_record] = [a for a in report.audit if a.check_id == "sg_self_ingress"]
    assert sg["recorded_at"]["S"].split("#")[1:] == ["sg_self_ingress", report.arn, sg_record.record_id]
    assert len(sg_record.record_id) == 32
    assert sg["trigger"] == {"S": "CreateModel event 1234"} and sg["dry_run"] == {"BOOL": False}
    assert sg["outcome"] == {"S": "applied"} and sg["action"] == {"S": "ec2:AuthorizeSecurityGroupIngress"}
    assert "M" in sg["before"] and "M" in sg["after"]
    assert by_check["s3_endpoint_routes"]["resource_id"] == {"S": broken.net.s3_endpoint_id}
    assert by_check["flow_logs_enabled"]["resource_id"] == {"S": broken.net.vpc_id}
