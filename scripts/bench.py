"""`make bench`: AWS calls and speed of an evaluation and of a backfill, measured.

Calls are counted by the engine itself (`AwsClients.counter`, botocore `before-call`
hooks), the same counter production uses. moto's server runs in a child process so that
the timings and memory figures are vpcguard's own, not the fake AWS's.

  (a) one transform job, nothing cached                       target: at most 18 calls
  (b) 200 models over 5 VPCs, calls per model beyond listing  target: at most 1.3
  (c) 1,000 models over 10 VPCs plus 200 transform jobs:
      calls per subject beyond listing                        target: at most 1.2
      subjects per second, and the ratio to a naive evaluation (a fresh inventory and
      resolver per subject, so VPC facts are re-read every time), measured on a sample
      and extrapolated per subject; peak memory.
  (e) `vpcguard scan --all --jobs all` as a user runs it (a subprocess, output to a file)
      beside the floor (scripts/bench_floor.py: bare boto3, the List pages and one
      describe per subject, 8 threads), at 1,000 models / 10 VPCs + 200 jobs and at
      5,000 models / 50 VPCs + 1,000 jobs:
      wall time / the floor's                                 target: at most 1.15
      peak RSS of the CLI process with --format jsonl, 5,000  target: at most 120 MB
      peak RSS growth from 1,000 to 5,000                     target: at most 15%
  (g) an organization scan: 3 accounts x 2 regions, 1,000 models in all:
      calls per subject beyond listing (target: at most 1.2) plus one AssumeRole per account
      and region at most; wall time against a one-account scan of the same subjects.
      (`python scripts/bench.py g` runs this part alone.)

  (f) drift: calls to handle a change event affecting 5 subjects and a burst of 50
      changes, and the time from a change event to the finding (scripts/drift_bench.py).

Run from the repository root: `python scripts/bench.py [a|b|c|d|e|f|g ...]` runs only the
named sections (all by default). Exit code 1 when a target is missed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

IMPORT_RATIO_TARGET = 1.5
SIZE_TARGET_MB = 15

ROOT = Path(__file__).resolve().parent.parent

from tests.localaws.builders import Builder  # noqa: E402
from tests.localaws.population import build_population  # noqa: E402
from tests.localaws.server import REGION, fake_credentials, free_port  # noqa: E402
from vpcguard.aws import AwsClients  # noqa: E402
from vpcguard.backfill import listing_calls, scan_account  # noqa: E402
from vpcguard.engine import Engine  # noqa: E402
from vpcguard.inventory import Inventory  # noqa: E402
from vpcguard.results import SubjectReport  # noqa: E402
from vpcguard.subjects import SubjectResolver  # noqa: E402

WORKERS = 8
NAIVE_SAMPLE = 50

ONE_JOB_TARGET = 18
PER_MODEL_TARGET = 1.3
PER_SUBJECT_TARGET = 1.2
FLOOR_RATIO_TARGET = 1.15
RSS_TARGET_MB = 120
RSS_GROWTH_TARGET = 0.15
# (e)'s worlds: (models, VPCs, jobs).
STREAMING_WORLDS = ((1000, 10, 200), (5000, 50, 1000))
ORG_ACCOUNTS = ("222222222222", "333333333333")  # with the hub's own: 3 accounts
ORG_REGIONS = (REGION, "us-west-2")
ORG_MODELS = 1000
ORG_VPCS_PER_TARGET = 2


class MotoProcess:
    """moto's server in a child process on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoProcess:
        fake_credentials()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1).read()
                return self
            except OSError:
                if self._proc.poll() is not None:
                    raise SystemExit("moto's server exited at start") from None
                time.sleep(0.2)
        self.stop()
        raise SystemExit("moto's server did not start within 30 s")

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def fresh_clients(endpoint_url: str) -> AwsClients:
    return AwsClients(region=REGION, endpoint_url=endpoint_url)


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = fn()
    print(f"  {label}: {time.perf_counter() - start:.1f} s")
    return value


# --- (a) one transform job ------------------------------------------------------------------


def one_job(server: MotoProcess) -> dict[str, int]:
    print("(a) one transform job: role with one inline policy, two buckets, nothing cached")
    builder = Builder(server.endpoint_url)
    net = builder.compliant_vpc()
    builder.compliant_model("bench-scorer", net)
    builder.transform_job("bench-nightly", "bench-scorer", instance_count=2)

    clients = fresh_clients(server.endpoint_url)
    report = Engine(clients).evaluate_transform_job("bench-nightly")
    calls = clients.counter.snapshot()
    failing = [r.check_id for r in report.results if r.status.value not in ("PASS", "NOT_APPLICABLE")]
    print(
        f"  evaluated {report.name}: {len(report.results)} results; not passing: {', '.join(failing) or 'none'}"
    )
    print(f"  {'service':<16}{'operation':<34}{'calls':>6}")
    for key in sorted(calls):
        service, operation = key.split(":", 1)
        print(f"  {service:<16}{operation:<34}{calls[key]:>6}")
    for service, n in sorted(clients.counter.by_service().items()):
        print(f"  {'':<16}{'total ' + service:<34}{n:>6}")
    print(f"  {'':<16}{'TOTAL':<34}{clients.counter.total:>6}   (target: at most {ONE_JOB_TARGET})\n")
    return calls


# --- (b) and (c) backfills -----------------------------------------------------------------


def backfill(server: MotoProcess, jobs: str) -> tuple[list[SubjectReport], dict[str, int], float]:
    clients = fresh_clients(server.endpoint_url)
    start = time.perf_counter()
    reports = scan_account(clients, jobs=jobs, max_workers=WORKERS)  # type: ignore[arg-type]
    return reports, clients.counter.snapshot(), time.perf_counter() - start


def print_calls(calls: dict[str, int], subjects: int) -> float:
    """Prints where the calls went; returns calls per subject beyond the listing calls."""
    total = sum(calls.values())
    listing = listing_calls(calls)
    describes = sum(n for k, n in calls.items() if k.startswith("api.sagemaker:Describe"))
    shared = {
        k: n for k, n in calls.items() if not k.startswith("api.sagemaker:") and k != "tagging:GetResources"
    }
    print(
        f"  calls: {total} in all; {listing} listing (ListModels, ListTransformJobs, GetResources); "
        f"{describes} describes; {sum(shared.values())} shared reads"
    )
    print("  shared reads: " + ", ".join(f"{k} {n}" for k, n in sorted(shared.items())))
    return (total - listing) / subjects


def naive(server: MotoProcess, reports: list[SubjectReport]) -> tuple[float, float, int]:
    """A fresh inventory and resolver per subject (VPC, role, bucket facts and the model's
    tags re-read for each), on an even sample; returns calls per subject, seconds per
    subject (same thread pool) and the sample size."""
    models = [r for r in reports if r.type == "model"]
    jobs = [r for r in reports if r.type == "transform_job"]
    n_jobs = round(NAIVE_SAMPLE * len(jobs) / len(reports))
    n_models = NAIVE_SAMPLE - n_jobs
    sample = (
        models[:: max(len(models) // n_models, 1)][:n_models]
        + jobs[:: max(len(jobs) // max(n_jobs, 1), 1)][:n_jobs]
    )
    clients = fresh_clients(server.endpoint_url)

    def evaluate(report: SubjectReport) -> SubjectReport:
        engine = Engine(clients, inventory=Inventory(clients), resolver=SubjectResolver(clients))
        if report.type == "model":
            return engine.evaluate_model(report.name)
        return engine.evaluate_transform_job(report.name)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(evaluate, sample))
    elapsed = time.perf_counter() - start
    return clients.counter.total / len(sample), elapsed / len(sample), len(sample)


def peak_memory(server: MotoProcess) -> float:
    """Peak Python heap during a second, identical backfill, in MiB (tracemalloc slows
    the run, so it is not the timed one)."""
    tracemalloc.start()
    try:
        backfill(server, "all")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


# --- (e) the CLI beside the floor -------------------------------------------------------------


def run_child(argv: list[str], stdout_path: Path) -> tuple[float, float, str]:
    """Runs argv with stdout to a file; returns (wall seconds, peak RSS in MiB of that
    process alone, stderr, whose last line is `cpu_s=<user+system seconds>`). The RSS comes from /usr/bin/time, not from this process's
    wait4: a child forked from the bench inherits the bench's high-water mark (Linux keeps
    the pre-exec figure), so neither moto's nor the bench's memory may leak into it."""
    start = time.perf_counter()
    with open(stdout_path, "wb") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "maxrss_kib=%M\ncpu_s=%U+%S", *argv], stdout=out, stderr=subprocess.PIPE
        )
    seconds = time.perf_counter() - start
    err = proc.stderr.decode(errors="replace")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv[:6])} ... exited {proc.returncode}: {err.strip()[-500:]}")
    rss_lines = [line for line in err.splitlines() if line.startswith("maxrss_kib=")]
    return seconds, int(rss_lines[-1].split("=", 1)[1]) / 1024, err


def cpu_seconds(err: str) -> float:
    line = [x for x in err.splitlines() if x.startswith("cpu_s=")][-1]
    user, system = line.split("=", 1)[1].split("+")
    return float(user) + float(system)


def cli_format() -> str:
    """jsonl where this vpcguard has it; json before it (the `before` figures of issue 15)."""
    from vpcguard import cli

    formats = getattr(cli, "REPORT_FORMATS", ())
    return "jsonl" if "jsonl" in formats else "json"


def streaming(server: MotoProcess) -> list[tuple[str, str, str, bool | None]]:
    fmt = cli_format()
    print(
        f"(e) `vpcguard scan --all --jobs all --format {fmt}` (a subprocess) beside the floor, same world, "
        f"{WORKERS} threads each"
    )
    aws = ["--region", REGION, "--endpoint-url", server.endpoint_url]
    out_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    rows: list[tuple[str, str, str, bool | None]] = []
    rss: dict[int, float] = {}
    for models, vpcs, jobs in STREAMING_WORLDS:
        server.reset()
        builder = Builder(server.endpoint_url)
        print(f"  {models:,} models over {vpcs} VPCs + {jobs:,} jobs")
        timed(
            "built",
            lambda b=builder, m=models, v=vpcs, j=jobs: build_population(
                b, models=m, vpcs=v, jobs=j, workers=WORKERS, prefix="e"
            ),
        )
        floor_s, floor_rss, floor_err = run_child(
            [
                sys.executable,
                str(ROOT / "scripts" / "bench_floor.py"),
                "--endpoint-url",
                server.endpoint_url,
                "--region",
                REGION,
                "--workers",
                str(WORKERS),
            ],
            out_dir / "vpcguard-bench-floor.json",
        )
        floor = json.loads((out_dir / "vpcguard-bench-floor.json").read_text())
        report = out_dir / f"vpcguard-bench-{models}.{fmt}"
        cli_s, cli_rss, cli_err = run_child(
            [
                sys.executable,
                "-m",
                "vpcguard",
                "scan",
                "--all",
                "--jobs",
                "all",
                "--format",
                fmt,
                "--max-workers",
                str(WORKERS),
                *aws,
            ],
            report,
        )
        size = report.stat().st_size / 2**20
        ratio = cli_s / floor_s
        floor_cpu, cli_cpu = cpu_seconds(floor_err), cpu_seconds(cli_err)
        rss[models] = cli_rss
        print(
            f"  floor: {floor['subjects']} subjects, {floor['calls']} calls, {floor_s:.2f} s, {floor_rss:.0f} MiB; "
            f"vpcguard: {cli_s:.2f} s, {cli_rss:.0f} MiB peak RSS, {size:.1f} MiB of {fmt}; "
            f"ratio {ratio:.2f}; CPU seconds (user+system) floor {floor_cpu:.1f}, vpcguard {cli_cpu:.1f}"
        )
        rows.append(
            (
                f"(e) wall time / floor, {models:,} models + {jobs:,} jobs",
                f"{ratio:.2f}",
                f"<= {FLOOR_RATIO_TARGET}",
                ratio <= FLOOR_RATIO_TARGET,
            )
        )
        rows.append(
            (f"(e) vpcguard / floor seconds, {models:,} models", f"{cli_s:.1f}/{floor_s:.1f}", "-", None)
        )
        rows.append(
            (
                f"(e) vpcguard / floor CPU seconds, {models:,} models",
                f"{cli_cpu:.1f}/{floor_cpu:.1f}",
                "-",
                None,
            )
        )
        rows.append(
            (
                f"(e) peak RSS, --format {fmt}, {models:,} models (floor {floor_rss:.0f})",
                f"{cli_rss:.0f} MiB",
                f"<= {RSS_TARGET_MB}" if models == 5000 else "-",
                cli_rss <= RSS_TARGET_MB if models == 5000 else None,
            )
        )
        report.unlink()
    small, large = rss[STREAMING_WORLDS[0][0]], rss[STREAMING_WORLDS[-1][0]]
    growth = large / small - 1
    rows.append(
        (
            "(e) peak RSS growth, 1,000 -> 5,000 models",
            f"{growth:+.0%}",
            f"<= {RSS_GROWTH_TARGET:.0%}",
            growth <= RSS_GROWTH_TARGET,
        )
    )
    print()
    return rows


def footprint_rows() -> list[tuple[str, str, str, bool | None]]:
    """Issue 4's two figures, from the `sam build` output (scripts/inspect_footprint.py):
    cold import of the inspect handler in a lean python3.11 vs `import boto3`, and size."""
    from inspect_footprint import FLOOR_BUDGET, FLOOR_CLIENTS, RUNS, measure

    from tests.pipeline.runtime import ensure_built

    print(f"(d) the inspect function as deployed (lean python3.11, CPU time, {RUNS} fresh processes each)")
    ensure_built()
    figures = measure()
    print(
        f"  medians: import boto3 {figures['import_boto3_ms']} ms; import of the inspect handler "
        f"{figures['import_inspect_handler_ms']} ms; with the X-Ray SDK on "
        f"{figures['import_inspect_handler_xray_sdk_ms']} ms; import plus what the first record sets up "
        f"(its boto3 clients and the check modules) {figures['import_and_first_record_setup_ms']} ms; "
        f"floor (import boto3 and build {', '.join(FLOOR_CLIENTS)}) {figures['floor_boto3_and_clients_ms']} ms\n"
    )
    floor_ratio = figures["cold_start_vs_floor_ratio"]
    ratio, size = figures["cold_import_ratio"], figures["built_total_mb"]
    return [
        (
            "(d) cold import of the inspect handler / import boto3",
            f"{ratio:.2f}x",
            f"<= {IMPORT_RATIO_TARGET}",
            ratio <= IMPORT_RATIO_TARGET,
        ),
        (
            "(d) same, plus the first record's clients and checks",
            f"{figures['first_record_setup_ratio']:.2f}x",
            "-",
            None,
        ),
        (
            "(d) cold start (import + first record's set-up) / floor (boto3 + its clients)",
            f"{floor_ratio:.2f}x",
            f"<= {FLOOR_BUDGET}",
            floor_ratio <= FLOOR_BUDGET,
        ),
        (
            "(d) built size, function + layer, unzipped",
            f"{size:.2f} MB",
            f"< {SIZE_TARGET_MB}",
            size < SIZE_TARGET_MB,
        ),
    ]


# --- (g) an organization scan ---------------------------------------------------------------


def organization_scan(server: MotoProcess) -> list[tuple[str, str, str, bool | None]]:
    from vpcguard.accounts import AccountSessions, Target
    from vpcguard.org import scan_targets

    hub = "123456789012"
    targets = [Target(a, r) for a in (hub, *ORG_ACCOUNTS) for r in ORG_REGIONS]
    per_target = [
        ORG_MODELS // len(targets) + (1 if i < ORG_MODELS % len(targets) else 0) for i in range(len(targets))
    ]
    print(
        f"(g) organization scan: {len(targets) // len(ORG_REGIONS)} accounts x {len(ORG_REGIONS)} regions, "
        f"{ORG_MODELS} models in all ({ORG_VPCS_PER_TARGET} VPCs per account and region)"
    )

    def build_org() -> None:
        for n, (target, models) in enumerate(zip(targets, per_target, strict=True)):
            builder = Builder(
                server.endpoint_url,
                region=target.region,
                account=None if target.account == hub else target.account,
            )
            builder._counter = 1000 * n  # IAM names are per account, not per region
            build_population(
                builder, models=models, vpcs=ORG_VPCS_PER_TARGET, workers=WORKERS, prefix=f"d{n}"
            )

    timed("built", build_org)
    sessions = AccountSessions(fresh_clients(server.endpoint_url))
    start = time.perf_counter()
    scan = scan_targets(
        sessions, targets, lambda clients, _: scan_account(clients, jobs="none", max_workers=WORKERS)
    )
    org_seconds = time.perf_counter() - start
    calls = sessions.counter.snapshot()
    subjects = len(scan.reports)
    assumes = calls.get("sts:AssumeRole", 0)
    identity = calls.get("sts:GetCallerIdentity", 0)
    listing = listing_calls(calls)
    per_subject = (sum(calls.values()) - listing - assumes - identity) / subjects
    print_calls(calls, subjects)
    print(
        f"  {subjects} subjects over {len(scan.scanned)} targets ({len(scan.failures)} failed) in {org_seconds:.1f} s; "
        f"{per_subject:.3f} calls per subject beyond listing; {assumes} AssumeRole, {identity} GetCallerIdentity"
    )

    server.reset()
    builder = Builder(server.endpoint_url)
    timed(
        "one account, same subjects: built",
        lambda: build_population(
            builder, models=ORG_MODELS, vpcs=ORG_VPCS_PER_TARGET * len(targets), workers=WORKERS, prefix="d1"
        ),
    )
    one_reports, one_calls, one_seconds = backfill(server, "none")
    one_per_subject = print_calls(one_calls, len(one_reports))
    print(
        f"  one account: {len(one_reports)} subjects in {one_seconds:.1f} s; {one_per_subject:.3f} calls per "
        f"subject beyond listing; the organization scan took {org_seconds / one_seconds:.2f}x as long\n"
    )
    return [
        (
            f"(g) org scan calls per subject beyond listing, {len(targets)} account-regions / {subjects} models",
            f"{per_subject:.3f}",
            f"<= {PER_SUBJECT_TARGET}",
            per_subject <= PER_SUBJECT_TARGET and subjects == ORG_MODELS,
        ),
        (
            "(g) org scan AssumeRole calls (at most one per account-region)",
            f"{assumes}",
            f"<= {len(targets)}",
            assumes <= len(targets),
        ),
        ("(g) org scan wall time", f"{org_seconds:.1f} s", "-", None),
        ("(g) one-account scan of the same subjects, wall time", f"{one_seconds:.1f} s", "-", None),
        ("(g) one-account scan calls per subject beyond listing", f"{one_per_subject:.3f}", "-", None),
    ]


def print_rows(rows: list[tuple[str, str, str, bool | None]]) -> int:
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>10}  {'target':>7}  ok")
    print("-" * (width + 26))
    for label, value, target, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{label:<{width}}  {value:>10}  {target:>7}  {mark}")
    missed = [r[0] for r in rows if r[3] is False]
    if missed:
        print("\nTargets missed: " + "; ".join(missed))
        return 1
    return 0


def main(sections: set[str]) -> int:
    print(f"vpcguard bench: moto in a child process, {WORKERS} worker threads\n")
    server = MotoProcess().start()
    rows: list[tuple[str, str, str, bool | None]] = []
    try:
        if sections & {"a", "b", "c"}:
            rows += budget_rows(server, sections)
        if "e" in sections:
            rows += streaming(server)
        if "f" in sections:
            from drift_bench import drift_rows  # scripts/ is this script's own folder

            rows += drift_rows(server.endpoint_url, server.reset)
        if "g" in sections:
            server.reset()
            rows += organization_scan(server)
    finally:
        server.stop()

    if "d" in sections:
        rows += footprint_rows()
    return print_rows(rows)


def budget_rows(server: MotoProcess, sections: set[str]) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    if "a" in sections:
        calls_a = one_job(server)
        total_a = sum(calls_a.values())
        rows.append(
            (
                "(a) AWS calls, one transform job (nothing cached)",
                f"{total_a}",
                f"<= {ONE_JOB_TARGET}",
                total_a <= ONE_JOB_TARGET,
            )
        )

    if "b" in sections:
        server.reset()
        print("(b) 200 models over 5 VPCs")
        builder = Builder(server.endpoint_url)
        timed("built", lambda: build_population(builder, models=200, vpcs=5, workers=WORKERS, prefix="b"))
        reports_b, calls_b, seconds_b = backfill(server, "none")
        per_model = print_calls(calls_b, len(reports_b))
        print(
            f"  {len(reports_b)} models in {seconds_b:.1f} s; {per_model:.3f} calls per model beyond listing\n"
        )
        rows.append(
            (
                "(b) calls per model beyond listing, 200 models / 5 VPCs",
                f"{per_model:.3f}",
                f"<= {PER_MODEL_TARGET}",
                per_model <= PER_MODEL_TARGET,
            )
        )

    if "c" in sections:
        server.reset()
        print("(c) 1,000 models over 10 VPCs plus 200 transform jobs")
        builder = Builder(server.endpoint_url)
        timed(
            "built",
            lambda: build_population(builder, models=1000, vpcs=10, jobs=200, workers=WORKERS, prefix="c"),
        )
        reports_c, calls_c, seconds_c = backfill(server, "all")
        subjects = len(reports_c)
        per_subject = print_calls(calls_c, subjects)
        rate = subjects / seconds_c
        print(
            f"  {subjects} subjects in {seconds_c:.1f} s = {rate:.0f} subjects/s; "
            f"{per_subject:.3f} calls per subject beyond listing"
        )
        naive_calls, naive_seconds, sample = naive(server, reports_c)
        naive_rate = 1 / naive_seconds
        print(
            f"  naive (fresh inventory + resolver per subject), measured on {sample} subjects and "
            f"extrapolated per subject: {naive_calls:.1f} calls/subject, {naive_rate:.0f} subjects/s "
            f"(~{subjects * naive_seconds:.0f} s and ~{naive_calls * subjects:.0f} calls for all {subjects})"
        )
        peak = peak_memory(server)
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(
            f"  peak memory: {peak:.1f} MiB Python heap during the backfill (tracemalloc); "
            f"{maxrss:.0f} MiB max RSS of the bench process\n"
        )
        rows += [
            (
                "(c) calls per subject beyond listing, 1,000 models / 10 VPCs + 200 jobs",
                f"{per_subject:.3f}",
                f"<= {PER_SUBJECT_TARGET}",
                per_subject <= PER_SUBJECT_TARGET,
            ),
            ("(c) subjects per second (shared inventory)", f"{rate:.0f}", "-", None),
            (
                f"(c) naive subjects per second (sample of {sample}, extrapolated)",
                f"{naive_rate:.0f}",
                "-",
                None,
            ),
            ("(c) speed ratio shared / naive", f"{rate / naive_rate:.1f}x", "-", None),
            (
                "(c) calls ratio naive / shared",
                f"{naive_calls / (sum(calls_c.values()) / subjects):.1f}x",
                "-",
                None,
            ),
            ("(c) peak memory, backfill (tracemalloc)", f"{peak:.1f} MiB", "-", None),
            ("(c) max RSS, bench process", f"{maxrss:.0f} MiB", "-", None),
        ]
    return rows


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main(set(sys.argv[1:]) or {"a", "b", "c", "d", "e", "f", "g"}))
