"""The organization-wide pipeline on moto's server: a member account's CloudTrail event goes
through member.yaml's forwarding rule to the hub's bus, through the hub's rules (both read
from the templates) to the work queue, and the built inspect function evaluates and fixes
it in the member account, through the member role member.yaml creates."""

from __future__ import annotations

import json

from tests.localaws.server import ACCOUNT as HUB
from tests.localaws.server import REGION
from tests.test_org import MEMBER_A, has_self_rule, world

from .cfn import MEMBER_TEMPLATE, load_template
from .deployment import deploy, deploy_member
from .harness import Pipeline

ORG_ID = "o-exampleorg12"


def test_a_member_accounts_event_is_forwarded_to_the_hub_and_fixed_in_that_account(
    endpoint_url, built_inspect, org
):
    hub_stack = deploy(endpoint_url, OrganizationId=ORG_ID)
    bus_arn = hub_stack.attributes[("HubEventBus", "Arn")]
    member_stack = deploy_member(
        endpoint_url, MEMBER_A, HubAccountId=HUB, OrganizationId=ORG_ID, HubEventBusArn=bus_arn
    )
    hub, member = world(org, None), world(org, MEMBER_A)
    pipeline = Pipeline(hub_stack, built_inspect)
    assert pipeline.environment["VPCGUARD_MEMBER_ROLE_NAME"] == "vpcguard-member"

    # CloudTrail puts the CreateModel call on the member account's default bus.
    detail = json.loads(
        (hub_stack_root() / "events" / "create_model.json").read_text().replace("fraud-scoring-v3", "churn")
    )["detail"]
    detail = json.loads(json.dumps(detail).replace(HUB, MEMBER_A))
    answer = member_stack.client("events").put_events(
        Entries=[
            {
                "Source": "aws.sagemaker",
                "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0

    invocations = pipeline.run()

    assert len(invocations) == 1
    (finding,) = pipeline.findings()
    assert (finding.body["account"], finding.body["region"]) == (MEMBER_A, REGION)
    assert finding.body["arn"] == member["arn"]
    assert finding.result("sg_self_ingress")["status"] == "FIXED"
    assert finding.attributes["account"] == MEMBER_A
    assert has_self_rule(org, MEMBER_A, member["sg"])
    assert not has_self_rule(org, None, hub["sg"])
    assert pipeline.dead_letters() == []


def test_without_an_organization_the_hub_has_no_bus_and_no_member_role(endpoint_url):
    stack = deploy(endpoint_url)
    assert ("HubEventBus", "Arn") not in stack.attributes
    assert stack.function_environment()["VPCGUARD_MEMBER_ROLE_NAME"] == ""
    assert "OrgSageMakerCreateCallsRule" not in stack.refs


def test_member_yaml_forwards_what_the_hubs_rules_take():
    member = load_template(MEMBER_TEMPLATE)["Resources"]
    hub = deploy_patterns()
    forwarded = member["ForwardSageMakerCallsRule"]["Properties"]["EventPattern"]
    assert forwarded == hub["OrgSageMakerCreateCallsRule"]
    assert (
        member["ForwardTransformJobStartsRule"]["Properties"]["EventPattern"]
        == hub["OrgTransformJobStateRule"]
    )


def deploy_patterns() -> dict:
    from .cfn import load_template as load

    resources = load()["Resources"]
    return {
        lid: r["Properties"]["EventPattern"]
        for lid, r in resources.items()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
    }


def hub_stack_root():
    from .cfn import ROOT

    return ROOT


# --- what moto does not enforce, read from the templates ------------------------------------


def _statements(resource: dict) -> list[dict]:
    policies = resource["Properties"]["Policies"]
    out = []
    for policy in policies:
        document = policy.get("PolicyDocument", policy)
        for statement in document["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]  # the OrganizationId-set branch
            out.append(statement)
    return out


def test_hub_functions_may_assume_only_the_member_role_and_the_bus_admits_only_the_organization():
    resources = load_template()["Resources"]
    for function in ("InspectFunction", "BackfillFunction"):
        assumes = [s for s in _statements(resources[function]) if s.get("Action") == "sts:AssumeRole"]
        assert [s["Resource"] for s in assumes] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}
        ], function
        assert all(s.get("Effect") == "Allow" for s in assumes)
    policy = resources["HubEventBusPolicy"]["Properties"]["Statement"]
    assert policy["Action"] == "events:PutEvents"
    assert policy["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    source_arns = resources["EventBridgeToQueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    allowed = json.dumps(source_arns["Condition"])
    assert "OrgSageMakerCreateCallsRule" in allowed and "OrgTransformJobStateRule" in allowed


def test_member_role_trusts_only_the_hub_function_roles_of_the_organization():
    from vpcguard.accounts import DEFAULT_MEMBER_ROLE, MEMBER_FLOW_LOGS_LOG_GROUP, MEMBER_FLOW_LOGS_ROLE

    template = load_template(MEMBER_TEMPLATE)
    resources = template["Resources"]
    role = resources["MemberRole"]
    assert template["Parameters"]["MemberRoleName"]["Default"] == DEFAULT_MEMBER_ROLE
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}}
    assert trust["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    assert [p["Fn::Sub"].rsplit("/", 1)[1] for p in trust["Condition"]["ArnLike"]["aws:PrincipalArn"]] == [
        "${HubStackName}-InspectFunctionRole-*",
        "${HubStackName}-BackfillFunctionRole-*",
    ]
    statements = _statements(role)
    writes = {a for s in statements if s["Effect"] == "Allow" for a in _actions(s) if not _is_read(a)}
    assert writes == {
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:ModifyVpcEndpoint",
        "ec2:CreateFlowLogs",
        "ec2:CreateTags",
        "iam:PassRole",
    }
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert set(deny["Action"]) == {
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:ModifyVpcEndpoint",
        "ec2:CreateFlowLogs",
    }
    assert deny["Condition"] == {"Null": {"aws:ResourceTag/vpcguard:exempt": "false"}}
    # The names the hub uses for a member's flow-log fix are the ones member.yaml creates.
    assert resources["FlowLogsLogGroup"]["Properties"]["LogGroupName"] == MEMBER_FLOW_LOGS_LOG_GROUP
    assert resources["FlowLogsDeliveryRole"]["Properties"]["RoleName"] == MEMBER_FLOW_LOGS_ROLE
    # Global IAM resources come from one region's stack instance only.
    assert {lid for lid, r in resources.items() if r["Type"] == "AWS::IAM::Role"} == {
        lid
        for lid, r in resources.items()
        if r.get("Condition") == "IsPrimaryRegion" and r["Type"] == "AWS::IAM::Role"
    }


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _is_read(action: str) -> bool:
    verb = action.split(":", 1)[1]
    return verb.startswith(("Describe", "Get", "List"))
