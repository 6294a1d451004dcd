"""ASFF findings imported into moto's Security Hub, and the Chatbot custom notification
published to a real SNS topic (read back through an SQS subscription).

moto 5.2.5's GetFindings ignores Filters (it returns every finding), so the publisher keeps
only the Ids it asked for; and moto does not implement BatchUpdateFindings, so those calls
are answered by a botocore `before-call` hook with the real response shape, recording the
request (the only way to see what would be sent to AWS)."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.localaws.server import ACCOUNT, REGION
from tests.notify.conftest import result, subject
from vpcguard.notify.chatbot import MAX_DESCRIPTION, chatbot_notification, publish_chatbot
from vpcguard.notify.securityhub import SecurityHubPublisher, finding_id
from vpcguard.results import SubjectReport

REQUIRED = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Title",
    "Description",
    "Resources",
)
ISO8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def securityhub(endpoint_url):
    client = boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint_url)
    client.enable_security_hub()
    calls: dict[str, list] = {"BatchImportFindings": [], "BatchUpdateFindings": []}

    def record(model, params, **_):
        calls[model.name].append(params)

    def fake_batch_update(params, **_):
        sent = json.loads(params["body"])
        processed = [{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in sent["FindingIdentifiers"]]
        http = AWSResponse(url=params["url"], status_code=200, headers={}, raw=None)
        return http, {
            "ProcessedFindings": processed,
            "UnprocessedFindings": [],
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    for operation in calls:
        client.meta.events.register(f"before-parameter-build.securityhub.{operation}", record)
    client.meta.events.register("before-call.securityhub.BatchUpdateFindings", fake_batch_update)
    client.calls = calls
    return client


def all_findings(client) -> dict[str, dict]:
    out = {}
    for page in client.get_paginator("get_findings").paginate():
        out.update({f["Id"]: f for f in page["Findings"]})
    return out


def assert_complete_asff(finding: dict, subject_arn: str) -> None:
    for key in REQUIRED:
        assert finding.get(key), f"{key} missing in {finding.get('Id')}"
    assert finding["SchemaVersion"] == "2018-10-08"
    assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert finding["AwsAccountId"] == ACCOUNT
    assert all(
        t.count("/") <= 2 and t.startswith("Software and Configuration Checks") for t in finding["Types"]
    )
    assert ISO8601.match(finding["CreatedAt"]) and ISO8601.match(finding["UpdatedAt"])
    assert finding["Severity"]["Label"] in {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
    assert finding["Resources"][0] == {**finding["Resources"][0], "Type": "Other", "Id": subject_arn}
    assert all(r["Type"] and r["Id"] for r in finding["Resources"])
    assert finding["RecordState"] in {"ACTIVE", "ARCHIVED"}
    assert finding["Compliance"]["Status"] in {"PASSED", "FAILED"}


def test_engine_findings_are_accepted_with_every_required_field(engine_subject, securityhub):
    data, ids = engine_subject
    report = SubjectReport.from_dict(data)
    summary = SecurityHubPublisher(securityhub).publish(report)

    fails = {r["check_id"]: r for r in data["results"] if r["status"] == "FAIL"}
    assert sorted(summary.imported) == sorted(finding_id(report, c) for c in fails)
    stored = all_findings(securityhub)
    assert set(stored) == set(summary.imported)  # PASS results of never-reported checks create nothing
    for check_id, res in fails.items():
        finding = stored[finding_id(report, check_id)]
        assert_complete_asff(finding, data["arn"])
        assert finding["GeneratorId"] == f"vpcguard/{check_id}"
        assert finding["Severity"]["Label"] == res["severity"]
        assert finding["Workflow"]["Status"] == "NEW" and finding["Compliance"]["Status"] == "FAILED"
        assert {
            "Type": "AwsEc2Vpc",
            "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{ids['vpc']}",
        }.items() <= finding["Resources"][1].items()
    assert ids["subnet"] in stored[finding_id(report, "subnet_ip_capacity")]["Description"]


def test_imports_are_chunked_at_100(securityhub):
    report = SubjectReport.from_dict(subject([result(f"check_{i:03d}") for i in range(230)]))
    summary = SecurityHubPublisher(securityhub).publish(report)
    assert [len(c["Findings"]) for c in securityhub.calls["BatchImportFindings"]] == [100, 100, 30]
    assert len(summary.imported) == 230 and len(all_findings(securityhub)) == 230


def test_a_later_pass_or_fixed_resolves_the_finding_and_keeps_its_id_and_created_at(securityhub):
    first = SubjectReport.from_dict(
        subject(
            [
                result("sg_self_ingress"),
                result("flow_logs_enabled", severity="MEDIUM"),
                result("subnets_multi_az", severity="LOW"),
            ]
        )
    )
    publisher = SecurityHubPublisher(securityhub)
    publisher.publish(first)
    before = all_findings(securityhub)
    sg_id = finding_id(first, "sg_self_ingress")
    flow_id = finding_id(first, "flow_logs_enabled")

    later = SubjectReport.from_dict(
        subject(
            [
                result("sg_self_ingress", "PASS", detail="sg-1 allows all traffic from itself"),
                result(
                    "flow_logs_enabled",
                    "FIXED",
                    "MEDIUM",
                    remediation={"action": "CreateFlowLogs", "description": "flow log created"},
                ),
                result("subnets_multi_az", "FAIL", "LOW"),
                result(
                    "network_isolation", "PASS", "INFORMATIONAL"
                ),  # never reported: stays out of Security Hub
            ]
        )
    )
    summary = publisher.publish(later)

    after = all_findings(securityhub)
    assert set(after) == set(before)  # same Ids: updated, not duplicated
    for fid in (sg_id, flow_id):
        assert after[fid]["Compliance"]["Status"] == "PASSED" and after[fid]["RecordState"] == "ARCHIVED"
        assert after[fid]["CreatedAt"] == before[fid]["CreatedAt"]
        assert_complete_asff(after[fid], later.arn)
    assert after[finding_id(later, "subnets_multi_az")]["RecordState"] == "ACTIVE"
    # Workflow of an existing finding changes through BatchUpdateFindings (not BatchImportFindings).
    [update] = securityhub.calls["BatchUpdateFindings"]
    assert update["Workflow"] == {"Status": "RESOLVED"}
    assert sorted(i["Id"] for i in update["FindingIdentifiers"]) == sorted([sg_id, flow_id])
    assert {i["ProductArn"] for i in update["FindingIdentifiers"]} == {
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    }
    assert sorted(summary.resolved) == sorted([sg_id, flow_id])


def test_fixed_on_first_sight_is_imported_resolved(securityhub):
    report = SubjectReport.from_dict(subject([result("sg_self_ingress", "FIXED")]))
    SecurityHubPublisher(securityhub).publish(report)
    [finding] = all_findings(securityhub).values()
    assert finding["Workflow"]["Status"] == "RESOLVED" and finding["Compliance"]["Status"] == "PASSED"
    assert not securityhub.calls["BatchUpdateFindings"]


def test_exempt_after_a_report_suppresses_the_finding(securityhub):
    publisher = SecurityHubPublisher(securityhub)
    publisher.publish(SubjectReport.from_dict(subject([result("subnets_private", severity="MEDIUM")])))
    publisher.publish(SubjectReport.from_dict(subject([result("subnets_private", "EXEMPT", "MEDIUM")])))
    [update] = securityhub.calls["BatchUpdateFindings"]
    assert update["Workflow"] == {"Status": "SUPPRESSED"}


# --- Chatbot ----------------------------------------------------------------------------


def test_chatbot_notification_format(engine_subject):
    data, ids = engine_subject
    note = chatbot_notification(SubjectReport.from_dict(data))
    assert note["version"] == "1.0" and note["source"] == "custom"
    content = note["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"] == "HIGH: transform job churn-nightly (123456789012, us-east-1)"
    assert "`subnet_ip_capacity`" in content["description"] and ids["subnet"] in content["description"]
    assert any("sg_self_ingress" in step for step in content["nextSteps"])
    assert note["metadata"]["threadId"] == data["arn"]
    assert note["metadata"]["additionalContext"]["severity"] == "HIGH"


def test_chatbot_description_stays_bounded_for_many_failures():
    report = SubjectReport.from_dict(subject([result(f"check_{i:02d}", detail="y" * 900) for i in range(40)]))
    note = chatbot_notification(report)
    assert len(note["content"]["description"]) <= MAX_DESCRIPTION
    assert re.search(r"…and \d+ more lines$", note["content"]["description"])
    assert len(note["content"]["nextSteps"]) <= 10 and len(note["content"]["keywords"]) <= 10


def test_chatbot_message_is_published_to_the_topic(endpoint_url):
    sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint_url)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    topic = sns.create_topic(Name="vpcguard-chatbot")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="chatbot-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    report = SubjectReport.from_dict(subject([result("sg_self_ingress")]))
    publish_chatbot(sns, topic, report)
    [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    body = json.loads(message["Body"])
    assert body == chatbot_notification(report)
