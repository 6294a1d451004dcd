from tests.conftest import result_of
from vpcguard.model import Status


def test_compliant_model_passes_the_checks_written_so_far(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    report = engine.evaluate_model("good")
    for r in report.results:
        assert r.status == Status.PASS, (r.check_id, r.detail)
    assert report.vpc_id == net.vpc_id


def test_model_without_vpc_fails_and_everything_else_is_not_applicable(builder, engine):
    net = builder.compliant_vpc()
    builder.model("public", subnet_ids=None, role_arn=net.role_arn)
    report = engine.evaluate_model("public")
    assert result_of(report, "model_vpc_configured").status == Status.FAIL
    others = [r for r in report.results if r.check_id != "model_vpc_configured"]
    assert others and all(r.status == Status.NOT_APPLICABLE for r in others)
