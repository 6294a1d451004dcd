"""The deployed pipeline on a local AWS (moto's server), start to finish:

a CloudTrail CreateTransformJob event -> EventBridge rules (from template.yaml) -> SQS work
queue -> the inspect function from the `sam build` output -> SNS findings topic -> a
subscriber; then the Slack message those findings produce, rendered as text.

`run_pipeline()` is stage 3 of `make demo` (scripts/demo.py), run on the demo's local AWS.
Alone: `.venv/bin/python scripts/pipeline_demo.py` from the repository root (needs the
`make sam` build; it is refreshed with .venv-sam's SAM CLI when the sources changed).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

ROOT = Path(__file__).resolve().parents[1]

from demo_support import Expectations, first_sentence, heading, print_audit_record, say  # noqa: E402

from tests.localaws.builders import Builder  # noqa: E402
from tests.localaws.server import local_aws  # noqa: E402
from tests.pipeline.deployment import INSPECT_FUNCTION, deploy  # noqa: E402
from tests.pipeline.harness import SAMPLE_JOB, SAMPLE_MODEL, Finding, Pipeline, sample_event  # noqa: E402
from tests.pipeline.runtime import BuiltFunction, ensure_built  # noqa: E402
from vpcguard.notify.slack import render_text  # noqa: E402
from vpcguard.notify.subject import parse_subject  # noqa: E402

QUIET = {"PASS", "NOT_APPLICABLE", "EXEMPT"}
RULES = ("SageMakerCreateCallsRule", "TransformJobStateRule")


def queue_depth(pipeline: Pipeline, url: str) -> int:
    attrs = pipeline.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def print_finding(finding: Finding) -> None:
    body = finding.body
    say(f"  SNS Subject: {finding.subject}")
    say("    attributes: " + "  ".join(f"{k}={v}" for k, v in sorted(finding.attributes.items())))
    say(
        f"    body: {body['type']} {body['name']} (model {body['model_name']}, {body['instance_count']} instances, "
        f"{body['vpc_id']}, tags {json.dumps(body['tags'])})"
    )
    counts: dict[str, int] = {}
    for result in body["results"]:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    say(
        "          " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + " of "
        f"{len(body['results'])} checks; the ones to act on:"
    )
    for result in body["results"]:
        if result["status"] in QUIET:
            continue
        say(
            f"      {result['status']:<6} {result['severity']:<13} {result['check_id']}: "
            f"{first_sentence(result['detail'], 90)}"
        )
        if result["status"] == "FIXED" and result.get("remediation"):
            say(f"             done: {result['remediation']['description']}")


def run_pipeline(endpoint_url: str, builder: Builder, expect: Expectations) -> list[Finding]:
    """Deploy the stack's plumbing on `endpoint_url`, build a model with a fixable gap, put
    its CreateTransformJob event into EventBridge and run the built handler; returns the
    findings that reached the SNS topic's subscriber."""
    ensure_built()
    function = BuiltFunction(INSPECT_FUNCTION)
    stack = deploy(endpoint_url)
    say("The stack's plumbing, created from template.yaml on the local AWS:")
    for rule in RULES:
        pattern = stack.template["Resources"][rule]["Properties"]["EventPattern"]
        say(f"  EventBridge rule {rule}: {json.dumps(pattern)}")
    say(
        f"  SQS work queue vpcguard-WorkQueue (DLQ after 3 receives) -> {INSPECT_FUNCTION} "
        f"(from .aws-sam/build, handler {function.handler})"
    )
    say(
        f"  SNS topic {stack.findings_topic_arn.split(':')[-1]}, DynamoDB audit table {stack.refs['AuditTable']}"
    )

    # A model on a VPC built as the guidance says, except: its security group has no self
    # rule (fixable), it uses one subnet and has no network isolation (not fixable).
    net = builder.compliant_vpc("10.4")
    bare_group = builder.security_group(net.vpc_id, self_ingress=False, name="fraud-scoring")
    builder.model(
        SAMPLE_MODEL,
        subnet_ids=net.subnet_ids[:1],
        security_group_ids=[bare_group],
        role_arn=net.role_arn,
        network_isolation=False,
        tags={"vpcguard:team": "risk"},
    )
    builder.transform_job(SAMPLE_JOB, SAMPLE_MODEL, instance_count=2)
    say(
        f"\nModel {SAMPLE_MODEL} (in {net.vpc_id}, one subnet {net.subnet_ids[0]}, group {bare_group} "
        f"without a self rule, no network isolation); transform job {SAMPLE_JOB} with 2 instances."
    )

    pipeline = Pipeline(stack, function)
    event = sample_event("create_transform_job")
    event_id = pipeline.put_event(event)
    request = event["detail"]["requestParameters"]
    say(
        f"\nPutEvents: CloudTrail {event['detail']['eventName']} of {request['transformJobName']} "
        f"by {event['detail']['userIdentity']['arn']} -> EventBridge event {event_id}"
    )
    for name in ("delete_model", "create_model_access_denied"):
        pipeline.put_event(sample_event(name))
    say("PutEvents: also a DeleteModel call and a CreateModel call that failed with AccessDenied")
    queued = queue_depth(pipeline, stack.work_queue_url)
    say(f"The rules put {queued} message(s) on the work queue (the other two do not match).")
    expect.check(queued == 1, f"the rules queue exactly the CreateTransformJob event (queued {queued})")
    pipeline.send_raw("{ this is not an event")
    say("Also on the queue: one malformed message, which must fail alone and end in the DLQ.")

    say("\nThe inspect handler, fed as Lambda's SQS poller feeds it (batches, partial failures):")
    invocations = pipeline.poller.drain()
    for n, invocation in enumerate(invocations, 1):
        failed = invocation.failed_ids
        say(
            f"  invocation {n}: cold import {invocation.init_ms} ms, "
            f"{len(failed)} record(s) reported failed" + (" (the malformed one)" if failed else "")
        )
        expect.check(invocation.error is None, f"invocation {n} raised no error: {invocation.error}")
    dead = pipeline.dead_letters()
    say(
        f"Dead-letter queue: {len(dead)} message(s) {dead}; work queue left: "
        f"{queue_depth(pipeline, stack.work_queue_url)}"
    )
    expect.check(dead == ["{ this is not an event"], "the malformed message, and only it, ends in the DLQ")

    function.retire()  # the function's environment is not needed again
    findings = pipeline.findings()
    say(f"\nFindings published to SNS ({len(findings)}):")
    for finding in findings:
        print_finding(finding)
    expect.check(len(findings) == 1, f"the pipeline publishes one finding (published {len(findings)})")
    if findings:
        fixed = [r for r in findings[0].body["results"] if r["check_id"] == "sg_self_ingress"]
        expect.check(
            bool(fixed) and fixed[0]["status"] == "FIXED",
            f"the published finding says sg_self_ingress FIXED ({fixed[0]['status'] if fixed else 'absent'})",
        )

    group = builder.ec2.describe_security_groups(GroupIds=[bare_group])["SecurityGroups"][0]
    self_rule = any(
        p["IpProtocol"] == "-1" and [g["GroupId"] for g in p.get("UserIdGroupPairs", [])] == [bare_group]
        for p in group["IpPermissions"]
    )
    say(f"\nIn AWS now: {bare_group} {'has' if self_rule else 'still lacks'} its all-traffic self rule.")
    expect.check(self_rule, f"{bare_group} has the self rule the handler added")

    deserializer = TypeDeserializer()
    items = stack.client("dynamodb").scan(TableName=stack.refs["AuditTable"])["Items"]
    records: list[dict[str, Any]] = [
        {k: deserializer.deserialize(v) for k, v in item.items()} for item in items
    ]
    say(f"Audit table {stack.refs['AuditTable']}: {len(records)} record(s)")
    for record in records:
        print_audit_record(record, indent="  ")
    expect.check(
        [(r["check_id"], r["resource_id"], r["outcome"]) for r in records]
        == [("sg_self_ingress", bare_group, "applied")],
        "the audit table holds the one applied sg_self_ingress change",
    )
    expect.check(
        all(event["detail"]["eventName"] in str(r["trigger"]) for r in records),
        "the audit record's trigger names the CloudTrail event",
    )
    return findings


def print_slack(findings: list[Finding], expect: Expectations) -> None:
    """The Slack message each finding produces (notify function's Block Kit), as text."""
    for finding in findings:
        # As the notify function reads it: the body, and who created the subject (the
        # message's `actor` attribute).
        subject = parse_subject(finding.body)
        subject.created_by = finding.attributes.get("actor")
        text = render_text(subject)
        say(
            f"Slack message for {finding.body['type']} {finding.body['name']} "
            f"(team {finding.body['tags'].get('vpcguard:team', 'default channel')}):\n"
        )
        for line in text.rstrip("\n").splitlines():
            say(f"  │ {line}")
        say()
        expect.check(finding.body["name"] in text, "the Slack message names the subject")
        expect.check(
            "sg_self_ingress" in text or "auto-fixed" in text.lower(), "the Slack message shows the fix"
        )
        expect.check(
            "Created by " in text, "the Slack message says who created the job (the CloudTrail caller)"
        )
        expect.check(
            text.startswith("HIGH auto-fixed (1)"),
            "the Slack headline says the HIGH fix, not only what fails",
        )
    expect.check(bool(findings), "there is a Slack message to show")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    expect = Expectations()
    with local_aws() as aws:
        heading(1, "Pipeline: EventBridge -> SQS -> inspect function -> SNS")
        findings = run_pipeline(aws.endpoint_url, Builder(aws.endpoint_url), expect)
        heading(2, "Slack: the message these findings produce")
        print_slack(findings, expect)
    say(f"{expect.held} expectations held" + (f", {len(expect.missed)} failed" if expect.missed else ""))
    return 1 if expect.missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
