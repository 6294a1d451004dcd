"""Backfill function, invoked by hand: enumerate models and transform jobs and put each on
the work queue, so the inspect function evaluates them as it does events, in parallel
Lambdas at the queue's pace (its MaximumConcurrency bounds the AWS calls per second).

    {"scope": "all"}                                   every model and in-progress job
    {"scope": "all", "jobs": "all", "since": "2024-05-01"}
    {"models": ["churn-v1"], "transform_jobs": ["nightly-2024-05-01"]}

Returns {"queued": {"models": n, "transform_jobs": m}, "failed": k}. Thin by design: the
listing and the queueing are `vpcguard.backfill`; a request that cannot be understood
raises (the invocation fails with the reason), nothing is queued.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpcguard.aws import AwsClients
from vpcguard.backfill import BackfillRequest, queue_subjects
from vpcguard.settings import Settings

logger = Logger(service="vpcguard-backfill")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = BackfillRequest.parse(event)
    queue_url = Settings.from_env().work_queue_url
    if not queue_url:
        raise ValueError("VPCGUARD_WORK_QUEUE_URL is not set: nowhere to queue the subjects")
    clients = AwsClients(region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    listing = request.listing(clients)
    logger.info("subjects listed", extra={"models": len(listing.models), "transform_jobs": len(listing.transform_jobs)})
    # The request id names the run in every message (and so in the audit records' trigger).
    result = queue_subjects(clients, queue_url, listing, backfill_id=context.aws_request_id)
    if result.failed:
        logger.error("subjects not queued", extra={"failed": result.failed, "failures": result.failures[:20]})
    logger.info("subjects queued", extra=result.response())
    return result.response()
