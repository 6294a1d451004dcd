"""sg_self_ingress and sg_egress_allows_s3 on real security groups in the local AWS."""

from tests.conftest import result_of
from vpcguard.model import Severity, Status

S3_PREFIX_LIST_NAME = "com.amazonaws.us-east-1.s3"


def _bare_group(builder, vpc_id: str, **kwargs) -> str:
    """A group with no inbound rule and (unless told) no outbound rule."""
    kwargs.setdefault("egress_all", False)
    return builder.security_group(vpc_id, self_ingress=False, **kwargs)


def _s3_prefix_list(builder) -> str:
    lists = builder.ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [S3_PREFIX_LIST_NAME]}]
    )["PrefixLists"]
    return lists[0]["PrefixListId"]


def _group_with_egress_to_s3_prefix_list(builder, vpc_id: str, port: int) -> tuple[str, str]:
    """A group (with the self ingress rule) whose only egress is TCP `port` to the S3 prefix list."""
    prefix_list = _s3_prefix_list(builder)
    group = builder.security_group(vpc_id, egress_all=False)
    builder.ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "PrefixListIds": [{"PrefixListId": prefix_list}],
            }
        ],
    )
    return group, prefix_list


# --- sg_self_ingress ---------------------------------------------------------------------


def test_self_referencing_all_traffic_rule_passes(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "sg_self_ingress")
    assert result.status == Status.PASS, result.detail
    assert net.security_group_id in result.detail
    assert "all protocols" in result.detail


def test_rule_from_a_sibling_group_of_the_model_passes(builder, engine):
    net = builder.compliant_vpc()
    first = _bare_group(builder, net.vpc_id, egress_all=True)
    sibling = _bare_group(builder, net.vpc_id, egress_all=True)
    builder.ec2.authorize_security_group_ingress(
        GroupId=first, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sibling}]}]
    )
    builder.compliant_model("m", net, security_group_ids=[first, sibling])
    result = result_of(engine.evaluate_model("m"), "sg_self_ingress")
    assert result.status == Status.PASS, result.detail
    assert first in result.detail and sibling in result.detail


def test_rule_limited_to_tcp_443_fails_and_names_the_partial_rule(builder, engine):
    net = builder.compliant_vpc()
    group = _bare_group(builder, net.vpc_id, egress_all=True)
    builder.ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": group}]}
        ],
    )
    builder.compliant_model("m", net, security_group_ids=[group])
    result = result_of(engine.evaluate_model("m"), "sg_self_ingress")
    assert result.status == Status.FAIL
    assert f"{group} allows only tcp 443 from/to {group}" in result.detail
    assert result.resource_ids == [group]


def test_no_inbound_rule_from_the_model_groups_fails(builder, engine):
    net = builder.compliant_vpc()
    group = _bare_group(builder, net.vpc_id, egress_all=True)
    builder.compliant_model("m", net, security_group_ids=[group])
    result = result_of(engine.evaluate_model("m"), "sg_self_ingress")
    assert result.status == Status.FAIL
    assert group in result.detail and "itself or a sibling" in result.detail
    assert result.fixable is True


def test_rule_from_a_group_outside_the_model_does_not_count(builder, engine):
    net = builder.compliant_vpc()
    group = _bare_group(builder, net.vpc_id, egress_all=True)
    stranger = _bare_group(builder, net.vpc_id)
    builder.ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": stranger}]}]
    )
    builder.compliant_model("m", net, security_group_ids=[group])
    assert result_of(engine.evaluate_model("m"), "sg_self_ingress").status == Status.FAIL


def test_severity_depends_on_the_subject(builder, engine):
    net = builder.compliant_vpc()
    group = _bare_group(builder, net.vpc_id, egress_all=True)
    builder.compliant_model("m", net, security_group_ids=[group])
    builder.transform_job("single", "m", instance_count=1)
    builder.transform_job("multi", "m", instance_count=3)

    as_model = result_of(engine.evaluate_model("m"), "sg_self_ingress")
    single = result_of(engine.evaluate_transform_job("single"), "sg_self_ingress")
    multi = result_of(engine.evaluate_transform_job("multi"), "sg_self_ingress")
    assert {as_model.status, single.status, multi.status} == {Status.FAIL}
    assert as_model.severity == Severity.MEDIUM
    assert single.severity == Severity.INFORMATIONAL
    assert multi.severity == Severity.HIGH


def test_severity_is_reported_on_a_pass_too(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    builder.transform_job("multi", "m", instance_count=3)
    result = result_of(engine.evaluate_transform_job("multi"), "sg_self_ingress")
    assert (result.status, result.severity) == (Status.PASS, Severity.HIGH)


# --- sg_egress_allows_s3 -----------------------------------------------------------------


def test_default_egress_to_everywhere_passes_for_a_model_and_a_multi_instance_job(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    builder.transform_job("multi", "m", instance_count=3)
    for report in (engine.evaluate_model("m"), engine.evaluate_transform_job("multi")):
        result = result_of(report, "sg_egress_allows_s3")
        assert result.status == Status.PASS, result.detail
        assert "0.0.0.0/0" in result.detail
        assert result.severity == Severity.HIGH


def test_no_egress_rule_fails(builder, engine):
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, egress_all=False)
    builder.compliant_model("m", net, security_group_ids=[group])
    result = result_of(engine.evaluate_model("m"), "sg_egress_allows_s3")
    assert result.status == Status.FAIL
    assert group in result.detail and "TCP 443" in result.detail


def test_egress_only_to_the_s3_prefix_list_on_443_passes_for_a_model(builder, engine):
    net = builder.compliant_vpc()
    group, prefix_list = _group_with_egress_to_s3_prefix_list(builder, net.vpc_id, port=443)
    builder.compliant_model("m", net, security_group_ids=[group])
    result = result_of(engine.evaluate_model("m"), "sg_egress_allows_s3")
    assert result.status == Status.PASS, result.detail
    assert prefix_list in result.detail


def test_multi_instance_job_needs_egress_to_its_own_groups(builder, engine, make_engine):
    net = builder.compliant_vpc()
    group, prefix_list = _group_with_egress_to_s3_prefix_list(builder, net.vpc_id, port=443)
    builder.compliant_model("m", net, security_group_ids=[group])
    builder.transform_job("multi", "m", instance_count=3)
    result = result_of(engine.evaluate_transform_job("multi"), "sg_egress_allows_s3")
    assert result.status == Status.FAIL
    assert "3 instances" in result.detail and "egress" in result.detail
    # S3 itself is reachable: only the peer rule is missing.
    assert "cannot reach S3" not in result.detail

    builder.ec2.authorize_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    )
    again = result_of(make_engine().evaluate_transform_job("multi"), "sg_egress_allows_s3")
    assert again.status == Status.PASS, again.detail


def test_443_to_a_cidr_narrower_than_everywhere_does_not_count_as_s3(builder, engine):
    """S3's addresses cannot be proven inside any CIDR short of 0.0.0.0/0 without I/O."""
    net = builder.compliant_vpc()
    group = builder.security_group(net.vpc_id, egress_all=False)
    builder.ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "52.0.0.0/8"}]}
        ],
    )
    builder.compliant_model("m", net, security_group_ids=[group])
    assert result_of(engine.evaluate_model("m"), "sg_egress_allows_s3").status == Status.FAIL


def test_egress_on_another_port_to_the_prefix_list_fails(builder, engine):
    net = builder.compliant_vpc()
    group, prefix_list = _group_with_egress_to_s3_prefix_list(builder, net.vpc_id, port=80)
    builder.compliant_model("m", net, security_group_ids=[group])
    result = result_of(engine.evaluate_model("m"), "sg_egress_allows_s3")
    assert result.status == Status.FAIL
    assert prefix_list in result.detail
