from tests.conftest import result_of
from vpcguard.model import Status


def test_compliant_model_passes_the_checks_written_so_far(builder, engine):
    net = builder.compliant_vpc()
    builder.compliant_model("good", net)
    report = engine.evaluate_model("good")
    # What docs/checks.md says a compliant *model* gets instead of PASS: KMS and data
    # buckets are named only by a transform job.
    not_applicable = {"outside_access_path", "s3_bucket_policy_vpc_only"}
    for r in report.results:
        expected = Status.NOT_APPLICABLE if r.check_id in not_applicable else Status.PASS
        assert r.status == expected, (r.check_id, r.detail)
    assert report.vpc_id == net.vpc_id


def test_model_without_vpc_fails_and_everything_else_is_not_applicable(builder, engine):
    net = builder.compliant_vpc()
    builder.model("public", subnet_ids=None, role_arn=net.role_arn)
    report = engine.evaluate_model("public")
    assert result_of(report, "model_vpc_configured").status == Status.FAIL
    others = [r for r in report.results if r.check_id != "model_vpc_configured"]
    assert others and all(r.status == Status.NOT_APPLICABLE for r in others)
