"""`scan_account`: every model and transform job of an account, through one shared
inventory, with tags from the Resource Groups Tagging API."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import result_of
from tests.localaws.builders import Builder
from tests.localaws.demo_account import build_demo_account
from tests.localaws.server import REGION
from vpcguard.aws import AwsClients
from vpcguard.backfill import list_transform_job_names, model_tag_index, scan_account
from vpcguard.checks.base import all_checks
from vpcguard.model import Status


def test_scan_account_evaluates_every_model_and_job_of_the_demo_account(
    builder: Builder, clients: AwsClients
):
    account = build_demo_account(builder)

    reports = scan_account(clients, jobs="all")

    by_name = {r.name: r for r in reports}
    assert sorted(by_name) == sorted(account.models + account.transform_jobs)
    assert [r.type for r in reports].count("transform_job") == len(account.transform_jobs)
    # Across the account every check passes somewhere and fails somewhere, except
    # network_isolation, which moto cannot make pass (it drops EnableNetworkIsolation).
    seen: dict[str, Counter[Status]] = defaultdict(Counter)
    for report in reports:
        for r in report.results:
            seen[r.check_id][r.status] += 1
    for check in all_checks():
        assert seen[check.meta.id][Status.FAIL] > 0, (check.meta.id, seen[check.meta.id])
        if check.meta.id != "network_isolation":
            assert seen[check.meta.id][Status.PASS] > 0, (check.meta.id, seen[check.meta.id])
    # The job is evaluated with its model's VPC and its own instance count.
    job = by_name["fraud-legacy-scoring"]
    assert job.instance_count == 8 and job.vpc_id == account.vpcs["legacy"]
    assert result_of(job, "subnet_ip_capacity").status == Status.FAIL


def test_tags_come_from_the_bulk_index_and_drive_exemptions(builder: Builder, clients: AwsClients):
    account = build_demo_account(builder)

    reports = {r.name: r for r in scan_account(clients, jobs="all")}

    assert reports["churn-scoring"].tags == {"vpcguard:team": "growth"}
    # A job carries its model's tags (team routing uses them).
    assert reports["churn-nightly"].tags == {"vpcguard:team": "growth"}
    assert reports["sentiment-public"].tags == {}
    archive = reports["fraud-legacy-archive"]
    assert archive.tags["vpcguard:exempt"] == "flow_logs_enabled,subnets_multi_az"
    assert result_of(archive, "flow_logs_enabled").status == Status.EXEMPT
    assert result_of(archive, "subnets_multi_az").status == Status.EXEMPT
    assert result_of(reports["fraud-legacy"], "flow_logs_enabled").status == Status.FAIL
    calls = clients.counter.snapshot()
    assert calls["tagging:GetResources"] >= 1
    assert "api.sagemaker:ListTags" not in calls, "tags must come in bulk, not one ListTags per model"
    assert account.models


def test_tag_index_follows_pages_of_100(builder: Builder, clients: AwsClients):
    net = builder.compliant_vpc()
    for n in range(130):
        builder.compliant_model(f"tagged-{n:03d}", net, tags={"vpcguard:team": f"t{n}"})

    index = model_tag_index(clients)

    assert len(index) == 130
    assert clients.counter.snapshot()["tagging:GetResources"] >= 2
    arn = next(a for a in index if a.endswith("/tagged-129"))
    assert index[arn] == {"vpcguard:team": "t129"}


def test_jobs_none_and_all(builder: Builder, clients: AwsClients):
    net = builder.compliant_vpc()
    builder.compliant_model("scorer", net)
    builder.transform_job("nightly", "scorer", instance_count=2)

    assert [r.name for r in scan_account(clients, jobs="none")] == ["scorer"]
    reports = scan_account(clients, jobs="all")
    assert [(r.type, r.name) for r in reports] == [("model", "scorer"), ("transform_job", "nightly")]
    assert reports[1].instance_count == 2 and reports[1].model_name == "scorer"
    with pytest.raises(ValueError, match="jobs must be one of"):
        scan_account(clients, jobs="running")  # type: ignore[arg-type]


def test_jobs_in_progress_asks_sagemaker_for_in_progress_jobs_only(builder: Builder, clients: AwsClients):
    """moto marks every job Completed at once, so a botocore `after-call` hook plays
    SageMaker's answer to `StatusEquals=InProgress` for one job still running (a real
    ListTransformJobs summary shape); the job itself is then described from moto."""
    net = builder.compliant_vpc()
    builder.compliant_model("scorer", net)
    builder.transform_job("running", "scorer")
    builder.transform_job("finished", "scorer")
    asked: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        asked.append(dict(params))

    def running_job(parsed: dict[str, Any], **_: Any) -> None:
        if asked and asked[-1].get("StatusEquals") == "InProgress":
            parsed["TransformJobSummaries"] = [
                {
                    "TransformJobName": "running",
                    "TransformJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/running",
                    "CreationTime": datetime.now(UTC),
                    "TransformJobStatus": "InProgress",
                }
            ]

    events = clients.client("sagemaker").meta.events
    events.register("provide-client-params.sagemaker.ListTransformJobs", record)
    events.register("after-call.sagemaker.ListTransformJobs", running_job)

    reports = scan_account(clients, jobs="in-progress")

    assert asked and all(p.get("StatusEquals") == "InProgress" for p in asked)
    assert [(r.type, r.name) for r in reports] == [("model", "scorer"), ("transform_job", "running")]
    # Without the filter, both jobs are listed (the hook leaves that answer alone).
    assert sorted(list_transform_job_names(clients, "all")) == ["finished", "running"]


def test_since_skips_older_models(builder: Builder, clients: AwsClients):
    """moto ignores ListModels' CreationTimeAfter; the summaries' CreationTime is checked
    as well, so the result is the same on both."""
    net = builder.compliant_vpc()
    builder.compliant_model("old", net)
    time.sleep(1.1)
    since = datetime.now(UTC)
    time.sleep(0.1)
    builder.compliant_model("new", net)

    assert [r.name for r in scan_account(clients, jobs="none", since=since)] == ["new"]


def test_a_job_whose_model_is_gone_is_an_error_not_a_gap(builder: Builder, clients: AwsClients):
    net = builder.compliant_vpc()
    builder.compliant_model("retired", net)
    builder.transform_job("last-run", "retired")
    builder.client("sagemaker").delete_model(ModelName="retired")

    reports = scan_account(clients, jobs="all")

    assert [r.name for r in reports] == ["last-run"]
    result = result_of(reports[0], "model_vpc_configured")
    assert result.status == Status.ERROR
    assert "retired" in result.detail and "not found" in result.detail


def test_parallel_scan_matches_a_serial_one(builder: Builder, endpoint_url: str):
    build_demo_account(builder)

    def statuses(workers: int) -> dict[tuple[str, str], Status]:
        clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
        return {
            (report.name, r.check_id): r.status
            for report in scan_account(clients, jobs="all", max_workers=workers)
            for r in report.results
        }

    assert statuses(1) == statuses(8)


def test_without_the_tagging_api_tags_are_read_per_model(builder: Builder, clients: AwsClients):
    """A botocore `before-call` hook raises the ClientError AWS returns to a role without
    tag:GetResources; exemptions must still see the model's tags."""
    net = builder.compliant_vpc()
    builder.compliant_model("tagged", net, tags={"vpcguard:team": "growth"})

    def denied(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "not authorized to perform tag:GetResources",
                }
            },
            "GetResources",
        )

    clients.client("resourcegroupstaggingapi").meta.events.register(
        "before-call.resource-groups-tagging-api.GetResources", denied
    )

    reports = scan_account(clients, jobs="none")

    assert reports[0].tags == {"vpcguard:team": "growth"}
    assert clients.counter.snapshot()["api.sagemaker:ListTags"] == 1
