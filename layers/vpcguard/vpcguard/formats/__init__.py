"""The report formats of `vpcguard scan` and `vpcguard preflight`, one module each, and
`make_writer`, which picks a format's writer.

| module | what it holds |
|---|---|
| `writers.py` | what every format shares: `Writer`, `BufferingWriter`, `write_all`; `Tally` |
| `table.py` | `table`: per subject its results, for a scan of named subjects and preflight |
| `account.py` | `table` of an account scan (`--all`): counts by check, severity and VPC; `account_summary` |
| `json.py` | `json` (the contract document), `jsonl`, and the JSON lists asff and ocsf write |
| `csv.py` | `csv`: one row per result |
| `html.py` | `html`: one self-contained page |
| `sarif.py` | `sarif`: SARIF 2.1.0 for code scanning |
| `junit.py` | `junit`: JUnit XML for CI test reports |
| `asff.py` | `asff`: AWS Security Finding Format, for Security Hub's batch import |
| `ocsf.py` | `ocsf`: OCSF Compliance Finding events, for a security data lake |
| `catalog.py` | `vpcguard checks`: the check catalog |
| `statuses.py` | which statuses fail; the order statuses and severities are shown in |
| `text.py` | colour, width, wrapping and the summary line, for the text formats |

`Tally` keeps what the exit code, the summary and the one stderr error line need.
The formats depend on the report types (`results.py`), never on the engine that makes the
reports (import-linter, `make lint`). A format's module is imported only when it is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from .writers import ErrorFilter, Writer, skip_uncounted_error

if TYPE_CHECKING:
    from .sarif import Locate

REPORT_FORMATS = ("table", "json", "jsonl", "csv", "html", "sarif", "junit", "asff", "ocsf")


def make_writer(
    fmt: str,
    stream: TextIO,
    *,
    account: bool = False,
    pretty: bool = False,
    width: int | None = None,
    colour: bool = False,
    locate: Locate | None = None,
    ignore_error: ErrorFilter | None = None,
) -> Writer:
    """The writer of one format. The table of an account scan is its summary (by check, by
    VPC, failing subjects, errors), since one block per subject would run to thousands of lines."""
    if fmt == "json":
        from .json import JsonWriter

        return JsonWriter(stream, pretty=pretty)
    if fmt == "jsonl":
        from .json import JsonlWriter

        return JsonlWriter(stream)
    if fmt == "csv":
        from .csv import CsvWriter

        return CsvWriter(stream)
    if fmt == "sarif":
        from .sarif import sarif_writer

        return sarif_writer(stream, locate, skip_uncounted_error(ignore_error))
    if fmt == "junit":
        from .junit import JunitWriter

        return JunitWriter(stream, skip=skip_uncounted_error(ignore_error))
    if fmt == "asff":
        from .asff import AsffWriter

        return AsffWriter(stream, pretty=pretty)
    if fmt == "ocsf":
        from .ocsf import OcsfWriter

        return OcsfWriter(stream, pretty=pretty)
    if fmt == "html":
        from .html import html_writer

        return html_writer(stream, account=account)
    if account:
        from .account import AccountTableWriter

        return AccountTableWriter(stream, width, colour)
    from .table import table_writer

    return table_writer(stream, width, colour)
