"""The SNS findings message: body, attributes, and when nothing is published."""

from __future__ import annotations

import json
from dataclasses import replace

from vpcguard.model import Severity, Status
from vpcguard.publish import message_attributes, message_severity, message_subject, publish_findings
from vpcguard.results import CheckResult, SubjectReport


def result(check_id: str, status: Status, severity: Severity) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        status=status,
        severity=severity,
        title=check_id.replace("_", " "),
        detail=f"{check_id} is {status.value}",
        resource_ids=["sg-0123"],
        fixable=False,
    )


def report(*results: CheckResult, account: str = "123456789012") -> SubjectReport:
    return SubjectReport(
        type="transform_job",
        name="nightly",
        arn=f"arn:aws:sagemaker:us-east-1:{account or '123456789012'}:transform-job/nightly",
        region="us-east-1",
        account=account,
        vpc_id="vpc-1",
        instance_count=2,
        model_name="fraud-v3",
        tags={"vpcguard:team": "risk"},
        results=list(results),
    )


def test_severity_is_the_highest_fail_even_when_a_fixed_result_is_higher():
    r = report(
        result("sg_self_ingress", Status.FIXED, Severity.HIGH),
        result("subnets_multi_az", Status.FAIL, Severity.LOW),
        result("network_isolation", Status.FAIL, Severity.INFORMATIONAL),
        result("vpc_dns_support", Status.PASS, Severity.CRITICAL),
    )
    assert message_severity(r) == Severity.LOW
    attrs = message_attributes(r)
    assert attrs["severity"] == {"DataType": "String", "StringValue": "LOW"}
    assert json.loads(attrs["check_ids"]["StringValue"]) == [
        "network_isolation",
        "sg_self_ingress",
        "subnets_multi_az",
    ]
    assert attrs["check_ids"]["DataType"] == "String.Array"
    assert json.loads(attrs["statuses"]["StringValue"]) == ["FAIL", "FIXED"]
    assert attrs["account"]["StringValue"] == "123456789012"
    assert attrs["region"]["StringValue"] == "us-east-1"


def test_without_a_fail_the_severity_is_the_highest_other_notable_result():
    r = report(
        result("model_vpc_configured", Status.ERROR, Severity.HIGH),
        result("flow_logs_enabled", Status.WOULD_FIX, Severity.MEDIUM),
        result("sg_self_ingress", Status.EXEMPT, Severity.CRITICAL),
    )
    assert message_severity(r) == Severity.HIGH
    assert json.loads(message_attributes(r)["check_ids"]["StringValue"]) == [
        "flow_logs_enabled",
        "model_vpc_configured",
    ]


def test_unknown_account_is_left_out_rather_than_sent_empty():
    attrs = message_attributes(
        report(result("model_vpc_configured", Status.ERROR, Severity.HIGH), account="")
    )
    assert "account" not in attrs and attrs["region"]["StringValue"] == "us-east-1"


def test_subject_names_severity_subject_and_count_within_the_sns_limit():
    r = report(result("subnets_multi_az", Status.FAIL, Severity.LOW))
    assert message_subject(r) == "vpcguard LOW: transform_job nightly (1 finding)"
    long = replace(r, name="j" * 150)
    assert len(message_subject(long)) < 100 and message_subject(long).endswith("...")


def test_nothing_is_published_when_every_result_is_pass_not_applicable_or_exempt(clients, endpoint_url):
    topic = clients.client("sns").create_topic(Name="findings")["TopicArn"]
    clients.counter.reset()
    quiet = report(
        result("vpc_dns_support", Status.PASS, Severity.HIGH),
        result("outside_access_path", Status.NOT_APPLICABLE, Severity.MEDIUM),
        result("sg_self_ingress", Status.EXEMPT, Severity.HIGH),
    )
    assert publish_findings(clients, topic, quiet) is None
    assert clients.counter.snapshot() == {}


def test_published_body_is_the_contract_subject_object(clients, endpoint_url):
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    r = report(result("subnets_multi_az", Status.FAIL, Severity.LOW))

    message_id = publish_findings(clients, topic, r)

    assert message_id
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == r.to_dict()
    assert message["MessageAttributes"]["severity"]["StringValue"] == "LOW"
