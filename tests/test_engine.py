"""Engine behaviour that is not one check's: exemptions, modes, unreadable facts, the contract."""

import json

from tests.conftest import SUBJECT_KEYS, result_of
from tests.faults import deny
from vpcguard.model import Status
from vpcguard.results import scan_document
from vpcguard.settings import Settings


def test_exempt_tag_on_the_vpc_turns_fail_into_exempt_and_pass_stays_pass(builder, engine):
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.ec2.create_tags(
        Resources=[net.vpc_id],
        Tags=[{"Key": "vpcguard:exempt", "Value": "vpc_dns_support, subnets_multi_az"}],
    )
    builder.compliant_model("m", net)
    report = engine.evaluate_model("m")
    dns = result_of(report, "vpc_dns_support")
    assert dns.status == Status.EXEMPT
    assert net.vpc_id in dns.detail and "vpcguard:exempt" in dns.detail
    assert result_of(report, "vpc_config_consistent").status == Status.PASS


def test_exempt_all_on_the_model(builder, engine):
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("m", net, tags={"vpcguard:exempt": "all"})
    report = engine.evaluate_model("m")
    assert result_of(report, "vpc_dns_support").status == Status.EXEMPT
    assert report.tags == {"vpcguard:exempt": "all"}


def test_exempt_resource_is_never_touched_by_a_fix(builder, make_engine):
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.ec2.create_tags(
        Resources=[net.vpc_id], Tags=[{"Key": "vpcguard:exempt", "Value": "vpc_dns_support"}]
    )
    builder.compliant_model("m", net)
    report = make_engine(Settings(remediate=True, modes={"vpc_dns_support": "fix"})).evaluate_model("m")
    assert result_of(report, "vpc_dns_support").status == Status.EXEMPT
    assert report.audit == []
    attr = builder.ec2.describe_vpc_attribute(VpcId=net.vpc_id, Attribute="enableDnsSupport")
    assert attr["EnableDnsSupport"]["Value"] is False


def test_mode_off_removes_the_check(builder, make_engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    report = make_engine(Settings(modes={"vpc_dns_support": "off"})).evaluate_model("m")
    assert "vpc_dns_support" not in {r.check_id for r in report.results}


def test_access_denied_on_one_api_errors_only_the_checks_that_need_it(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    deny(engine.clients, "ec2", "DescribeVpcAttribute")
    report = engine.evaluate_model("m")
    dns = result_of(report, "vpc_dns_support")
    assert dns.status == Status.ERROR
    assert "AccessDenied on ec2:DescribeVpcAttribute" in dns.detail
    assert result_of(report, "vpc_config_consistent").status == Status.PASS
    assert result_of(report, "subnet_ip_capacity").status == Status.PASS


def test_unknown_model_is_one_error_result(engine):
    report = engine.evaluate_model("no-such-model")
    assert [r.status for r in report.results] == [Status.ERROR]
    assert "not found" in report.results[0].detail and "no-such-model" in report.results[0].detail


def test_scan_document_is_the_contract(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, tags={"vpcguard:team": "ml-platform"})
    doc = json.loads(json.dumps(scan_document([engine.evaluate_model("m")])))
    assert set(doc) == {"subjects", "summary"}
    subject = doc["subjects"][0]
    assert set(subject) == SUBJECT_KEYS
    assert subject["type"] == "model" and subject["account"] == "123456789012"
    assert subject["tags"] == {"vpcguard:team": "ml-platform"}
    for result in subject["results"]:
        assert set(result) == {
            "check_id",
            "status",
            "severity",
            "title",
            "detail",
            "resource_ids",
            "fixable",
            "remediation",
        }
    assert set(doc["summary"]) == {"subjects", "fail", "fixed", "would_fix", "error", "exempt"}
    assert doc["summary"]["subjects"] == 1
