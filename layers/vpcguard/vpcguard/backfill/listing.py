"""Enumerating an account: model and job names (paginated List calls, `since`), and model
tags in bulk from the Resource Groups Tagging API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsClients, describe_error, raise_if_setup_error

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
