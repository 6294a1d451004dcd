"""An all-clear evaluation publishes no findings message (so the notify function never sees
it); the inspect path itself resolves the subject's earlier Security Hub findings."""

from __future__ import annotations

import json

from botocore.awsrequest import AWSResponse

from tests.localaws.server import REGION
from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.events import WorkItem
from vpcguard.inspection import Inspector
from vpcguard.model import Status
from vpcguard.notify.securityhub import SecurityHubPublisher, finding_id
from vpcguard.settings import Settings


def _clients_recording_workflow_updates(endpoint_url: str) -> tuple[AwsClients, list[dict]]:
    """moto does not implement BatchUpdateFindings: a botocore before-call hook answers it
    with the real response shape and records what was asked."""
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    updates: list[dict] = []

    def batch_update(params, **_):
        sent = json.loads(params["body"])
        updates.append(sent)
        processed = [{"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in sent["FindingIdentifiers"]]
        http = AWSResponse(url=params["url"], status_code=200, headers={}, raw=None)
        return http, {
            "ProcessedFindings": processed,
            "UnprocessedFindings": [],
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    clients.session.events.register("before-call.securityhub.BatchUpdateFindings", batch_update)
    return clients, updates


def _inspect_model(clients: AwsClients, name: str, settings: Settings) -> dict:
    inspector = Inspector(Engine(clients, settings, trigger="test"), findings_topic_arn=None)
    work = WorkItem(
        event_id="evt-1", source="CreateModel", triggered_by="test", subject_type="model", subject_ref=name
    )
    return inspector.inspect(work)


def test_all_clear_subject_resolves_its_earlier_security_hub_finding(builder, endpoint_url):
    builder.client("securityhub").enable_security_hub()
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("m", net)
    clients, updates = _clients_recording_workflow_updates(endpoint_url)

    # First evaluation fails vpc_dns_support; the notify function imports it (as it would).
    failing = Engine(clients, Settings()).evaluate_model("m")
    assert [r.check_id for r in failing.results if r.status == Status.FAIL] == ["vpc_dns_support"]
    SecurityHubPublisher(clients.client("securityhub")).publish(failing)

    # The VPC is put right; the next evaluation is all clear and publishes nothing ...
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": True})
    outcome = _inspect_model(clients, "m", Settings(security_hub=True))
    assert outcome["message_id"] is None and outcome["severity"] is None

    # ... and the finding reported before is set RESOLVED, nothing else.
    assert outcome["security_hub_resolved"] == 1
    [update] = updates
    assert update["Workflow"] == {"Status": "RESOLVED"}
    assert [f["Id"] for f in update["FindingIdentifiers"]] == [finding_id(failing, "vpc_dns_support")]


def test_security_hub_off_means_no_security_hub_call(builder, endpoint_url):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    clients, updates = _clients_recording_workflow_updates(endpoint_url)
    outcome = _inspect_model(clients, "m", Settings())
    assert outcome["security_hub_resolved"] == 0 and updates == []
    assert not any(key.startswith("securityhub:") for key in clients.counter.snapshot())
