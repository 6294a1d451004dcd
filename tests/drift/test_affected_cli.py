"""`vpcguard scan --affected-by RESOURCE`, with and without the dependency index, against the
drift test world on moto's server."""

from __future__ import annotations

import json

import pytest

from tests.localaws.server import REGION
from vpcguard import cli

from .world import KMS_KEY


@pytest.fixture
def aws_args(endpoint_url) -> list[str]:
    return ["--region", REGION, "--endpoint-url", endpoint_url]


@pytest.fixture
def counted(monkeypatch):
    """The AwsClients the CLI builds, kept so a test can read its call counter."""
    built = []
    real = cli.setup.build_clients

    def keep(args):
        clients = real(args)
        built.append(clients)
        return clients

    monkeypatch.setattr(cli.setup, "build_clients", keep)
    return built


def scan(capsys, aws_args, *argv: str) -> tuple[int, list[str], str]:
    code = cli.main(["scan", *argv, *aws_args, "--format", "json"])
    out, err = capsys.readouterr()
    names = sorted(s["name"] for s in json.loads(out)["subjects"]) if out else []
    return code, names, err


def cases(w) -> list[tuple[list[str], list[str]]]:
    return [
        (["--affected-by", w.a.security_group_id], ["m1", "m2"]),
        (["--affected-by", w.a.security_group_id, "--jobs", "all"], ["j1", "m1", "m2"]),
        (["--affected-by", w.a.route_table_ids[0]], ["m1", "m2"]),
        (["--affected-by", w.a.main_route_table_id], ["m4"]),
        (["--affected-by", w.a.s3_endpoint_id], ["m1", "m2", "m4"]),
        (["--affected-by", w.a.vpc_id, "--jobs", "all"], ["j1", "m1", "m2", "m4"]),
        (["--affected-by", w.b.subnet_ids[1]], ["m3"]),
        (["--affected-by", w.b.flow_log_id], ["m3"]),
        (["--affected-by", "input-data", "--jobs", "all"], ["j1"]),
        (["--affected-by", "arn:aws:s3:::output-data/results/", "--jobs", "all"], ["j1"]),
        (["--affected-by", w.b.role_arn], ["m3", "m4"]),
        (["--affected-by", KMS_KEY, "--jobs", "all"], ["j1"]),
    ]


def test_affected_by_without_the_index_evaluates_exactly_the_dependents(
    indexed_world, capsys, aws_args, counted
):
    for argv, expected in cases(indexed_world):
        code, names, err = scan(capsys, aws_args, *argv)
        assert (argv, names) == (argv, expected), err
        assert code in (0, 1), err
        calls = counted[-1].counter.snapshot()
        assert calls["api.sagemaker:DescribeModel"] == 4  # one describe each, as a backfill


def test_affected_by_with_the_index_reads_it_once_and_evaluates_the_same_subjects(
    indexed_world, index_table, capsys, aws_args, counted
):
    for argv, expected in cases(indexed_world):
        code, names, err = scan(capsys, aws_args, *argv, "--index-table", index_table)
        assert (argv, names) == (argv, expected), err
        calls = counted[-1].counter.snapshot()
        assert calls["dynamodb:Query"] == 1
        assert "api.sagemaker:ListModels" not in calls  # no listing: the index names them
        assert calls.get("api.sagemaker:DescribeModel", 0) == len(
            [n for n in expected if n.startswith("m")]
        ) + (1 if "j1" in expected and "m1" not in expected else 0)


def test_affected_by_a_resource_nothing_uses(indexed_world, builder, index_table, capsys, aws_args):
    unused = builder.security_group(indexed_world.a.vpc_id)
    for extra in ([], ["--index-table", index_table]):
        code, names, err = scan(capsys, aws_args, "--affected-by", unused, *extra)
        assert (code, names) == (0, [])
        assert f"no model depends on {unused}" in err


def test_affected_by_refuses_what_it_cannot_answer(indexed_world, capsys, aws_args):
    code, _, err = scan(capsys, aws_args, "--affected-by", "arn:aws:sns:us-east-1:123456789012:topic")
    assert code == 2 and "is not a security group" in err
    code, _, err = scan(capsys, aws_args, "--affected-by", indexed_world.a.vpc_id, "--index-table", "missing")
    assert code == 2 and "cannot read the dependency index missing" in err
    code, _, err = scan(capsys, aws_args, "--affected-by", indexed_world.a.vpc_id, "--all")
    assert code == 2 and "drop --all" in err
    code, _, err = scan(capsys, aws_args, "--model", "m1", "--index-table", "x")
    assert code == 2 and "--index-table only applies with --affected-by" in err
