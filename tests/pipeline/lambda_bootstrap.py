"""Run one handler invocation as the Lambda Python runtime does, in its own process.

Lambda puts the function's code first on sys.path, then the layers' python/ folders, then
the runtime's own packages; module import happens once (the cold start), then the handler
is called with the event and a context. A separate process keeps the built copy of the
engine (in the layer) from mixing with the editable install the tests use.

Usage: python lambda_bootstrap.py SPEC_JSON_FILE
SPEC: {"handler", "paths", "event", "result_file", "function_name", "timeout_seconds", "memory_mb"}
"""

from __future__ import annotations

import importlib
import json
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


def main(spec_path: str) -> None:
    with open(spec_path) as handle:
        spec = json.load(handle)
    # Drop this script's folder (sys.path[0]); the function's and layers' folders go first.
    sys.path[:] = list(spec["paths"]) + sys.path[1:]
    module_name, function_name = spec["handler"].rsplit(".", 1)
    started = time.perf_counter()
    result: dict = {}
    try:
        module = importlib.import_module(module_name)
        result["init_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["module_file"] = module.__file__
        result["vpcguard_file"] = getattr(sys.modules.get("vpcguard"), "__file__", None)
        context = LambdaContext(
            spec["function_name"], spec["memory_mb"], spec["timeout_seconds"], spec["region"], spec["account"]
        )
        result["response"] = getattr(module, function_name)(spec["event"], context)
    except Exception as exc:  # reported like the runtime's errorType / errorMessage
        result["error"] = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exc(),
        }
    with open(spec["result_file"], "w") as handle:
        json.dump(result, handle, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
