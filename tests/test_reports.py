"""Reports of a scan: CSV (one row per result), the self-contained HTML page, and the
account summary table of `scan --all`. Built from SubjectReports as the engine makes them;
one test renders a real account scan from local AWS."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from tests.conftest import SUBJECT_KEYS
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard.aws import AwsClients
from vpcguard.backfill import scan_account
from vpcguard.cli import render_report
from vpcguard.formats.account import render_account_table
from vpcguard.formats.csv import CSV_COLUMNS, render_csv
from vpcguard.formats.html import render_html
from vpcguard.formats.json import scan_json_document
from vpcguard.model import Severity, Status
from vpcguard.results import CheckResult, SubjectReport

HOSTILE = '<script>alert("x")</script> & "quotes" \'single\''


def result(
    check_id: str, status: Status, severity: Severity = Severity.HIGH, detail: str = "ok", **kw
) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        status=status,
        severity=severity,
        title=f"{check_id} title",
        detail=detail,
        fixable=kw.pop("fixable", False),
        **kw,
    )


def subject(
    name: str, vpc_id: str | None, results: list[CheckResult], type: str = "model", **kw
) -> SubjectReport:
    return SubjectReport(
        type=type,
        name=name,
        arn=kw.pop("arn", f"arn:aws:sagemaker:{REGION}:123456789012:model/{name}"),
        region=REGION,
        account="123456789012",
        vpc_id=vpc_id,
        instance_count=kw.pop("instance_count", 1),
        model_name=kw.pop("model_name", name),
        tags=kw.pop("tags", {}),
        results=results,
    )


@pytest.fixture
def reports() -> list[SubjectReport]:
    return [
        subject(
            "churn",
            "vpc-aaa",
            [
                result(
                    "sg_self_ingress",
                    Status.FAIL,
                    Severity.MEDIUM,
                    f"sg-0123 lacks a self rule {HOSTILE}",
                    resource_ids=["sg-0123", "vpc-aaa"],
                    fixable=True,
                    remediation={"action": "ec2:AuthorizeSecurityGroupIngress", "resource_id": "sg-0123"},
                ),
                result("vpc_dns_support", Status.PASS),
            ],
            tags={"vpcguard:team": "growth"},
        ),
        subject(
            "fraud",
            "vpc-aaa",
            [result("sg_self_ingress", Status.PASS), result("vpc_dns_support", Status.PASS)],
        ),
        subject(
            "nightly",
            "vpc-bbb",
            [
                result(
                    "subnet_ip_capacity",
                    Status.FAIL,
                    Severity.CRITICAL,
                    "subnet-1 has 3 free IPs, needs 16",
                    resource_ids=["subnet-1"],
                )
            ],
            type="transform_job",
            instance_count=8,
            model_name="fraud",
            arn=f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/nightly",
        ),
        subject(
            "hot",
            None,
            [
                result(
                    "model_vpc_configured",
                    Status.ERROR,
                    Severity.HIGH,
                    "cannot read model 'hot': throttled on sagemaker:DescribeModel after retries ran out "
                    "(ThrottlingException)",
                )
            ],
            arn="",
        ),
    ]


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_has_one_row_per_result_and_parses_with_the_csv_module(reports):
    text = render_csv(reports)

    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == sum(len(r.results) for r in reports) == 6
    fail = rows[0]
    assert fail == {
        "subject_type": "model",
        "subject_name": "churn",
        "subject_arn": f"arn:aws:sagemaker:{REGION}:123456789012:model/churn",
        "vpc_id": "vpc-aaa",
        "check_id": "sg_self_ingress",
        "status": "FAIL",
        "severity": "MEDIUM",
        "detail": f"sg-0123 lacks a self rule {HOSTILE}",  # commas, quotes survive the round trip
        "resource_ids": "sg-0123;vpc-aaa",
    }
    job = next(r for r in rows if r["subject_name"] == "nightly")
    assert (job["subject_type"], job["status"], job["severity"]) == ("transform_job", "FAIL", "CRITICAL")
    error = next(r for r in rows if r["subject_name"] == "hot")
    assert error["vpc_id"] == "" and error["status"] == "ERROR" and "ThrottlingException" in error["detail"]


def test_csv_detail_is_one_line_whatever_the_check_wrote():
    report = subject("m", "vpc-1", [result("c", Status.FAIL, detail="line one\nline two,\twith tab")])
    rows = list(csv.reader(io.StringIO(render_csv([report]))))
    assert rows[1][7] == "line one line two, with tab"


# --- HTML ------------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects what a browser would: tables (with their class and data-vpc), text, links a
    person can follow, and every attribute that could load something from elsewhere (a
    `src`, a `<link>`, any `href` that is not a link a person clicks)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, str]] = []
        self.external: list[tuple[str, str, str]] = []
        self.links: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({k: v or "" for k, v in attrs.items()})
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("src", "href", "srcset", "poster", "data"):
            if attrs.get(name) and not (tag == "a" and name == "href"):
                self.external.append((tag, name, attrs[name]))
        if tag == "link":
            self.external.append((tag, "link", str(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_html_is_one_self_contained_page_with_one_sortable_table_per_vpc(reports):
    page = render_html(reports)
    parsed = parse(page)

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert parsed.external == [], "no external assets: the page must open offline"
    assert "url(" not in page and "@import" not in page  # nor from the inline CSS
    # Links are for a person to follow, to the AWS console only.
    assert parsed.links and all(
        u.startswith(f"https://{REGION}.console.aws.amazon.com/") for u in parsed.links
    )
    vpc_tables = [t for t in parsed.tables if "vpc" in t.get("class", "").split()]
    assert [t["data-vpc"] for t in vpc_tables] == ["vpc-aaa", "vpc-bbb", "(no VPC)"]
    assert all("sortable" in t["class"].split() for t in parsed.tables)
    # The sorting script is inline and wires every sortable table's headers.
    script = "".join(parsed.scripts)
    assert 'querySelectorAll("table.sortable")' in script and 'addEventListener("click"' in script
    assert "<style>" in page


def test_html_escapes_evidence_and_shows_every_failing_subject(reports):
    page = render_html(reports)
    text = " ".join(parse(page).text)

    assert "<script>alert" not in page  # the hostile detail is text, never markup
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; &#x27;single&#x27;"
        in page
    )
    assert HOSTILE in text  # ... and reads back as exactly what the check wrote
    # Every failing or errored subject, and only those, has its evidence: detail, resource
    # ids, planned fix; the worst first (CRITICAL, MEDIUM, then the one that errored).
    summaries = [re.sub(r"<[^>]+>", "", s) for s in re.findall(r"<summary>(.*?)</summary>", page)]
    assert [s.split(" (")[0] for s in summaries] == ["transform job nightly", "model churn", "model hot"]
    assert "subnet-1 has 3 free IPs, needs 16" in text
    assert "ThrottlingException" in text
    assert "sg-0123" in text and "ec2:AuthorizeSecurityGroupIngress" in text
    assert "4 subjects: 2 fail, 1 error, 0 fixed, 0 would fix, 0 exempt" in text


def test_html_summary_counts_per_check_and_severity(reports):
    page = render_html(reports)

    def row(first_cell: str) -> list[str]:
        match = re.search(rf"<tr><td[^>]*>{re.escape(first_cell)}</td>(.*?)</tr>", page)
        assert match, first_cell
        return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))

    # Severity table: failing results, subjects.
    assert row("CRITICAL") == ["1", "1"]
    assert row("MEDIUM") == ["1", "1"]
    assert row("LOW") == ["0", "0"]
    # Check table: title (the catalog's), worst failing severity, then FAIL, WOULD_FIX,
    # FIXED, ERROR, EXEMPT, PASS, N/A.
    assert row("sg_self_ingress")[1:] == ["MEDIUM", "1", "0", "0", "0", "0", "1", "0"]
    assert row("vpc_dns_support")[2:] == ["0", "0", "0", "0", "0", "2", "0"]
    # Severity cells sort by rank, not alphabetically.
    assert '<td data-sort="4" class="v-CRITICAL">CRITICAL</td>' in page


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_html_script_is_valid_javascript(reports, tmp_path):
    script = "".join(parse(render_html(reports)).scripts)
    path = tmp_path / "sort.js"
    path.write_text(script)
    check = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


# --- the account summary table and the format switch ------------------------------------------------


def test_account_table_counts_by_check_and_vpc_and_lists_failures_and_errors(reports):
    text = render_account_table(reports, width=160)

    assert re.search(r"\nsg_self_ingress +1 +0 +0 +0 +0 +1 +0\n", text)
    assert re.search(r"\nvpc-aaa +2 +1 +0 +1\n", text)
    assert re.search(r"\n\(no VPC\) +1 +0 +1 +0\n", text)
    failing = text[text.index("Failing subjects (2)") :]
    assert "CRITICAL      transform job nightly (vpc-bbb): subnet_ip_capacity" in failing
    assert "MEDIUM        model churn (vpc-aaa): sg_self_ingress" in failing
    assert "Errors: 1 result on 1 subject could not be verified" in text
    assert "model hot: model_vpc_configured: cannot read model 'hot': throttled" in text
    assert text.rstrip().endswith("4 subjects: 2 fail, 1 error, 0 fixed, 0 would fix, 0 exempt")


def test_json_format_is_the_contract_document(reports):
    assert json.loads(render_report("json", reports, account=True)) == scan_json_document(reports)


def test_reports_of_a_real_account_scan(builder: Builder, clients: AwsClients):
    """A scan of local AWS rendered every way: the same subjects in each."""
    nets = [builder.compliant_vpc("10.1"), builder.compliant_vpc("10.2")]
    lonely = builder.security_group(nets[1].vpc_id, self_ingress=False)
    builder.compliant_model("good", nets[0])
    builder.compliant_model("lonely", nets[1], security_group_ids=[lonely])

    reports = scan_account(clients, jobs="none")

    rows = list(csv.DictReader(io.StringIO(render_csv(reports))))
    assert {r["subject_name"] for r in rows} == {"good", "lonely"}
    failing = [r for r in rows if r["check_id"] == "sg_self_ingress" and r["status"] == "FAIL"]
    assert [r["subject_name"] for r in failing] == ["lonely"] and lonely in failing[0]["resource_ids"].split(
        ";"
    )
    parsed = parse(render_html(reports))
    assert sorted(t["data-vpc"] for t in parsed.tables if "data-vpc" in t) == sorted(n.vpc_id for n in nets)
    assert lonely in " ".join(parsed.text)


# --- the HTML page a person reads: header, VPC names, console links, filters, fixes -----------------

CONSOLE = f"https://{REGION}.console.aws.amazon.com"
ROLE = "arn:aws:iam::123456789012:role/service-role/scoring-exec"


def code_texts(page: str) -> list[str]:
    """What each <code> element shows (the commands a person copies), unescaped."""
    return [
        html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<code[^>]*>(.*?)</code>", page, re.S)
    ]


def test_html_header_names_account_and_region_and_vpcs_with_their_name_tags(
    builder: Builder, clients: AwsClients
):
    named = builder.compliant_vpc("10.5")
    builder.ec2.create_tags(Resources=[named.vpc_id], Tags=[{"Key": "Name", "Value": "prod-ml"}])
    unnamed = builder.compliant_vpc("10.6")
    lonely = builder.security_group(named.vpc_id, self_ingress=False)
    builder.compliant_model("lonely", named, security_group_ids=[lonely])
    builder.compliant_model("quiet", unnamed)

    reports = scan_account(clients, jobs="none")
    page = render_html(reports)
    text = " ".join(" ".join(parse(page).text).split())

    assert "Account 123456789012 · Region us-east-1 · 2 subjects in 2 VPCs" in text
    # The VPC's Name tag, beside its id, in the VPC section and on the subject.
    assert re.search(
        rf'<h3><a href="{re.escape(CONSOLE)}/vpcconsole/[^"]*VpcId={named.vpc_id}"[^>]*>'
        rf"{named.vpc_id}</a> prod-ml ",
        page,
    )
    assert f"model lonely ({named.vpc_id} prod-ml)" in text
    assert re.search(rf"<h3><a [^>]*>{unnamed.vpc_id}</a> <span", page)  # no Name tag: the id alone
    # The name travels beside the report, never in the JSON contract.
    document = scan_json_document(reports)
    assert "prod-ml" not in json.dumps(document)
    assert all(set(s) == SUBJECT_KEYS for s in document["subjects"])
    # The subject names its network, each with its console page.
    links = parse(page).links
    assert f"{CONSOLE}/sagemaker/home?region={REGION}#/models/lonely" in links
    assert f"{CONSOLE}/ec2/home?region={REGION}#SecurityGroup:groupId={lonely}" in links
    for subnet in named.subnet_ids:
        assert f"{CONSOLE}/vpcconsole/home?region={REGION}#SubnetDetails:subnetId={subnet}" in links
    assert f"{CONSOLE}/iam/home?region={REGION}#/roles/details/{named.role_arn.rsplit('/', 1)[-1]}" in links


def test_html_links_jobs_models_groups_subnets_endpoints_and_roles_to_the_console():
    job = subject(
        "nightly",
        "vpc-aaa",
        [
            result(
                "s3_endpoint_routes", Status.FAIL, resource_ids=["subnet-1", "rtb-1", "vpce-1"], fixable=True
            ),
            result("execution_role_vpc_permissions", Status.PASS, resource_ids=[ROLE]),
            result("sg_self_ingress", Status.FAIL, Severity.MEDIUM, resource_ids=["sg-1"], fixable=True),
        ],
        type="transform_job",
        model_name="fraud",
        arn=f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/nightly",
    )
    links = parse(render_html([job])).links

    for url in (
        f"{CONSOLE}/sagemaker/home?region={REGION}#/transform-jobs/nightly",
        f"{CONSOLE}/sagemaker/home?region={REGION}#/models/fraud",
        f"{CONSOLE}/ec2/home?region={REGION}#SecurityGroup:groupId=sg-1",
        f"{CONSOLE}/vpcconsole/home?region={REGION}#SubnetDetails:subnetId=subnet-1",
        f"{CONSOLE}/vpcconsole/home?region={REGION}#EndpointDetails:vpcEndpointId=vpce-1",
        f"{CONSOLE}/vpcconsole/home?region={REGION}#RouteTableDetails:RouteTableId=rtb-1",
        f"{CONSOLE}/vpcconsole/home?region={REGION}#VpcDetails:VpcId=vpc-aaa",
        f"{CONSOLE}/iam/home?region={REGION}#/roles/details/scoring-exec",
    ):
        assert url in links, url


def test_html_has_a_search_box_and_status_and_severity_filters(reports):
    page = render_html(reports)

    assert re.search(r'<input type="search" id="search"[^>]*aria-label="Search the findings"', page)
    boxes = re.findall(r'<input type="checkbox" name="(status|severity)" value="([A-Z_]+)" checked>', page)
    assert [v for n, v in boxes if n == "status"] == ["FAIL", "WOULD_FIX", "FIXED", "ERROR", "EXEMPT"]
    assert [v for n, v in boxes if n == "severity"] == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
    # Each finding row carries what the filters match on; PASS rows are counted, not listed.
    rows = re.findall(r'<tr class="finding" data-status="([A-Z_]+)" data-severity="([A-Z]+)">', page)
    assert sorted(rows) == [("ERROR", "HIGH"), ("FAIL", "CRITICAL"), ("FAIL", "MEDIUM")]
    assert "Showing 3 of 3 findings" in page
    script = "".join(parse(page).scripts)
    assert 'getElementById("search")' in script and 'addEventListener("input", filter)' in script


def test_html_shows_the_fix_as_text_and_a_copyable_cli_command_not_raw_json(reports):
    routes = subject(
        "routed",
        "vpc-ccc",
        [
            result(
                "s3_endpoint_routes",
                Status.FIXED,
                resource_ids=["subnet-9", "rtb-1", "vpce-1"],
                fixable=True,
                remediation={
                    "action": "ec2:ModifyVpcEndpoint",
                    "resource_id": "vpce-1",
                    "params": {"VpcEndpointId": "vpce-1", "AddRouteTableIds": ["rtb-1", "rtb-2"]},
                    "description": "add route table(s) rtb-1, rtb-2 to S3 gateway endpoint vpce-1",
                },
            ),
            result("flow_logs_enabled", Status.FAIL, Severity.MEDIUM, resource_ids=["vpc-ccc"], fixable=True),
        ],
    )
    page = render_html([*reports, routes])
    text = " ".join(" ".join(parse(page).text).split())
    commands = code_texts(page)

    # A notify-mode failure: what to do, and the command that does it.
    assert (
        "Add an inbound rule to sg-0123 allowing all traffic (all protocols, all ports) from sg-0123 itself"
        in text
    )
    assert (
        f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id sg-0123 --ip-permissions "
        '\'[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123", "Description": '
        '"vpcguard: instances of one SageMaker job talk to each other"}]}]\''
    ) in commands
    # An applied fix: what vpcguard did, as the equivalent command.
    assert "vpcguard did this: add route table(s) rtb-1, rtb-2 to S3 gateway endpoint vpce-1." in text
    assert (
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id vpce-1 --add-route-table-ids rtb-1 rtb-2"
        in commands
    )
    [flow] = [c for c in commands if c.startswith("aws ec2 create-flow-logs")]
    assert "--resource-ids vpc-ccc --traffic-type ALL" in flow
    assert "Replace LOG_GROUP_NAME and DELIVERY_ROLE_ARN" in text
    # Every command has its copy button; the remediation is never dumped as JSON.
    assert page.count('<button class="copy"') == 3
    assert '"resource_id"' not in page and "&quot;resource_id&quot;" not in page
    assert "ec2:AuthorizeSecurityGroupIngress" in text  # the API action, for whoever grants the permission
