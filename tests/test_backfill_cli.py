"""`vpcguard scan --all` against local AWS: flags, exit codes, the progress bar (terminal
only), fixes across the account, and reports written with --output."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.conftest import run
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard import __version__, cli
from vpcguard.progress import ProgressBar


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def account(builder: Builder, *, vpcs: int = 2) -> dict[str, str]:
    """`good` passes everything that moto can make pass; `lonely`'s security group has no
    self-referencing rule (sg_self_ingress FAIL, MEDIUM, fixable). Each has its own VPC,
    or (vpcs=1, quicker to build) they share one."""
    nets = [builder.compliant_vpc("10.1")]
    nets.append(builder.compliant_vpc("10.2") if vpcs == 2 else nets[0])
    lonely_sg = builder.security_group(nets[1].vpc_id, self_ingress=False)
    builder.compliant_model("good", nets[0])
    builder.compliant_model("lonely", nets[1], security_group_ids=[lonely_sg])
    builder.transform_job("nightly", "good", instance_count=2)
    return {"good_vpc": nets[0].vpc_id, "lonely_vpc": nets[1].vpc_id, "lonely_sg": lonely_sg}


def self_rule(builder: Builder, group_id: str) -> bool:
    group = builder.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return any(
        pair.get("GroupId") == group_id
        for perm in group["IpPermissions"]
        for pair in perm.get("UserIdGroupPairs", [])
    )


# --- usage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["scan", "--all", "--model", "m"],
            "--all scans every model and job: it cannot be combined with --model",
        ),
        (["scan", "--all", "--transform-job", "j"], "cannot be combined with --model/--transform-job"),
        (["scan", "--model", "m", "--since", "2024-01-01"], "--since only apply with --all"),
        (
            ["scan", "--model", "m", "--jobs", "all", "--max-workers", "2"],
            "--jobs, --max-workers only apply with --all",
        ),
        (["scan"], "nothing to scan: give --model NAME and/or --transform-job NAME, or --all"),
    ],
)
def test_scan_all_usage_errors_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv, "--region", REGION)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--since", "last tuesday"],
            "argument --since: 'last tuesday' is not a date (YYYY-MM-DD) or an ISO 8601 time",
        ),
        (["--jobs", "running"], "argument --jobs: invalid choice: 'running'"),
        (["--max-workers", "0"], "argument --max-workers: must be at least 1, not 0"),
        (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
    ],
)
def test_bad_account_flags_are_argparse_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(["scan", "--all", *argv])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


# --- the scan --------------------------------------------------------------------------------------


def test_scan_all_table_summarises_by_check_and_vpc(builder, capsys, aws_args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    ids = account(builder)

    code, out, err = run(capsys, "scan", "--all", "--jobs", "all", *aws_args)

    assert code == 1  # sg_self_ingress FAILs at MEDIUM, above the default --fail-on LOW
    assert err == ""  # not a terminal: no progress bar, and nothing went wrong
    assert out.startswith("By check\nCHECK ")
    assert re.search(r"\nsg_self_ingress +1 +0 +0 +0 +0 +2 +0\n", out), out
    assert re.search(rf"\n{ids['good_vpc']} +2 +\d +0 +\d+\n", out), out
    assert re.search(rf"\n{ids['lonely_vpc']} +1 +1 +0 +\d+\n", out), out
    assert re.search(rf"\n  MEDIUM +model lonely \({ids['lonely_vpc']}\): .*sg_self_ingress", out), out
    assert "Errors:" not in out
    assert re.search(r"\n3 subjects: \d+ fail, 0 error, 0 fixed, 0 would fix, 0 exempt\n$", out), out


def test_scan_all_dry_run_plans_fixes_and_remediate_applies_them(builder, capsys, aws_args):
    ids = account(builder, vpcs=1)

    code, out, _ = run(capsys, "scan", "--all", "--jobs", "none", "--dry-run", "--format", "json", *aws_args)
    doc = json.loads(out)
    lonely = next(s for s in doc["subjects"] if s["name"] == "lonely")
    assert next(r for r in lonely["results"] if r["check_id"] == "sg_self_ingress")["status"] == "WOULD_FIX"
    assert [(a["resource_id"], a["outcome"]) for a in doc["audit"]] == [(ids["lonely_sg"], "would_apply")]
    assert not self_rule(builder, ids["lonely_sg"])
    assert code == 1

    code, out, _ = run(
        capsys, "scan", "--all", "--jobs", "none", "--remediate", "--format", "json", *aws_args
    )
    doc = json.loads(out)
    lonely = next(s for s in doc["subjects"] if s["name"] == "lonely")
    assert next(r for r in lonely["results"] if r["check_id"] == "sg_self_ingress")["status"] == "FIXED"
    assert self_rule(builder, ids["lonely_sg"])
    assert doc["summary"]["fixed"] == 1


def test_since_in_the_future_scans_nothing_and_exits_0(builder, capsys, aws_args):
    account(builder, vpcs=1)
    code, out, _ = run(capsys, "scan", "--all", "--since", "2999-01-01", "--format", "json", *aws_args)
    assert code == 0
    document = json.loads(out)
    assert document == {
        "subjects": [],
        "summary": {"subjects": 0, "fail": 0, "fixed": 0, "would_fix": 0, "error": 0, "exempt": 0},
        "metadata": {
            "tool": "vpcguard",
            "version": __version__,
            "time": document["metadata"]["time"],  # the run's start
            # No subject names the account, and learning it would cost an STS call.
            "account": None,
            "region": REGION,
            "checks": None,
        },
    }


def test_progress_bar_on_a_terminal_only(builder, capsys, aws_args, monkeypatch):
    account(builder, vpcs=1)
    terminal = Tty()
    monkeypatch.setattr("sys.stderr", terminal)

    code = cli.main(["scan", "--all", "--jobs", "all", "--format", "json", *aws_args])

    drawn = terminal.getvalue()
    out = capsys.readouterr().out
    assert code == 1 and json.loads(out)["summary"]["subjects"] == 3  # stdout is the report alone
    finals = [frame.rstrip() for frame in re.split(r"[\r\n]", drawn) if frame.strip()]
    # Jobs are described first (so the models they use are known); models are described as
    # they are evaluated, streaming (issue 15).
    assert "describe jobs        [" + "#" * 30 + "] 1/1" in [
        f[: len("describe jobs        [") + 36] for f in finals
    ]
    assert any(f.startswith("evaluate") and "] 3/3" in f for f in finals), drawn
    assert drawn.endswith("\n")  # the terminal's prompt starts on a line of its own


def test_progress_bar_redraws_in_place_and_finishes_each_step():
    now = [0.0]
    stream = Tty()
    bar = ProgressBar(stream, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 0.01
        bar("evaluate", done, 100)

    frames = stream.getvalue().split("\r")[1:]
    # At most ~10 frames a second, and always the last one.
    assert 8 <= len(frames) <= 12
    assert frames[-1].startswith("evaluate             [" + "#" * 30 + "] 100/100")
    assert frames[-1].endswith("\n")


# --- --output --------------------------------------------------------------------------------------


def test_output_writes_csv_html_and_json_files(builder, capsys, aws_args, tmp_path):
    ids = account(builder)

    for fmt in ("csv", "html", "json"):
        path = tmp_path / f"report.{fmt}"
        code, out, err = run(
            capsys, "scan", "--all", "--jobs", "all", "--format", fmt, "--output", str(path), *aws_args
        )
        assert code == 1 and out == "" and err == "", (fmt, out, err)

    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text(encoding="utf-8"))))
    assert {(r["subject_type"], r["subject_name"]) for r in rows} == {
        ("model", "good"),
        ("model", "lonely"),
        ("transform_job", "nightly"),
    }
    fail = next(r for r in rows if r["check_id"] == "sg_self_ingress" and r["status"] == "FAIL")
    assert fail["subject_name"] == "lonely" and ids["lonely_sg"] in fail["resource_ids"].split(";")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count('<table class="sortable vpc"') == 2
    assert f'data-vpc="{ids["lonely_vpc"]}"' in page and ids["lonely_sg"] in page
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["subjects"] == 3


def test_output_to_an_unwritable_path_is_one_line_exit_2(builder, capsys, aws_args, tmp_path):
    builder.compliant_model("good", builder.compliant_vpc())
    code, out, err = run(
        capsys, "scan", "--all", "--format", "csv", "--output", str(tmp_path / "missing" / "r.csv"), *aws_args
    )
    assert code == 2 and out == ""
    assert err.startswith("vpcguard: cannot write the report to ") and err.count("\n") == 1


def test_single_subject_scan_takes_the_new_formats_too(builder, capsys, aws_args):
    builder.compliant_model("good", builder.compliant_vpc())
    code, out, _ = run(capsys, "scan", "--model", "good", "--format", "csv", *aws_args)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["subject_name"] for r in rows} == {"good"} and len(rows) >= 15
