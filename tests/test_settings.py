import subprocess
import sys

import pytest

from tests.localaws.server import REGION
from vpcguard.aws import AwsClients
from vpcguard.engine import Engine
from vpcguard.inspection import Inspector
from vpcguard.settings import Settings, parse_modes


def test_environment_is_read_with_the_documented_names():
    env = {
        "VPCGUARD_REMEDIATE": "true",
        "VPCGUARD_DRY_RUN": "false",
        "VPCGUARD_MODES": "sg_self_ingress=notify, flow_logs_enabled=off",
        "VPCGUARD_FLOW_LOGS_LOG_GROUP": "/vpcguard/flow-logs",
        "VPCGUARD_FLOW_LOGS_ROLE_ARN": "arn:aws:iam::123456789012:role/delivery",
        "VPCGUARD_FLOW_LOGS_S3_ARN": "arn:aws:s3:::flow-bucket",
        "VPCGUARD_AUDIT_TABLE": "audit",
        "VPCGUARD_FINDINGS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:findings",
        "VPCGUARD_SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack",
        "VPCGUARD_SLACK_TEAM_SECRETS": '{"ml-platform": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml"}',
        "VPCGUARD_CHATBOT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:chatbot",
        "VPCGUARD_SECURITY_HUB": "true",
        "VPCGUARD_STATE_TABLE": "state",
        "VPCGUARD_DEDUP_SECONDS": "600",
        "VPCGUARD_WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/work",
    }
    s = Settings.from_env(env)
    assert s.remediate is True and s.dry_run is False
    assert s.modes == {"sg_self_ingress": "notify", "flow_logs_enabled": "off"}
    assert s.flow_logs_log_group == "/vpcguard/flow-logs"
    assert s.flow_logs_s3_arn == "arn:aws:s3:::flow-bucket"
    assert s.slack_team_secrets == {"ml-platform": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ml"}
    assert s.security_hub is True and s.dedup_seconds == 600
    assert s.work_queue_url.endswith("/work")


def test_cli_flags_win_over_environment_and_modes_merge():
    env = {"VPCGUARD_REMEDIATE": "true", "VPCGUARD_MODES": "sg_self_ingress=notify,vpc_dns_support=fix"}
    s = Settings.from_env(env, remediate=False, modes={"sg_self_ingress": "off"}, dry_run=None)
    assert s.remediate is False
    assert s.modes == {"sg_self_ingress": "off", "vpc_dns_support": "fix"}


def test_defaults_write_nothing():
    s = Settings.from_env({})
    assert not s.remediate and not s.dry_run and not s.plans_fixes
    assert s.dedup_seconds == 86400


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VPCGUARD_REMEDIATE": "maybe"}, "VPCGUARD_REMEDIATE must be true or false"),
        ({"VPCGUARD_MODES": "sg_self_ingress"}, "expected CHECK=MODE"),
        ({"VPCGUARD_MODES": "sg_self_ingress=auto"}, "expected CHECK=MODE"),
        ({"VPCGUARD_SLACK_TEAM_SECRETS": "[1]"}, "must be a JSON object"),
    ],
)
def test_bad_settings_are_clear_errors(env, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_parse_modes_repeatable_flags():
    assert parse_modes(["a=fix", "b=OFF"]) == {"a": "fix", "b": "off"}


# --- check ids in modes: validated where the engine is built ------------------------------


def test_an_unknown_check_id_in_modes_stops_the_engine_from_being_built():
    settings = Settings.from_env({"VPCGUARD_MODES": "no_such_check=fix,vpc_dns_support=off"})
    assert settings.modes == {"no_such_check": "fix", "vpc_dns_support": "off"}
    with pytest.raises(ValueError, match=r"^unknown check id\(s\): no_such_check$"):
        Engine(AwsClients(region=REGION), settings)


def test_the_inspect_function_refuses_an_unknown_check_id_at_set_up():
    env = {"VPCGUARD_MODES": "vpc_dns_support=fix,sg_self_ingres=off"}
    with pytest.raises(ValueError, match=r"^unknown check id\(s\): sg_self_ingres$"):
        Inspector.from_env(env, clients=AwsClients(region=REGION))


def test_known_check_ids_build_an_engine():
    engine = Engine(AwsClients(region=REGION), Settings(modes={"vpc_dns_support": "fix"}))
    assert engine.settings.mode_for("vpc_dns_support", "notify") == "fix"


def test_reading_settings_does_not_import_the_checks():
    """The notify function reads settings and never evaluates: no check catalog for it."""
    code = (
        "import sys\n"
        "from vpcguard.settings import Settings\n"
        "Settings.from_env({'VPCGUARD_MODES': 'vpc_dns_support=off'})\n"
        "print(sorted(m for m in sys.modules if m.startswith('vpcguard.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "vpcguard.checks" not in done.stdout and "vpcguard.engine" not in done.stdout
    assert "vpcguard.settings" in done.stdout
