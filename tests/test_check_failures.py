"""A check that breaks must show as broken, never as a silent PASS or a lost report.

The checks here are the real registered ones; each test makes one of them raise (as a bug
in its code would) for the duration of the test only.
"""

from __future__ import annotations

import pytest

from tests.conftest import result_of
from vpcguard.checks import get_check
from vpcguard.engine import scan_document
from vpcguard.model import Severity, Status


def broken(message: str):
    def raise_(*_args, **_kwargs):
        raise RuntimeError(message)

    return raise_


def test_a_check_that_raises_is_an_error_naming_the_exception_and_the_others_still_run(
    builder, engine, monkeypatch
):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    monkeypatch.setattr(get_check("vpc_dns_support"), "evaluate", broken("attribute table is empty"))

    report = engine.evaluate_model("m")

    dns = result_of(report, "vpc_dns_support")
    assert dns.status == Status.ERROR
    assert dns.detail == "check raised RuntimeError: attribute table is empty"
    assert dns.severity == get_check("vpc_dns_support").meta.severity
    others = [r for r in report.results if r.check_id != "vpc_dns_support"]
    assert len(others) == len(engine.checks) - 1
    assert result_of(report, "vpc_config_consistent").status == Status.PASS
    assert all(r.status != Status.ERROR for r in others)
    # What `vpcguard scan --format json` would print: the error is counted, not hidden.
    document = scan_document([report])
    assert document["summary"]["error"] == 1
    [subject] = document["subjects"]
    [shown] = [r for r in subject["results"] if r["check_id"] == "vpc_dns_support"]
    assert shown["status"] == "ERROR" and "attribute table is empty" in shown["detail"]


def sg_without_self_rule_job(builder, instance_count: int) -> None:
    """A transform job whose only gap is the security group's missing self rule."""
    net = builder.compliant_vpc()
    lonely = builder.security_group(net.vpc_id, self_ingress=False)
    builder.compliant_model("m", net, security_group_ids=[lonely])
    builder.transform_job("nightly", "m", instance_count=instance_count)


def test_subject_dependent_severity_is_used_when_it_can_be_computed(builder, engine):
    sg_without_self_rule_job(builder, instance_count=3)
    result = result_of(engine.evaluate_transform_job("nightly"), "sg_self_ingress")
    assert result.status == Status.FAIL
    # Several instances: HIGH, above the check's catalog severity (MEDIUM).
    assert result.severity == Severity.HIGH
    assert get_check("sg_self_ingress").meta.severity == Severity.MEDIUM


def test_a_severity_that_raises_falls_back_to_the_catalog_severity(builder, engine, monkeypatch):
    sg_without_self_rule_job(builder, instance_count=3)
    check = get_check("sg_self_ingress")
    monkeypatch.setattr(check, "severity_for", broken("no instance count"))

    result = result_of(engine.evaluate_transform_job("nightly"), "sg_self_ingress")

    # The finding is still reported, at the catalog's severity; its outcome is unchanged.
    assert result.status == Status.FAIL
    assert result.severity == check.meta.severity == Severity.MEDIUM
    assert "sg-" in result.detail


@pytest.mark.parametrize("check_id", ["vpc_dns_support", "subnets_private"])
def test_a_check_without_its_own_severity_reports_the_catalog_severity(builder, engine, check_id):
    """Checks that do not override `severity_for` report their metadata's severity."""
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("m", net)
    check = get_check(check_id)
    assert "severity_for" not in type(check).__dict__
    result = result_of(engine.evaluate_model("m"), check_id)
    assert result.severity == check.meta.severity
