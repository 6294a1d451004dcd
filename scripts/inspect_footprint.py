"""Figures for `make bench` (issue 4): the inspect function's cold import time as a ratio to
`import boto3` alone, in a lean environment; the same plus what the first record sets up
(so that what the import leaves to first use is counted somewhere); the built size.

Lean environment = what Lambda's python3.11 runtime gives the function, and nothing else:
the interpreter's standard library (`python3.11 -S`: no site-packages), boto3 (the runtime's
SDK; here the dev pin, installed once under .aws-sam/lean/runtime), AWS's Powertools layer
(the dev pin and its tracer dependencies, under .aws-sam/lean/powertools), then our
`sam build` output: the function folder and the vpcguard layer's python/ folder, first on the
path as Lambda puts them. Each sample is a fresh process timing the import in CPU time; a
ratio is the median, over the runs, of each sample divided by the `import boto3` sample of
the same run.

Usage: .venv/bin/python scripts/inspect_footprint.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
LEAN = ROOT / ".aws-sam" / "lean"
RUNTIME_PYTHON = "python3.11"  # template.yaml's Runtime

RUNS = 11  # fresh processes per statement, after one discarded round
IMPORT_BOTO3 = "import boto3"
IMPORT_HANDLER = "import app"
# The import builds no boto3 client: every client, the idempotency layer's included, is made on
# first use. So that the import figure hides nothing, this one adds what the first evaluated
# record sets up before its first AWS call: the idempotency layer and its DynamoDB client, the
# clients a transform job's evaluation and publishing use, and the check modules.
FIRST_RECORD_SETUP = (
    "import app; app.idempotent_inspect(); "
    "[app.aws_clients().client(s) for s in ('sagemaker', 'ec2', 'iam', 's3', 'sns')]; "
    "from vpcguard.checks import all_checks; all_checks()"
)
# The floor a cold start cannot go below (issue 11's budget: the first record's set-up at
# most 1.3x this): boto3 imported and the clients one evaluated and published record needs
# built, on one session, by nothing but boto3.
FLOOR_CLIENTS = ("sagemaker", "ec2", "iam", "s3", "sts", "sns")
FLOOR = f"import boto3; s = boto3.session.Session(); [s.client(c) for c in {FLOOR_CLIENTS!r}]"
FLOOR_BUDGET = 1.3


def _pip_target(target: Path, *requirements: str, no_deps: bool = False) -> None:
    stamp = target / ".installed"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(target, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), *requirements]
    if no_deps:
        command.append("--no-deps")
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    stamp.write_text(wanted)


def lean_environment() -> list[Path]:
    """Install (once) the runtime's SDK and the Powertools layer stand-ins; return the
    sys.path Lambda would give the function, in order."""
    version = importlib.metadata.version
    _pip_target(LEAN / "runtime", f"boto3=={version('boto3')}")
    # The managed layer ships Powertools with its tracer dependencies, but not botocore.
    _pip_target(
        LEAN / "powertools",
        f"aws-lambda-powertools=={version('aws-lambda-powertools')}",
        f"aws-xray-sdk=={version('aws-xray-sdk')}",
        f"wrapt=={version('wrapt')}",
        f"jmespath=={version('jmespath')}",
        f"typing-extensions=={version('typing-extensions')}",
        no_deps=True,
    )
    return [
        BUILD / "InspectFunction",
        BUILD / "VpcguardLayer" / "python",
        LEAN / "powertools",
        LEAN / "runtime",
    ]


def import_ms(statement: str, path: list[Path], extra_env: dict[str, str] | None = None) -> float:
    """CPU milliseconds the import takes in a fresh process. CPU time, not wall time: on a
    busy machine wall time mostly measures the other processes."""
    code = f"import time; t = time.process_time(); {statement}; print((time.process_time() - t) * 1000)"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        # Lambda's code and layer folders are read-only: no bytecode is written there.
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_LAMBDA_FUNCTION_NAME": "vpcguard-InspectFunction",
        # The template's defaults for the variables read at import.
        "VPCGUARD_IDEMPOTENCY_TABLE": "vpcguard-IdempotencyTable",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "vpcguard",
        **(extra_env or {}),
    }
    done = subprocess.run(
        [RUNTIME_PYTHON, "-S", "-c", code], env=env, capture_output=True, text=True, cwd="/", check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(runs: int = RUNS) -> dict[str, float]:
    path = lean_environment()
    boto3_ms, handler_ms, traced_ms, setup_ms, floor_ms = [], [], [], [], []
    # One discarded round first: right after other work (make bench's moto runs) the first
    # imports pay for refilling the file cache, which is not what a cold start measures.
    for statement in (IMPORT_BOTO3, IMPORT_HANDLER, FIRST_RECORD_SETUP, FLOOR):
        import_ms(statement, path)
    for _ in range(runs):  # interleaved, so load on the machine hits all alike
        boto3_ms.append(import_ms(IMPORT_BOTO3, path))
        handler_ms.append(import_ms(IMPORT_HANDLER, path))
        traced_ms.append(import_ms(IMPORT_HANDLER, path, {"POWERTOOLS_TRACE_DISABLED": "false"}))
        setup_ms.append(import_ms(FIRST_RECORD_SETUP, path))
        floor_ms.append(import_ms(FLOOR, path))
    boto3_median = statistics.median(boto3_ms)

    def ratio(samples: list[float], base: list[float] = boto3_ms) -> float:
        # Each sample against the base measured next to it, then the median: load on the
        # machine that drifts during the run shifts both halves of a pair alike.
        return round(statistics.median(x / b for x, b in zip(samples, base, strict=True)), 2)

    function_bytes = tree_bytes(BUILD / "InspectFunction")
    layer_bytes = tree_bytes(BUILD / "VpcguardLayer")
    return {
        "import_boto3_ms": round(boto3_median, 1),
        "import_inspect_handler_ms": round(statistics.median(handler_ms), 1),
        "cold_import_ratio": ratio(handler_ms),
        "import_inspect_handler_xray_sdk_ms": round(statistics.median(traced_ms), 1),
        "cold_import_ratio_xray_sdk": ratio(traced_ms),
        "import_and_first_record_setup_ms": round(statistics.median(setup_ms), 1),
        "first_record_setup_ratio": ratio(setup_ms),
        "floor_boto3_and_clients_ms": round(statistics.median(floor_ms), 1),
        "cold_start_vs_floor_ratio": ratio(setup_ms, floor_ms),
        "built_function_mb": round(function_bytes / 1e6, 2),
        "built_layer_mb": round(layer_bytes / 1e6, 2),
        "built_total_mb": round((function_bytes + layer_bytes) / 1e6, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.pipeline.runtime import ensure_built

    ensure_built()  # the build must be current (and carry its bytecode, as `make sam` leaves it)
    figures = measure(args.runs)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"cold import, lean python3.11, CPU time (median of {args.runs}):")
    print(f"  import boto3            {figures['import_boto3_ms']:8.1f} ms")
    print(
        f"  import inspect handler  {figures['import_inspect_handler_ms']:8.1f} ms"
        f"  ratio {figures['cold_import_ratio']:.2f} (target <= 1.5)"
    )
    print(
        f"  ... with X-Ray SDK      {figures['import_inspect_handler_xray_sdk_ms']:8.1f} ms"
        f"  ratio {figures['cold_import_ratio_xray_sdk']:.2f} (XRaySdkTracing=true)"
    )
    print(
        f"  ... + first record setup {figures['import_and_first_record_setup_ms']:8.1f} ms"
        f"  ratio {figures['first_record_setup_ratio']:.2f} (clients and checks, before the first AWS call)"
    )
    print(
        f"  floor: boto3 + {len(FLOOR_CLIENTS)} clients {figures['floor_boto3_and_clients_ms']:8.1f} ms"
        f"  cold start / floor {figures['cold_start_vs_floor_ratio']:.2f} (target <= {FLOOR_BUDGET})"
    )
    print(
        f"built size (unzipped): function {figures['built_function_mb']} MB + layer {figures['built_layer_mb']} MB"
        f" = {figures['built_total_mb']} MB (target < 15 MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
