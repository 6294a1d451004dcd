"""Throttling during a backfill: every subject is still evaluated, and one whose retries
ran out is an ERROR result, listed in the summary, with exit code 2.

moto never throttles, so a botocore `before-send` handler answers chosen attempts with
the HTTP response AWS sends when it throttles: SageMaker's JSON-protocol
`ThrottlingException` (400) and EC2's query-protocol `RequestLimitExceeded` (503, XML).
A response returned from `before-send` goes through botocore's whole answer path
(botocore/endpoint.py: `_do_get_response` parses it, then `_needs_retry` emits
`needs-retry`), so the adaptive retry mode sees it exactly as a real throttle: backoff,
rate limiting, retry. (A `before-call` short-circuit would skip the retries entirely.)
Few retries keep the tests quick.

One concession to speed: adaptive mode clamps a client throttled before it has a measured
send rate to botocore's floor of 0.5 requests/s (`TokenBucket` min_rate), and recovers as
the measured rate grows; a test makes too few calls for that, so every later call on the
client would wait ~2 s. The `fast_rate_floor` fixture raises that floor to 50/s for these
tests; throttle detection, backoff, retries and the rate limiter are botocore's own.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import bucket

from tests.conftest import result_of
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.aws import AwsClients
from vpcguard.backfill import scan_account
from vpcguard.formats.account import render_account_table
from vpcguard.model import Status

# botocore reads Config(retries={"max_attempts": N}) as N retries after the first attempt
# (client.py sets total_max_attempts = N + 1), so AwsClients(max_attempts=2) tries 3 times.
MAX_RETRIES = 2
ATTEMPTS = MAX_RETRIES + 1


class _Body:
    """The raw stream botocore reads an HTTP body from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any):
        yield self.data


def sagemaker_throttle(url: str) -> AWSResponse:
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "0e2f4c36-throttled"}
    return AWSResponse(url, 400, headers, _Body(body))


def ec2_throttle(url: str) -> AWSResponse:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
        b"<Message>Request limit exceeded.</Message></Error></Errors>"
        b"<RequestID>5d9c7e1a-throttled</RequestID></Response>"
    )
    return AWSResponse(url, 503, {"Content-Type": "text/xml;charset=UTF-8"}, _Body(body))


class Throttle:
    """Answers attempts of one operation with a throttling response.

    `first` attempts of every distinct request (same operation, same body) are throttled
    and later ones go to moto; a request whose body mentions one of `always` is throttled
    on every attempt."""

    def __init__(
        self,
        clients: AwsClients,
        service: str,
        operation: str,
        response: Callable[[str], AWSResponse],
        *,
        first: int = 1,
        always: tuple[str, ...] = (),
    ) -> None:
        self.response, self.first, self.always = response, first, always
        self.attempts: Counter[bytes] = Counter()
        self.throttled = 0
        self.passed = 0
        self._lock = threading.Lock()
        clients.client(service).meta.events.register(f"before-send.{service}.{operation}", self)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        with self._lock:
            self.attempts[body] += 1
            throttle = self.attempts[body] <= self.first or any(a.encode() in body for a in self.always)
            if throttle:
                self.throttled += 1
            else:
                self.passed += 1
        return self.response(request.url) if throttle else None


@pytest.fixture(autouse=True)
def fast_rate_floor(monkeypatch):
    (floor,) = bucket.TokenBucket.__init__.__defaults__
    assert floor == 0.5, "botocore's adaptive rate floor changed; revisit this fixture"
    monkeypatch.setattr(bucket.TokenBucket.__init__, "__defaults__", (50.0,))


@pytest.fixture
def quick_clients(endpoint_url: str) -> AwsClients:
    return AwsClients(region=REGION, endpoint_url=endpoint_url, max_attempts=MAX_RETRIES)


def statuses(report: Any) -> dict[str, Status]:
    return {r.check_id: r.status for r in report.results}


def small_account(builder: Builder) -> tuple[list[str], list[str]]:
    """Four models on one compliant VPC, and two jobs."""
    net = builder.compliant_vpc()
    models = [f"scorer-{n}" for n in range(4)]
    for name in models:
        builder.compliant_model(name, net)
    jobs = ["nightly-0", "nightly-1"]
    builder.transform_job(jobs[0], models[0])
    builder.transform_job(jobs[1], models[1])
    return models, jobs


def test_throttled_describes_are_retried_and_every_subject_is_evaluated(builder: Builder, quick_clients):
    models, jobs = small_account(builder)
    describe_model = Throttle(quick_clients, "sagemaker", "DescribeModel", sagemaker_throttle)
    describe_job = Throttle(quick_clients, "sagemaker", "DescribeTransformJob", sagemaker_throttle)
    subnets = Throttle(quick_clients, "ec2", "DescribeSubnets", ec2_throttle)
    groups = Throttle(quick_clients, "ec2", "DescribeSecurityGroups", ec2_throttle)

    reports = scan_account(quick_clients, jobs="all", max_workers=4)

    assert sorted(r.name for r in reports) == sorted(models + jobs)
    # Throttling changed nothing: each subject has the results of an unthrottled scan.
    unthrottled = AwsClients(region=REGION, endpoint_url=quick_clients.endpoint_url)
    expected = {r.name: statuses(r) for r in scan_account(unthrottled, jobs="all")}
    assert {r.name: statuses(r) for r in reports} == expected
    for report in reports:
        assert Status.ERROR not in {r.status for r in report.results}, report.name
        assert result_of(report, "model_vpc_configured").status == Status.PASS
        assert result_of(report, "sg_self_ingress").status == Status.PASS
    # Every distinct describe was throttled once, then answered by moto on the retry.
    assert describe_model.throttled == len(models) and describe_model.passed == len(models)
    assert describe_job.throttled == len(jobs) and describe_job.passed == len(jobs)
    assert subnets.throttled >= 1 and subnets.passed == subnets.throttled
    assert groups.throttled >= 1 and groups.passed == groups.throttled
    # The call counter counts logical calls, not retries: one describe per subject.
    calls = quick_clients.counter.snapshot()
    assert calls["api.sagemaker:DescribeModel"] == len(models)
    assert calls["api.sagemaker:DescribeTransformJob"] == len(jobs)


def test_a_subject_throttled_past_every_retry_is_an_error_and_the_rest_are_evaluated(
    builder: Builder, quick_clients
):
    models, jobs = small_account(builder)
    throttle = Throttle(
        quick_clients, "sagemaker", "DescribeModel", sagemaker_throttle, first=0, always=('"scorer-3"',)
    )
    job_throttle = Throttle(
        quick_clients,
        "sagemaker",
        "DescribeTransformJob",
        sagemaker_throttle,
        first=0,
        always=('"nightly-1"',),
    )

    reports = {r.name: r for r in scan_account(quick_clients, jobs="all", max_workers=2)}

    assert sorted(reports) == sorted(models + jobs)
    hot = reports["scorer-3"]
    assert [(r.check_id, r.status) for r in hot.results] == [("model_vpc_configured", Status.ERROR)]
    assert hot.results[0].detail == (
        "cannot read model 'scorer-3': throttled on sagemaker:DescribeModel after retries ran out (ThrottlingException)"
    )
    hot_job = reports["nightly-1"]
    assert hot_job.results[0].status == Status.ERROR
    assert "throttled on sagemaker:DescribeTransformJob after retries ran out" in hot_job.results[0].detail
    assert throttle.throttled == ATTEMPTS and job_throttle.throttled == ATTEMPTS
    for name in ("scorer-0", "scorer-1", "scorer-2", "nightly-0"):
        assert all(r.status != Status.ERROR for r in reports[name].results), name
        assert result_of(reports[name], "model_vpc_configured").status == Status.PASS

    summary = render_account_table(list(reports.values()), width=200)
    errors = summary[summary.index("Errors:") :]
    assert errors.startswith("Errors: 2 results on 2 subjects could not be verified")
    assert "model scorer-3: model_vpc_configured: cannot read model 'scorer-3': throttled" in errors
    assert "transform job nightly-1: model_vpc_configured: cannot read transform job 'nightly-1'" in errors


def test_scan_all_exits_2_and_lists_the_subject_whose_retries_ran_out(
    builder: Builder, endpoint_url: str, capsys, monkeypatch
):
    """The CLI end to end: `vpcguard scan --all` with one model throttled on every attempt."""
    models, _ = small_account(builder)

    def throttled_clients(args) -> AwsClients:
        clients = AwsClients(region=args.region, endpoint_url=args.endpoint_url, max_attempts=MAX_RETRIES)
        Throttle(clients, "sagemaker", "DescribeModel", sagemaker_throttle, always=('"scorer-2"',))
        Throttle(clients, "ec2", "DescribeSubnets", ec2_throttle)
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", throttled_clients)
    monkeypatch.setenv("COLUMNS", "250")  # one line per error, whatever the terminal

    code = cli.main(["scan", "--all", "--jobs", "none", "--region", REGION, "--endpoint-url", endpoint_url])
    out, err = capsys.readouterr()

    assert code == 2
    assert "Errors: 1 result on 1 subject could not be verified" in out
    assert (
        "model scorer-2: model_vpc_configured: cannot read model 'scorer-2': throttled on sagemaker:DescribeModel"
        in out
    )
    assert re.search(r"\n4 subjects: \d+ fail, 1 error, 0 fixed, 0 would fix, 0 exempt\n$", out), out[-200:]
    # The other three were evaluated in full; the unread one is counted as the ERROR of the
    # resolution check, under "(no VPC)" since its VpcConfig is unknown.
    assert re.search(r"\nmodel_vpc_configured +0 +0 +0 +1 +0 +3 +0\n", out), out
    assert re.search(r"\nsg_self_ingress +0 +0 +0 +0 +0 +3 +0\n", out), out
    assert re.search(r"\n\(no VPC\) +1 +0 +1 +0\n", out), out
    # stderr: the one error line, no progress bar (not a terminal), no traceback.
    assert err.strip().splitlines() == [
        "vpcguard: cannot read model 'scorer-2': throttled on sagemaker:DescribeModel after retries ran out "
        "(ThrottlingException)"
    ]
    assert len(models) == 4


def test_scan_all_json_reports_the_throttled_subject_as_error(
    builder: Builder, endpoint_url: str, capsys, monkeypatch
):
    small_account(builder)

    def throttled_clients(args) -> AwsClients:
        clients = AwsClients(region=args.region, endpoint_url=args.endpoint_url, max_attempts=2)
        Throttle(clients, "sagemaker", "DescribeModel", sagemaker_throttle, first=0, always=('"scorer-0"',))
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", throttled_clients)

    code = cli.main(
        [
            "scan",
            "--all",
            "--jobs",
            "all",
            "--format",
            "json",
            "--region",
            REGION,
            "--endpoint-url",
            endpoint_url,
        ]
    )
    out, _ = capsys.readouterr()
    document = json.loads(out)

    assert code == 2
    by_name = {s["name"]: s for s in document["subjects"]}
    assert sorted(by_name) == ["nightly-0", "nightly-1", "scorer-0", "scorer-1", "scorer-2", "scorer-3"]
    assert by_name["scorer-0"]["results"][0]["status"] == "ERROR"
    # The job on the throttled model cannot be evaluated either, and says why.
    assert by_name["nightly-0"]["results"][0]["status"] == "ERROR"
    assert "the job's model could not be read" in by_name["nightly-0"]["results"][0]["detail"]
    assert document["summary"]["error"] == 2
