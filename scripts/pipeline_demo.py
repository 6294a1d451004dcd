"""The deployed pipeline on a local AWS (moto's server), start to finish:

sample CloudTrail events -> EventBridge rules (from template.yaml) -> SQS work queue ->
the inspect function from the `sam build` output -> SNS findings topic -> a subscriber.

Run from the repository root: `.venv/bin/python scripts/pipeline_demo.py` (needs the
`make sam` build; it is refreshed with .venv-sam's SAM CLI when the sources changed).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.localaws.builders import Builder  # noqa: E402
from tests.localaws.server import local_aws  # noqa: E402
from tests.pipeline.deployment import INSPECT_FUNCTION, deploy  # noqa: E402
from tests.pipeline.harness import Pipeline, sample_event  # noqa: E402
from tests.pipeline.runtime import BuiltFunction, ensure_built  # noqa: E402

QUIET = {"PASS", "NOT_APPLICABLE", "EXEMPT"}


def say(text: str = "") -> None:
    print(text, flush=True)


def queue_depth(pipeline: Pipeline, url: str) -> int:
    attrs = pipeline.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    say("Building (sam build output must match the sources)...")
    ensure_built()
    function = BuiltFunction(INSPECT_FUNCTION)
    with local_aws() as aws:
        stack = deploy(aws.endpoint_url)
        builder = Builder(aws.endpoint_url)
        say(f"Local AWS at {aws.endpoint_url}; stack resources from template.yaml:")
        for rule in ("SageMakerCreateCallsRule", "TransformJobStateRule"):
            pattern = stack.template["Resources"][rule]["Properties"]["EventPattern"]
            say(f"  rule {rule}: {json.dumps(pattern)}")
        say(f"  work queue {stack.work_queue_url} (DLQ after 3 receives), topic {stack.findings_topic_arn}")

        # An account: one VPC built by the guidance, and a model that uses only one of its
        # subnets, a security group without its self rule, and no network isolation.
        net = builder.compliant_vpc()
        bare_group = builder.security_group(net.vpc_id, self_ingress=False)
        builder.model(
            "fraud-scoring-v3",
            subnet_ids=net.subnet_ids[:1],
            security_group_ids=[bare_group],
            role_arn=net.role_arn,
            network_isolation=False,
            tags={"vpcguard:team": "risk"},
        )
        builder.transform_job("fraud-scoring-nightly-20251128", "fraud-scoring-v3", instance_count=2)
        say(f"\nAccount: VPC {net.vpc_id}, model fraud-scoring-v3 on {net.subnet_ids[0]} with {bare_group}, "
            "transform job fraud-scoring-nightly-20251128 (2 instances)")

        pipeline = Pipeline(stack, function)
        say("\nPutting events into EventBridge:")
        for name in ("create_model", "create_transform_job", "delete_model", "create_model_access_denied"):
            pipeline.put_event(sample_event(name))
            detail = sample_event(name)["detail"]
            say(f"  {detail['eventName']:<20} errorCode={detail.get('errorCode')}")
        say(f"The rules queued {queue_depth(pipeline, stack.work_queue_url)} of them "
            "(DeleteModel and the failed call are not matched).")
        pipeline.send_raw("{ this is not an event")
        say("Also queued: one malformed message.")

        say("\nRunning the inspect function (as Lambda's SQS poller would):")
        for n, invocation in enumerate(pipeline.poller.drain(), 1):
            failures = invocation.failed_ids
            say(f"  invocation {n}: cold import {invocation.init_ms} ms, "
                f"{len(failures)} record(s) reported failed" + (f" {failures}" if failures else ""))

        say("\nFindings published to SNS:")
        for finding in pipeline.findings():
            body = finding.body
            say(f"  {finding.subject}")
            say(f"    attributes: severity={finding.attributes.get('severity')} "
                f"check_ids={finding.attributes.get('check_ids')} account={finding.attributes.get('account')} "
                f"region={finding.attributes.get('region')}")
            for result in body["results"]:
                if result["status"] not in QUIET:
                    say(f"    {result['status']:<9} {result['severity']:<13} {result['check_id']}: {result['detail']}")
        audit = stack.client("dynamodb").scan(TableName=stack.refs["AuditTable"])["Items"]
        say(f"\nAudit table: {len(audit)} change(s)")
        for item in audit:
            say(f"  {item['time']['S']} {item['action']['S']} on {item['resource_id']['S']} ({item['outcome']['S']}), "
                f"trigger: {item['trigger']['S']}")
        dead = pipeline.dead_letters()
        say(f"\nDead-letter queue: {len(dead)} message(s): {dead}")
        say(f"Work queue left: {queue_depth(pipeline, stack.work_queue_url)} message(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
