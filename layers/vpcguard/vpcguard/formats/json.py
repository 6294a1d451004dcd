"""The JSON formats: `--format json` (the contract document, written subject by subject),
`--format jsonl` (one subject object per line as it is evaluated, then the summary line) and
the JSON lists of objects the asff and ocsf formats are made of.

- jsonl holds nothing (bar the audit records of fixes, printed before the summary);
- json is written incrementally (compact unless pretty), its audit records at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from ..results import SubjectReport, scan_document
from .writers import Writer


def scan_json_document(reports: Sequence[SubjectReport]) -> dict[str, Any]:
    """`vpcguard scan --format json`: the contract document, plus a top-level "audit" list
    (the changes made or, in a dry run, planned) only when there is one."""
    document = scan_document(reports)
    audit = [record.to_dict() for report in reports for record in report.audit]
    if audit:
        document["audit"] = audit
    return document


def _compact(value: Any) -> str:
    # The C encoder: no indent, and separators without spaces (jsonl lines, json documents).
    return json.dumps(value, separators=(",", ":"))


class _AuditMixin:
    audit: list[dict[str, Any]]

    def _keep_audit(self, report: SubjectReport) -> None:
        # Only fixes (made or planned) leave records: a read-only scan keeps none.
        self.audit.extend(record.to_dict() for record in report.audit)

    def omit(self, report: SubjectReport) -> None:
        self._keep_audit(report)


class JsonlWriter(_AuditMixin, Writer):
    def start(self) -> None:
        self.audit = []

    def write(self, report: SubjectReport) -> None:
        self.stream.write(_compact(report.to_dict()) + "\n")
        self._keep_audit(report)

    def finish(self, summary: dict[str, int]) -> None:
        if self.audit:
            self.stream.write(_compact({"audit": self.audit}) + "\n")
        if self.extra:
            self.stream.write(_compact(self.extra) + "\n")
        last: dict[str, Any] = {"summary": summary}
        if self.metadata is not None:
            last["metadata"] = self.metadata
        self.stream.write(_compact(last) + "\n")


class JsonWriter(_AuditMixin, Writer):
    """The contract document, written subject by subject. `pretty`: the same text as
    `json.dumps(document, indent=2)`."""

    def __init__(self, stream: TextIO, pretty: bool = False) -> None:
        super().__init__(stream)
        self.pretty = pretty

    def start(self) -> None:
        self.audit = []
        self.count = 0

    def _dump(self, value: Any, pad: str) -> str:
        if not self.pretty:
            return _compact(value)
        # JSON strings escape their newlines, so every "\n" here is the layout's own.
        return json.dumps(value, indent=2).replace("\n", "\n" + pad)

    def write(self, report: SubjectReport) -> None:
        if self.pretty:
            lead = '{\n  "subjects": [\n    ' if self.count == 0 else ",\n    "
        else:
            lead = '{"subjects":[' if self.count == 0 else ","
        self.stream.write(lead + self._dump(report.to_dict(), "    "))
        self.count += 1
        self._keep_audit(report)

    def finish(self, summary: dict[str, int]) -> None:
        tail: dict[str, Any] = {"summary": summary}
        if self.metadata is not None:
            tail["metadata"] = self.metadata
        if self.audit:
            tail["audit"] = self.audit
        tail.update(self.extra)
        if self.pretty:
            head = '{\n  "subjects": [],\n' if self.count == 0 else "\n  ],\n"
            body = ",\n".join(f'  "{key}": {self._dump(value, "  ")}' for key, value in tail.items())
            self.stream.write(head + body + "\n}\n")
        else:
            head = '{"subjects":[],' if self.count == 0 else "],"
            body = ",".join(f'"{key}":{_compact(value)}' for key, value in tail.items())
            self.stream.write(head + body + "}\n")


class JsonListWriter(Writer):
    """A JSON list of the objects `items` makes of each report (ASFF findings, OCSF events),
    written as they come: `[`, the objects, `]`. Compact, one object a line, unless pretty."""

    def __init__(
        self, stream: TextIO, items: Callable[[SubjectReport], Iterable[dict[str, Any]]], pretty: bool = False
    ) -> None:
        super().__init__(stream)
        self.items = items
        self.pretty = pretty

    def start(self) -> None:
        self.count = 0
        self.stream.write("[")

    def write(self, report: SubjectReport) -> None:
        for item in self.items(report):
            text = json.dumps(item, indent=2).replace("\n", "\n  ") if self.pretty else _compact(item)
            self.stream.write(("\n  " if self.count == 0 else ",\n  ") + text)
            self.count += 1

    def finish(self, summary: dict[str, int]) -> None:
        self.stream.write("\n]\n" if self.count else "]\n")
