"""The whole pipeline on local AWS, as a test (or the demo) drives it:
sample event -> EventBridge (the template's rules) -> SQS work queue -> built inspect
function -> SNS findings topic -> a subscriber queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .cfn import ROOT
from .deployment import INSPECT_FUNCTION, LocalDeployment
from .runtime import BuiltFunction, Invocation, QueuePoller, lambda_environment

EVENTS_DIR = ROOT / "events"

# Names used in the sample events, replaced by the names of resources a test creates.
SAMPLE_MODEL = "fraud-scoring-v3"
SAMPLE_JOB = "fraud-scoring-nightly-20251128"


def sample_event(name: str, **renames: str) -> dict[str, Any]:
    """events/<name>.json with sample names replaced (`model=`, `job=`) everywhere,
    ARNs included."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    # The job name contains no model name, and is replaced first in any case.
    if "job" in renames:
        text = text.replace(SAMPLE_JOB, renames["job"])
    if "model" in renames:
        text = text.replace(SAMPLE_MODEL, renames["model"])
    return json.loads(text)


@dataclass
class Finding:
    """One message from the findings topic, as an SQS subscriber receives it."""

    body: dict[str, Any]
    attributes: dict[str, str]
    attribute_types: dict[str, str]
    subject: str | None

    def array(self, name: str) -> list[str]:
        assert self.attribute_types[name] == "String.Array", self.attribute_types
        return json.loads(self.attributes[name])

    def result(self, check_id: str) -> dict[str, Any]:
        matches = [r for r in self.body["results"] if r["check_id"] == check_id]
        assert len(matches) == 1, f"{check_id} appears {len(matches)} times"
        return matches[0]


class Pipeline:
    def __init__(self, stack: LocalDeployment, function: BuiltFunction):
        self.stack = stack
        self.function = function
        self.sqs = stack.client("sqs")
        self.events = stack.client("events")
        self.environment = lambda_environment(
            stack.function_environment(INSPECT_FUNCTION), stack.endpoint_url, f"vpcguard-{INSPECT_FUNCTION}"
        )
        self.poller = QueuePoller(
            self.sqs,
            stack.work_queue_url,
            stack.queue_arn(stack.work_queue_url),
            function,
            self.environment,
        )

    # --- in -----------------------------------------------------------------------------

    def put_event(self, event: dict[str, Any]) -> str:
        """PutEvents with the sample's source, detail-type, detail and resources; EventBridge
        adds the envelope (id, time, account, region) and applies the rules."""
        response = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources", []),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0, response
        return response["Entries"][0]["EventId"]

    def send_raw(self, body: str) -> str:
        """A message straight onto the work queue (a malformed one, or a duplicate)."""
        return self.sqs.send_message(QueueUrl=self.stack.work_queue_url, MessageBody=body)["MessageId"]

    def queued_bodies(self) -> list[str]:
        """Take every message off the work queue (to inspect what the rules let through)."""
        bodies = []
        while messages := self.poller.receive():
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.stack.work_queue_url, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    # --- the function ---------------------------------------------------------------------

    def run(self) -> list[Invocation]:
        """Lambda's poller: invoke the built handler until the work queue is empty."""
        invocations = self.poller.drain()
        for invocation in invocations:
            assert invocation.error is None, invocation.error["stackTrace"] + invocation.stderr[-3000:]
        return invocations

    # --- out ------------------------------------------------------------------------------

    def findings(self, queue_url: str | None = None) -> list[Finding]:
        url = queue_url or self.stack.findings_queue_url
        out = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                envelope = json.loads(m["Body"])
                attrs = envelope.get("MessageAttributes", {})
                out.append(
                    Finding(
                        body=json.loads(envelope["Message"]),
                        attributes={k: v["Value"] for k, v in attrs.items()},
                        attribute_types={k: v["Type"] for k, v in attrs.items()},
                        subject=envelope.get("Subject"),
                    )
                )
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return out

    def dead_letters(self) -> list[str]:
        url = self.stack.dead_letter_queue_url
        bodies = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    def subscribe_queue(self, name: str, filter_policy: dict[str, Any]) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self.stack.client("sns").subscribe(
            TopicArn=self.stack.findings_topic_arn,
            Protocol="sqs",
            Endpoint=self.stack.queue_arn(url),
            Attributes={"FilterPolicy": json.dumps(filter_policy)},
        )
        return url
