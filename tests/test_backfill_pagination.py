"""Enumeration follows every page: ListModels and ListTransformJobs (NextToken) and the
Resource Groups Tagging API's GetResources (PaginationToken).

moto ignores ListModels' pagination (it answers everything on one page), so these tests use
botocore.stub.Stubber with the response shapes SageMaker and the Tagging API really send,
including the Tagging API's empty-string PaginationToken on its last page. The Stubber also
checks the request parameters of every page (the token sent back, the page size asked for),
and `assert_no_pending_responses` that every page was asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from tests.localaws.server import ACCOUNT, REGION
from vpcguard.aws import AwsClients
from vpcguard.backfill import (
    TAGGING_PAGE_SIZE,
    AccountListing,
    list_model_names,
    list_subjects,
    list_transform_job_names,
    model_tag_index,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def offline_clients() -> AwsClients:
    """Clients that never reach a server: every call is answered by a Stubber."""
    return AwsClients(region=REGION, endpoint_url="http://127.0.0.1:9", max_attempts=0)


def model_summary(name: str, created: datetime = T0) -> dict:
    return {
        "ModelName": name,
        "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}",
        "CreationTime": created,
    }


def job_summary(name: str, status: str = "InProgress", created: datetime = T0) -> dict:
    return {
        "TransformJobName": name,
        "TransformJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{name}",
        "CreationTime": created,
        "LastModifiedTime": created + timedelta(minutes=5),
        "TransformJobStatus": status,
    }


def test_list_models_follows_next_token_across_three_pages(offline_clients: AwsClients):
    sagemaker = offline_clients.client("sagemaker")
    pages = [
        [f"churn-{n:03d}" for n in range(100)],
        [f"fraud-{n:03d}" for n in range(100)],
        ["sentiment-001", "sentiment-002"],
    ]
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_models",
            {"Models": [model_summary(n) for n in pages[0]], "NextToken": "page-2-token"},
            {"MaxResults": 100},
        )
        stub.add_response(
            "list_models",
            {"Models": [model_summary(n) for n in pages[1]], "NextToken": "page-3-token"},
            {"MaxResults": 100, "NextToken": "page-2-token"},
        )
        stub.add_response(
            "list_models",
            {"Models": [model_summary(n) for n in pages[2]]},  # no NextToken: the last page
            {"MaxResults": 100, "NextToken": "page-3-token"},
        )

        names = list_model_names(offline_clients)

        stub.assert_no_pending_responses()
    assert names == pages[0] + pages[1] + pages[2]
    assert len(names) == 202


def test_list_models_since_asks_sagemaker_and_checks_each_summary(offline_clients: AwsClients):
    """CreationTimeAfter goes to SageMaker on every page; a summary older than `since`
    (as moto returns, ignoring the filter) is dropped as well."""
    since = T0
    sagemaker = offline_clients.client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_models",
            {
                "Models": [
                    model_summary("new-a", T0 + timedelta(days=1)),
                    model_summary("old", T0 - timedelta(days=1)),
                ],
                "NextToken": "t2",
            },
            {"MaxResults": 100, "CreationTimeAfter": since},
        )
        stub.add_response(
            "list_models",
            {"Models": [model_summary("new-b", T0 + timedelta(days=2))]},
            {"MaxResults": 100, "CreationTimeAfter": since, "NextToken": "t2"},
        )
        assert list_model_names(offline_clients, since) == ["new-a", "new-b"]
        stub.assert_no_pending_responses()


def test_list_transform_jobs_pages_and_filters_in_progress(offline_clients: AwsClients):
    sagemaker = offline_clients.client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_transform_jobs",
            {
                "TransformJobSummaries": [job_summary(f"nightly-{n:03d}") for n in range(100)],
                "NextToken": "jobs-2",
            },
            {"MaxResults": 100, "StatusEquals": "InProgress"},
        )
        stub.add_response(
            "list_transform_jobs",
            # A job that finished between the filter and the page: not in progress any more.
            {
                "TransformJobSummaries": [
                    job_summary("hourly-001"),
                    job_summary("hourly-002", status="Completed"),
                ]
            },
            {"MaxResults": 100, "StatusEquals": "InProgress", "NextToken": "jobs-2"},
        )

        names = list_transform_job_names(offline_clients, "in-progress")

        stub.assert_no_pending_responses()
    assert names == [f"nightly-{n:03d}" for n in range(100)] + ["hourly-001"]


def test_list_transform_jobs_all_sends_no_status_filter(offline_clients: AwsClients):
    sagemaker = offline_clients.client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_transform_jobs",
            {
                "TransformJobSummaries": [job_summary("a", "Completed"), job_summary("b", "Failed")],
                "NextToken": "n",
            },
            {"MaxResults": 100},
        )
        stub.add_response(
            "list_transform_jobs",
            {"TransformJobSummaries": [job_summary("c", "Stopped")]},
            {"MaxResults": 100, "NextToken": "n"},
        )
        assert list_transform_job_names(offline_clients, "all") == ["a", "b", "c"]
        stub.assert_no_pending_responses()
    # "none" lists nothing at all.
    assert list_transform_job_names(offline_clients, "none") == []


def test_tag_index_follows_pagination_token_to_the_empty_last_token(offline_clients: AwsClients):
    tagging = offline_clients.client("resourcegroupstaggingapi")

    def mapping(n: int) -> dict:
        return {
            "ResourceARN": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m-{n:03d}",
            "Tags": [{"Key": "vpcguard:team", "Value": f"team-{n % 3}"}],
        }

    expected_params = {"ResourceTypeFilters": ["sagemaker:model"], "ResourcesPerPage": TAGGING_PAGE_SIZE}
    with Stubber(tagging) as stub:
        stub.add_response(
            "get_resources",
            {"ResourceTagMappingList": [mapping(n) for n in range(100)], "PaginationToken": "tag-page-2"},
            expected_params,
        )
        stub.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [mapping(n) for n in range(100, 200)],
                "PaginationToken": "tag-page-3",
            },
            {**expected_params, "PaginationToken": "tag-page-2"},
        )
        stub.add_response(
            "get_resources",
            # The Tagging API ends with an empty string, not a missing token.
            {"ResourceTagMappingList": [mapping(200)], "PaginationToken": ""},
            {**expected_params, "PaginationToken": "tag-page-3"},
        )

        index = model_tag_index(offline_clients)

        stub.assert_no_pending_responses()
    assert len(index) == 201
    assert index[f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m-200"] == {"vpcguard:team": "team-2"}


def test_list_subjects_is_the_listing_alone(offline_clients: AwsClients):
    """What the backfill Lambda queues: names only, no describes."""
    sagemaker = offline_clients.client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_models", {"Models": [model_summary("a")], "NextToken": "x"}, {"MaxResults": 100}
        )
        stub.add_response(
            "list_models", {"Models": [model_summary("b")]}, {"MaxResults": 100, "NextToken": "x"}
        )
        stub.add_response(
            "list_transform_jobs",
            {"TransformJobSummaries": [job_summary("j")]},
            {"MaxResults": 100, "StatusEquals": "InProgress"},
        )
        listing = list_subjects(offline_clients)
        stub.assert_no_pending_responses()
    assert listing == AccountListing(models=("a", "b"), transform_jobs=("j",))
    assert listing.total == 3
