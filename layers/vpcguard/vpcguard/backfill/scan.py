"""The scan of one account: every subject evaluated on a bounded pool, reports streamed in
listing order, each VPC's facts released once no subject still needs them."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsClients, describe_error, raise_if_setup_error
from ..engine import Engine
from ..inventory import Inventory
from ..model import Subject
from ..results import SubjectReport
from ..settings import Settings
from ..subjects import SubjectResolver
from .listing import AccountListing, JobScope, _tag_index_or_none, list_subjects

# One progress step: (what finished, how many done, how many in all).
Progress = Callable[[str, int, int], None]

T = TypeVar("T")
R = TypeVar("R")

# Subjects submitted to the pool ahead of the one the writer waits for, per worker: enough to
# keep every thread busy while the writer catches up, few enough that memory does not grow
# with the account.
IN_FLIGHT_PER_WORKER = 4


def _bounded_map(
    pool: ThreadPoolExecutor,
    fn: Callable[[T], R],
    items: Iterable[T],
    window: int,
    step: str,
    total: int,
    progress: Progress | None,
    done: int = 0,
) -> Iterator[R]:
    """`pool.map` in input order that never runs more than `window` items ahead of its
    consumer (pool.map submits every item at once, and keeps every result until read)."""
    pending: deque[Future[R]] = deque()

    def finished(future: Future[R]) -> R:
        nonlocal done
        result = future.result()
        done += 1
        if progress is not None:
            progress(step, done, total)
        return result

    try:
        for item in items:
            if len(pending) >= window:
                yield finished(pending.popleft())
            pending.append(pool.submit(fn, item))
        while pending:
            yield finished(pending.popleft())
    finally:  # the consumer stopped early (an error, a closed pipe): drop what is queued
        for future in pending:
            future.cancel()


# The parts of DescribeTransformJob a subject is built from (the rest is dropped at once, so
# a large listing of jobs waiting for their turn costs little).
_JOB_FIELDS = ("TransformJobName", "TransformJobArn", "ModelName", "TransformResources", "TransformOutput")


def _describe_job(clients: AwsClients, name: str) -> dict[str, Any] | BaseException:
    try:
        job = clients.client("sagemaker").describe_transform_job(TransformJobName=name)
    except (ClientError, BotoCoreError) as exc:
        raise_if_setup_error(exc)
        return exc
    compact = {k: job[k] for k in _JOB_FIELDS if k in job}
    source = ((job.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
    if source.get("S3Uri"):
        compact["TransformInput"] = {"DataSource": {"S3DataSource": {"S3Uri": source["S3Uri"]}}}
    return compact


def _unreadable_job(resolver: SubjectResolver, name: str, exc: BaseException) -> Subject:
    """A job listed a moment ago that can no longer be read (deleted, denied, throttled
    past every retry): it is reported as ERROR, never dropped."""
    return Subject(
        type="transform_job",
        name=name,
        arn="",
        region=resolver.region,
        account="",
        model_name="",
        error=f"cannot read transform job {name!r}: {describe_error(exc, 'sagemaker:DescribeTransformJob')}",
    )


class _VpcRelease:
    """Releases a VPC's memoised facts once no subject still to be evaluated needs them.

    Which VPC a model is in is known only once it is described, and models are described
    as they stream; so VPCs are released only once every subject is known (the models all
    evaluated, the jobs described first): at once for a VPC no job uses, else after its last
    job. Until then the facts stay: one set per VPC, not per subject."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.pending: Counter[str] = Counter()
        self.armed = False

    def add(self, vpc_ids: Iterable[str | None]) -> None:
        self.pending.update(v for v in vpc_ids if v)

    def everything_known(self, seen: Iterable[str | None]) -> None:
        self.armed = True
        for vpc_id in {v for v in seen if v} | set(self.inventory.vpc_ids()):
            if self.pending[vpc_id] <= 0:
                self.release(vpc_id)

    def done(self, vpc_id: str | None) -> None:
        if not self.armed or not vpc_id:
            return
        self.pending[vpc_id] -= 1
        if self.pending[vpc_id] <= 0:
            self.release(vpc_id)

    def release(self, vpc_id: str) -> None:
        self.pending.pop(vpc_id, None)
        self.inventory.release_vpc(vpc_id)


def iter_account(
    clients: AwsClients,
    settings: Settings | None = None,
    *,
    jobs: JobScope = "in-progress",
    since: datetime | None = None,
    max_workers: int = 8,
    progress: Progress | None = None,
    trigger: str = "backfill",
    audit_sink: Any = None,
    listing: AccountListing | None = None,
) -> Iterator[SubjectReport]:
    """Evaluate every model (and the transform jobs `jobs` selects) created after `since`,
    yielding each report as soon as it is ready, so a caller that writes and drops them
    holds a constant number of reports whatever the account's size.

    Reports come models first, then jobs, each in listing order. A subject that could not
    be read is an ERROR report, never a missing one. `listing` replaces the account's
    listing (`jobs` and `since` are then not used); `audit_sink` records fixes.

    Calls: one describe per subject. Jobs are described first (kept in compact form) so that
    the models they use are known: those descriptions stay until the job is evaluated, every
    other model's is dropped once its report is out. No two threads ever describe the same
    model."""
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    if listing is None:
        listing = list_subjects(clients, jobs=jobs, since=since)
    model_names, job_names = listing.models, listing.transform_jobs
    resolver = SubjectResolver(clients, tag_index=_tag_index_or_none(clients))
    inventory = Inventory(clients)
    engine = Engine(
        clients,
        settings or Settings(),
        inventory=inventory,
        resolver=resolver,
        trigger=trigger,
        audit_sink=audit_sink,
    )
    window = max_workers * IN_FLIGHT_PER_WORKER
    vpcs = _VpcRelease(inventory)
    total = listing.total

    def describe_model(name: str) -> None:
        # A failure is remembered by the resolver; the subject becomes an ERROR report.
        with suppress(ClientError, BotoCoreError):
            resolver.describe_model(name)

    def evaluate_model(name: str) -> SubjectReport:
        subject = resolver.model(name)
        if name not in job_models:  # no job needs it again: drop the description now
            resolver.forget_model(name)
        return engine.evaluate(subject)

    def evaluate_job(subject: Subject) -> SubjectReport:
        return engine.evaluate(subject)

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="vpcguard-backfill") as pool:
        # 1. The jobs, described (one call each) before any model, so that the models they
        #    use are known, kept, and described once.
        job_descriptions = list(
            _bounded_map(
                pool,
                lambda n: _describe_job(clients, n),
                job_names,
                window,
                "describe jobs",
                len(job_names),
                progress,
            )
        )
        job_models = Counter(d["ModelName"] for d in job_descriptions if isinstance(d, dict))

        # 2. Every listed model: described, evaluated and handed on as it comes.
        model_vpc: dict[str, str | None] = {}
        for report in _bounded_map(pool, evaluate_model, model_names, window, "evaluate", total, progress):
            if report.name in job_models:
                model_vpc[report.name] = report.vpc_id
            yield report

        # 3. Models that jobs use but the listing did not include (created before `since`,
        #    say): each described once, however many jobs share it.
        listed = set(model_names)
        extra = [m for m in job_models if m not in listed]
        for _ in _bounded_map(
            pool, describe_model, extra, window, "describe job models", len(extra), progress
        ):
            pass

        # Every subject is known now: the VPCs no job uses are released, the others once
        # their last job is done (when a job's VPC is not known yet, nothing is released
        # early: reading a VPC twice would cost calls).
        if all(m in model_vpc for m in job_models):
            vpcs.add(model_vpc[d["ModelName"]] for d in job_descriptions if isinstance(d, dict))
            vpcs.everything_known(model_vpc.values())

        # 4. The jobs, from their compact descriptions and their models' (kept): no describes.
        job_models_in_order: deque[str] = deque()

        def job_subjects() -> Iterator[Subject]:
            for name, desc in zip(job_names, job_descriptions, strict=True):
                if isinstance(desc, dict):
                    job_models_in_order.append(desc["ModelName"])
                    yield resolver.transform_job_from_description(desc)
                else:
                    job_models_in_order.append("")
                    yield _unreadable_job(resolver, name, desc)

        done = len(model_names)
        for report in _bounded_map(
            pool, evaluate_job, job_subjects(), window, "evaluate", total, progress, done
        ):
            model_name = job_models_in_order.popleft()
            if model_name:
                job_models[model_name] -= 1
                if job_models[model_name] <= 0:
                    resolver.forget_model(model_name)
                vpcs.done(model_vpc.get(model_name))
            yield report


def scan_account(
    clients: AwsClients,
    settings: Settings | None = None,
    *,
    jobs: JobScope = "in-progress",
    since: datetime | None = None,
    max_workers: int = 8,
    progress: Progress | None = None,
    trigger: str = "backfill",
    audit_sink: Any = None,
    listing: AccountListing | None = None,
) -> list[SubjectReport]:
    """Every report of `iter_account` in a list: models first, then jobs, each in listing
    order. For large accounts iterate `iter_account` and write as you go instead."""
    return list(
        iter_account(
            clients,
            settings,
            jobs=jobs,
            since=since,
            max_workers=max_workers,
            progress=progress,
            trigger=trigger,
            audit_sink=audit_sink,
            listing=listing,
        )
    )
