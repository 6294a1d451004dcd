"""Plain text for a terminal, a pipe or a file, shared by the table, the catalog and the
account table: colour, the output's width, wrapping, and the summary line (the HTML page and
the CLI's stderr line use that too).

Stdlib only: this ships in the Lambda layer, so no rich/tabulate.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Mapping
from typing import TextIO

from ..model import Status

RESET = "\033[0m"
STATUS_COLOUR = {
    Status.PASS: "\033[32m",  # green
    Status.FAIL: "\033[1;31m",  # bold red
    Status.ERROR: "\033[1;35m",  # bold magenta: not a finding, but nothing was verified
    Status.FIXED: "\033[36m",  # cyan
    Status.WOULD_FIX: "\033[33m",  # yellow
    Status.EXEMPT: "\033[34m",  # blue
    Status.NOT_APPLICABLE: "\033[2m",  # dim
}
BOLD = "\033[1m"

STATUS_WIDTH = max(len(s.value) for s in Status)  # NOT_APPLICABLE
SEVERITY_WIDTH = len("INFORMATIONAL")
MIN_DETAIL_WIDTH = 30
DEFAULT_TERMINAL = (100, 24)


def use_colour(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    stream = stream or sys.stdout
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# A width of NO_WRAP: every line whole, as a pipe, a log or a file wants it.
NO_WRAP = 0


def terminal_width() -> int:
    return shutil.get_terminal_size(DEFAULT_TERMINAL).columns


def output_width(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> int:
    """The terminal's width for a terminal; for anything else NO_WRAP (grep and diff want
    one finding per line), unless COLUMNS is exported: shells set it without exporting it,
    so in a pipe it is someone asking for that width."""
    stream = stream or sys.stdout
    env = os.environ if env is None else env
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        return terminal_width()
    columns = env.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else NO_WRAP


def wrap_words(text: str, width: int, subsequent_indent: str = "") -> list[str]:
    """`text` in lines of at most `width` columns, broken at spaces only: an identifier (a
    subnet id, an ARN, `ec2:CreateNetworkInterface`, `us-east-1a`) is never split, even
    when it is longer than the line. NO_WRAP: one line."""
    if width == NO_WRAP:
        return [text]
    return textwrap.wrap(
        text, width, subsequent_indent=subsequent_indent, break_long_words=False, break_on_hyphens=False
    ) or [text]


def paint(text: str, code: str | None, colour: bool) -> str:
    return f"{code}{text}{RESET}" if colour and code else text


def summary_line(summary: Mapping[str, int]) -> str:
    n = summary.get("subjects", 0)
    return (
        f"{n} subject{'' if n == 1 else 's'}: {summary.get('fail', 0)} fail, "
        f"{summary.get('error', 0)} error, {summary.get('fixed', 0)} fixed, "
        f"{summary.get('would_fix', 0)} would fix, {summary.get('exempt', 0)} exempt"
    )
