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

- `listing.py`: enumeration (names, `since`, the tag index) and what counts as a listing call;
- `scan.py`: `iter_account` / `scan_account`, the bounded pool and the VPC releases;
- `fanout.py`: the backfill Lambda's work-queue messages (`queue_subjects`);
- `request.py`: the backfill Lambda's request (`BackfillRequest`).
"""

from .fanout import QUEUE_ATTEMPTS, SQS_BATCH, QueueResult, backfill_messages, queue_subjects
from .listing import (
    JOB_SCOPES,
    LISTING_OPERATIONS,
    TAGGING_PAGE_SIZE,
    AccountListing,
    JobScope,
    _tag_index_or_none,
    list_model_names,
    list_subjects,
    list_transform_job_names,
    listing_calls,
    model_tag_index,
    parse_since,
)
from .request import BackfillRequest
from .scan import IN_FLIGHT_PER_WORKER, Progress, _bounded_map, iter_account, scan_account

__all__ = [
    "IN_FLIGHT_PER_WORKER",
    "JOB_SCOPES",
    "LISTING_OPERATIONS",
    "QUEUE_ATTEMPTS",
    "SQS_BATCH",
    "TAGGING_PAGE_SIZE",
    "AccountListing",
    "BackfillRequest",
    "JobScope",
    "Progress",
    "QueueResult",
    "_bounded_map",
    "_tag_index_or_none",
    "backfill_messages",
    "iter_account",
    "list_model_names",
    "list_subjects",
    "list_transform_job_names",
    "listing_calls",
    "model_tag_index",
    "parse_since",
    "queue_subjects",
    "scan_account",
]
