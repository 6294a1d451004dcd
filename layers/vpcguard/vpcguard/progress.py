"""A one-line progress bar for `vpcguard scan --all`, drawn on stderr with the stdlib (the
CLI ships in the Lambda layer: no rich/tqdm). Only for a terminal: a log or a pipe gets
nothing, so `--format json > out.json 2> err.log` stays clean."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

# Redraw at most this often: a backfill finishes thousands of items, a terminal needs ~10 frames/s.
MIN_REDRAW_SECONDS = 0.1
BAR_WIDTH = 30


def wants_progress(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ProgressBar:
    """Callable as a `backfill.Progress`: (step, done, total). Each step gets its own line."""

    def __init__(self, stream: TextIO | None = None, clock=time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.clock = clock
        self._step: str | None = None
        self._last_draw = 0.0
        self._started = 0.0
        self._width = 0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = self.clock()
        if step != self._step:
            self._finish_line()
            self._step, self._started = step, now
        elif done < total and now - self._last_draw < MIN_REDRAW_SECONDS:
            return
        self._last_draw = now
        self._draw(step, done, total, now - self._started)
        if done >= total:
            self._finish_line()

    def _draw(self, step: str, done: int, total: int, elapsed: float) -> None:
        fraction = done / total if total else 1.0
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        rate = f" {done / elapsed:.0f}/s" if elapsed > 0.5 else ""
        line = f"{step:<20} [{bar}] {done}/{total}{rate}"
        columns = shutil.get_terminal_size((100, 24)).columns
        line = line[: max(10, columns - 1)]
        # \r and padding: the new frame overwrites the old one, however long it was.
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def _finish_line(self) -> None:
        if self._step is not None and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._step, self._width = None, 0

    def close(self) -> None:
        self._finish_line()
