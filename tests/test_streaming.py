"""Issue 15: `scan --all` streams. jsonl is one subject per line as evaluated, then the
summary; json is written incrementally (compact unless --pretty); the pool runs a bounded
number of subjects ahead of the writer; reports are dropped once written; VPC facts and
model descriptions are released once no subject needs them. Against local AWS."""

from __future__ import annotations

import gc
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import METADATA_KEYS, SUBJECT_KEYS
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.aws import AwsClients
from vpcguard.backfill import IN_FLIGHT_PER_WORKER, _bounded_map, iter_account, scan_account
from vpcguard.backfill import scan as backfill_scan
from vpcguard.formats.json import JsonlWriter, scan_json_document
from vpcguard.formats.writers import Tally
from vpcguard.inventory import Inventory
from vpcguard.results import SubjectReport

SUMMARY_KEYS = {"subjects", "fail", "fixed", "would_fix", "error", "exempt"}


@pytest.fixture
def aws_args(endpoint_url) -> list[str]:
    return ["--region", REGION, "--endpoint-url", endpoint_url]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def small_account(builder: Builder) -> dict[str, str]:
    """Two VPCs: `good-*` models pass, `lonely` fails sg_self_ingress; one job in VPC a."""
    a, b = builder.compliant_vpc("10.1"), builder.compliant_vpc("10.2")
    lonely_sg = builder.security_group(b.vpc_id, self_ingress=False)
    builder.compliant_model("good-1", a)
    builder.compliant_model("good-2", b)
    builder.compliant_model("lonely", b, security_group_ids=[lonely_sg])
    builder.transform_job("nightly", "good-1", instance_count=2)
    return {"a": a.vpc_id, "b": b.vpc_id}


def test_jsonl_is_one_subject_per_line_then_the_summary(builder, capsys, aws_args):
    small_account(builder)

    code, out, err = run(capsys, "scan", "--all", "--jobs", "all", "--format", "jsonl", *aws_args)

    lines = out.splitlines()
    objects = [json.loads(line) for line in lines]
    assert [set(o) for o in objects[:-1]] == [SUBJECT_KEYS] * 4
    assert [(o["type"], o["name"]) for o in objects[:-1]] == [
        ("model", "good-1"),
        ("model", "good-2"),
        ("model", "lonely"),
        ("transform_job", "nightly"),
    ]
    assert set(objects[-1]) == {"summary", "metadata"} and set(objects[-1]["summary"]) == SUMMARY_KEYS
    assert set(objects[-1]["metadata"]) == METADATA_KEYS
    assert objects[-1]["summary"]["subjects"] == 4 and objects[-1]["summary"]["fail"] == 1
    assert all(
        line == json.dumps(o, separators=(",", ":")) for line, o in zip(lines, objects, strict=True)
    )  # compact
    assert code == 1 and err == ""

    # The same subjects and summary as the JSON document.
    _, doc_text, _ = run(capsys, "scan", "--all", "--jobs", "all", "--format", "json", *aws_args)
    document = json.loads(doc_text)
    assert document["subjects"] == objects[:-1] and document["summary"] == objects[-1]["summary"]


def test_json_is_compact_unless_pretty_and_pretty_is_the_indented_document(builder, capsys, aws_args):
    small_account(builder)

    _, compact, _ = run(capsys, "scan", "--all", "--jobs", "all", "--format", "json", *aws_args)
    _, pretty, _ = run(capsys, "scan", "--all", "--jobs", "all", "--format", "json", "--pretty", *aws_args)

    def untimed(text: str) -> dict:
        document = json.loads(text)
        del document["metadata"]["time"]  # each run's own start
        return document

    assert compact.count("\n") == 1 and untimed(compact) == untimed(pretty)
    assert pretty == json.dumps(json.loads(pretty), indent=2) + "\n"


def test_pretty_json_of_nothing_is_the_indented_empty_document(builder, capsys, aws_args):
    small_account(builder)
    _, out, _ = run(
        capsys, "scan", "--all", "--since", "2999-01-01", "--format", "json", "--pretty", *aws_args
    )
    metadata = json.loads(out)["metadata"]
    assert set(metadata) == METADATA_KEYS
    assert out == json.dumps({**scan_json_document([]), "metadata": metadata}, indent=2) + "\n"


def test_bounded_map_never_runs_more_than_the_window_ahead_of_its_consumer():
    started: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            started.append(n)
        return n

    window = 6
    seen = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        for consumed, value in enumerate(
            _bounded_map(pool, work, range(100), window, "x", 100, None), start=1
        ):
            time.sleep(0.002)  # a slow writer
            with lock:
                ahead = len(started) - consumed
            seen.append(ahead)
            assert value == consumed - 1  # in input order
    assert max(seen) <= window and len(started) == 100


def test_reports_are_dropped_once_written(builder: Builder, clients: AwsClients):
    """With one worker, however many models, only a window's worth of reports is alive
    while jsonl writes: none is kept after it is written."""
    net = builder.compliant_vpc()
    for n in range(24):
        builder.compliant_model(f"m-{n:02d}", net)
    alive: list[int] = []

    class Counting(JsonlWriter):
        def write(self, report: SubjectReport) -> None:
            super().write(report)
            gc.collect()
            alive.append(sum(1 for o in gc.get_objects() if type(o) is SubjectReport))

    writer = Counting(io.StringIO())
    tally = Tally()
    # Everything alive so far (moto's backends, botocore's models) goes to the permanent
    # generation, which collect() and get_objects() skip: each count then walks only what
    # the scan created, not the whole process (45 of the suite's seconds otherwise).
    gc.collect()
    gc.freeze()
    try:
        writer.start()
        for report in iter_account(clients, jobs="none", max_workers=1):
            tally.add(report)
            writer.write(report)
        del report
        writer.finish(tally.summary)
    finally:
        gc.unfreeze()
    assert len(alive) == 24 and tally.summary["subjects"] == 24
    # At most the window in flight, plus the one being written.
    assert max(alive) <= IN_FLIGHT_PER_WORKER * 1 + 2, alive


def test_vpc_facts_are_released_once_no_subject_needs_them_and_never_read_twice(
    builder: Builder, clients: AwsClients, monkeypatch
):
    vpcs = small_account(builder)
    released: list[str] = []
    original = Inventory.release_vpc

    def recording(self: Inventory, vpc_id: str) -> None:
        released.append(vpc_id)
        original(self, vpc_id)

    monkeypatch.setattr(Inventory, "release_vpc", recording)
    order: list[tuple[str, list[str]]] = []
    for report in iter_account(clients, jobs="all", max_workers=2):
        order.append((report.name, list(released)))

    # Nothing while models stream (a later model may be in any VPC); then VPC b, which no
    # job uses, and VPC a once its last subject, the job, is done.
    assert order[-2] == ("lonely", [])
    assert order[-1] == ("nightly", [vpcs["b"], vpcs["a"]])
    calls = clients.counter.snapshot()
    assert calls["ec2:DescribeVpcs"] == 2 and calls["api.sagemaker:DescribeModel"] == 3


def test_model_descriptions_are_dropped_unless_a_job_still_needs_them(builder: Builder, clients: AwsClients):
    small_account(builder)
    held_during: dict[str, set[str]] = {}
    resolvers = []
    original = backfill_scan.SubjectResolver

    class Watching(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            resolvers.append(self)

    backfill_scan.SubjectResolver = Watching  # type: ignore[misc]
    try:
        for report in iter_account(clients, jobs="all", max_workers=1):
            held_during[report.name] = set(resolvers[0]._models)
    finally:
        backfill_scan.SubjectResolver = original  # type: ignore[misc]
    # good-1 is kept for the job "nightly", the others dropped once evaluated; after the
    # job, nothing is held.
    assert held_during["lonely"] == {"good-1"}
    assert resolvers[0]._models == {}


def test_scan_account_is_still_every_report_in_listing_order(builder: Builder, clients: AwsClients):
    small_account(builder)
    names = [r.name for r in scan_account(clients, jobs="all")]
    assert names == ["good-1", "good-2", "lonely", "nightly"]
