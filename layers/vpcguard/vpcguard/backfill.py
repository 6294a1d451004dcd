"""Scan every model and transform job in an account: the core of `vpcguard scan --all`.

AWS calls are the cost (docs/architecture.md, "The AWS call budget"), so a backfill spends one
describe per subject and shares everything else:

- models and jobs are enumerated with paginated List calls;
- tags for exemptions and team routing come in bulk from the Resource Groups Tagging API
  (`GetResources`, 100 per page) instead of one `ListTags` per model;
- every model is described once (the resolver caches it, and a job's model is the same
  cached description);
- one `Inventory` serves every subject, so VPC facts are read once per VPC, subnets once
  per subnet, role policies once per role and bucket policies once per bucket.

Reports stream out (`iter_account`) as they are evaluated, in listing order, with at most a
few subjects per worker in flight, so memory does not grow with the account: a caller that
writes each report and drops it holds only the listing, the tag index and one set of facts
per VPC / role / bucket.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients, describe_error, raise_if_setup_error
from .engine import Engine
from .events import BACKFILL_DETAIL_TYPE, BACKFILL_SOURCE
from .inventory import Inventory
from .model import Subject
from .results import SubjectReport
from .settings import Settings
from .subjects import SubjectResolver, name_from_arn

log = logging.getLogger(__name__)

JobScope = Literal["in-progress", "all", "none"]
JOB_SCOPES: tuple[str, ...] = ("in-progress", "all", "none")

# Calls that enumerate the account; the budget counts calls per subject beyond these.
# Keyed as the call counter keys them: "<endpoint prefix>:<operation>".
LISTING_OPERATIONS = frozenset(
    {"api.sagemaker:ListModels", "api.sagemaker:ListTransformJobs", "tagging:GetResources"}
)
# GetResources returns at most 100 resources per page.
TAGGING_PAGE_SIZE = 100

# One progress step: (what finished, how many done, how many in all).
Progress = Callable[[str, int, int], None]

T = TypeVar("T")
R = TypeVar("R")


def listing_calls(calls: Mapping[str, int]) -> int:
    """How many of a counter snapshot's calls were enumeration (List*, GetResources)."""
    return sum(n for op, n in calls.items() if op in LISTING_OPERATIONS)


# --- enumeration -------------------------------------------------------------------------


def _after(since: datetime | None, created: Any) -> bool:
    # Real SageMaker applies CreationTimeAfter itself; moto ignores it for ListModels, and
    # a client-side check on the summary's CreationTime costs nothing.
    if since is None or not isinstance(created, datetime):
        return True
    if created.tzinfo is None or since.tzinfo is None:
        return created.replace(tzinfo=None) > since.replace(tzinfo=None)
    return created > since


def list_model_names(clients: AwsClients, since: datetime | None = None) -> list[str]:
    """Every model name in the region (ListModels, followed page by page)."""
    kwargs: dict[str, Any] = {"MaxResults": 100}
    if since is not None:
        kwargs["CreationTimeAfter"] = since
    names: list[str] = []
    for page in clients.client("sagemaker").get_paginator("list_models").paginate(**kwargs):
        names.extend(m["ModelName"] for m in page.get("Models", []) if _after(since, m.get("CreationTime")))
    return list(dict.fromkeys(names))


def list_transform_job_names(clients: AwsClients, jobs: JobScope, since: datetime | None = None) -> list[str]:
    """Transform job names: only `InProgress` ones (the ones that can still do harm),
    every one, or none."""
    if jobs not in JOB_SCOPES:
        raise ValueError(f"jobs must be one of {', '.join(JOB_SCOPES)}, not {jobs!r}")
    if jobs == "none":
        return []
    kwargs: dict[str, Any] = {"MaxResults": 100}
    if jobs == "in-progress":
        kwargs["StatusEquals"] = "InProgress"
    if since is not None:
        kwargs["CreationTimeAfter"] = since
    names: list[str] = []
    for page in clients.client("sagemaker").get_paginator("list_transform_jobs").paginate(**kwargs):
        for job in page.get("TransformJobSummaries", []):
            if jobs == "in-progress" and job.get("TransformJobStatus") != "InProgress":
                continue
            if _after(since, job.get("CreationTime")):
                names.append(job["TransformJobName"])
    return list(dict.fromkeys(names))


def model_tag_index(clients: AwsClients) -> dict[str, dict[str, str]]:
    """Model ARN -> tags for every tagged model, from the Resource Groups Tagging API in
    pages of 100. A model missing from the index has no tags."""
    index: dict[str, dict[str, str]] = {}
    paginator = clients.client("resourcegroupstaggingapi").get_paginator("get_resources")
    pages = paginator.paginate(ResourceTypeFilters=["sagemaker:model"], ResourcesPerPage=TAGGING_PAGE_SIZE)
    for page in pages:
        for item in page.get("ResourceTagMappingList", []):
            index[item["ResourceARN"]] = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
    return index


@dataclass(frozen=True)
class AccountListing:
    """What a backfill covers: model and transform job names, in listing order."""

    models: tuple[str, ...] = ()
    transform_jobs: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.models) + len(self.transform_jobs)


def list_subjects(
    clients: AwsClients, *, jobs: JobScope = "in-progress", since: datetime | None = None
) -> AccountListing:
    """Every model, and the transform jobs `jobs` selects, created after `since`: the
    listing alone (ListModels, ListTransformJobs), shared by `scan_account` and the
    backfill Lambda's fan-out."""
    return AccountListing(
        models=tuple(list_model_names(clients, since)),
        transform_jobs=tuple(list_transform_job_names(clients, jobs, since)),
    )


def parse_since(text: str) -> datetime:
    """`--since` / the Lambda's "since": a date (`2024-05-01`, midnight UTC) or an ISO 8601
    time (`2024-05-01T12:00:00+02:00`; UTC when it names no offset)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _tag_index_or_none(clients: AwsClients) -> dict[str, dict[str, str]] | None:
    """The bulk tag index, or None when the Tagging API cannot be read (e.g. a role
    without tag:GetResources): the resolver then reads each model's tags with ListTags,
    costlier but still right, since exemptions depend on them."""
    try:
        return model_tag_index(clients)
    except (ClientError, BotoCoreError) as exc:
        raise_if_setup_error(exc)
        log.warning(
            "model tags will be read one model at a time: %s", describe_error(exc, "tag:GetResources")
        )
        return None


# --- the scan ------------------------------------------------------------------------------

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


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


# --- fan-out: the backfill Lambda puts subjects on the work queue --------------------------

# SendMessageBatch takes at most 10 entries.
SQS_BATCH = 10
# Entries SQS refused for a reason of its own (SenderFault false: throttled, internal
# error) are sent again this many times before they count as failed.
QUEUE_ATTEMPTS = 3


@dataclass
class QueueResult:
    """What `queue_subjects` put on the work queue, and what it could not."""

    models: int = 0
    transform_jobs: int = 0
    failed: int = 0
    # One line per failed subject: "<type> <name>: <reason>".
    failures: list[str] = field(default_factory=list)

    def response(self) -> dict[str, Any]:
        """The backfill Lambda's answer."""
        return {
            "queued": {"models": self.models, "transform_jobs": self.transform_jobs},
            "failed": self.failed,
        }


def backfill_messages(
    listing: AccountListing, *, backfill_id: str, region: str = "", account: str = ""
) -> list[dict[str, Any]]:
    """One work-queue message per subject, in the "vpcguard backfill" shape that
    `events.parse_event` reads (an EventBridge-like envelope, so the work queue carries
    one kind of body). Every message has its own id: it is the inspect function's
    idempotency key, so a second backfill evaluates again while a redelivery does not."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    subjects = [("model", n) for n in listing.models] + [("transform_job", n) for n in listing.transform_jobs]
    return [
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": BACKFILL_DETAIL_TYPE,
            "source": BACKFILL_SOURCE,
            # A member account's subject names its account: the inspect function evaluates
            # it there, through the member role.
            "account": account,
            "time": now,
            "region": region,
            "resources": [],
            "detail": {"type": kind, "name": name, "backfill_id": backfill_id},
        }
        for kind, name in subjects
    ]


def queue_subjects(
    clients: AwsClients,
    queue_url: str,
    listing: AccountListing,
    *,
    backfill_id: str | None = None,
    account: str = "",
    region: str | None = None,
) -> QueueResult:
    """Put every subject of `listing` on the work queue, 10 per SendMessageBatch.

    Entries SQS did not take are sent again (QUEUE_ATTEMPTS in all) unless SQS says the
    entry itself is at fault; whatever is still not taken is counted, never dropped
    silently."""
    backfill_id = backfill_id or str(uuid.uuid4())
    sqs = clients.client("sqs")
    result = QueueResult()
    messages = backfill_messages(
        listing, backfill_id=backfill_id, region=region or clients.region or "", account=account
    )

    def queued(message: dict[str, Any]) -> None:
        if message["detail"]["type"] == "model":
            result.models += 1
        else:
            result.transform_jobs += 1

    def failed(message: dict[str, Any], reason: str) -> None:
        result.failed += 1
        result.failures.append(f"{message['detail']['type']} {message['detail']['name']}: {reason}")

    for batch in _chunks(messages, SQS_BATCH):
        pending = {str(i): m for i, m in enumerate(batch)}
        reasons: dict[str, str] = {}
        for _attempt in range(QUEUE_ATTEMPTS):
            entries = [{"Id": i, "MessageBody": json.dumps(m)} for i, m in pending.items()]
            try:
                answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                # botocore has already retried the call; the loop gives the batch another round.
                raise_if_setup_error(exc)
                reasons = dict.fromkeys(pending, describe_error(exc, "sqs:SendMessageBatch"))
                continue
            for ok in answer.get("Successful", []):
                queued(pending.pop(ok["Id"]))
            for refused in answer.get("Failed", []):
                reason = f"{refused.get('Code', 'refused')}: {refused.get('Message', '')}".rstrip(": ")
                if refused.get("SenderFault"):  # the entry itself is wrong: sending it again cannot help
                    failed(pending.pop(refused["Id"]), reason)
                else:
                    reasons[refused["Id"]] = reason
            if not pending:
                break
        for entry_id, message in pending.items():
            failed(message, reasons.get(entry_id, "not accepted") + f" (after {QUEUE_ATTEMPTS} attempts)")
    if result.failed:
        log.warning("%d subject(s) not queued: %s", result.failed, "; ".join(result.failures[:5]))
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillRequest:
    """The backfill Lambda's event: `{"scope": "all"}` (optional "jobs", "since"), or
    `{"models": [...], "transform_jobs": [...]}` (names or ARNs), or across an organization
    `{"accounts": [...] | "org": true, "regions": [...]}` (implies "scope": "all";
    "regions" alone scans those regions of this account; "all" = every enabled region).

    Checked by hand (`parse`, field readers below), not with a pydantic model: this was
    the layer's only pydantic model, and pydantic was three quarters of the layer."""

    scope: Literal["all"] | None = None
    jobs: JobScope | None = None
    since: datetime | None = None
    models: tuple[str, ...] = ()
    transform_jobs: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    org: bool = False
    regions: tuple[str, ...] = ()

    @property
    def fans_out(self) -> bool:
        """One message per account and region first (vpcguard.org.queue_targets)."""
        return bool(self.accounts or self.org or self.regions)

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> BackfillRequest:
        """Raises ValueError with every problem on one line (each field's, then unknown
        keys; how the fields combine once each is right)."""
        if not isinstance(event, Mapping):
            raise ValueError("not a backfill request: Input should be a valid dictionary")
        problems: list[str] = []
        fields: dict[str, Any] = {}
        for key, read in _REQUEST_FIELDS.items():
            if key in event:
                try:
                    fields[key] = read(event[key])
                except ValueError as exc:
                    problems.append(f"{key}{exc}")
        problems += [f"{key}: Extra inputs are not permitted" for key in event if key not in _REQUEST_FIELDS]
        if not problems:
            request = cls(**fields)
            problem = request._kind_problem()
            if problem is None:
                return request
            problems.append(problem)
        raise ValueError(f"not a backfill request: {'; '.join(problems)}")

    def _kind_problem(self) -> str | None:
        named = bool(self.models or self.transform_jobs)
        if self.org and self.accounts:
            return 'give "org": true or "accounts", not both'
        if self.fans_out:
            return '"accounts" / "org" / "regions" scan every subject: give no names' if named else None
        if self.scope is None and not named:
            return 'nothing to queue: give {"scope": "all"} or "models" / "transform_jobs"'
        if self.scope is not None and named:
            return 'give either {"scope": "all"} or names, not both'
        if self.scope is None and (self.jobs is not None or self.since is not None):
            return '"jobs" and "since" apply only with {"scope": "all"}'
        return None

    def listing(self, clients: AwsClients) -> AccountListing:
        if self.scope == "all":
            return list_subjects(clients, jobs=self.jobs or "in-progress", since=self.since)
        return AccountListing(
            models=tuple(dict.fromkeys(name_from_arn(n) for n in self.models)),
            transform_jobs=tuple(dict.fromkeys(name_from_arn(n) for n in self.transform_jobs)),
        )


# --- the request's fields: each reader returns the value or raises ValueError(": why") ---


def _one_of(*allowed: str) -> Callable[[Any], Any]:
    names = " or ".join(filter(None, [", ".join(repr(a) for a in allowed[:-1]), repr(allowed[-1])]))

    def read(value: Any) -> Any:
        if value is not None and value not in allowed:
            raise ValueError(f": Input should be {names}")
        return value

    return read


def _since(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(": Input should be a valid datetime")
    try:
        return parse_since(value)
    except ValueError as exc:
        raise ValueError(f": {exc}") from None


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(": Input should be a valid list")
    bad = [i for i, item in enumerate(value) if not isinstance(item, str)]
    if bad:
        raise ValueError(f".{bad[0]}: Input should be a valid string")
    return tuple(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(": Input should be a valid boolean")
    return value


def _account_ids(value: Any) -> tuple[str, ...]:
    from .accounts import parse_account_ids  # the organization code, only when asked for

    try:
        return tuple(parse_account_ids(_names(value)))
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith((":", ".")) else f": {exc}") from None


def _region_names(value: Any) -> tuple[str, ...]:
    from .accounts import parse_regions

    try:
        return tuple(parse_regions(_names(value)))
    except ValueError as exc:
        raise ValueError(str(exc) if str(exc).startswith((":", ".")) else f": {exc}") from None


_REQUEST_FIELDS: dict[str, Callable[[Any], Any]] = {
    "scope": _one_of("all"),
    "jobs": _one_of(*JOB_SCOPES),
    "since": _since,
    "models": _names,
    "transform_jobs": _names,
    "accounts": _account_ids,
    "org": _flag,
    "regions": _region_names,
}
