"""`--checks` / `--exclude-checks` (issue 14): only the selected checks are evaluated, and no
AWS call is made for facts only other checks need. The real CLI against moto's server; calls
are counted by the run's own `AwsClients.counter` (botocore before-call hooks), the counter
`make bench` reports."""

from __future__ import annotations

import pytest

from tests.conftest import run, run_json
from tests.faults import deny
from tests.localaws.builders import Builder
from tests.localaws.server import REGION
from vpcguard import cli
from vpcguard import facts as F
from vpcguard.aws import AwsClients
from vpcguard.checks.base import check_ids
from vpcguard.engine import Engine
from vpcguard.model import Status
from vpcguard.settings import Settings

# The reads only the route, endpoint and flow-log checks need.
NETWORK_PATH_READS = {"ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "ec2:DescribeFlowLogs"}


@pytest.fixture
def counted(monkeypatch) -> list[AwsClients]:
    """The AwsClients each CLI run builds (their counters hold every call the run made)."""
    built: list[AwsClients] = []
    real_build = cli.setup.build_clients

    def keep(args):
        clients = real_build(args)
        built.append(clients)
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", keep)
    return built


def calls_of(built: list[AwsClients]) -> dict[str, int]:
    out: dict[str, int] = {}
    for clients in built:
        for op, n in clients.counter.snapshot().items():
            out[op] = out.get(op, 0) + n
    return out


def ids_of(doc: dict) -> list[str]:
    (subject,) = doc["subjects"]
    return [r["check_id"] for r in subject["results"]]


def job_world(builder: Builder) -> None:
    net = builder.compliant_vpc()
    builder.compliant_model("scorer", net)
    builder.transform_job("nightly", "scorer", instance_count=2)


def test_one_iam_check_reads_no_route_tables_endpoints_flow_logs_or_buckets(
    builder, capsys, aws_args, counted
):
    job_world(builder)
    code, doc, err = run_json(
        capsys, "scan", "--transform-job", "nightly", "--checks", "execution_role_vpc_permissions", *aws_args
    )

    assert (code, err) == (0, "")
    assert ids_of(doc) == ["execution_role_vpc_permissions"]
    assert doc["subjects"][0]["results"][0]["status"] == "PASS"
    calls = calls_of(counted)
    assert not NETWORK_PATH_READS & set(calls), calls
    assert "ec2:DescribeVpcAttribute" not in calls and "ec2:DescribePrefixLists" not in calls
    assert not [op for op in calls if op.startswith("s3:")], calls
    assert calls["iam:GetRole"] == 1
    # The job and model describes, the model's tags; the subnets, VPC and groups that say
    # which VPC it is and carry exemption tags; the role's four reads.
    assert sum(calls.values()) == 10, sorted(calls.items())


def test_one_ec2_check_makes_no_iam_or_s3_call(builder, capsys, aws_args, counted):
    job_world(builder)
    code, doc, err = run_json(
        capsys, "scan", "--transform-job", "nightly", "--checks", "sg_self_ingress", *aws_args
    )

    assert (code, err) == (0, "")
    assert ids_of(doc) == ["sg_self_ingress"]
    calls = calls_of(counted)
    assert not [op for op in calls if op.startswith(("iam:", "s3:"))], calls
    assert not NETWORK_PATH_READS & set(calls), calls
    assert calls["ec2:DescribeSecurityGroups"] == 1
    assert sum(calls.values()) == 6, sorted(calls.items())


def test_the_full_run_still_reads_every_fact_group(builder, capsys, aws_args, counted):
    """The reference for the two above: without a selection nothing changes (16 calls)."""
    job_world(builder)
    code, doc, _ = run_json(capsys, "scan", "--transform-job", "nightly", *aws_args)
    assert len(ids_of(doc)) == len(check_ids())
    assert sum(calls_of(counted).values()) == 16


def test_exclude_checks_removes_exactly_those_ids_and_changes_no_other_result(builder, capsys, aws_args):
    job_world(builder)
    _, full, _ = run_json(capsys, "scan", "--transform-job", "nightly", *aws_args)
    excluded = ["flow_logs_enabled", "s3_bucket_policy_vpc_only"]
    code, doc, _ = run_json(
        capsys, "scan", "--transform-job", "nightly", "--exclude-checks", ",".join(excluded), *aws_args
    )

    assert ids_of(doc) == [cid for cid in ids_of(full) if cid not in excluded]
    kept = [r for r in full["subjects"][0]["results"] if r["check_id"] not in excluded]
    assert doc["subjects"][0]["results"] == kept
    assert doc["summary"]["subjects"] == 1


def test_checks_and_exclude_checks_together_are_the_first_minus_the_second(
    builder, capsys, aws_args, counted
):
    job_world(builder)
    code, doc, _ = run_json(
        capsys,
        "scan",
        "--transform-job",
        "nightly",
        "--checks",
        "vpc_dns_support,subnets_multi_az",
        "--checks",
        "flow_logs_enabled",
        "--exclude-checks",
        "flow_logs_enabled",
        *aws_args,
    )
    assert code == 0
    assert ids_of(doc) == ["subnets_multi_az", "vpc_dns_support"]  # catalog order
    assert "ec2:DescribeFlowLogs" not in calls_of(counted)


def test_exit_code_follows_only_the_evaluated_checks(builder, capsys, aws_args):
    net = builder.compliant_vpc()
    builder.compliant_model("open", net, network_isolation=False)
    base = ["scan", "--model", "open", "--fail-on", "INFORMATIONAL", *aws_args]

    assert run(capsys, *base)[0] == 1  # network_isolation fails
    code, doc, _ = run_json(capsys, *base, "--checks", "sg_self_ingress,vpc_dns_support")
    assert code == 0 and {r["status"] for r in doc["subjects"][0]["results"]} == {"PASS"}
    code, doc, _ = run_json(capsys, *base, "--checks", "network_isolation")
    assert code == 1 and ids_of(doc) == ["network_isolation"]
    code, _, _ = run_json(capsys, *base, "--exclude-checks", "network_isolation")
    assert code == 0


def test_an_unreadable_fact_no_selected_check_needs_is_never_read_nor_an_error(
    builder, capsys, aws_args, monkeypatch
):
    """Injected AccessDenied on DescribeFlowLogs (tests/faults.py): the full run is exit 2;
    without flow_logs_enabled the call is not made, so nothing is an ERROR."""
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    built: list[AwsClients] = []
    real_build = cli.setup.build_clients

    def denying(args):
        clients = real_build(args)
        deny(clients, "ec2", "DescribeFlowLogs")
        built.append(clients)
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", denying)
    assert run(capsys, "scan", "--model", "good", *aws_args)[0] == 2
    built.clear()
    code, doc, err = run_json(
        capsys, "scan", "--model", "good", "--exclude-checks", "flow_logs_enabled", *aws_args
    )
    assert (code, err) == (0, "")
    assert "flow_logs_enabled" not in ids_of(doc)
    assert "ec2:DescribeFlowLogs" not in calls_of(built)


@pytest.mark.parametrize("flag", ["--checks", "--exclude-checks"])
def test_an_unknown_check_id_is_one_line_naming_the_valid_ids_before_any_call(
    capsys, aws_args, counted, flag
):
    code, out, err = run(capsys, "scan", "--model", "m", flag, "sg_self_ingress,no_such_check", *aws_args)

    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"vpcguard: {flag}: unknown check id(s): no_such_check; valid ids: ")
    assert all(cid in err for cid in check_ids())
    assert counted == []  # refused before any client was built


def test_a_selection_that_leaves_nothing_is_refused(capsys, aws_args):
    code, _, err = run(
        capsys,
        "scan",
        "--model",
        "m",
        "--checks",
        "vpc_dns_support",
        "--exclude-checks",
        "vpc_dns_support",
        *aws_args,
    )
    assert code == 2 and err == "vpcguard: --checks and --exclude-checks leave no check to evaluate\n"


def test_mode_off_wins_over_checks(builder, capsys, aws_args, counted):
    """A selected check that --mode turns off is still not evaluated, and its facts not read."""
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    code, doc, _ = run_json(
        capsys,
        "scan",
        "--model",
        "good",
        "--checks",
        "vpc_dns_support,subnets_multi_az",
        "--mode",
        "vpc_dns_support=off",
        *aws_args,
    )
    assert code == 0 and ids_of(doc) == ["subnets_multi_az"]
    assert "ec2:DescribeVpcAttribute" not in calls_of(counted)


def test_preflight_takes_the_same_selection(builder, capsys, aws_args, counted):
    net = builder.compliant_vpc()
    code, doc, _ = run_json(
        capsys,
        "preflight",
        "--subnets",
        *net.subnet_ids,
        "--security-groups",
        net.security_group_id,
        "--checks",
        "subnets_multi_az,subnets_private",
        *aws_args,
    )
    assert code == 0
    assert ids_of(doc) == ["subnets_multi_az", "subnets_private"]
    calls = calls_of(counted)
    assert calls["ec2:DescribeRouteTables"] == 1  # subnets_private needs them
    assert not {"ec2:DescribeVpcEndpoints", "ec2:DescribeFlowLogs"} & set(calls), calls


def test_the_reports_metadata_names_the_selected_ids(builder, capsys, aws_args):
    """The JSON document's metadata says which checks ran (null: all of them)."""
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    _, selected, _ = run_json(
        capsys, "scan", "--model", "good", "--checks", "vpc_dns_support,subnets_multi_az", *aws_args
    )
    _, everything, _ = run_json(capsys, "scan", "--model", "good", *aws_args)
    assert selected["metadata"]["checks"] == ["subnets_multi_az", "vpc_dns_support"]
    assert everything["metadata"]["checks"] is None


# --- the engine API (what the Lambda path can use) ------------------------------------------


def test_the_engine_evaluates_and_reads_only_for_its_selection(builder, endpoint_url):
    job_world(builder)
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    engine = Engine(clients, Settings(checks=("s3_bucket_policy_vpc_only",)))

    report = engine.evaluate_transform_job("nightly")

    assert engine.selected_ids == ["s3_bucket_policy_vpc_only"]
    assert [(r.check_id, r.status) for r in report.results] == [("s3_bucket_policy_vpc_only", Status.PASS)]
    calls = clients.counter.snapshot()
    assert calls["s3:GetBucketPolicy"] == 2
    assert not [op for op in calls if op.startswith("iam:")], calls
    assert "ec2:DescribeFlowLogs" not in calls and "ec2:DescribeVpcAttribute" not in calls


def test_facts_not_read_are_marked_so_a_check_needing_them_is_error_not_pass(builder, endpoint_url):
    """The guard behind the selection: a group the snapshot did not read is NOT_READ in its
    errors, so any check that needs it is ERROR (the engine never runs it on empty facts)."""
    job_world(builder)
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    engine = Engine(clients, Settings(checks=("sg_self_ingress",)))
    snap = engine.inventory.snapshot(engine.resolver.transform_job("nightly"), engine.facts)

    assert snap.unread == {
        F.DNS_SUPPORT,
        F.ROUTE_TABLES,
        F.ENDPOINTS,
        F.FLOW_LOGS,
        F.PREFIX_LIST,
        F.ROLE,
        F.BUCKET_POLICIES,
    }
    assert all(snap.errors[name] == F.NOT_READ for name in snap.unread)
    everything = Engine(clients)
    for check in everything.checks:
        if set(check.meta.requires) & snap.unread:
            outcome = everything._run(check, snap)
            assert outcome.status == Status.ERROR and F.NOT_READ in outcome.detail, check.meta.id


def test_a_selected_fix_reads_the_facts_its_plan_needs(builder, capsys, aws_args, counted):
    """s3_endpoint_exists needs only the endpoints to judge, but its fix goes on the subnets'
    route tables: planned (dry run) with them read at fix time, once."""
    vpc_id = builder.vpc("10.9.0.0/16")
    subnets = [builder.subnet(vpc_id, "10.9.1.0/24", "a"), builder.subnet(vpc_id, "10.9.2.0/24", "b")]
    tables = [builder.route_table(vpc_id, [sid]) for sid in subnets]
    sg = builder.security_group(vpc_id)
    builder.model("no-endpoint", subnet_ids=subnets, security_group_ids=[sg], role_arn=builder.role())

    code, doc, _ = run_json(
        capsys,
        "scan",
        "--model",
        "no-endpoint",
        "--checks",
        "s3_endpoint_exists",
        "--mode",
        "s3_endpoint_exists=fix",
        "--dry-run",
        *aws_args,
    )
    (result,) = doc["subjects"][0]["results"]
    assert result["check_id"] == "s3_endpoint_exists" and result["status"] == "WOULD_FIX"
    assert all(t in result["detail"] for t in tables), result["detail"]
    calls = calls_of(counted)
    assert calls["ec2:DescribeRouteTables"] == 1
    assert "ec2:DescribeFlowLogs" not in calls and not [op for op in calls if op.startswith("iam:")]


def test_a_selected_fix_is_applied_and_re_verified_on_the_selection(builder, capsys, aws_args, counted):
    """The two passes: the fix of sg_self_ingress, then one fresh snapshot of the same groups."""
    vpc_id = builder.vpc("10.8.0.0/16")
    subnets = [builder.subnet(vpc_id, "10.8.1.0/24", "a"), builder.subnet(vpc_id, "10.8.2.0/24", "b")]
    sg = builder.security_group(vpc_id, self_ingress=False)
    builder.model("lonely-sg", subnet_ids=subnets, security_group_ids=[sg], role_arn=builder.role())

    code, doc, _ = run_json(
        capsys, "scan", "--model", "lonely-sg", "--checks", "sg_self_ingress", "--remediate", *aws_args
    )
    (result,) = doc["subjects"][0]["results"]
    assert (result["check_id"], result["status"]) == ("sg_self_ingress", "FIXED")
    assert code == 0
    calls = calls_of(counted)
    assert calls["ec2:AuthorizeSecurityGroupIngress"] == 1
    assert calls["ec2:DescribeSecurityGroups"] >= 2  # the snapshot before the fix, and after
    assert not NETWORK_PATH_READS & set(calls) and not [op for op in calls if op.startswith(("iam:", "s3:"))]


def test_a_selection_cannot_write_the_drift_dependency_index(endpoint_url):
    clients = AwsClients(region=REGION, endpoint_url=endpoint_url)
    with pytest.raises(ValueError, match="cannot write the drift dependency index"):
        Engine(clients, Settings(checks=("sg_self_ingress",)), index_sink=object())
