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


def test_a_member_accounts_event_is_forwarded_to_the_hub_and_fixed_in_that_account(endpoint_url, built_inspect):
    hub_stack = deploy(endpoint_url, OrganizationId=ORG_ID)
    bus_arn = hub_stack.attributes[("HubEventBus", "Arn")]
    member_stack = deploy_member(
        endpoint_url, MEMBER_A, HubAccountId=HUB, OrganizationId=ORG_ID, HubEventBusArn=bus_arn
    )
    hub, member = world(endpoint_url, None), world(endpoint_url, MEMBER_A)
    pipeline = Pipeline(hub_stack, built_inspect)
    assert pipeline.environment["VPCGUARD_MEMBER_ROLE_NAME"] == "vpcguard-member"

    # CloudTrail puts the CreateModel call on the member account's default bus.
    detail = json.loads(
        (hub_stack_root() / "events" / "create_model.json").read_text().replace("fraud-scoring-v3", "churn")
    )["detail"]
    detail = json.loads(json.dumps(detail).replace(HUB, MEMBER_A))
    answer = member_stack.client("events").put_events(
        Entries=[{"Source": "aws.sagemaker", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}]
    )
    assert answer["FailedEntryCount"] == 0

    invocations = pipeline.run()

    assert len(invocations) == 1
    (finding,) = pipeline.findings()
    assert (finding.body["account"], finding.body["region"]) == (MEMBER_A, REGION)
    assert finding.body["arn"] == member["arn"]
    assert finding.result("sg_self_ingress")["status"] == "FIXED"
    assert finding.attributes["account"] == MEMBER_A
    assert has_self_rule(endpoint_url, MEMBER_A, member["sg"])
    assert not has_self_rule(endpoint_url, None, hub["sg"])
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
    assert member["ForwardTransformJobStartsRule"]["Properties"]["EventPattern"] == hub["OrgTransformJobStateRule"]


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
