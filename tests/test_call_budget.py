"""AWS call budget regressions (docs/architecture.md, "The AWS call budget").

These count calls through the engine's own counter (botocore `before-call` hooks on
`AwsClients`), against moto's server; they assert counts, never timings.
"""

from __future__ import annotations

from tests.localaws.builders import Builder
from tests.localaws.population import build_population
from tests.localaws.server import REGION
from vpcguard.aws import AwsClients
from vpcguard.backfill import listing_calls, scan_account
from vpcguard.engine import Engine
from vpcguard.model import Status

SINGLE_JOB_BUDGET = 18
BACKFILL_BUDGET_PER_MODEL = 1.3


def _by_service(calls: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in calls.items():
        service = key.split(":", 1)[0]
        out[service] = out.get(service, 0) + n
    return out


def test_one_transform_job_from_cold_costs_at_most_18_calls(builder: Builder, endpoint_url: str):
    """A job on a compliant VPC, its role with one inline policy, two buckets with
    policies, nothing cached: the architecture's floor is 16, the budget 18."""
    net = builder.compliant_vpc()
    assert len(net.buckets) == 2
    builder.compliant_model("scorer", net)
    builder.transform_job("nightly", "scorer", instance_count=2)

    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    report = Engine(clients).evaluate_transform_job("nightly")

    calls = clients.counter.snapshot()
    assert clients.counter.total <= SINGLE_JOB_BUDGET, (
        f"{clients.counter.total} calls: {sorted(calls.items())}"
    )
    # The evaluation was real: both buckets and the role were read, and checks passed.
    assert calls.get("s3:GetBucketPolicy") == 2, calls
    assert calls.get("iam:GetRolePolicy") == 1, calls
    assert _by_service(calls)["api.sagemaker"] == 3, calls  # job, model, model's tags
    statuses = {r.check_id: r.status for r in report.results}
    assert statuses["s3_bucket_policy_vpc_only"] == Status.PASS
    assert statuses["execution_role_vpc_permissions"] == Status.PASS


def test_backfill_of_200_models_over_5_vpcs_costs_at_most_1_3_calls_per_model(
    builder: Builder, endpoint_url: str
):
    """The foundation issue's figure: 200 models over 5 VPCs, calls per model beyond the
    listing calls (ListModels, ListTransformJobs, GetResources)."""
    population = build_population(builder, models=200, vpcs=5)

    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    reports = scan_account(clients, jobs="none")

    assert sorted(r.name for r in reports) == sorted(population.models)
    calls = clients.counter.snapshot()
    beyond_listing = clients.counter.total - listing_calls(calls)
    per_model = beyond_listing / len(population.models)
    assert per_model <= BACKFILL_BUDGET_PER_MODEL, f"{per_model:.3f} calls per model: {sorted(calls.items())}"
    # One describe per model, shared facts read once per VPC, tags in bulk.
    assert calls["api.sagemaker:DescribeModel"] == 200
    assert calls["ec2:DescribeVpcs"] == 5
    assert calls["iam:GetRole"] == 5
    assert "api.sagemaker:ListTags" not in calls


def test_backfill_reads_each_shared_fact_once_with_jobs_on_the_same_models(
    builder: Builder, endpoint_url: str
):
    """Jobs reuse their model's cached description: a job costs one DescribeTransformJob,
    and its buckets are read once per bucket however many jobs use them."""
    population = build_population(builder, models=30, vpcs=3, jobs=12)

    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    reports = scan_account(clients, jobs="all")

    assert len(reports) == 42
    calls = clients.counter.snapshot()
    assert calls["api.sagemaker:DescribeModel"] == 30
    assert calls["api.sagemaker:DescribeTransformJob"] == 12
    assert calls["s3:GetBucketPolicy"] == 6  # two buckets per VPC, three VPCs
    assert calls["ec2:DescribeRouteTables"] == 3
    assert population.transform_jobs[0] in {r.name for r in reports}


def test_one_event_through_the_inspect_path_costs_at_most_18_calls(builder: Builder, endpoint_url: str):
    """The same job from a CreateTransformJob event: the Inspector also asks STS once which
    account its credentials are for (to refuse another account's subject), 17 in all."""
    from tests.test_safety import cloudtrail_event
    from vpcguard.events import parse_event
    from vpcguard.inspection import Inspector

    net = builder.compliant_vpc()
    builder.compliant_model("scorer", net)
    arn = builder.transform_job("nightly", "scorer", instance_count=2)
    event = cloudtrail_event(
        "nightly",
        eventName="CreateTransformJob",
        requestParameters={"transformJobName": "nightly"},
        responseElements={"transformJobArn": arn},
    )

    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    Inspector(Engine(clients), findings_topic_arn=None).inspect(parse_event(event))

    calls = clients.counter.snapshot()
    assert clients.counter.total <= SINGLE_JOB_BUDGET, (
        f"{clients.counter.total} calls: {sorted(calls.items())}"
    )
    assert calls["sts:GetCallerIdentity"] == 1 and "ec2:DescribeNetworkInterfaces" not in calls
