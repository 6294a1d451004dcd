"""Backfill function, invoked by hand: enumerate models and transform jobs and put each on
the work queue, so the inspect function evaluates them as it does events, in parallel
Lambdas at the queue's pace (its MaximumConcurrency bounds the AWS calls per second).

    {"scope": "all"}                                   every model and in-progress job
    {"scope": "all", "jobs": "all", "since": "2024-05-01"}
    {"models": ["churn-v1"], "transform_jobs": ["nightly-2024-05-01"]}
    {"org": true, "regions": ["us-east-1", "eu-west-1"]}   every account of the organization
    {"accounts": ["222222222222"], "regions": ["all"]}

Returns {"queued": {"models": n, "transform_jobs": m}, "failed": k}; across accounts
{"queued_targets": n, "failed_targets": [...]}: one message per account and region goes on the
backfill target queue, and this same function, fed by that queue (at most two at a time, as
listing is throttled per account and region), lists each through the member role and queues
its subjects, with their account and region, on the work queue. Thin by design: the listing
and the queueing are `vpcguard.backfill` and `vpcguard.org`; a request that cannot be
understood raises (the invocation fails with the reason), nothing is queued.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpcguard.accounts import AccountSessions, MemberRoleError, sessions_from_env
from vpcguard.aws import AwsClients
from vpcguard.backfill import BackfillRequest, list_subjects, parse_since, queue_subjects
from vpcguard.org import TargetRequest, queue_targets, resolve_targets
from vpcguard.settings import Settings

logger = Logger(service="vpcguard-backfill")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def aws_clients() -> AwsClients:
    return AwsClients(region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


@functools.cache
def sessions() -> AccountSessions:
    """Member-role credentials, cached per account across invocations."""
    return sessions_from_env(aws_clients()) or AccountSessions(aws_clients())


def _work_queue() -> str:
    queue_url = Settings.from_env().work_queue_url
    if not queue_url:
        raise ValueError("VPCGUARD_WORK_QUEUE_URL is not set: nowhere to queue the subjects")
    return queue_url


def fan_out(request: BackfillRequest, backfill_id: str) -> dict[str, Any]:
    queue_url = os.environ.get("VPCGUARD_BACKFILL_QUEUE_URL", "")
    if not queue_url:
        raise ValueError("VPCGUARD_BACKFILL_QUEUE_URL is not set: nowhere to queue the accounts")
    targets = resolve_targets(sessions(), request.accounts, request.org, request.regions)
    since = request.since.isoformat() if request.since else None
    failed = queue_targets(
        aws_clients(),
        queue_url,
        targets,
        jobs=request.jobs or "in-progress",
        since=since,
        backfill_id=backfill_id,
    )
    logger.info("targets queued", extra={"targets": len(targets), "failed": failed})
    return {"queued_targets": len(targets) - len(failed), "failed_targets": failed}


def target_handler(record: SQSRecord) -> dict[str, Any]:
    """One account and region: list it (through the member role) onto the work queue."""
    work = TargetRequest.parse(record.body)
    target = work.target
    try:
        clients = sessions().clients(target.account, target.region)
    except MemberRoleError as exc:
        # Retrying within minutes cannot fix a role; the record ends here, loudly.
        logger.error("member role could not be assumed", extra={"target": str(target), "reason": str(exc)})
        return {"target": str(target), "error": str(exc)}
    since = parse_since(work.since) if work.since else None
    listing = list_subjects(clients, jobs=work.jobs, since=since)  # type: ignore[arg-type]
    result = queue_subjects(
        aws_clients(),
        _work_queue(),
        listing,
        backfill_id=work.backfill_id or record.message_id,
        account=target.account,
        region=target.region,
    )
    logger.info("target queued", extra={"target": str(target), **result.response()})
    if result.failed:
        raise RuntimeError(f"{result.failed} subject(s) of {target} not queued: {result.failures[:5]}")
    return {"target": str(target), **result.response()}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    if "Records" in event:  # the backfill target queue
        return process_partial_response(
            event=event, record_handler=target_handler, processor=processor, context=context
        )
    request = BackfillRequest.parse(event)
    if request.fans_out:
        return fan_out(request, context.aws_request_id)
    queue_url = _work_queue()
    clients = aws_clients()
    listing = request.listing(clients)
    logger.info(
        "subjects listed",
        extra={"models": len(listing.models), "transform_jobs": len(listing.transform_jobs)},
    )
    # The request id names the run in every message (and so in the audit records' trigger).
    result = queue_subjects(clients, queue_url, listing, backfill_id=context.aws_request_id)
    if result.failed:
        logger.error("subjects not queued", extra={"failed": result.failed, "failures": result.failures[:20]})
    logger.info("subjects queued", extra=result.response())
    return result.response()
