"""The outcome of a run: which formats and files the flags ask for, the reports written
in each (one report at a time), the one stderr error line, and the exit code."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..aws import AwsClients
from ..formats import REPORT_FORMATS, make_writer
from ..formats.sarif import Locate
from ..formats.text import NO_WRAP, output_width, summary_line, use_colour
from ..formats.writers import (
    ErrorFilter,
    ResultFilter,
    Tally,
    Writer,
    write_all,
)
from ..model import Severity
from ..org import OrgScan, document_extra, failures_table, targets_line
from ..progress import wants_progress
from ..results import RunScope, SubjectReport, report_metadata
from .setup import CliError, check_selection

DEFAULT_FAIL_ON = Severity.LOW


# What a report file's extension says about its format, when --format does not. Two-part
# extensions first: the names --output-dir gives (vpcguard.asff.json) read back as written.
FORMAT_BY_EXTENSION = {
    ".junit.xml": "junit",
    ".asff.json": "asff",
    ".ocsf.json": "ocsf",
    ".xml": "junit",
    ".sarif": "sarif",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".txt": "table",
}


# The file --output-dir writes for a format.
FILE_NAME_BY_FORMAT = {
    "table": "vpcguard.txt",
    "json": "vpcguard.json",
    "jsonl": "vpcguard.jsonl",
    "csv": "vpcguard.csv",
    "html": "vpcguard.html",
    "sarif": "vpcguard.sarif",
    "junit": "vpcguard.junit.xml",
    "asff": "vpcguard.asff.json",
    "ocsf": "vpcguard.ocsf.json",
}


# `--output text` and friends: AWS CLI output formats vpcguard does not have.
AWS_CLI_ONLY_FORMATS = ("text", "yaml", "yaml-stream")


def exit_code(
    reports: Iterable[SubjectReport],
    fail_on: Severity = DEFAULT_FAIL_ON,
    ignore_error: ErrorFilter | None = None,
) -> int:
    """2 for any ERROR result (bar the ones `ignore_error` accepts), else 1 for a failing
    result at or above `fail_on`, else 0."""
    tally = Tally(fail_on, ignore_error)
    for report in reports:
        tally.add(report)
    return tally.exit_code


def error_line(reports: Iterable[SubjectReport], ignore_error: ErrorFilter | None = None) -> str | None:
    """The one stderr line for ERROR results: the first one in full, and how many more."""
    tally = Tally(DEFAULT_FAIL_ON, ignore_error)
    for report in reports:
        tally.add(report)
    return tally.error_line()


def render_report(
    fmt: str,
    reports: list[SubjectReport],
    *,
    account: bool = False,
    colour: bool = False,
    pretty: bool = False,
    width: int | None = None,
) -> str:
    """The whole report in `fmt`, as text, laid out for stdout (width None) or `width`."""
    out = io.StringIO()
    width = output_width(sys.stdout) if width is None else width
    write_all(make_writer(fmt, out, account=account, pretty=pretty, colour=colour, width=width), reports)
    return out.getvalue()


def formats_asked(args: argparse.Namespace) -> list[str]:
    """The formats asked for: --format (a comma list), --output (the AWS CLI's spelling),
    else the --output-file's extension, else table."""
    given = list(args.format or [])
    aws_style = (args.output_format or "").strip().lower()
    if aws_style and aws_style not in REPORT_FORMATS and _looks_like_a_path(args.output_format):
        # vpcguard's --output FILE from before --output-file: scripts that use it keep working.
        if args.output_file:
            raise CliError("--output names a format; the file goes in --output-file alone")
        args.output_file, args.output_format, aws_style = args.output_format, None, ""
    if aws_style:
        if aws_style in AWS_CLI_ONLY_FORMATS:
            raise CliError(
                f"--output {aws_style}: vpcguard has no {aws_style} format; use --output json, --output table "
                f"or --format {', '.join(REPORT_FORMATS)}"
            )
        if aws_style not in REPORT_FORMATS:
            raise CliError(
                f"--output takes a format, as in the AWS CLI ({', '.join(REPORT_FORMATS)}), not "
                f"{args.output_format!r}; to write the report to a file use --output-file FILE (or -o FILE)"
            )
        if given and given != [aws_style]:
            raise CliError(f"--output {aws_style} and --format {','.join(given)} disagree: give one of them")
        given = [aws_style]
    if not given and args.output_file:
        given = [format_of_file(args.output_file)]
    given = list(dict.fromkeys(given)) or ["table"]
    if len(given) > 1 and not args.output_dir:
        raise CliError(f"{len(given)} formats need --output-dir DIR (one file each), or give one --format")
    if args.output_dir and args.output_file:
        raise CliError("--output-file and --output-dir cannot be combined: one file, or one file per format")
    return given


def format_of_file(path: str) -> str:
    """The format a report file's name asks for: its last two extensions (vpcguard.asff.json),
    else its last one, else table."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    for extension in ("".join(suffixes[-2:]), "".join(suffixes[-1:])):
        if extension in FORMAT_BY_EXTENSION:
            return FORMAT_BY_EXTENSION[extension]
    return "table"


def _looks_like_a_path(value: str) -> bool:
    return os.sep in value or "/" in value or "." in value


def result_filter(args: argparse.Namespace) -> ResultFilter:
    """--status and --severity (each repeatable, each a comma list) as one filter."""
    return ResultFilter(
        statuses=frozenset(s for values in getattr(args, "status", None) or [] for s in values),
        severities=frozenset(s for values in getattr(args, "severity", None) or [] for s in values),
    )


def _open_outputs(args: argparse.Namespace, formats: list[str]) -> list[tuple[str, str | None, TextIO]]:
    """(format, path or None for stdout, stream) for each output, every file opened before
    the scan starts, so a bad path is found before minutes of work."""
    if args.output_dir:
        directory = Path(args.output_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create {directory}: {exc.strerror or exc}") from None
        paths: list[str | None] = [str(directory / FILE_NAME_BY_FORMAT[f]) for f in formats]
    else:
        paths = [args.output_file]
    outputs: list[tuple[str, str | None, TextIO]] = []
    for fmt, path in zip(formats, paths, strict=True):
        if path is None:
            outputs.append((fmt, None, sys.stdout))
            continue
        try:
            # newline="": the CSV writer's \r\n line ends stay as they are on every platform.
            outputs.append((fmt, path, open(path, "w", encoding="utf-8", newline="")))  # noqa: SIM115
        except OSError as exc:
            for _, _, opened in outputs:
                if opened is not sys.stdout:
                    opened.close()
            raise CliError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return outputs


def emit(
    args: argparse.Namespace,
    reports: Iterable[SubjectReport] | Callable[[], Iterable[SubjectReport]],
    ignore_error: ErrorFilter | None = None,
    *,
    account: bool = False,
    org: OrgScan | None = None,
    locate: Locate | None = None,
    home: AwsClients | None = None,
) -> int:
    """Write `reports` (or what the callable returns, called once the outputs are open) in
    every format asked for, one report at a time; the one stderr line; the exit code.

    The metadata object names the checks --checks / --exclude-checks selected (null: the
    whole catalog). `home`: the run's clients, whose region (and account, when known without a call) the
    metadata names when no subject does (an empty account)."""
    formats = formats_asked(args)
    selected = check_selection(args)
    shown = result_filter(args)
    outputs = _open_outputs(args, formats)
    started = datetime.now(UTC)
    tally = Tally(args.fail_on, ignore_error)
    scope = RunScope()
    writers: list[Writer] = []
    try:
        for fmt, path, stream in outputs:
            terminal = path is None
            writers.append(
                make_writer(
                    fmt,
                    stream,
                    account=account,
                    pretty=args.pretty,
                    width=output_width(stream) if terminal else NO_WRAP,
                    colour=terminal and use_colour(stream),
                    locate=locate,
                    ignore_error=ignore_error,
                )
            )
        if org is not None:
            for writer in writers:
                writer.extra = document_extra(org)
                writer.header = f"{targets_line(org)}\n"
                writer.footer = failures_table(org.failures)
        for writer in writers:
            writer.start()
        for report in reports() if callable(reports) else reports:
            # Everything evaluated counts (summary, exit code, the run's scope); the filters
            # decide what is shown.
            tally.add(report)
            scope.add(report)
            kept = shown.apply(report)
            for writer in writers:
                if kept is None:
                    writer.omit(report)
                else:
                    writer.write(kept)
        several = org is not None and len(org.targets) > 1
        metadata = report_metadata(
            time=started,
            account=None if several else scope.account(home.known_account if home else None),
            region=None if several else scope.region(home.region if home else args.region),
            checks=selected,
        )
        for writer in writers:
            writer.metadata = metadata
            writer.finish(dict(tally.summary))
    except OSError as exc:
        where = next((p for _, p, _ in outputs if p), "stdout")
        raise CliError(f"cannot write the report to {where}: {exc.strerror or exc}") from None
    finally:
        for _, path, stream in outputs:
            if path is not None:
                stream.close()
            else:
                stream.flush()
    for writer in writers:
        for note in writer.notes:
            print(f"vpcguard: {note}", file=sys.stderr)
    files = [path for _, path, _ in outputs if path]
    if files and wants_progress(sys.stderr):
        print(f"vpcguard: {summary_line(tally.summary)}; report in {', '.join(files)}", file=sys.stderr)
    line = tally.error_line()
    if line:
        print(line, file=sys.stderr)
    return tally.exit_code
