"""Inject a real AccessDenied for one AWS API, where moto (which allows everything) cannot.

How it works: botocore's `BaseClient._make_api_call` emits `before-call.<service>.<Operation>`
with `emit_until_response`; when a handler returns a `(http_response, parsed_response)`
tuple, botocore skips the HTTP request and treats that tuple as the answer. A status code
>= 300 makes it raise the service's modelled ClientError from `parsed["Error"]["Code"]`,
exactly as for a real AWS answer. Retries are not involved (they live in the endpoint,
which is skipped), so one denied call is one ClientError.

A client copies its session's event emitter when it is created, so the handler goes on the
session (for clients created later) and on any client of that service that already exists.
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from tests.localaws.server import ACCOUNT
from vpcguard.aws import AwsClients

# The error code each service really answers with for a missing IAM permission.
DENIED_CODE = {"ec2": "UnauthorizedOperation", "s3": "AccessDenied"}
DEFAULT_DENIED_CODE = "AccessDeniedException"


def denied_response(service: str, operation: str) -> tuple[AWSResponse, dict[str, Any]]:
    action = f"{service}:{operation}"
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ci/vpcguard is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action"
    )
    parsed = {
        "Error": {"Code": DENIED_CODE.get(service, DEFAULT_DENIED_CODE), "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403 if service == "ec2" else 400, "HTTPHeaders": {}},
    }
    status = parsed["ResponseMetadata"]["HTTPStatusCode"]
    return AWSResponse(f"https://{service}.amazonaws.com/", status, {}, None), parsed


def deny(clients: AwsClients, service: str, operation: str) -> None:
    """Make every `service:Operation` call through `clients` fail with AccessDenied.

    `service` is botocore's hyphenised service id ("ec2", "sagemaker", "s3"), `operation`
    the API name ("DescribeFlowLogs")."""

    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return denied_response(service, operation)

    event = f"before-call.{service}.{operation}"
    clients.session.events.register(event, handler)
    existing = clients._clients.get(service)
    if existing is not None:
        existing.meta.events.register(event, handler)
