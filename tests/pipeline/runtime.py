"""Run the built inspect function against local AWS, fed the way Lambda's SQS poller feeds it.

- `ensure_built()`: the `sam build` output must match the sources (else `sam build --cached`
  and `make bytecode` are run, as `make sam` does), so the tests never run a stale copy.
- `BuiltFunction`: the handler and layers from .aws-sam/build, run in an execution
  environment of its own (lambda_bootstrap.py: a process that imports the handler at its
  first invocation and stays warm for the next ones, as Lambda reuses an environment).
  `retire()` ends the environments, at the end of each test, so no test meets another's
  warm state. Powertools, which the stack takes from AWS's managed layer, comes from the
  dev environment (pinned to the same version).
- `QueuePoller`: receive a batch from the work queue, build a real SQS event, invoke, then
  do what Lambda does with the response: delete the records that succeeded and leave the
  ones in `batchItemFailures` to come back (here at once, instead of after the visibility
  timeout), so the queue's redrive policy decides when one goes to the DLQ.
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import os
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.localaws.server import ACCOUNT, REGION

from .cfn import ROOT, TEMPLATE, load_template

BUILD_DIR = ROOT / ".aws-sam" / "build"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")

# (source folder, built folder) pairs whose .py files must be identical.
_BUILT_COPIES = (
    (ROOT / "functions" / "inspect", BUILD_DIR / "InspectFunction"),
    (ROOT / "functions" / "drift", BUILD_DIR / "DriftFunction"),
    (ROOT / "layers" / "vpcguard" / "vpcguard", BUILD_DIR / "VpcguardLayer" / "python" / "vpcguard"),
)


def stale_build_reason() -> str | None:
    """Why .aws-sam/build does not match the sources, or None when it does."""
    built_template = BUILD_DIR / "template.yaml"
    if not built_template.exists():
        return "no sam build output"
    if TEMPLATE.stat().st_mtime > built_template.stat().st_mtime:
        return "template.yaml changed since the last build"
    for source, built in _BUILT_COPIES:
        for path in source.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            copy = built / path.relative_to(source)
            if not copy.exists() or not filecmp.cmp(path, copy, shallow=False):
                return f"{path.relative_to(ROOT)} differs from its built copy"
    return None


def ensure_built() -> None:
    BUILD_DIR.parent.mkdir(exist_ok=True)
    # Two test runs at once must not rebuild the same folder at once.
    with open(BUILD_DIR.parent / ".build-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_if_stale()


def _build_if_stale() -> None:
    reason = stale_build_reason()
    if reason is None:
        return
    if not SAM.exists():
        raise RuntimeError(f"{reason}: run `make sam` (needs .venv-sam) before the pipeline tests")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(SAM), "build", "--cached"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed ({reason}):\n{done.stdout}\n{done.stderr}")
    # The same bytecode step as `make sam`, so what runs here is what `make sam` ships.
    subprocess.run(["make", "--no-print-directory", "bytecode"], cwd=ROOT, check=True, capture_output=True)


@dataclass
class Invocation:
    response: Any = None
    error: dict[str, Any] | None = None
    init_ms: float | None = None
    module_file: str | None = None
    vpcguard_file: str | None = None
    clients_at_init: list[str] = field(default_factory=list)
    clients_in_invocation: list[str] = field(default_factory=list)
    heavy_packages_at_init: list[str] = field(default_factory=list)
    frozen_objects_at_init: int = 0
    stdout: str = ""
    stderr: str = ""

    @property
    def failed_ids(self) -> list[str]:
        return [item["itemIdentifier"] for item in (self.response or {}).get("batchItemFailures", [])]

    def log_lines(self) -> list[dict[str, Any]]:
        """The function's structured log lines (Powertools Logger prints JSON)."""
        out = []
        for line in (self.stdout + "\n" + self.stderr).splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out


class BuiltFunction:
    """A function from .aws-sam/build: its code folder, handler and built layers."""

    def __init__(self, logical_id: str, build_dir: Path = BUILD_DIR):
        built = load_template(build_dir / "template.yaml")
        resources = built["Resources"]
        props = resources[logical_id]["Properties"]
        glob = built.get("Globals", {}).get("Function", {})
        self.logical_id = logical_id
        self.handler = props.get("Handler") or glob["Handler"]
        self.timeout = int(props.get("Timeout") or glob.get("Timeout", 3))
        self.memory = int(props.get("MemorySize") or glob.get("MemorySize", 128))
        self.code_dir = build_dir / props["CodeUri"]
        self.layer_dirs: list[Path] = []
        self._environments: dict[tuple[tuple[str, str], ...], ExecutionEnvironment] = {}
        # Lambda extracts layers in order into /opt, later ones over earlier ones: the last
        # layer's copy of a package wins, so it goes first on the path here.
        for layer in reversed(props.get("Layers") or glob.get("Layers", [])):
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            if ref in resources and resources[ref]["Type"] == "AWS::Serverless::LayerVersion":
                self.layer_dirs.append(build_dir / resources[ref]["Properties"]["ContentUri"] / "python")
            # Other layers (AWS's Powertools layer) come from the dev environment.

    def invoke(self, event: dict[str, Any], environment: dict[str, str]) -> Invocation:
        """One invocation, in the warm environment for these variables (a cold start if
        there is none yet)."""
        key = tuple(sorted(environment.items()))
        if key not in self._environments:
            self._environments[key] = ExecutionEnvironment(self, environment)
        return self._environments[key].invoke(event)

    def retire(self) -> None:
        """End every execution environment (the next invocation is a cold start)."""
        environments, self._environments = self._environments, {}
        for environment in environments.values():
            environment.close()


class ExecutionEnvironment:
    """One warm process of a function: lambda_bootstrap.py, fed one invocation at a time."""

    def __init__(self, function: BuiltFunction, environment: dict[str, str]):
        self.function = function
        self._tmp = tempfile.TemporaryDirectory()
        spec_path = Path(self._tmp.name, "spec.json")
        spec_path.write_text(
            json.dumps(
                {
                    "handler": function.handler,
                    "paths": [str(function.code_dir), *map(str, function.layer_dirs)],
                    "function_name": f"vpcguard-{function.logical_id}",
                    "timeout_seconds": function.timeout,
                    "memory_mb": function.memory,
                    "region": REGION,
                    "account": ACCOUNT,
                }
            )
        )
        self._stderr_path = Path(self._tmp.name, "bootstrap.stderr")
        self._stderr = self._stderr_path.open("w")
        self._process = subprocess.Popen(
            [sys.executable, str(BOOTSTRAP), str(spec_path)],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=function.code_dir,
        )
        self._count = 0

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self._count += 1
        files = {
            name: Path(self._tmp.name, f"{self._count}.{name}") for name in ("result", "stdout", "stderr")
        }
        request = {
            "event": event,
            "result_file": str(files["result"]),
            "stdout_file": str(files["stdout"]),
            "stderr_file": str(files["stderr"]),
        }
        assert self._process.stdin is not None and self._process.stdout is not None
        answer = ""
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            answer = _readline(self._process.stdout, timeout=self.function.timeout + 60)
        except (BrokenPipeError, TimeoutError):
            pass
        if answer != "done\n" or not files["result"].exists():
            self.close()
            stderr = "".join(p.read_text() for p in (files["stderr"], self._stderr_path) if p.exists())
            raise RuntimeError(f"the function process died ({self._process.returncode}):\n{stderr[-4000:]}")
        result = json.loads(files["result"].read_text())
        return Invocation(
            response=result.get("response"),
            error=result.get("error"),
            init_ms=result.get("init_ms"),
            module_file=result.get("module_file"),
            vpcguard_file=result.get("vpcguard_file"),
            clients_at_init=result.get("clients_at_init", []),
            clients_in_invocation=result.get("clients_in_invocation", []),
            heavy_packages_at_init=result.get("heavy_packages_at_init", []),
            frozen_objects_at_init=result.get("frozen_objects_at_init", 0),
            stdout=files["stdout"].read_text(),
            stderr=files["stderr"].read_text(),
        )

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            try:
                self._process.stdin.close()  # end of input: the bootstrap returns
                self._process.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._stderr.close()
        self._tmp.cleanup()


def _readline(stream: Any, timeout: float) -> str:
    """A line from the bootstrap, or TimeoutError if it takes longer than the function's
    timeout allows (plus slack)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError
    return stream.readline()


def lambda_environment(function_env: dict[str, str], endpoint_url: str, function_name: str) -> dict[str, str]:
    """What the Lambda service sets, plus the template's variables, plus the endpoint that
    points every boto3 client (the engine's and Powertools') at local AWS."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        # No X-Ray daemon here; Tracer would otherwise try to emit segments.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        **function_env,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes for a received batch."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


@dataclass
class QueuePoller:
    sqs: Any
    queue_url: str
    queue_arn: str
    function: BuiltFunction
    environment: dict[str, str]
    batch_size: int = 10
    invocations: list[Invocation] = field(default_factory=list)

    def receive(self) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def poll_once(self, messages: list[dict[str, Any]] | None = None) -> Invocation | None:
        messages = self.receive() if messages is None else messages
        if not messages:
            return None
        invocation = self.function.invoke(sqs_event(messages, self.queue_arn), self.environment)
        self.invocations.append(invocation)
        if invocation.error is not None:
            failed = {m["MessageId"] for m in messages}  # a function error fails the whole batch
        else:
            failed = set(invocation.failed_ids)
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return invocation

    def drain(self, max_polls: int = 20) -> list[Invocation]:
        """Poll until the queue is empty (every message deleted or moved to the DLQ)."""
        done = []
        for _ in range(max_polls):
            invocation = self.poll_once()
            if invocation is None:
                return done
            done.append(invocation)
        raise AssertionError(f"{self.queue_url} still has messages after {max_polls} polls")
