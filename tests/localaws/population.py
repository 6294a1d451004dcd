"""Many models (and transform jobs) spread over a few compliant VPCs, for the call-budget
tests and `make bench`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .builders import Builder, CompliantVpc

TEAM_TAG = "vpcguard:team"
EXEMPT_TAG = "vpcguard:exempt"


@dataclass
class Population:
    vpcs: list[CompliantVpc]
    models: list[str] = field(default_factory=list)
    transform_jobs: list[str] = field(default_factory=list)
    # model name -> the tags it was created with
    tags: dict[str, dict[str, str]] = field(default_factory=dict)


def model_tags(n: int) -> dict[str, str]:
    """Every model has a team; one in 25 also exempts a check."""
    tags = {TEAM_TAG: f"team-{n % 7}"}
    if n % 25 == 0:
        tags[EXEMPT_TAG] = "subnets_multi_az"
    return tags


def build_population(
    builder: Builder, *, models: int, vpcs: int, jobs: int = 0, workers: int = 8, prefix: str = "pop"
) -> Population:
    """`models` models round-robin over `vpcs` compliant VPCs (one execution role and two
    buckets per VPC), and `jobs` transform jobs (2 instances each) over the first models."""
    nets = [
        builder.compliant_vpc(f"10.{i}", buckets=(f"{prefix}-in-{i}", f"{prefix}-out-{i}"))
        for i in range(vpcs)
    ]
    population = Population(vpcs=nets)
    sagemaker = builder.client("sagemaker")  # created before the threads share it

    def make_model(n: int) -> str:
        name = f"{prefix}-model-{n:05d}"
        tags = model_tags(n)
        builder.compliant_model(name, nets[n % vpcs], tags=tags)
        population.tags[name] = tags
        return name

    def make_job(k: int) -> str:
        n = k % models  # consecutive models, so the jobs spread over every VPC
        net = nets[n % vpcs]
        name = f"{prefix}-job-{k:05d}"
        builder.transform_job(
            name,
            f"{prefix}-model-{n:05d}",
            instance_count=2,
            input_uri=f"s3://{net.buckets[0]}/batch/{k}/",
            output_uri=f"s3://{net.buckets[1]}/results/{k}/",
        )
        return name

    assert sagemaker is not None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        population.models = list(pool.map(make_model, range(models)))
        population.transform_jobs = list(pool.map(make_job, range(jobs)))
    return population
