"""The checks on the model's VpcConfig as such: model_vpc_configured, vpc_config_consistent,
subnet_ip_capacity, vpc_dns_support, subnets_multi_az, network_isolation."""

from tests.conftest import result_of
from vpcguard.model import Severity, Status
from vpcguard.subjects import SubjectResolver

# Well-formed ids of resources that do not exist.
GHOST_SUBNET = "subnet-0123456789abcdef0"
GHOST_GROUP = "sg-0123456789abcdef0"


# --- model_vpc_configured ----------------------------------------------------------------


def test_model_with_vpc_config_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "model_vpc_configured")
    assert result.status == Status.PASS
    assert "2 subnet(s) and 1 security group(s)" in result.detail


def test_model_without_vpc_config_fails_high(builder, engine):
    net = builder.compliant_vpc()
    builder.model("public", subnet_ids=None, role_arn=net.role_arn)
    result = result_of(engine.evaluate_model("public"), "model_vpc_configured")
    assert (result.status, result.severity) == (Status.FAIL, Severity.HIGH)
    assert "public has no VpcConfig" in result.detail


def test_unknown_model_is_an_error_not_a_pass(engine):
    report = engine.evaluate_model("no-such-model")
    result = result_of(report, "model_vpc_configured")
    assert result.status == Status.ERROR
    assert "no-such-model" in result.detail


# --- vpc_config_consistent ---------------------------------------------------------------


def test_consistent_vpc_config_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "vpc_config_consistent")
    assert result.status == Status.PASS
    assert net.vpc_id in result.detail


def test_missing_subnet_fails_and_the_other_checks_still_run(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, subnet_ids=[net.subnet_ids[0], GHOST_SUBNET])
    report = engine.evaluate_model("m")
    result = result_of(report, "vpc_config_consistent")
    assert result.status == Status.FAIL
    assert f"subnet(s) {GHOST_SUBNET} do not exist" in result.detail
    assert result.resource_ids == [GHOST_SUBNET]
    # The rest is evaluated on what exists.
    assert report.vpc_id == net.vpc_id
    assert result_of(report, "vpc_dns_support").status == Status.PASS
    assert result_of(report, "sg_self_ingress").status == Status.PASS
    capacity = result_of(report, "subnet_ip_capacity")
    assert capacity.status == Status.PASS and net.subnet_ids[0] in capacity.detail
    # Only the existing subnet is left, in one AZ.
    assert result_of(report, "subnets_multi_az").status == Status.FAIL


def test_missing_security_group_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, security_group_ids=[net.security_group_id, GHOST_GROUP])
    report = engine.evaluate_model("m")
    result = result_of(report, "vpc_config_consistent")
    assert result.status == Status.FAIL
    assert f"security group(s) {GHOST_GROUP} do not exist" in result.detail
    assert result_of(report, "sg_self_ingress").status == Status.PASS


def test_security_group_from_another_vpc_fails(builder, engine):
    net = builder.compliant_vpc()
    other_vpc = builder.vpc("10.50.0.0/16")
    foreign_group = builder.security_group(other_vpc)
    builder.compliant_model("m", net, security_group_ids=[net.security_group_id, foreign_group])
    result = result_of(engine.evaluate_model("m"), "vpc_config_consistent")
    assert result.status == Status.FAIL
    assert "spread over 2 VPCs" in result.detail
    assert net.vpc_id in result.detail and other_vpc in result.detail
    assert result.resource_ids == [foreign_group]


def test_nothing_exists_reports_errors_not_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, subnet_ids=[GHOST_SUBNET], security_group_ids=[GHOST_GROUP])
    report = engine.evaluate_model("m")
    assert result_of(report, "vpc_config_consistent").status == Status.FAIL
    for check_id in ("vpc_dns_support", "flow_logs_enabled", "subnets_private"):
        result = result_of(report, check_id)
        assert result.status == Status.ERROR, (check_id, result.detail)
        assert "no VPC to inspect" in result.detail
    # Only what does not depend on the network may pass: the VpcConfig is there, the role
    # exists, the model asks for network isolation.
    passed = {r.check_id for r in report.results if r.status == Status.PASS}
    assert passed <= {"model_vpc_configured", "execution_role_vpc_permissions", "network_isolation"}, passed


# --- subnet_ip_capacity ------------------------------------------------------------------


def _small_subnet_network(builder, *, roomy: bool):
    """Two subnets: a /28 (11 free addresses) and, when `roomy`, a /24, else another /28."""
    net = builder.compliant_vpc()
    small = builder.subnet(net.vpc_id, "10.0.10.0/28", "a")
    other = builder.subnet(net.vpc_id, "10.0.11.0/24" if roomy else "10.0.12.0/28", "b")
    builder.compliant_model("m", net, subnet_ids=[small, other])
    builder.transform_job("six", "m", instance_count=6)  # needs 12 addresses
    return small, other


def test_job_too_big_for_every_subnet_fails_high(builder, engine):
    small, other = _small_subnet_network(builder, roomy=False)
    result = result_of(engine.evaluate_transform_job("six"), "subnet_ip_capacity")
    assert (result.status, result.severity) == (Status.FAIL, Severity.HIGH)
    assert f"{small} has 11 free IPs" in result.detail and f"{other} has 11 free IPs" in result.detail
    assert "12 are needed" in result.detail


def test_job_too_big_for_one_subnet_fails_medium(builder, engine):
    small, roomy = _small_subnet_network(builder, roomy=True)
    result = result_of(engine.evaluate_transform_job("six"), "subnet_ip_capacity")
    assert (result.status, result.severity) == (Status.FAIL, Severity.MEDIUM)
    assert result.resource_ids == [small]
    assert roomy not in result.detail


def test_model_fits_a_small_subnet(builder, engine):
    _small_subnet_network(builder, roomy=False)
    result = result_of(engine.evaluate_model("m"), "subnet_ip_capacity")
    assert result.status == Status.PASS
    assert "at least 2 free IPs" in result.detail


def test_addresses_used_by_other_workloads_count(builder, engine):
    net = builder.compliant_vpc()
    crowded = builder.subnet(net.vpc_id, "10.0.10.0/28", "a")
    builder.consume_ips(crowded, 10)  # 1 of 11 left
    builder.compliant_model("m", net, subnet_ids=[crowded, net.subnet_ids[1]])
    result = result_of(engine.evaluate_model("m"), "subnet_ip_capacity")
    assert (result.status, result.severity) == (Status.FAIL, Severity.MEDIUM)
    assert f"{crowded} has 1 free IPs" in result.detail


# --- vpc_dns_support ---------------------------------------------------------------------


def test_dns_support_on_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    assert result_of(engine.evaluate_model("m"), "vpc_dns_support").status == Status.PASS


def test_dns_support_off_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsSupport={"Value": False})
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "vpc_dns_support")
    assert (result.status, result.severity) == (Status.FAIL, Severity.HIGH)
    assert net.vpc_id in result.detail and "enableDnsSupport off" in result.detail
    assert result.fixable is True  # opt-in fix


# --- subnets_multi_az --------------------------------------------------------------------


def test_subnets_in_two_zones_pass(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_multi_az")
    assert result.status == Status.PASS
    assert "us-east-1a" in result.detail and "us-east-1b" in result.detail


def test_subnets_in_one_zone_fail_low(builder, engine):
    net = builder.compliant_vpc()
    same_zone = builder.subnet(net.vpc_id, "10.0.3.0/24", "a")
    builder.compliant_model("m", net, subnet_ids=[net.subnet_ids[0], same_zone])
    result = result_of(engine.evaluate_model("m"), "subnets_multi_az")
    assert (result.status, result.severity) == (Status.FAIL, Severity.LOW)
    assert "us-east-1a" in result.detail and same_zone in result.detail


# --- network_isolation -------------------------------------------------------------------


def test_model_without_network_isolation_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, network_isolation=False)
    result = result_of(engine.evaluate_model("m"), "network_isolation")
    assert (result.status, result.severity) == (Status.FAIL, Severity.INFORMATIONAL)
    assert "m does not have network isolation enabled" in result.detail


def test_model_with_network_isolation_passes(builder, engine):
    """moto 5.2.5 drops EnableNetworkIsolation; tests/localaws/moto_fidelity.py makes it
    keep the flag as AWS does, so this goes through CreateModel and DescribeModel."""
    net = builder.compliant_vpc()
    builder.compliant_model("m", net, network_isolation=True)
    result = result_of(engine.evaluate_model("m"), "network_isolation")
    assert result.status == Status.PASS
    assert "EnableNetworkIsolation true" in result.detail


def test_absent_network_isolation_flag_means_not_enabled(builder, engine, clients):
    """AWS may omit EnableNetworkIsolation when it is false: absent is not enabled."""
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    description = dict(builder.client("sagemaker").describe_model(ModelName="m"))
    description.pop("EnableNetworkIsolation", None)
    subject = SubjectResolver(clients).model_from_description(description, tags={})
    assert subject.enable_network_isolation is None
    assert result_of(engine.evaluate(subject), "network_isolation").status == Status.FAIL
