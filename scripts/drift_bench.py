"""`make bench`, drift part: AWS calls to handle change events, and the time from a change
event to the finding on local AWS.

  (e) one change event (a revoked self rule) affecting 5 models: the drift function's calls
      (index query, claims, queueing) and the re-evaluation's (5 subjects in one inspect
      batch: evaluation, fix, audit, index refresh, publishing);
  (f) a burst of 50 changes to one VPC (40 rule changes, routes, the endpoint) affecting the
      same 5 models, handled in batches of 10 as Lambda's poller hands them out;
  (g) event to finding through the deployed shape: PutEvents -> the template's drift rule ->
      drift queue -> built drift function -> re-evaluation queue -> built inspect function ->
      SNS -> a subscriber queue. Both functions start cold (a fresh process each, as the
      pipeline tests run them); the re-evaluation queue's delay is 0 here, so a deployed
      stack adds its coalescing window (DriftCoalesceSeconds, 30 s by default).

The inspect function's Powertools idempotency record (2 DynamoDB calls per record) is the
inspect path's own cost and is not in (e) and (f), which run the library in-process.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.* when run alone

from tests.drift.cloudtrail import change_event
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from tests.pipeline.deployment import INSPECT_FUNCTION, deploy
from vpcguard.aws import AwsClients
from vpcguard.drift.changes import parse_change_event
from vpcguard.drift.coalesce import DriftPlanner
from vpcguard.drift.index import DependencyIndex
from vpcguard.engine import Engine
from vpcguard.events import parse_event
from vpcguard.inspection import Inspector

SUBJECTS = 5
BURST = 50
LAMBDA_BATCH = 10
ONE_EVENT_DRIFT_TARGET = 1 + SUBJECTS + 1  # one query, one claim per subject, one send


def _world(endpoint_url: str) -> tuple[Any, Any, list[str]]:
    stack = deploy(endpoint_url)
    stack.client("sqs").set_queue_attributes(
        QueueUrl=stack.refs["ReevaluationQueue"], Attributes={"DelaySeconds": "0"}
    )
    builder = Builder(endpoint_url)
    net = builder.compliant_vpc()
    names = [f"drift-{i}" for i in range(SUBJECTS)]
    for name in names:
        builder.compliant_model(name, net)
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    engine = Engine(clients, index_sink=DependencyIndex(clients, stack.refs["DependencyIndexTable"]))
    for name in names:
        engine.evaluate_model(name)
    return stack, net, names


def _planner(clients: AwsClients, stack: Any) -> DriftPlanner:
    return DriftPlanner(
        clients=clients,
        index=DependencyIndex(clients, stack.refs["DependencyIndexTable"]),
        queue_url=stack.refs["ReevaluationQueue"],
        window_seconds=30,
    )


def _reevaluate(stack: Any, endpoint_url: str) -> tuple[dict[str, int], int]:
    """Take every queued re-evaluation and run them as one inspect batch (one Inspector)."""
    sqs = stack.client("sqs")
    url = stack.refs["ReevaluationQueue"]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    env = stack.function_environment(INSPECT_FUNCTION)
    inspector = Inspector.from_env(env, clients=clients)
    for body in bodies:
        inspector.inspect(parse_event(body))
    return clients.counter.snapshot(), len(bodies)


def _print_calls(label: str, calls: dict[str, int]) -> int:
    total = sum(calls.values())
    print(f"  {label}: {total} calls ({', '.join(f'{k} {n}' for k, n in sorted(calls.items()))})")
    return total


def one_event(endpoint_url: str, reset: Any) -> tuple[int, int]:
    reset()
    print(f"(e) one change event (a revoked self rule) affecting {SUBJECTS} models")
    stack, net, _ = _world(endpoint_url)
    group = net.security_group_id
    Builder(endpoint_url).ec2.revoke_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    )
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    _planner(clients, stack).handle(parse_change_event(change_event("RevokeSecurityGroupIngress", group)))
    drift = _print_calls("drift function", clients.counter.snapshot())
    calls, evaluated = _reevaluate(stack, endpoint_url)
    reevaluation = _print_calls(
        f"re-evaluation of {evaluated} subjects (one inspect batch, fix included)", calls
    )
    print(f"  total {drift + reevaluation}\n")
    return drift, reevaluation


def burst(endpoint_url: str, reset: Any) -> tuple[int, int, int]:
    reset()
    print(f"(f) a burst of {BURST} changes to one VPC, affecting {SUBJECTS} models")
    stack, net, _ = _world(endpoint_url)
    changes = [("RevokeSecurityGroupIngress", net.security_group_id)] * 20
    changes += [("ModifySecurityGroupRules", net.security_group_id)] * 20
    changes += [("ReplaceRoute", table) for table in net.route_table_ids] * 4
    changes += [("ModifyVpcEndpoint", net.s3_endpoint_id)] * 2
    events = [parse_change_event(change_event(name, resource)) for name, resource in changes]
    total: Counter[str] = Counter()
    pending: dict[str, tuple[int, str]] = {}  # one warm drift instance
    for start in range(0, len(events), LAMBDA_BATCH):  # one planner per Lambda invocation
        clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
        drift = _planner(clients, stack)
        drift.pending = pending
        for event in events[start : start + LAMBDA_BATCH]:
            drift.handle(event)
        total.update(clients.counter.snapshot())
    drift_calls = _print_calls(f"drift function ({len(events) // LAMBDA_BATCH} invocations)", dict(total))
    calls, evaluated = _reevaluate(stack, endpoint_url)
    reevaluation = _print_calls(f"re-evaluations: {evaluated} (one per subject)", calls)
    print(f"  total {drift_calls + reevaluation}\n")
    return drift_calls, reevaluation, evaluated


def event_to_finding(endpoint_url: str, reset: Any) -> float:
    from tests.pipeline.drift_harness import DRIFT_FUNCTION, DriftPipeline
    from tests.pipeline.harness import Pipeline
    from tests.pipeline.runtime import BuiltFunction, ensure_built

    reset()
    print("(g) change event to finding, deployed shape on local AWS (cold functions)")
    ensure_built()
    stack, net, _ = _world(endpoint_url)
    drift = DriftPipeline(Pipeline(stack, BuiltFunction(INSPECT_FUNCTION)), BuiltFunction(DRIFT_FUNCTION))
    group = net.security_group_id
    Builder(endpoint_url).ec2.revoke_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    )
    start = time.perf_counter()
    drift.put_change(change_event("RevokeSecurityGroupIngress", group))
    drift.run_drift()
    queued = time.perf_counter() - start
    drift.run_reevaluations()
    findings = drift.pipeline.findings()
    elapsed = time.perf_counter() - start
    print(
        f"  queued for re-evaluation after {queued:.1f} s (rule, drift queue, cold drift function); "
        f"findings after {elapsed:.1f} s (cold inspect function: 5 evaluations, the fix, 5 publishes)"
    )
    drift.drift_poller.function.retire()
    drift.pipeline.function.retire()
    fixed = sum(1 for f in findings if f.result("sg_self_ingress")["status"] == "FIXED")
    print(
        f"  {len(findings)} findings ({fixed} with the self rule FIXED) {elapsed:.1f} s after the event; "
        f"first message names {json.dumps(findings[0].attributes.get('changed_by'))}\n"
    )
    return elapsed


def drift_rows(endpoint_url: str, reset: Any) -> list[tuple[str, str, str, bool | None]]:
    drift_one, reevaluation_one = one_event(endpoint_url, reset)
    drift_burst, reevaluation_burst, evaluated = burst(endpoint_url, reset)
    seconds = event_to_finding(endpoint_url, reset)
    return [
        (
            f"(e) calls, drift function, 1 change event -> {SUBJECTS} subjects",
            f"{drift_one}",
            f"<= {ONE_EVENT_DRIFT_TARGET}",
            drift_one <= ONE_EVENT_DRIFT_TARGET,
        ),
        (
            f"(e) calls, re-evaluating those {SUBJECTS} (one batch, with the fix)",
            f"{reevaluation_one}",
            "-",
            None,
        ),
        (f"(f) calls, drift function, burst of {BURST} changes", f"{drift_burst}", "-", None),
        (
            f"(f) re-evaluations for the burst ({SUBJECTS} subjects)",
            f"{evaluated}",
            f"== {SUBJECTS}",
            evaluated == SUBJECTS,
        ),
        ("(f) calls, re-evaluating after the burst", f"{reevaluation_burst}", "-", None),
        ("(g) change event to finding, local AWS, cold functions", f"{seconds:.1f} s", "-", None),
    ]


if __name__ == "__main__":
    from bench import MotoProcess

    server = MotoProcess().start()
    try:
        rows = drift_rows(server.endpoint_url, server.reset)
    finally:
        server.stop()
    for row in rows:
        print(row)
