"""The CLI's filters and the preflight input a user of the AWS CLI and Prowler expects (issue 14):
`--status`/`--severity` (only those results shown; the exit code and the summary still count
everything evaluated), `--log-level` (stderr only), `preflight --from-json`, help text on every
option, and the messages whose advice a user pastes (the execution role's missing actions, the
suggested bucket policy). Every test runs the real CLI against the local AWS endpoint."""

from __future__ import annotations

import json
import re

from tests.conftest import run, run_json
from tests.localaws.builders import ENI_ACTIONS
from tests.localaws.server import ACCOUNT
from vpcguard.notify.slack import render_text
from vpcguard.results import SubjectReport


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- the execution role's missing actions, once each ----------------------------------------


MISSING = ("ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions")


def partial_role_preflight(builder) -> list[str]:
    """preflight's flags for a compliant VPC whose execution role lacks the MISSING actions."""
    net = builder.compliant_vpc()
    granted = [a for a in ENI_ACTIONS if a not in MISSING]
    role = builder.role("partial", inline=policy({"Effect": "Allow", "Action": granted, "Resource": "*"}))
    return [
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--role-arn",
        role,
    ]


def mentions(text: str, action: str) -> int:
    # Whole action names only: ec2:DescribeDhcpOptions is not inside ec2:DescribeDhcpOptionsX.
    return len(re.findall(re.escape(action) + r"(?![A-Za-z])", text))


def test_the_execution_role_message_names_each_missing_action_once(builder, capsys, aws_args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    preflight = partial_role_preflight(builder)
    code, table, _ = run(capsys, *preflight, *aws_args)
    assert code == 1
    for action in MISSING:
        assert mentions(table, action) == 1, (action, table)

    _, doc, _ = run_json(capsys, *preflight, *aws_args)
    (subject,) = doc["subjects"]
    (role,) = [r for r in subject["results"] if r["check_id"] == "execution_role_vpc_permissions"]
    assert role["status"] == "FAIL"
    said = role["detail"] + "\n" + role["remediation"]["description"]
    for action in MISSING:
        assert mentions(said, action) == 1, (action, said)
    assert role["remediation"]["suggestion"]["Statement"][0]["Action"] == list(MISSING)

    # Slack: the prose names each once; the copyable command carries the policy that grants them.
    slack = render_text(SubjectReport.from_dict(subject))
    prose = re.sub(r"```.*?```", "", slack, flags=re.S)
    commands = re.findall(r"```(.*?)```", slack, flags=re.S)
    for action in MISSING:
        assert mentions(prose, action) == 1, (action, slack)
        assert sum(mentions(c, action) for c in commands) == 1, (action, commands)


# --- the suggested bucket policy keeps administrators in ---------------------------------------


def test_suggested_bucket_policy_exempts_admin_roles_and_passes_the_check_once_applied(
    builder, capsys, aws_args
):
    net = builder.compliant_vpc(buckets=("output-data",))
    builder.bucket("raw-data")  # no policy: accepts requests from anywhere
    builder.compliant_model("m", net)
    builder.transform_job("job", "m", input_uri="s3://raw-data/2024/")
    scan = ["scan", "--transform-job", "job", *aws_args]

    _, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "FAIL"
    statement = bucket["remediation"]["suggestion"]
    pasted = json.loads(json.dumps(statement))  # what a person copies is JSON
    assert pasted["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": [net.s3_endpoint_id]},
        "ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/<ADMIN_ROLE>"]},
    }
    description = bucket["remediation"]["description"]
    assert "replace <ADMIN_ROLE>" in description and "locks everyone outside the VPC out" in description

    # The Slack message and the HTML report say the same before the statement.
    slack = render_text(SubjectReport.from_dict(doc["subjects"][0]))
    assert "<ADMIN_ROLE>" in slack and "Before pasting it, replace <ADMIN_ROLE>" in slack

    # Filled in and applied, the check that suggested it passes: the advice does not contradict it.
    filled = json.loads(json.dumps(statement).replace("<ADMIN_ROLE>", "Admin"))
    s3 = builder.client("s3")
    s3.put_bucket_policy(
        Bucket="raw-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [filled]})
    )
    code, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "PASS", bucket["detail"]
    assert "input bucket raw-data" in bucket["detail"]

    # Filled in with the job's own execution role, it no longer limits the job: not credited.
    own = json.loads(json.dumps(statement).replace(f"arn:aws:iam::{ACCOUNT}:role/<ADMIN_ROLE>", net.role_arn))
    s3.put_bucket_policy(Bucket="raw-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [own]}))
    _, doc, _ = run_json(capsys, *scan)
    (bucket,) = [r for r in doc["subjects"][0]["results"] if r["check_id"] == "s3_bucket_policy_vpc_only"]
    assert bucket["status"] == "FAIL"
    assert "input bucket raw-data has no Deny statement limiting s3:GetObject" in bucket["detail"]
