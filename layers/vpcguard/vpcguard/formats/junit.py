"""JUnit XML, the test report every CI system reads (GitLab, Jenkins, GitHub test reporters,
Azure Pipelines).

One `<testsuite>` per subject and one `<testcase>` per check result in it: `classname` is the
subject (`model.NAME` or `transform_job.NAME`: CI tools that group by the dotted prefix show
models and jobs apart), `name` the check id. By status:

- PASS, FIXED: a passing test case (FIXED says what vpcguard changed in `<system-out>`);
- FAIL, WOULD_FIX (a dry run changed nothing: the problem is still there): `<failure>` whose
  `message` is the result's reason and whose text adds the resources and what to do;
- ERROR (nothing could be verified): `<error>` with the reason;
- EXEMPT, NOT_APPLICABLE, and an ERROR the run does not count (preflight without
  --role-arn): `<skipped>` with why.

The counts (`tests`, `failures`, `errors`, `skipped`) are on every `<testsuite>` and, summed,
on the `<testsuites>` root, so the writer keeps each subject's XML text (not its report) until
the end, when the totals are known.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from ..model import Status
from ..remedy_text import remedy_for
from ..results import CheckResult, SubjectReport
from .statuses import FAILING
from .writers import Skip, Writer

PASSING = frozenset({Status.PASS, Status.FIXED})
SKIPPED_WHY = {Status.EXEMPT: "exempt", Status.NOT_APPLICABLE: "not applicable"}

# XML 1.0 cannot carry most control characters, whatever the escaping: an AWS error text
# that holds one would make the whole report unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _one_line(text: str) -> str:
    return _xml_text(" ".join(text.split()))


def classname(report: SubjectReport) -> str:
    return f"{report.type}.{report.name}"


def failure_text(report: SubjectReport, result: CheckResult) -> str:
    """The body of a `<failure>`: the reason, the resources it names, and what to do (the
    sentence, the AWS CLI commands, a document to paste), as the HTML report and Slack say it."""
    lines = [" ".join(result.detail.split())]
    if result.resource_ids:
        lines.append(f"Resources: {', '.join(result.resource_ids)}")
    remedy = remedy_for(result, report.region or "us-east-1")
    if remedy is not None:
        lines.append(f"What to do: {remedy.text}")
        lines.extend(f"  $ {command}" for command in remedy.commands)
        if remedy.document:
            lines.append(remedy.document)
        if remedy.note:
            lines.append(f"Note: {remedy.note}")
    lines.append(f"Severity: {result.severity.value}. Status: {result.status.value}.")
    return _xml_text("\n".join(lines))


@dataclass
class Counts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped

    def attributes(self) -> dict[str, str]:
        return {
            "tests": str(self.tests),
            "failures": str(self.failures),
            "errors": str(self.errors),
            "skipped": str(self.skipped),
            "time": "0",
        }


def testsuite(
    report: SubjectReport, skip: Skip | None = None, timestamp: str = ""
) -> tuple[ET.Element, Counts]:
    """The `<testsuite>` of one subject, and its counts."""
    kind = "transform job" if report.type == "transform_job" else "model"
    suite = ET.Element("testsuite", name=_one_line(f"{kind} {report.name}"))
    counts = Counts()
    for result in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=_one_line(classname(report)), name=result.check_id, time="0"
        )
        counts.tests += 1
        reason = _one_line(result.detail)
        if result.status == Status.ERROR and not (skip and skip(report, result)):
            counts.errors += 1
            error = ET.SubElement(case, "error", message=reason, type="ERROR")
            error.text = _xml_text(f"{result.title}: could not be evaluated: {reason}")
        elif result.status in FAILING:
            counts.failures += 1
            failure = ET.SubElement(case, "failure", message=reason, type=result.severity.value)
            failure.text = failure_text(report, result)
        elif result.status in PASSING:
            if result.status == Status.FIXED:
                out = ET.SubElement(case, "system-out")
                out.text = failure_text(report, result)
        else:
            counts.skipped += 1
            why = SKIPPED_WHY.get(result.status, "not evaluated")
            ET.SubElement(case, "skipped", message=f"{why}: {reason}")
    suite.attrib.update(counts.attributes())
    if timestamp:
        suite.set("timestamp", timestamp)
    properties = ET.Element("properties")
    for name, value in (
        ("arn", report.arn),
        ("account", report.account),
        ("region", report.region),
        ("vpc_id", report.vpc_id or ""),
    ):
        if value:
            ET.SubElement(properties, "property", name=name, value=_one_line(value))
    if len(properties):
        suite.insert(0, properties)
    return suite, counts


class JunitWriter(Writer):
    """Keeps each subject's `<testsuite>` as text (the root's totals come first in the file)."""

    buffers = True

    def __init__(self, stream: TextIO, skip: Skip | None = None) -> None:
        super().__init__(stream)
        self.skip = skip

    def start(self) -> None:
        self.suites: list[str] = []
        self.totals = Counts()
        self.timestamp = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")

    def write(self, report: SubjectReport) -> None:
        suite, counts = testsuite(report, self.skip, self.timestamp)
        ET.indent(suite, space="  ", level=1)
        self.suites.append("  " + ET.tostring(suite, encoding="unicode"))
        self.totals.add(counts)

    def finish(self, summary: dict[str, int]) -> None:
        root = ET.Element("testsuites", {"name": "vpcguard", **self.totals.attributes()})
        opening = ET.tostring(root, encoding="unicode").replace(" />", ">")
        body = "".join(suite + "\n" for suite in self.suites)
        self.stream.write(f'<?xml version="1.0" encoding="UTF-8"?>\n{opening}\n{body}</testsuites>\n')
