"""Organization-wide: a hub evaluates and fixes subjects in member accounts and regions
through each member's role, on moto's server, which keeps accounts apart (credentials from
AssumeRole into a member's role see only that account's resources).

The worlds: the hub (moto's default account) and member accounts, each with a model named
`churn` whose security group lacks the self-referencing rule (sg_self_ingress FAIL, fixed by
default), so a fix in the wrong account would show. A member role that does not exist is
refused as AWS refuses it (tests/localaws/moto_fidelity.py).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from tests.conftest import result_of
from tests.localaws.builders import Builder
from tests.localaws.organization import OrgSetup
from tests.localaws.server import ACCOUNT as HUB
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard.accounts import AccountSessions, MemberRoleError, Target
from vpcguard.aws import AwsClients
from vpcguard.events import parse_event
from vpcguard.inspection import Inspector
from vpcguard.model import Status

MEMBER_A = "222222222222"
MEMBER_B = "333333333333"
BROKEN = "444444444444"  # an account without the member role
OTHER_REGION = "us-west-2"
ROLE = "vpcguard-member"


def member_role(org: OrgSetup, account: str, *, trusted: str = HUB, external_id: str | None = None) -> str:
    """The member role as member.yaml makes it: trusted by the hub account."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{trusted}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    iam = org.builder(account).client("iam")
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    return iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def world(org: OrgSetup, account: str | None, region: str = REGION, cidr: str = "10.1") -> dict[str, str]:
    """`churn` (its group lacks the self rule) and `steady` (compliant) in one account and region."""
    made = org.next_world()

    def build() -> dict[str, str]:
        builder = org.builder(account, region)
        # IAM names are global to an account: worlds in two regions of one account need their own.
        builder._counter = 1000 * made
        net = builder.compliant_vpc(
            cidr, buckets=(f"in-{account or HUB}-{region}", f"out-{account or HUB}-{region}")
        )
        lonely = builder.security_group(net.vpc_id, self_ingress=False)
        arn = builder.compliant_model("churn", net, security_group_ids=[lonely])
        builder.compliant_model("steady", net)
        return {"sg": lonely, "arn": arn, "vpc": net.vpc_id}

    # Built by its calls once per process, then a copy (tests/localaws/worlds.py).
    return org.worlds.restore_or_build(("organization world", account, region, cidr, made), build)


def has_self_rule(org: OrgSetup, account: str | None, group_id: str, region: str = REGION) -> bool:
    ec2 = org.builder(account, region).ec2
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return any(
        p.get("GroupId") == group_id
        for perm in group["IpPermissions"]
        for p in perm.get("UserIdGroupPairs", [])
    )


def create_model_event(account: str, region: str, name: str = "churn") -> dict[str, Any]:
    """A CloudTrail CreateModel event as a member account's rule forwards it to the hub's bus."""
    event = json.loads((cli_root() / "events" / "create_model.json").read_text())
    text = json.dumps(event).replace("fraud-scoring-v3", name).replace("123456789012", account)
    event = json.loads(text.replace('"us-east-1"', f'"{region}"').replace(":us-east-1:", f":{region}:"))
    event["id"] = f"evt-{account}-{region}-{name}"
    event["detail"]["eventID"] = f"ct-{account}-{region}-{name}"
    return event


def cli_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def hub_inspector(endpoint_url: str, **env: str) -> Inspector:
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    variables = {
        "VPCGUARD_REMEDIATE": "true",
        "VPCGUARD_MEMBER_ROLE_NAME": ROLE,
        "VPCGUARD_HUB_ACCOUNT": HUB,
        **env,
    }
    return Inspector.from_env(variables, clients=clients)


# --- the inspect path ----------------------------------------------------------------------------


def test_an_event_from_a_member_account_is_fixed_in_that_account_only(endpoint_url, org):
    hub, a, b = world(org, None), world(org, MEMBER_A), world(org, MEMBER_B)
    member_role(org, MEMBER_A)
    member_role(org, MEMBER_B)
    inspector = hub_inspector(endpoint_url)

    work = parse_event(create_model_event(MEMBER_A, REGION))
    outcome = inspector.inspect(work)
    report = inspector.evaluate(work)  # idempotent: a second look sees the fix in place

    assert outcome["account"] == MEMBER_A and outcome["region"] == REGION
    assert outcome["member_role_failed"] is False
    assert outcome["audit"] == 1
    assert report.account == MEMBER_A and report.arn == a["arn"]
    assert result_of(report, "sg_self_ingress").status == Status.PASS
    # The member's group got the rule; the hub's and the other member's same-named models did not.
    assert has_self_rule(org, MEMBER_A, a["sg"])
    assert not has_self_rule(org, None, hub["sg"])
    assert not has_self_rule(org, MEMBER_B, b["sg"])


def test_the_audit_record_names_the_member_account_and_goes_to_the_hub(endpoint_url, org):
    world(org, MEMBER_A)
    member_role(org, MEMBER_A)
    hub = Builder(endpoint_url)
    table = "vpcguard-audit"
    hub.client("dynamodb").create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "resource_id", "AttributeType": "S"},
            {"AttributeName": "recorded_at", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "resource_id", "KeyType": "HASH"},
            {"AttributeName": "recorded_at", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    inspector = hub_inspector(endpoint_url, VPCGUARD_AUDIT_TABLE=table)
    report = inspector.evaluate(parse_event(create_model_event(MEMBER_A, REGION)))

    assert result_of(report, "sg_self_ingress").status == Status.FIXED
    (record,) = report.audit
    assert (record.account, record.region) == (MEMBER_A, REGION)
    items = hub.client("dynamodb").scan(TableName=table)["Items"]
    assert [i["account"]["S"] for i in items] == [MEMBER_A]
    assert "CreateModel event" in items[0]["trigger"]["S"]


def test_a_role_that_cannot_be_assumed_is_an_error_finding_never_the_hubs_model(endpoint_url, org):
    hub = world(org, None)  # the hub has its own `churn`, which must not be read or fixed
    world(org, BROKEN)
    inspector = hub_inspector(endpoint_url)
    counter = inspector.engine.clients.counter

    outcome = inspector.inspect(parse_event(create_model_event(BROKEN, REGION)))

    assert outcome["member_role_failed"] is True
    assert outcome["account"] == BROKEN
    assert outcome["statuses"] == {"ERROR": 1}
    assert counter.calls["sts:AssumeRole"] == 1
    assert not any(op.startswith(("api.sagemaker:", "ec2:")) for op in counter.calls), counter.calls
    assert not has_self_rule(org, None, hub["sg"])
    report = inspector.evaluate(parse_event(create_model_event(BROKEN, REGION)))
    (error,) = report.results
    assert error.status == Status.ERROR
    assert f"cannot assume arn:aws:iam::{BROKEN}:role/{ROLE}" in error.detail
    assert "AccessDenied" in error.detail
    # Remembered for a minute: the second subject does not ask STS again.
    assert counter.calls["sts:AssumeRole"] == 1


def test_an_event_from_another_region_of_a_member_is_evaluated_there(endpoint_url, org):
    east = world(org, MEMBER_A)
    west = world(org, MEMBER_A, region=OTHER_REGION, cidr="10.7")
    member_role(org, MEMBER_A)
    inspector = hub_inspector(endpoint_url)

    report = inspector.evaluate(parse_event(create_model_event(MEMBER_A, OTHER_REGION)))

    assert (report.account, report.region, report.arn) == (MEMBER_A, OTHER_REGION, west["arn"])
    assert result_of(report, "sg_self_ingress").status == Status.FIXED
    assert has_self_rule(org, MEMBER_A, west["sg"], region=OTHER_REGION)
    assert not has_self_rule(org, MEMBER_A, east["sg"])


def test_security_hub_findings_of_a_member_are_the_hubs_and_name_the_member():
    from vpcguard.model import Severity
    from vpcguard.notify.securityhub import to_asff
    from vpcguard.results import CheckResult, SubjectReport

    result = CheckResult(
        check_id="sg_self_ingress",
        status=Status.FAIL,
        severity=Severity.MEDIUM,
        title="Security group allows traffic from itself",
        detail="no self rule",
        fixable=True,
    )
    subject = SubjectReport(
        type="model",
        name="churn",
        arn=f"arn:aws:sagemaker:{OTHER_REGION}:{MEMBER_A}:model/churn",
        region=OTHER_REGION,
        account=MEMBER_A,
        vpc_id="vpc-1",
        instance_count=1,
        model_name="churn",
        tags={},
        results=[result],
    )
    finding = to_asff(subject, result, now="2026-01-01T00:00:00Z", home=(HUB, REGION))
    # BatchImportFindings of the default product takes only the importing account's findings.
    assert finding["AwsAccountId"] == HUB
    assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{HUB}:product/{HUB}/default"
    assert f"in account {MEMBER_A} {OTHER_REGION}" in finding["Title"]
    assert finding["ProductFields"]["vpcguard/account"] == MEMBER_A
    assert finding["Resources"][1]["Id"] == f"arn:aws:ec2:{OTHER_REGION}:{MEMBER_A}:vpc/vpc-1"


# --- credentials and caps ------------------------------------------------------------------------


def test_credentials_are_assumed_once_per_account_and_see_only_that_account(endpoint_url, org):
    world(org, MEMBER_A)
    member_role(org, MEMBER_A)
    sessions = AccountSessions(AwsClients(region=REGION, endpoint_url=endpoint_url), home_account=HUB)

    east = sessions.clients(MEMBER_A, REGION)
    west = sessions.clients(MEMBER_A, OTHER_REGION)

    assert sessions.assume_role_calls == 1
    assert east.client("sts").get_caller_identity()["Account"] == MEMBER_A
    assert [m["ModelName"] for m in east.client("sagemaker").list_models()["Models"]] == ["churn", "steady"]
    assert west.client("sagemaker").list_models()["Models"] == []
    assert sessions.clients(MEMBER_A, REGION) is east
    assert sessions.clients(HUB, REGION) is sessions.base


def test_an_external_id_is_passed_when_the_role_requires_one(endpoint_url, org):
    member_role(org, MEMBER_A, external_id="s3cret-org")
    base = AwsClients(region=REGION, endpoint_url=endpoint_url)
    with pytest.raises(MemberRoleError, match="AccessDenied"):
        AccountSessions(base, home_account=HUB).clients(MEMBER_A)
    sessions = AccountSessions(base, home_account=HUB, external_id="s3cret-org")
    assert sessions.clients(MEMBER_A).client("sts").get_caller_identity()["Account"] == MEMBER_A


def test_concurrent_calls_per_account_and_region_are_capped(endpoint_url):
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url, max_concurrent_calls=2)
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow_send(**_: Any) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1

    clients.session.events.register("before-send", slow_send)
    ec2 = clients.client("ec2")
    threads = [threading.Thread(target=ec2.describe_vpcs) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2
    assert clients.counter.calls["ec2:DescribeVpcs"] == 8


# --- the CLI -------------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def organization(endpoint_url: str, members: int) -> list[str]:
    """An organization with the hub as management account and `members` new accounts."""
    org = Builder(endpoint_url).client("organizations")
    org.create_organization(FeatureSet="ALL")
    made = []
    for n in range(members):
        status = org.create_account(Email=f"m{n}@example.com", AccountName=f"member-{n}")[
            "CreateAccountStatus"
        ]
        made.append(status["AccountId"])
    return made


def test_scan_org_covers_every_account_and_both_regions_and_isolates_a_broken_one(endpoint_url, capsys, org):
    first, second, broken = organization(endpoint_url, 3)
    expected: dict[tuple[str, str], str] = {}
    for account in (HUB, first, second, broken):
        for region, cidr in ((REGION, "10.1"), (OTHER_REGION, "10.2")):
            made = world(org, None if account == HUB else account, region=region, cidr=cidr)
            expected[(account, region)] = made["arn"]
    member_role(org, first)
    member_role(org, second)  # `broken` has none

    code, out, err = run(
        capsys,
        "scan",
        "--all",
        "--org",
        "--regions",
        f"{REGION},{OTHER_REGION}",
        "--format",
        "json",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint_url,
    )

    document = json.loads(out)
    churn = {(s["account"], s["region"]): s["arn"] for s in document["subjects"] if s["name"] == "churn"}
    assert churn == {k: v for k, v in expected.items() if k[0] != broken}
    assert len(document["subjects"]) == 2 * 3 * 2
    assert {(t["account"], t["region"]) for t in document["targets"]} == set(expected)
    assert document["failed_targets"] == [
        {"account": broken, "region": "*", "error": document["failed_targets"][0]["error"]}
    ]
    assert f"arn:aws:iam::{broken}:role/{ROLE}" in document["failed_targets"][0]["error"]
    assert f"vpcguard: account {broken} not scanned: cannot assume arn:aws:iam::{broken}:role/{ROLE}" in err
    assert code == 2


def test_scan_accounts_table_names_the_failed_account_and_still_fixes_the_others(endpoint_url, capsys, org):
    a, b = world(org, MEMBER_A), world(org, MEMBER_B)
    member_role(org, MEMBER_A)
    member_role(org, MEMBER_B)

    code, out, err = run(
        capsys,
        "scan",
        "--all",
        "--accounts",
        f"{MEMBER_A},{BROKEN}",
        "--accounts",
        MEMBER_B,
        "--remediate",
        "--region",
        REGION,
        "--endpoint-url",
        endpoint_url,
    )

    assert code == 2
    assert out.startswith(f"3 accounts x 1 region ({REGION}): 2 scanned, 1 failed\n")
    assert "Not scanned (1):" in out and f"  {BROKEN}  all regions" in out
    assert f"account {BROKEN} not scanned" in err
    assert has_self_rule(org, MEMBER_A, a["sg"]) and has_self_rule(org, MEMBER_B, b["sg"])


def test_scan_model_arn_of_another_account_goes_through_its_role(endpoint_url, capsys, org):
    hub, a = world(org, None), world(org, MEMBER_A)
    member_role(org, MEMBER_A)
    aws = ["--region", REGION, "--endpoint-url", endpoint_url, "--format", "json"]

    code, out, _ = run(capsys, "scan", "--model", a["arn"], "--remediate", *aws)
    (subject,) = json.loads(out)["subjects"]
    assert (subject["account"], subject["arn"]) == (MEMBER_A, a["arn"])
    assert has_self_rule(org, MEMBER_A, a["sg"])
    assert not has_self_rule(org, None, hub["sg"])
    assert code == 0

    # A role that cannot be assumed: refused before anything is read, as without a member role.
    missing = a["arn"].replace(MEMBER_A, BROKEN)
    code, out, err = run(capsys, "scan", "--model", missing, "--remediate", *aws)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "never evaluates or fixes it with these credentials" in err
    assert f"cannot assume arn:aws:iam::{BROKEN}:role/{ROLE}" in err
    assert not has_self_rule(org, None, hub["sg"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "m", "--accounts", MEMBER_A], "--accounts only apply with --all"),
        (["--all", "--accounts", "12345"], "'12345' is not an AWS account id"),
        (["--all", "--org", "--accounts", MEMBER_A], "cannot be combined with --accounts"),
        (["--all", "--regions", "all,us-east-1"], "--regions all cannot be combined"),
    ],
)
def test_org_flag_mistakes_are_one_line_exit_2(capsys, endpoint_url, argv, message):
    code, out, err = run(capsys, "scan", *argv, "--region", REGION, "--endpoint-url", endpoint_url)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_regions_all_means_every_enabled_region(endpoint_url):
    from vpcguard.accounts import enabled_regions

    regions = enabled_regions(AwsClients(region=REGION, endpoint_url=endpoint_url))
    assert REGION in regions and OTHER_REGION in regions
    assert Target(HUB, REGION) < Target(HUB, OTHER_REGION)


# --- the backfill Lambda across accounts ---------------------------------------------------------


def sqs_records(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"r-{n}",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{HUB}:vpcguard-backfill-targets",
                "awsRegion": REGION,
            }
            for n, body in enumerate(bodies)
        ]
    }


def test_backfill_fans_out_per_account_and_region_then_per_subject(endpoint_url, monkeypatch, org):
    from tests.test_backfill_lambda import CONTEXT, drain, load_app

    world(org, MEMBER_A)
    west = world(org, MEMBER_A, region=OTHER_REGION, cidr="10.7")
    member_role(org, MEMBER_A)
    sqs = Builder(endpoint_url).client("sqs")
    work_queue = sqs.create_queue(QueueName="vpcguard-work")["QueueUrl"]
    target_queue = sqs.create_queue(QueueName="vpcguard-backfill-targets")["QueueUrl"]
    for name, value in {
        "VPCGUARD_WORK_QUEUE_URL": work_queue,
        "VPCGUARD_BACKFILL_QUEUE_URL": target_queue,
        "VPCGUARD_MEMBER_ROLE_NAME": ROLE,
        "VPCGUARD_HUB_ACCOUNT": HUB,
        "AWS_ENDPOINT_URL": endpoint_url,
    }.items():
        monkeypatch.setenv(name, value)
    app = load_app()

    answer = app.lambda_handler({"accounts": [MEMBER_A, BROKEN], "regions": [REGION, OTHER_REGION]}, CONTEXT)

    assert answer == {"queued_targets": 4, "failed_targets": []}
    targets = drain(endpoint_url, target_queue)
    assert sorted((json.loads(b)["account"], json.loads(b)["region"]) for b in targets) == sorted(
        [(MEMBER_A, REGION), (MEMBER_A, OTHER_REGION), (BROKEN, REGION), (BROKEN, OTHER_REGION)]
    )

    # The same function, fed by the target queue: each target's subjects onto the work queue.
    answer = app.lambda_handler(sqs_records(targets), CONTEXT)
    assert answer == {"batchItemFailures": []}
    work = [parse_event(b) for b in drain(endpoint_url, work_queue)]
    assert sorted((w.account, w.region, w.subject_ref) for w in work) == [
        (MEMBER_A, REGION, "churn"),
        (MEMBER_A, REGION, "steady"),
        (MEMBER_A, OTHER_REGION, "churn"),
        (MEMBER_A, OTHER_REGION, "steady"),
    ]
    # One AssumeRole per account (cached for its second region); the broken one tried once.
    assert app.sessions().assume_role_calls == 2

    # The inspect path evaluates the message in the member account and region it names.
    inspector = hub_inspector(endpoint_url)
    item = next(w for w in work if (w.region, w.subject_ref) == (OTHER_REGION, "churn"))
    report = inspector.evaluate(item)
    assert (report.account, report.region, report.arn) == (MEMBER_A, OTHER_REGION, west["arn"])
    assert result_of(report, "sg_self_ingress").status == Status.FIXED


def test_backfill_org_request_mistakes_are_refused():
    from vpcguard.backfill import BackfillRequest

    with pytest.raises(ValueError, match='give "org": true or "accounts", not both'):
        BackfillRequest.parse({"org": True, "accounts": [MEMBER_A]})
    with pytest.raises(ValueError, match="is not an AWS account id"):
        BackfillRequest.parse({"accounts": ["nope"]})
    with pytest.raises(ValueError, match="give no names"):
        BackfillRequest.parse({"org": True, "models": ["m"]})
    assert BackfillRequest.parse({"org": True, "regions": ["all"]}).fans_out


def test_member_credentials_are_renewed_shortly_before_they_expire(endpoint_url, org):
    from datetime import UTC, datetime, timedelta

    member_role(org, MEMBER_A)
    sessions = AccountSessions(AwsClients(region=REGION, endpoint_url=endpoint_url), home_account=HUB)
    clients = sessions.clients(MEMBER_A)
    clients.client("sagemaker").list_models()
    credentials = clients.session.get_credentials()
    first = credentials.get_frozen_credentials().access_key
    assert sessions.assume_role_calls == 1

    # Five minutes before expiry the next call assumes the role again (botocore's refresh window).
    credentials._expiry_time = datetime.now(UTC) + timedelta(minutes=5)
    clients.client("sagemaker").list_models()
    assert sessions.assume_role_calls == 2
    assert credentials.get_frozen_credentials().access_key != first


def test_progress_names_each_account_and_region(endpoint_url, capsys, monkeypatch, org):
    import io
    import re

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    world(org, MEMBER_A)
    world(org, MEMBER_A, region=OTHER_REGION, cidr="10.7")
    member_role(org, MEMBER_A)
    terminal = Tty()
    monkeypatch.setattr("sys.stderr", terminal)

    code = cli.main(
        [
            "scan",
            "--all",
            "--accounts",
            MEMBER_A,
            "--regions",
            f"{REGION},{OTHER_REGION}",
            "--format",
            "json",
            "--region",
            REGION,
            "--endpoint-url",
            endpoint_url,
        ]
    )

    frames = [f.strip() for f in re.split(r"[\r\n]", terminal.getvalue()) if f.strip()]
    assert any(f.startswith(f"{MEMBER_A}/{REGION} evaluate") and "] 2/2" in f for f in frames), frames
    assert any(f.startswith(f"{MEMBER_A}/{OTHER_REGION} evaluate") and "] 2/2" in f for f in frames), frames
    assert f"vpcguard: 1 account x 2 regions ({REGION}, {OTHER_REGION}): 2 scanned, 0 failed" in frames
    assert json.loads(capsys.readouterr().out)["summary"]["subjects"] == 4
    assert code == 1  # churn's missing self rule, in both regions
