"""The physical floor of a backfill, for `make bench`: bare boto3 making only the calls no
scanner can avoid (the List pages, then one Describe per subject, on 8 threads), and nothing
else: no VPC facts, no checks, no report. vpcguard's wall time is measured against it.

    python scripts/bench_floor.py --endpoint-url URL [--region R] [--workers 8]

Prints one JSON line: {"subjects": n, "calls": n, "seconds": s}.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    start = time.perf_counter()
    config = Config(max_pool_connections=args.workers * 2, retries={"mode": "adaptive", "max_attempts": 10})
    sagemaker = boto3.session.Session().client(
        "sagemaker", region_name=args.region, endpoint_url=args.endpoint_url, config=config
    )
    calls = 0
    models: list[str] = []
    for page in sagemaker.get_paginator("list_models").paginate(MaxResults=100):
        calls += 1
        models.extend(m["ModelName"] for m in page.get("Models", []))
    jobs: list[str] = []
    for page in sagemaker.get_paginator("list_transform_jobs").paginate(MaxResults=100):
        calls += 1
        jobs.extend(j["TransformJobName"] for j in page.get("TransformJobSummaries", []))

    def describe(item: tuple[str, str]) -> int:
        kind, name = item
        if kind == "model":
            sagemaker.describe_model(ModelName=name)
        else:
            sagemaker.describe_transform_job(TransformJobName=name)
        return 1

    subjects = [("model", n) for n in models] + [("job", n) for n in jobs]
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        calls += sum(pool.map(describe, subjects))
    seconds = time.perf_counter() - start
    print(json.dumps({"subjects": len(subjects), "calls": calls, "seconds": round(seconds, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
