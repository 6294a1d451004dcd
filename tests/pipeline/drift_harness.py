"""The drift pipeline on local AWS: CloudTrail change event -> EventBridge (the template's
drift rules) -> drift queue -> built drift function -> re-evaluation queue (FIFO) -> built
inspect function -> findings topic.

moto cannot move its clock forward, so the re-evaluation queue's delay (the coalescing
window, DriftCoalesceSeconds) is set to 0 after deployment: the tests do not wait for it.
The deduplication window (the drift function's VPCGUARD_COALESCE_SECONDS) stays the
template's. moto keeps FIFO deduplication only while the first message is still queued
(SQS keeps it five minutes whatever happens to the message), so the tests run the drift
function over a whole burst before the inspect function takes the re-evaluations.
"""

from __future__ import annotations

from typing import Any

from .harness import Pipeline
from .runtime import BuiltFunction, Invocation, QueuePoller, lambda_environment

DRIFT_FUNCTION = "DriftFunction"


class DriftPipeline:
    def __init__(self, pipeline: Pipeline, drift_function: BuiltFunction):
        self.pipeline = pipeline
        stack = pipeline.stack
        self.stack = stack
        self.sqs = pipeline.sqs
        self.drift_queue_url = stack.refs["DriftQueue"]
        self.drift_dlq_url = stack.refs["DriftDeadLetterQueue"]
        self.reevaluation_queue_url = stack.refs["ReevaluationQueue"]
        self.sqs.set_queue_attributes(QueueUrl=self.reevaluation_queue_url, Attributes={"DelaySeconds": "0"})
        self.environment = lambda_environment(
            stack.function_environment(DRIFT_FUNCTION), stack.endpoint_url, f"vpcguard-{DRIFT_FUNCTION}"
        )
        self.drift_poller = QueuePoller(
            self.sqs,
            self.drift_queue_url,
            stack.queue_arn(self.drift_queue_url),
            drift_function,
            self.environment,
        )
        self.reevaluation_poller = QueuePoller(
            self.sqs,
            self.reevaluation_queue_url,
            stack.queue_arn(self.reevaluation_queue_url),
            pipeline.function,
            pipeline.environment,
        )

    def put_change(self, event: dict[str, Any]) -> str:
        return self.pipeline.put_event(event)

    def run_drift(self, *, expect_errors: bool = False) -> list[Invocation]:
        invocations = self.drift_poller.drain()
        if not expect_errors:
            for invocation in invocations:
                assert invocation.error is None, invocation.error["stackTrace"] + invocation.stderr[-3000:]
                assert invocation.failed_ids == [], invocation.stdout[-3000:]
        return invocations

    def run_reevaluations(self) -> list[Invocation]:
        invocations = self.reevaluation_poller.drain()
        for invocation in invocations:
            assert invocation.error is None, invocation.error["stackTrace"] + invocation.stderr[-3000:]
            assert invocation.failed_ids == [], invocation.stdout[-3000:]
        return invocations

    def queued_reevaluations(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.reevaluation_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def drift_dead_letters(self) -> list[str]:
        bodies = []
        while messages := self.sqs.receive_message(QueueUrl=self.drift_dlq_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.drift_dlq_url, ReceiptHandle=m["ReceiptHandle"])
        return bodies


def evaluated_subjects(invocations: list[Invocation]) -> list[str]:
    """The subjects the inspect function evaluated and reported on, from its "subject
    evaluated" log lines (a drift re-evaluation of a deleted subject is logged as skipped)."""
    out = []
    for invocation in invocations:
        for line in invocation.log_lines():
            if line.get("message") == "subject evaluated" and "skipped" not in line["result"]:
                out.append(line["result"]["subject"])
    return out
