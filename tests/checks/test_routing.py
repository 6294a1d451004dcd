"""subnets_private and outside_access_path on real route tables, internet and NAT
gateways and interface endpoints in the local AWS. Both work on each model subnet's
effective route table (its explicit table, else the VPC's main table)."""

from tests.conftest import result_of
from vpcguard.model import Status

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _public_subnet(builder, net) -> str:
    """A subnet outside the model, with an internet route, to host NAT gateways."""
    subnet = builder.subnet(net.vpc_id, "10.0.200.0/24", "a")
    builder.internet_route(net.vpc_id, builder.route_table(net.vpc_id, [subnet]))
    return subnet


# --- subnets_private ---------------------------------------------------------------------


def test_private_subnets_pass(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.PASS, result.detail


def test_internet_route_on_a_subnets_explicit_table_fails(builder, engine):
    net = builder.compliant_vpc()
    igw = builder.internet_route(net.vpc_id, net.route_table_ids[0])
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.FAIL
    assert f"{net.subnet_ids[0]} routes 0.0.0.0/0 to {igw} via {net.route_table_ids[0]}" in result.detail
    assert net.subnet_ids[1] not in result.detail


def test_ipv6_internet_route_fails(builder, engine):
    net = builder.compliant_vpc()
    igw = builder.internet_route(net.vpc_id, net.route_table_ids[1], ipv6=True)
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.FAIL
    assert f"routes ::/0 to {igw}" in result.detail


def test_internet_route_on_the_main_table_of_an_implicitly_associated_subnet_fails(builder, engine):
    net = builder.compliant_vpc()
    implicit = builder.subnet(net.vpc_id, "10.0.3.0/24", "c")  # no explicit table: uses main
    igw = builder.internet_route(net.vpc_id, net.main_route_table_id)
    builder.compliant_model("m", net, subnet_ids=[net.subnet_ids[0], implicit])
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.FAIL
    assert (
        f"{implicit} routes 0.0.0.0/0 to {igw} via {net.main_route_table_id} (the VPC's main table)"
        in result.detail
    )
    assert net.subnet_ids[0] not in result.detail


def test_internet_route_on_the_main_table_does_not_matter_to_explicitly_associated_subnets(builder, engine):
    net = builder.compliant_vpc()
    builder.internet_route(net.vpc_id, net.main_route_table_id)
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.PASS, result.detail


def test_nat_gateway_route_passes(builder, engine):
    net = builder.compliant_vpc()
    public = _public_subnet(builder, net)
    for table in net.route_table_ids:
        builder.nat_route(public, table)
    builder.compliant_model("m", net)
    result = result_of(engine.evaluate_model("m"), "subnets_private")
    assert result.status == Status.PASS, result.detail


# --- outside_access_path -----------------------------------------------------------------


def test_job_with_kms_key_and_no_path_to_kms_fails(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", kms_key_id=KMS_KEY)
    result = result_of(engine.evaluate_transform_job("j"), "outside_access_path")
    assert result.status == Status.FAIL
    assert KMS_KEY in result.detail
    assert "com.amazonaws.us-east-1.kms" in result.detail
    assert all(sid in result.detail for sid in net.subnet_ids)


def test_volume_kms_key_needs_a_path_too(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", volume_kms_key_id=KMS_KEY)
    result = result_of(engine.evaluate_transform_job("j"), "outside_access_path")
    assert result.status == Status.FAIL
    assert KMS_KEY in result.detail


def test_kms_interface_endpoint_passes(builder, engine):
    net = builder.compliant_vpc()
    endpoint = builder.interface_endpoint(net.vpc_id, "kms", net.subnet_ids, [net.security_group_id])
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", kms_key_id=KMS_KEY)
    result = result_of(engine.evaluate_transform_job("j"), "outside_access_path")
    assert result.status == Status.PASS, result.detail
    assert endpoint in result.detail


def test_interface_endpoint_for_another_service_does_not_count(builder, engine):
    net = builder.compliant_vpc()
    builder.interface_endpoint(net.vpc_id, "sts", net.subnet_ids, [net.security_group_id])
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", kms_key_id=KMS_KEY)
    assert result_of(engine.evaluate_transform_job("j"), "outside_access_path").status == Status.FAIL


def test_nat_route_on_every_model_subnet_passes(builder, engine):
    net = builder.compliant_vpc()
    public = _public_subnet(builder, net)
    for table in net.route_table_ids:
        builder.nat_route(public, table)
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", kms_key_id=KMS_KEY)
    result = result_of(engine.evaluate_transform_job("j"), "outside_access_path")
    assert result.status == Status.PASS, result.detail
    assert "NAT gateway" in result.detail


def test_nat_route_on_one_of_two_subnets_fails_naming_the_other(builder, engine):
    net = builder.compliant_vpc()
    public = _public_subnet(builder, net)
    builder.nat_route(public, net.route_table_ids[0])
    builder.compliant_model("m", net)
    builder.transform_job("j", "m", kms_key_id=KMS_KEY)
    result = result_of(engine.evaluate_transform_job("j"), "outside_access_path")
    assert result.status == Status.FAIL
    assert f"subnet(s) {net.subnet_ids[1]} have no NAT gateway route" in result.detail
    assert net.subnet_ids[1] in result.resource_ids and net.subnet_ids[0] not in result.resource_ids


def test_subject_needing_no_other_service_is_not_applicable(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("m", net)
    builder.transform_job("j", "m")
    for report in (engine.evaluate_model("m"), engine.evaluate_transform_job("j")):
        result = result_of(report, "outside_access_path")
        assert result.status == Status.NOT_APPLICABLE
        assert "no AWS service other than S3" in result.detail
