"""`vpcguard`: scan models and transform jobs, preflight a VpcConfig, list the checks.

Exit codes (also in `vpcguard --help`):
  0  nothing at or above --fail-on failed
  1  a FAIL (or, in a dry run, WOULD_FIX: the problem is still there) at or above --fail-on
  2  a usage error, an AWS setup error (no credentials, no region, endpoint unreachable),
     a model or job ARN of another account or region than the credentials', an audit
     record that could not be written (the change was then not made), or any ERROR result
     (something could not be verified, e.g. an unknown model or an
     AccessDenied): one line on stderr, never a traceback.

`scan --all` evaluates every model (and the transform jobs --jobs selects) through one shared
inventory (vpcguard.backfill); a progress bar goes to stderr on a terminal only. A subject
whose reads were throttled past every retry is an ERROR result: listed, and exit code 2.

Preflight without --role-arn: the execution-role check cannot run and is reported as ERROR
("no --role-arn given ..."), but that ERROR alone does not make the exit code 2: leaving the
role out is a choice, not a failure to verify.

Stdlib argparse only: the CLI ships in the same Lambda layer as the engine.

The package, one module per part:
- `parser.py`: argument types, every command's flags, `build_parser`;
- `scan.py`, `preflight.py`, `commands.py` (guardrails, checks): the commands;
- `setup.py`: what the commands share (`CliError`, the clients, settings and engine of a run);
- `emit.py`: formats and files asked for, the reports written, the stderr line, the exit code.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from ..audit import AuditWriteError
from ..aws import AwsSetupError, describe_error
from ..formats import REPORT_FORMATS
from ..formats.writers import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from .emit import render_report, result_filter
from .parser import DEFAULT_LOG_LEVEL, build_parser
from .setup import CliError

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "REPORT_FORMATS",
    "CliError",
    "build_parser",
    "logging_to_stderr",
    "main",
    "render_report",
    "result_filter",
]


class _StderrHandler(logging.StreamHandler):
    """Writes to the sys.stderr of the moment (a test's capture, a redirected stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


@contextmanager
def logging_to_stderr(level: str) -> Iterator[None]:
    """vpcguard's loggers at `level`, to stderr, for one run (then as they were, so a host
    process, e.g. a test session, keeps its own logging). Reports go to stdout or files only.
    botocore's own DEBUG output is not turned on: its request dumps carry session tokens;
    vpcguard logs each AWS call (service:Operation, region) itself instead."""
    logger = logging.getLogger("vpcguard")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("vpcguard: %(levelname)s %(name)s: %(message)s"))
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with logging_to_stderr(getattr(args, "log_level", DEFAULT_LOG_LEVEL)):
            return int(args.handler(args))
    except (CliError, AwsSetupError, AuditWriteError, ValueError) as exc:
        message = str(exc)
    except ClientError as exc:
        message = describe_error(exc)
    except BotoCoreError as exc:  # e.g. ProfileNotFound, a malformed config file
        message = str(exc)
    except KeyboardInterrupt:
        print("vpcguard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("VPCGUARD_DEBUG"):
            raise
        message = f"unexpected {type(exc).__name__}: {exc} (set VPCGUARD_DEBUG=1 for the traceback)"
    print(f"vpcguard: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_ERROR
