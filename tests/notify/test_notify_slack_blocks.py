"""The Slack message: Block Kit validity (rebuilt through slack-sdk's block models), Slack's
limits, what a person reads in it, and the plain-text rendering used by `make demo`."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from tests.notify.conftest import result, subject
from vpcguard.notify.findings import Suppressed
from vpcguard.notify.slack import (
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    build_message,
    render_text,
)


def assert_valid_block_kit(payload: dict) -> None:
    """Every block parses back into slack-sdk's models and passes their validation, and
    the limits the models do not check (fields, context text) hold too."""
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert payload["text"].strip()
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None and type(block) is not Block, f"unknown block type {raw['type']}"
        block.validate_json()  # raises SlackObjectFormationError on a broken block
        assert block.to_dict() == raw
        if raw["type"] == "header":
            assert raw["text"]["type"] == "plain_text"
            assert len(raw["text"]["text"]) <= MAX_HEADER_TEXT
        if raw["type"] == "section":
            assert len(raw.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT
            assert len(raw.get("fields", [])) <= 10
            assert all(len(f["text"]) <= MAX_FIELD_TEXT for f in raw.get("fields", []))
        if raw["type"] == "context":
            assert 0 < len(raw["elements"]) <= 10
            assert all(len(e["text"]) <= MAX_SECTION_TEXT for e in raw["elements"])


def section_texts(payload: dict) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]


def test_message_from_the_engine_names_the_job_its_problems_and_links_the_console(engine_subject):
    data, ids = engine_subject
    payload = build_message(data)
    assert_valid_block_kit(payload)

    header = payload["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "HIGH: transform job churn-nightly"
    facts = payload["blocks"][1]
    job_url = "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/transform-jobs/churn-nightly"
    model_url = "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/models/churn-model"
    assert f"<{job_url}|churn-nightly>" in facts["text"]["text"]
    assert f"<{model_url}|churn-model>" in facts["text"]["text"]
    fields = [f["text"] for f in facts["fields"]]
    assert "*Account*\n123456789012" in fields and "*Region*\nus-east-1" in fields
    vpc_url = f"https://us-east-1.console.aws.amazon.com/vpcconsole/home?region=us-east-1#VpcDetails:VpcId={ids['vpc']}"
    assert f"*VPC*\n<{vpc_url}|{ids['vpc']}>" in fields and "*Team*\nml" in fields

    fails = [r for r in data["results"] if r["status"] == "FAIL"]
    texts = section_texts(payload)
    for r in fails:  # one section per FAIL, with its evidence
        [text] = [t for t in texts if f"(`{r['check_id']}`)" in t]
        assert "*Evidence:*" in text
    [capacity] = [t for t in texts if "`subnet_ip_capacity`" in t]
    assert ids["subnet"] in capacity and "260 are needed" in capacity
    [self_rule] = [t for t in texts if "`sg_self_ingress`" in t]
    # sg_self_ingress is fixable but in notify mode here: the message says how to let vpcguard fix it.
    assert "VPCGUARD_MODES=sg_self_ingress=fix" in self_rule
    # Worst first.
    order = [next(r["severity"] for r in fails if f"(`{r['check_id']}`)" in t) for t in texts[1:]]
    ranks = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "INFORMATIONAL": 0}
    assert [ranks[s] for s in order] == sorted((ranks[s] for s in order), reverse=True)


def test_forty_failing_results_stay_inside_slack_limits_and_say_how_many_more():
    long_detail = "subnet-0abc has 3 free IPs; 80 are needed. " * 60  # ~2,600 characters each
    results = [
        result(f"check_{i:02d}", detail=long_detail, resource_ids=[f"sg-{i:017d}" for i in range(40)])
        for i in range(40)
    ]
    payload = build_message(subject(results, name="m" * 200))
    assert_valid_block_kit(payload)
    assert (
        len(payload["blocks"][0]["text"]["text"]) == MAX_HEADER_TEXT
    )  # a 200-char name is cut, not rejected

    shown = [t for t in section_texts(payload) if t.startswith("*HIGH* · ")]
    assert 0 < len(shown) < 40
    [more] = [
        b for b in payload["blocks"] if b["type"] == "context" and "more failing" in b["elements"][0]["text"]
    ]
    hidden = 40 - len(shown)
    assert f"…and {hidden} more failing checks" in more["elements"][0]["text"]
    assert f"`check_{39:02d}`" in more["elements"][0]["text"]
    for text in shown:  # evidence cut with an ellipsis, never past the section limit
        assert "…" in text and len(text) <= MAX_SECTION_TEXT


def test_forty_short_failures_each_get_a_section():
    results = [result(f"check_{i:02d}", severity=["HIGH", "LOW"][i % 2]) for i in range(40)]
    payload = build_message(subject(results))
    assert_valid_block_kit(payload)
    assert len([t for t in section_texts(payload) if "*Evidence:*" in t]) == 40
    assert not any("more failing" in json.dumps(b) for b in payload["blocks"])


def test_fixed_would_fix_and_error_are_listed_as_such():
    results = [
        result(
            "sg_self_ingress",
            "FIXED",
            fixable=True,
            detail="no self rule -> fixed",
            remediation={
                "action": "AuthorizeSecurityGroupIngress",
                "resource_id": "sg-1",
                "description": "allow all traffic from sg-1 to itself",
            },
        ),
        result(
            "flow_logs_enabled",
            "WOULD_FIX",
            "MEDIUM",
            fixable=True,
            remediation={
                "action": "CreateFlowLogs",
                "resource_id": "vpc-1",
                "description": "create a flow log for vpc-1 (ALL traffic)",
            },
        ),
        result(
            "execution_role_vpc_permissions",
            "ERROR",
            detail="could not be evaluated: AccessDenied on iam:GetRole",
        ),
    ]
    payload = build_message(subject(results))
    assert_valid_block_kit(payload)
    texts = section_texts(payload)
    assert any(
        t.startswith("*Auto-fixed* (1)") and "allow all traffic from sg-1 to itself" in t for t in texts
    )
    assert any(
        t.startswith("*Would fix (dry run)* (1)") and "create a flow log for vpc-1" in t for t in texts
    )
    assert any(t.startswith("*Could not check* (1)") and "AccessDenied on iam:GetRole" in t for t in texts)
    # The headline says what was fixed, what would be, and that something could not be checked.
    assert payload["blocks"][0]["text"]["text"] == (
        "HIGH auto-fixed (1), MEDIUM would be fixed, dry run (1), could not check (1): model scoring-model"
    )


def test_a_long_list_of_auto_fixes_ends_with_and_n_more():
    results = [result(f"fix_{i:02d}", "FIXED", detail="x" * 380) for i in range(30)]
    payload = build_message(subject(results))
    assert_valid_block_kit(payload)
    [listing] = [t for t in section_texts(payload) if t.startswith("*Auto-fixed* (30)")]
    shown = listing.count("\n• ")
    assert 0 < shown < 30 and listing.endswith(f"…and {30 - shown} more")


def test_suggestion_and_special_characters_are_escaped_for_mrkdwn():
    policy = {"Statement": [{"Effect": "Deny", "Resource": "arn:aws:s3:::packages.*.amazonaws.com/*"}]}
    results = [
        result(
            "s3_endpoint_denies_package_repos",
            "FAIL",
            "LOW",
            detail="policy allows <everything> & more -> bad",
            remediation={"action": "none", "suggestion": policy},
        )
    ]
    payload = build_message(subject(results))
    assert_valid_block_kit(payload)
    [text] = [t for t in section_texts(payload) if "package_repos" in t]
    assert "&lt;everything&gt; &amp; more -&gt; bad" in text
    assert "```" in text and "packages.*.amazonaws.com" in text


def test_digest_of_suppressed_repeats_is_a_context_block():
    payload = build_message(
        subject([result("sg_self_ingress")]),
        [Suppressed("subnet_ip_capacity", "FAIL", 3), Suppressed("flow_logs_enabled", "FIXED", 1)],
    )
    assert_valid_block_kit(payload)
    [digest] = [
        b["elements"][0]["text"]
        for b in payload["blocks"]
        if b["type"] == "context" and b["elements"][0]["text"].startswith("Suppressed since last message")
    ]
    assert (
        digest
        == "Suppressed since last message: 4 repeats (3 × `subnet_ip_capacity` FAIL, 1 × `flow_logs_enabled` FIXED)"
    )


def test_render_text_is_the_same_message_for_a_terminal(engine_subject):
    data, ids = engine_subject
    text = render_text(data)
    lines = text.splitlines()
    assert lines[0] == "HIGH: transform job churn-nightly"
    assert (
        "Transform job churn-nightly (https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/transform-jobs/churn-nightly)"
        in text
    )
    assert "Account: 123456789012" in text and "Team: ml" in text
    assert "Subnets have 2 free IP addresses per instance (`subnet_ip_capacity`)" in text
    assert f"Evidence: {ids['subnet']} has" in text
    assert "*" not in text.replace("*.amazonaws", "")  # mrkdwn bold markers are gone
    assert "&gt;" not in text and "&amp;" not in text


@pytest.mark.parametrize("bad", [{"type": "model"}, {"results": "x"}, []])
def test_a_body_that_is_not_a_subject_is_rejected(bad):
    from vpcguard.notify.subject import BadMessage

    with pytest.raises(BadMessage):
        build_message(bad)
