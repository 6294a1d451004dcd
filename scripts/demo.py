"""`make demo`: vpcguard's whole story on a local AWS (moto's server) that it starts itself.

1. Scan: the demo account (tests/localaws/demo_account.py, plus one model whose security
   group is exempt by tag) scanned by the real `vpcguard scan` CLI: its table; the HTML
   report in reports/vpcguard-demo.html and, with a headless Chromium installed, its
   screenshot reports/vpcguard-demo.png; then a matrix of results per check id from
   `--format json` (every check passes and fails).
2. Remediate: a dry run (WOULD_FIX, nothing written), then `--remediate` with the flow-log
   destination the stack would provide: each FIXED result and its audit record, a second
   run that changes nothing, and a plain re-scan where the fixable checks pass.
3. Pipeline: a CloudTrail CreateTransformJob event into EventBridge (the rules from
   template.yaml) -> SQS -> the inspect function from the `sam build` output -> SNS
   findings, with the fix it applied (scripts/pipeline_demo.py).
4. Slack: the message the published finding produces, rendered as text.
5. Guardrails: an SCP from the approved network (`vpcguard guardrails --from-account`), the
   same lists as CloudFormation Guard rules, and a template preflight with a SARIF result
   (scripts/guardrails_demo.py).

Every stage checks what it shows; the demo exits 1 if an expectation failed. Run from the
repository root (`make demo` builds the venv and the SAM output first).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from demo_support import RULE, Expectations, describe_state, heading, print_audit_record, say  # noqa: E402
from guardrails_demo import run_guardrails_stage  # noqa: E402
from pipeline_demo import print_slack, run_pipeline  # noqa: E402
from report_screenshot import NoBrowser, screenshot  # noqa: E402

from tests.localaws.builders import Builder  # noqa: E402
from tests.localaws.demo_account import EXEMPT_TAG, TEAM_TAG, DemoAccount, build_demo_account  # noqa: E402
from tests.localaws.server import ACCOUNT, REGION, LocalAws  # noqa: E402
from vpcguard.checks.base import all_checks  # noqa: E402

# The checks with a default ("fix" mode) remediation, per checks.md.
FIXABLE = ("sg_self_ingress", "s3_endpoint_routes", "flow_logs_enabled")
EXEMPT_MODEL = "payments-reconcile"
# The HTML report and its screenshot (gitignored).
REPORTS = ROOT / "reports"


def vpcguard_command() -> list[str]:
    """The console script next to this interpreter (the venv's), else `python -m vpcguard`."""
    script = Path(sys.executable).with_name("vpcguard")
    if script.exists():
        return [str(script)]
    found = shutil.which("vpcguard")
    return [found] if found else [sys.executable, "-m", "vpcguard"]


def scan(endpoint_url: str, account: DemoAccount, fmt: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        *vpcguard_command(),
        "scan",
        "--endpoint-url",
        endpoint_url,
        "--region",
        REGION,
        "--format",
        fmt,
        *extra,
        "--model",
        *account.models,
        "--transform-job",
        *account.transform_jobs,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    # 1 means "something failed at or above --fail-on": the point of the demo. 2 does not.
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stderr)
        raise SystemExit(f"vpcguard scan exited {result.returncode}")
    return result


def scan_json(endpoint_url: str, account: DemoAccount, *extra: str) -> dict[str, Any]:
    return json.loads(scan(endpoint_url, account, "json", *extra).stdout)


def shown(*extra: str) -> str:
    """The command line as a user would type it (subjects elided)."""
    return " ".join(["$ vpcguard scan", *extra, "--model ... --transform-job ..."])


def counts_by_check(document: dict[str, Any]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for subject in document["subjects"]:
        for result in subject["results"]:
            counts[result["check_id"]][result["status"]] += 1
    return counts


def results(
    document: dict[str, Any], keep: Callable[[dict[str, Any]], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """(subject label, result) for every result `keep` accepts."""
    return [
        (f"{subject['type'].replace('_', ' ')} {subject['name']}", result)
        for subject in document["subjects"]
        for result in subject["results"]
        if keep(result)
    ]


def matrix(document: dict[str, Any]) -> tuple[str, list[str]]:
    """Per check id: how many subjects PASS, FAIL, and the rest; and the ids that did not
    both pass and fail somewhere."""
    counts = counts_by_check(document)
    columns = ["PASS", "FAIL", "EXEMPT", "NOT_APPLICABLE", "ERROR"]
    width = max(len(c.meta.id) for c in all_checks())
    lines = [f"{'check id':<{width}}  " + "  ".join(f"{c:>14}" for c in columns) + "  both?"]
    lines.append("-" * len(lines[0]))
    missing = []
    for check in all_checks():
        row = counts[check.meta.id]
        both = row["PASS"] > 0 and row["FAIL"] > 0
        if both:
            mark = "yes"
        else:
            mark = "NO"
            missing.append(check.meta.id)
        lines.append(
            f"{check.meta.id:<{width}}  " + "  ".join(f"{row[c]:>14}" for c in columns) + f"  {mark}"
        )
    return "\n".join(lines), missing


def strip_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def fixable_state(builder: Builder) -> dict[str, Any]:
    """What the three fixes can write: every security group, VPC endpoint and flow log."""
    ec2 = builder.ec2
    return {
        "security_groups": strip_metadata(ec2.describe_security_groups()),
        "vpc_endpoints": strip_metadata(ec2.describe_vpc_endpoints()),
        "flow_logs": strip_metadata(ec2.describe_flow_logs()),
    }


# --- the account ---------------------------------------------------------------------------


def add_exempt_group_model(builder: Builder, account: DemoAccount) -> str:
    """A model in the prod VPC whose own security group lacks the self rule but carries
    `vpcguard:exempt=sg_self_ingress`: its result is EXEMPT and no fix may touch the group."""
    churn = builder.client("sagemaker").describe_model(ModelName="churn-scoring")
    vpc_id = account.vpcs["prod"]
    group = builder.security_group(
        vpc_id, self_ingress=False, name=EXEMPT_MODEL, tags={EXEMPT_TAG: "sg_self_ingress"}
    )
    builder.model(
        EXEMPT_MODEL,
        subnet_ids=churn["VpcConfig"]["Subnets"],
        security_group_ids=[group],
        role_arn=churn["ExecutionRoleArn"],
        tags={TEAM_TAG: "payments"},
    )
    account.add_model(
        EXEMPT_MODEL,
        f"prod VPC; its group {group} has no self rule but {EXEMPT_TAG}=sg_self_ingress: EXEMPT, never fixed",
    )
    return group


# --- stages --------------------------------------------------------------------------------


def stage_scan(endpoint_url: str, account: DemoAccount, expect: Expectations) -> dict[str, Any]:
    heading(1, "Scan: what exists today (read-only)")
    say(shown("--endpoint-url", endpoint_url) + "\n")
    table = scan(endpoint_url, account, "table")
    say(table.stdout)
    if table.stderr.strip():
        say(table.stderr.strip())
    say(f"(exit code {table.returncode}: 1 means a check failed at or above --fail-on)\n")
    expect.check(table.returncode == 1, "the scan exits 1: the account has failing checks")

    stage_html_report(endpoint_url, account, expect)

    document = scan_json(endpoint_url, account)
    text, missing = matrix(document)
    say(f"Per-check results over {len(document['subjects'])} subjects (from `--format json`):\n")
    say(text)
    say()
    if expect.check(not missing, f"every check both passes and fails somewhere (not: {', '.join(missing)})"):
        say("Every check id passes somewhere and fails somewhere.")
    return document


def stage_html_report(endpoint_url: str, account: DemoAccount, expect: Expectations) -> None:
    """The same scan as the HTML page a person opens, and its screenshot when a headless
    Chromium is installed (scripts/report_screenshot.py; no browser: a note, not a failure)."""
    page = scan(endpoint_url, account, "html").stdout
    REPORTS.mkdir(exist_ok=True)
    html_path = REPORTS / "vpcguard-demo.html"
    html_path.write_text(page, encoding="utf-8")
    say(shown("--format", "html") + f" > {html_path.relative_to(ROOT)}")
    say(f"HTML report: {html_path}")
    expect.check(
        ACCOUNT in page and f"Region <b>{REGION}</b>" in page, "the HTML report names the account and region"
    )
    expect.check("prod-ml" in page and "legacy-batch" in page, "the HTML report shows the VPCs' Name tags")
    expect.check(
        "aws ec2 authorize-security-group-ingress" in page, "the HTML report gives copyable CLI fixes"
    )
    expect.check('id="search"' in page, "the HTML report has its search box and filters")
    png = html_path.with_suffix(".png")
    png.unlink(missing_ok=True)  # never show an earlier run's picture
    try:
        screenshot(html_path, png)
    except NoBrowser as exc:
        say(f"Screenshot: skipped ({exc})\n")
        return
    except RuntimeError as exc:
        say(f"Screenshot: failed ({exc})\n")
        expect.check(False, "headless Chromium screenshots the HTML report")
        return
    say(f"Screenshot (headless Chromium): {png}\n")


def stage_remediate(
    endpoint_url: str,
    builder: Builder,
    account: DemoAccount,
    exempt_group: str,
    before: dict[str, Any],
    expect: Expectations,
) -> None:
    heading(2, "Remediate: dry run, fixes with audit records, re-scan")
    group, role = builder.flow_log_destination()
    say("The flow-log fix needs a destination; as the stack provides one, created here:")
    say(f"  CloudWatch log group {group}, delivery role {role}")
    destination = ["--flow-logs-log-group", group, "--flow-logs-role-arn", role]
    exempt_group_before = builder.ec2.describe_security_groups(GroupIds=[exempt_group])["SecurityGroups"]

    # --- dry run
    state_before = fixable_state(builder)
    say("\n2a. Dry run\n" + shown("--remediate", "--dry-run", *destination, "--format", "json"))
    dry = scan_json(endpoint_url, account, "--remediate", "--dry-run", *destination)
    would = results(dry, lambda r: r["status"] == "WOULD_FIX")
    for subject, result in would:
        say(f"  WOULD_FIX {result['check_id']:<19} {subject}: {result['remediation']['description']}")
    unchanged = fixable_state(builder) == state_before
    say(
        f"{len(would)} WOULD_FIX, {dry['summary']['fixed']} FIXED, {len(dry.get('audit', []))} audit record(s) "
        "marked dry run; security groups, VPC endpoints and flow logs "
        + ("are identical before and after: nothing was written." if unchanged else "CHANGED.")
    )
    expect.check(bool(would), "the dry run plans fixes (WOULD_FIX)")
    expect.check(dry["summary"]["fixed"] == 0, "the dry run fixes nothing")
    expect.check(unchanged, "the dry run writes nothing (describe output identical)")
    expect.check(
        all(a["dry_run"] and a["outcome"] == "would_apply" for a in dry.get("audit", [])),
        "every dry-run audit record says dry run / would_apply",
    )

    # --- the real run
    say("\n2b. Remediate\n" + shown("--remediate", *destination, "--format", "json"))
    fixed_doc = scan_json(endpoint_url, account, "--remediate", *destination)
    fixed = results(fixed_doc, lambda r: r["status"] == "FIXED")
    for subject, result in fixed:
        say(f"  FIXED {result['check_id']:<19} {subject}: {result['remediation']['description']}")
        recheck = result["detail"].split("re-check: ", 1)
        if len(recheck) == 2:
            say(f"        re-checked: {recheck[1]}")
    expect.check(bool(fixed), "the remediation run fixes something")
    # A fix on a shared resource (one group, one VPC) fixes later subjects too: they PASS.
    after = {(s, r["check_id"]): r["status"] for s, r in results(fixed_doc, lambda r: True)}
    passed_by_shared = [(s, r["check_id"]) for s, r in would if after.get((s, r["check_id"])) == "PASS"]
    if passed_by_shared:
        say(
            "  PASS (the resource it shares was fixed earlier in the same run): "
            + ", ".join(f"{check} for {subject}" for subject, check in passed_by_shared)
        )
    for subject, result in would:
        status = after.get((subject, result["check_id"]))
        expect.check(
            status in ("FIXED", "PASS"), f"{result['check_id']} on {subject} ends FIXED or PASS ({status})"
        )

    audit = fixed_doc.get("audit", [])
    say(f"\nAudit records in the report ({len(audit)}; with --audit-table they also go to DynamoDB):")
    for record in audit:
        print_audit_record(record, indent="  ")
    expect.check(
        bool(audit) and all(a["outcome"] == "applied" and not a["dry_run"] for a in audit),
        "every change was applied and recorded",
    )
    expect.check(
        len(audit) == len(fixed), f"one audit record per FIXED result ({len(audit)} vs {len(fixed)})"
    )

    again = scan_json(endpoint_url, account, "--remediate", *destination)
    say(
        f"\nA second `--remediate` run: {again['summary']['fixed']} FIXED, "
        f"{len(again.get('audit', []))} change(s): the fixes are idempotent."
    )
    expect.check(
        not again.get("audit") and again["summary"]["fixed"] == 0, "a second remediation changes nothing"
    )

    # --- a plain (read-only) re-scan
    say("\n2c. Re-scan (read-only)\n" + shown("--format", "json"))
    rescan = scan_json(endpoint_url, account)
    was, now = counts_by_check(before), counts_by_check(rescan)
    say(f"  {'fixable check':<19} {'FAIL before':>11} {'FAIL now':>9} {'PASS before':>12} {'PASS now':>9}")
    for check_id in FIXABLE:
        say(
            f"  {check_id:<19} {was[check_id]['FAIL']:>11} {now[check_id]['FAIL']:>9} "
            f"{was[check_id]['PASS']:>12} {now[check_id]['PASS']:>9}"
        )
        expect.check(was[check_id]["FAIL"] > 0, f"{check_id} failed somewhere before")
        expect.check(now[check_id]["FAIL"] == 0, f"{check_id} fails nowhere after remediation")
        expect.check(now[check_id]["ERROR"] == 0, f"{check_id} has no ERROR after remediation")

    remaining = Counter(r["check_id"] for _, r in results(rescan, lambda r: r["status"] == "FAIL"))
    fixable_meta = {c.meta.id: c.meta.fixable for c in all_checks()}
    say(f"\nWhat remains: {sum(remaining.values())} FAIL results that have no default fix:")
    for check_id, n in sorted(remaining.items()):
        if fixable_meta.get(check_id):
            why = f"opt-in fix, off by default (--mode {check_id}=fix)"
        else:
            why = "no automatic fix: needs a person"
        say(f"  {check_id:<33} {n:>2}  {why}")
    exempt = results(rescan, lambda r: r["status"] == "EXEMPT")
    say(f"Still EXEMPT ({len(exempt)}), left alone by every fix:")
    for subject, result in exempt:
        say(f"  {result['check_id']:<19} {subject}: {', '.join(result['resource_ids'])}")
    status_now = {(s, r["check_id"]): r["status"] for s, r in results(rescan, lambda r: True)}
    for subject, result in results(before, lambda r: r["status"] == "EXEMPT"):
        status = status_now.get((subject, result["check_id"]))
        if status != "EXEMPT":
            # An exemption turns a FAIL into EXEMPT; once the shared resource is fixed
            # for a subject that is not exempt, the check simply passes.
            say(
                f"  {result['check_id']:<19} {subject}: was EXEMPT, now {status}: a resource it shares with a "
                "subject that is not exempt was fixed for that subject"
            )
            expect.check(status == "PASS", f"{result['check_id']} on {subject} is EXEMPT or PASS ({status})")
    exempt_group_now = builder.ec2.describe_security_groups(GroupIds=[exempt_group])["SecurityGroups"]
    untouched = exempt_group_now == exempt_group_before
    say(
        f"  {exempt_group} ({EXEMPT_TAG}=sg_self_ingress) {'is untouched' if untouched else 'WAS CHANGED'}: "
        f"{describe_state(exempt_group_now[0])}"
    )
    expect.check(untouched, f"the exempt group {exempt_group} is untouched")
    expect.check(
        any(r["check_id"] == "sg_self_ingress" and s == f"model {EXEMPT_MODEL}" for s, r in exempt),
        f"sg_self_ingress stays EXEMPT for {EXEMPT_MODEL}",
    )
    expect.check(not set(remaining) & set(FIXABLE), "no fixable check remains failing")


def main() -> int:
    # moto's server logs every request through werkzeug; the demo shows vpcguard's output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    expect = Expectations()
    timings: list[tuple[str, float]] = []
    started = time.monotonic()
    server = LocalAws().start()
    try:
        say(f"Local AWS (moto) on {server.endpoint_url}; building the demo account ...")
        builder = Builder(server.endpoint_url)
        account = build_demo_account(builder)
        exempt_group = add_exempt_group_model(builder, account)
        say(f"  {len(account.vpcs)} VPCs: " + ", ".join(f"{k} {v}" for k, v in account.vpcs.items()))
        say(f"  {len(account.models)} models, {len(account.transform_jobs)} transform jobs:")
        for name, note in account.notes.items():
            say(f"    {name:<22} {note}")

        mark = time.monotonic()
        document = stage_scan(server.endpoint_url, account, expect)
        timings.append(("scan", time.monotonic() - mark))

        mark = time.monotonic()
        stage_remediate(server.endpoint_url, builder, account, exempt_group, document, expect)
        timings.append(("remediate", time.monotonic() - mark))

        mark = time.monotonic()
        heading(3, "Pipeline: a CloudTrail event -> EventBridge -> SQS -> inspect function -> SNS")
        findings = run_pipeline(server.endpoint_url, builder, expect)
        timings.append(("pipeline", time.monotonic() - mark))

        heading(4, "Slack: the message the published finding produces, as text")
        print_slack(findings, expect)

        mark = time.monotonic()
        heading(5, "Guardrails: refuse a bad setup before it exists (SCP, Guard rules, template preflight)")
        run_guardrails_stage(server.endpoint_url, builder, account, vpcguard_command(), expect)
        timings.append(("guardrails", time.monotonic() - mark))
    finally:
        server.stop()

    say(RULE)
    say(
        "Stage times: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings)
        + f"; total {time.monotonic() - started:.1f} s"
    )
    if expect.missed:
        say(f"DEMO FAILED: {len(expect.missed)} of {expect.held + len(expect.missed)} expectations failed:")
        for what in expect.missed:
            say(f"  - {what}")
        return 1
    say(
        f"HTML report of the first scan: {REPORTS / 'vpcguard-demo.html'}"
        + (
            f"; screenshot: {REPORTS / 'vpcguard-demo.png'}"
            if (REPORTS / "vpcguard-demo.png").exists()
            else ""
        )
    )
    say(
        f"All {expect.held} expectations held: every check passes and fails somewhere; the fixable ones were "
        "fixed, audited and pass on a re-scan; the pipeline published its finding and fix; Slack shows it; "
        "the guardrails refuse what the checks fail."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
