"""flow_logs_enabled on real flow logs in the local AWS (moto reports a flow log to a log
group that does not exist as DeliverLogsStatus FAILED, as AWS does)."""

from tests.conftest import result_of
from vpcguard.model import Severity, Status


def _without_flow_logs(builder):
    net = builder.compliant_vpc()
    builder.ec2.delete_flow_logs(FlowLogIds=[net.flow_log_id])
    builder.compliant_model("m", net)
    return net


def test_flow_log_on_the_vpc_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.PASS, result.detail
    assert net.flow_log_id in result.detail and net.vpc_id in result.detail
    assert result.severity == Severity.MEDIUM


def test_no_flow_log_fails(builder, engine):
    net = _without_flow_logs(builder)
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert net.vpc_id in result.detail and "ALL traffic" in result.detail
    assert result.fixable is True


def test_reject_only_flow_log_does_not_count(builder, engine):
    net = _without_flow_logs(builder)
    flow_log = builder.flow_log(net.vpc_id, traffic_type="REJECT")
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert f"{flow_log} on {net.vpc_id} logs only REJECT traffic" in result.detail


def test_accept_only_flow_log_does_not_count(builder, engine):
    net = _without_flow_logs(builder)
    flow_log = builder.flow_log(net.vpc_id, traffic_type="ACCEPT")
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert f"{flow_log} on {net.vpc_id} logs only ACCEPT traffic" in result.detail


def test_flow_log_whose_delivery_fails_does_not_count(builder, engine):
    net = _without_flow_logs(builder)
    flow_log = builder.flow_log(net.vpc_id, delivery_fails=True)
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert flow_log in result.detail and "failed delivery" in result.detail
    assert "/missing/log-group" in result.detail  # where it failed to deliver


def test_flow_logs_on_every_model_subnet_pass(builder, engine):
    net = _without_flow_logs(builder)
    for subnet_id in net.subnet_ids:
        builder.flow_log(subnet_id, resource_type="Subnet")
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.PASS, result.detail
    assert all(sid in result.detail for sid in net.subnet_ids)


def test_flow_log_on_one_of_two_subnets_fails_naming_the_other(builder, engine):
    net = _without_flow_logs(builder)
    covered, uncovered = net.subnet_ids
    builder.flow_log(covered, resource_type="Subnet")
    result = result_of(engine.evaluate_model("m"), "flow_logs_enabled")
    assert result.status == Status.FAIL
    assert f"subnet(s) {uncovered} have none" in result.detail
    assert uncovered in result.resource_ids and covered not in result.resource_ids


def test_flow_log_on_another_vpc_does_not_count(builder, engine):
    _without_flow_logs(builder)
    other = builder.compliant_vpc(cidr_prefix="10.9")
    assert other.flow_log_id
    assert result_of(engine.evaluate_model("m"), "flow_logs_enabled").status == Status.FAIL
