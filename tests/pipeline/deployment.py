"""Create template.yaml's event plumbing and state on moto's server, from the template itself.

What is created, with the template's own settings: the SQS queues (visibility, retention,
redrive policy), the EventBridge rules (event patterns and targets), the SNS topic, the
DynamoDB tables (keys, TTL), the flow-log group and delivery role (trust policy). Lambda
functions and layers are not deployed: `runtime.BuiltFunction` runs them from the
`sam build` output. Alarms, queue policies and IAM policies are not enforced by moto, so
they are checked by reading the template (test_template.py).

A test harness addition, not part of the stack: a findings queue subscribed to the topic,
standing in for a subscriber.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.localaws.server import ACCOUNT, REGION

from .cfn import MEMBER_TEMPLATE, Resolver, load_template, parameter_defaults, resources_of_type

STACK = "vpcguard"
INSPECT_FUNCTION = "InspectFunction"


@dataclass
class LocalDeployment:
    endpoint_url: str
    template: dict[str, Any]
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    findings_queue_url: str = ""
    # Another account (member.yaml in a member account): every call carries moto's account header.
    account: str = ACCOUNT
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- clients ----------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """One client per service for this deployment (creating one per call cost more than
        the calls)."""
        if service not in self._clients:
            client = boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)
            if self.account != ACCOUNT:
                client.meta.events.register("before-sign", self._as_account)
            self._clients[service] = client
        return self._clients[service]

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalDeployment:
        """What was deployed, for a copy of the world it was deployed into (the tests'
        WorldCache): its own names and ids, new clients, the same parsed template (read
        only)."""
        copied = copy.copy(self)
        copied._clients = {}
        for name in ("parameters", "refs", "attributes"):
            setattr(copied, name, copy.deepcopy(getattr(self, name), memo))
        return copied

    def _as_account(self, request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = self.account

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The template's resources of a type whose Condition (if any) holds, as CloudFormation creates them."""
        conditions = self.template.get("Conditions", {})
        return {
            logical_id: resource
            for logical_id, resource in resources_of_type(self.template, resource_type).items()
            if "Condition" not in resource or self.resolve(conditions[resource["Condition"]])
        }

    @property
    def resolve(self) -> Resolver:
        return Resolver(self.template, self.refs, self.attributes)

    # --- what tests read --------------------------------------------------------------

    @property
    def work_queue_url(self) -> str:
        return self.refs["WorkQueue"]

    @property
    def dead_letter_queue_url(self) -> str:
        return self.refs["DeadLetterQueue"]

    @property
    def findings_topic_arn(self) -> str:
        return self.refs["FindingsTopic"]

    def queue_arn(self, url: str) -> str:
        """A queue's ARN: the stack's own queues are known by name, as CloudFormation's
        GetAtt knows them; any other queue is asked for."""
        for (logical_id, attribute), value in self.attributes.items():
            if attribute == "QueueUrl" and value == url:
                return self.attributes[(logical_id, "Arn")]
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attrs["Attributes"]["QueueArn"]

    def function_environment(self, logical_id: str = INSPECT_FUNCTION) -> dict[str, str]:
        """The function's environment as Lambda would set it: Globals, then the function's
        own variables, with every intrinsic resolved to the local resources."""
        glob = (
            self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = self.template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        return {name: str(self.resolve(value)) for name, value in {**glob, **own}.items()}

    # --- creating it ------------------------------------------------------------------

    def deploy(self, kinds: Collection[str] | None = None) -> LocalDeployment:
        """Create the template's resources, or only those of the resource types in `kinds`
        (a test of the drift library needs the queues and tables, not the rules)."""
        self.refs.update(self.parameters)
        self.refs.update(
            {
                "AWS::Region": REGION,
                "AWS::AccountId": self.account,
                "AWS::Partition": "aws",
                "AWS::StackName": STACK,
            }
        )
        # Functions are not deployed, but roles (the sweep schedule's) name their ARNs.
        for logical_id in resources_of_type(self.template, "AWS::Serverless::Function"):
            self.refs[logical_id] = f"{STACK}-{logical_id}"
            self.attributes[(logical_id, "Arn")] = (
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{logical_id}"
            )
        steps = (
            ("AWS::SQS::Queue", self._queues),
            ("AWS::SNS::Topic", self._topics),
            ("AWS::DynamoDB::Table", self._tables),
            ("AWS::Logs::LogGroup", self._log_groups),
            ("AWS::IAM::Role", self._roles),
            ("AWS::Events::EventBus", self._event_buses),
            ("AWS::Events::Rule", self._rules),
        )
        for kind, create in steps:
            if kinds is None or kind in kinds:
                create()
        for logical_id in resources_of_type(self.template, "AWS::Serverless::Function"):
            self.refs[logical_id] = f"{STACK}-{logical_id}"
        if "FindingsTopic" in self.refs:
            self._findings_subscriber()
        return self

    def _queues(self) -> None:
        sqs = self.client("sqs")
        queues = self.resources("AWS::SQS::Queue")
        # Queues that others redrive to first, so their ARNs resolve.
        order = sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid].get("Properties", {}))
        for logical_id in order:
            props = self.resolve(queues[logical_id].get("Properties", {}))
            attributes = {key: _queue_attribute(value) for key, value in props.items()}
            # CloudFormation names a FIFO queue with the .fifo suffix SQS requires.
            name = f"{STACK}-{logical_id}" + (".fifo" if props.get("FifoQueue") else "")
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.refs[logical_id] = url
            self.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{self.account}:{name}"
            self.attributes[(logical_id, "QueueName")] = name
            self.attributes[(logical_id, "QueueUrl")] = url

    def _topics(self) -> None:
        sns = self.client("sns")
        for logical_id, resource in self.resources("AWS::SNS::Topic").items():
            props = self.resolve(resource.get("Properties", {}))
            attributes = {k: str(props[k]) for k in ("KmsMasterKeyId", "DisplayName") if k in props}
            arn = sns.create_topic(Name=f"{STACK}-{logical_id}", Attributes=attributes)["TopicArn"]
            self.refs[logical_id] = arn
            self.attributes[(logical_id, "TopicArn")] = arn

    def _tables(self) -> None:
        dynamodb = self.client("dynamodb")
        for logical_id, resource in self.resources("AWS::DynamoDB::Table").items():
            props = self.resolve(resource["Properties"])
            name = f"{STACK}-{logical_id}"
            extra = {}
            if props.get("GlobalSecondaryIndexes"):
                extra["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            table = dynamodb.create_table(
                TableName=name,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
                **extra,
            )["TableDescription"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = table["TableArn"]

    def _log_groups(self) -> None:
        logs = self.client("logs")
        for logical_id, resource in self.resources("AWS::Logs::LogGroup").items():
            named = resource.get("Properties", {}).get("LogGroupName")
            if named is not None and not isinstance(named, str):
                continue  # a function's own log group (/aws/lambda/${Function}): Lambda's business, not ours
            name = named or f"/{STACK}/{logical_id}"
            logs.create_log_group(logGroupName=name)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"arn:aws:logs:{REGION}:{self.account}:log-group:{name}:*"

    def _roles(self) -> None:
        iam = self.client("iam")
        roles = self.resources("AWS::IAM::Role")
        # A role whose policy names another role's ARN waits for it (as CloudFormation orders them).
        order = sorted(
            roles, key=lambda lid: "GetAtt" in json.dumps(roles[lid]["Properties"].get("Policies", []))
        )
        for logical_id in order:
            props = self.resolve(roles[logical_id]["Properties"])
            name = props.get("RoleName") or f"{STACK}-{logical_id}"
            arn = iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
            )["Role"]["Arn"]
            for policy in props.get("Policies", []):
                iam.put_role_policy(
                    RoleName=name,
                    PolicyName=policy["PolicyName"],
                    PolicyDocument=json.dumps(policy["PolicyDocument"]),
                )
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = arn

    def _event_buses(self) -> None:
        events = self.client("events")
        for logical_id, resource in self.resources("AWS::Events::EventBus").items():
            props = self.resolve(resource["Properties"])
            arn = events.create_event_bus(Name=props["Name"])["EventBusArn"]
            self.refs[logical_id] = props["Name"]
            self.attributes[(logical_id, "Arn")] = arn
            self.attributes[(logical_id, "Name")] = props["Name"]

    def _rules(self) -> None:
        events = self.client("events")
        for logical_id, resource in self.resources("AWS::Events::Rule").items():
            props = self.resolve(resource["Properties"])
            name = f"{STACK}-{logical_id}"
            bus = {"EventBusName": props["EventBusName"]} if "EventBusName" in props else {}
            arn = events.put_rule(
                Name=name,
                EventPattern=json.dumps(props["EventPattern"]),
                Description=props.get("Description", ""),
                **bus,
            )["RuleArn"]
            events.put_targets(Rule=name, Targets=props["Targets"], **bus)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = arn

    def _findings_subscriber(self) -> None:
        url = self.client("sqs").create_queue(QueueName="findings-subscriber")["QueueUrl"]
        self.client("sns").subscribe(
            TopicArn=self.findings_topic_arn, Protocol="sqs", Endpoint=self.queue_arn(url)
        )
        self.findings_queue_url = url


def _queue_attribute(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)  # RedrivePolicy
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def deploy(
    endpoint_url: str, *, kinds: Collection[str] | None = None, **parameter_overrides: str
) -> LocalDeployment:
    template = load_template()
    parameters = {**parameter_defaults(template), **parameter_overrides}
    # An SSM-typed parameter's default is a parameter name, resolved by CloudFormation;
    # locally the Powertools layer is the dev environment's own install.
    return LocalDeployment(endpoint_url, template, parameters).deploy(kinds)


def deploy_member(endpoint_url: str, account: str, **parameters: str) -> LocalDeployment:
    """member.yaml's stack instance in `account` (its primary region): the forwarding rules,
    the member role and the flow-log destination, as the StackSet creates them."""
    template = load_template(MEMBER_TEMPLATE)
    values = {**parameter_defaults(template), "PrimaryRegion": REGION, **parameters}
    return LocalDeployment(endpoint_url, template, values, account=account).deploy()
