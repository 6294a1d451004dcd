"""One Lambda execution environment: the handler's invocations, as the Python runtime runs
them, in a process of its own.

Lambda puts the function's code first on sys.path, then the layers' python/ folders, then
the runtime's own packages; module import happens once (the cold start), then the handler
is called with each event and a context. Like Lambda, the environment stays warm: later
invocations reuse the imported module and whatever it keeps at module level. A separate
process keeps the built copy of the engine (in the layer) from mixing with the editable
install the tests use.

Usage: python lambda_bootstrap.py SPEC_JSON_FILE
SPEC: {"handler", "paths", "function_name", "timeout_seconds", "memory_mb", "region", "account"}
Then one JSON line per invocation on stdin: {"event", "result_file", "stdout_file",
"stderr_file"}. The function's output (file descriptors 1 and 2) goes to that invocation's
files, as Lambda keeps each invocation's log lines apart; when the result file is written,
the bootstrap answers with one line on its original stdout. End of input ends the process.

It also reports what the cold start costs in kind, not in time (timing is `make bench`'s
job), on the first invocation only: the boto3 clients built during the import and during
the invocation, by service, which of the heavy optional packages the import loaded, and how
many objects it froze.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time
import traceback
import uuid


class LambdaContext:
    """What the runtime passes as `context` (the attributes Powertools reads)."""

    def __init__(self, function_name: str, memory_mb: int, timeout_seconds: int, region: str, account: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# Packages the inspect path must not import at init (each was once most of its cold start).
HEAVY_PACKAGES = ("pydantic", "aws_xray_sdk", "slack_sdk")


def count_clients(built: list[str]) -> None:
    """Record the service of every botocore client built in this process (boto3's included:
    it builds them through botocore's Session.create_client)."""
    import botocore.session

    create_client = botocore.session.Session.create_client

    def recording_create_client(self, service_name, *args, **kwargs):
        built.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    botocore.session.Session.create_client = recording_create_client


def main(spec_path: str) -> None:
    with open(spec_path) as handle:
        spec = json.load(handle)
    # Drop this script's folder (sys.path[0]); the function's and layers' folders go first.
    sys.path[:] = list(spec["paths"]) + sys.path[1:]
    module_name, function_name = spec["handler"].rsplit(".", 1)
    clients: list[str] = []
    count_clients(clients)
    # The harness's channel: requests on stdin, one answer line per invocation on the
    # original stdout, which the function's own output never reaches.
    answers = os.fdopen(os.dup(1), "w")
    module = None
    for line in sys.stdin:
        request = json.loads(line)
        with open(request["stdout_file"], "w") as out, open(request["stderr_file"], "w") as err:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            result: dict = {}
            try:
                if module is None:  # the cold start
                    started = time.perf_counter()
                    module = importlib.import_module(module_name)
                    result["init_ms"] = round((time.perf_counter() - started) * 1000, 1)
                    result["module_file"] = module.__file__
                    result["vpcguard_file"] = getattr(sys.modules.get("vpcguard"), "__file__", None)
                    result["clients_at_init"] = list(clients)
                    result["heavy_packages_at_init"] = [
                        name for name in HEAVY_PACKAGES if name in sys.modules
                    ]
                    # Objects the import moved out of the garbage collector's reach (gc.freeze).
                    result["frozen_objects_at_init"] = gc.get_freeze_count()
                context = LambdaContext(
                    spec["function_name"],
                    spec["memory_mb"],
                    spec["timeout_seconds"],
                    spec["region"],
                    spec["account"],
                )
                before = len(clients)
                result["response"] = getattr(module, function_name)(request["event"], context)
                result["clients_in_invocation"] = clients[before:]
            except Exception as exc:  # reported like the runtime's errorType / errorMessage
                result["error"] = {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exc(),
                }
            sys.stdout.flush()
            sys.stderr.flush()
        with open(request["result_file"], "w") as handle:
            json.dump(result, handle, default=str)
        answers.write("done\n")
        answers.flush()


if __name__ == "__main__":
    main(sys.argv[1])
