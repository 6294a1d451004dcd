"""The CLI's filters and the preflight input a user of the AWS CLI and Prowler expects (issue 14):
`--status`/`--severity` (only those results shown; the exit code and the summary still count
everything evaluated), `--log-level` (stderr only), `preflight --from-json`, help text on every
option, and the messages whose advice a user pastes (the execution role's missing actions, the
suggested bucket policy). Every test runs the real CLI against the local AWS endpoint."""

from __future__ import annotations

import re

from tests.conftest import run, run_json
from tests.localaws.builders import ENI_ACTIONS
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
