"""`vpcguard preflight --template`: each model of a template evaluated as a model that exists.

A template describes the whole model, not just a VpcConfig, so its subjects are ordinary
models (`preflight=False`): `network_isolation` is judged from the template's
EnableNetworkIsolation, and the execution role is checked when the template names one the
account has. A role the template creates itself (`!GetAtt Role.Arn`) cannot be read yet: its
check is ERROR with that reason and, like `preflight` without `--role-arn`, does not make the
exit code 2. A model whose subnets or groups cannot be resolved is a single ERROR naming the
value (and does make it 2: its network was not verified).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from . import facts as F
from .aws import describe_error, raise_if_setup_error
from .checks.base import all_checks
from .engine import Engine
from .formats.sarif import Location, artifact_uri
from .model import Status, Subject, VpcConfig
from .results import CheckResult, SubjectReport
from .subjects import account_from_arn
from .templates import ParsedTemplate, TemplateModel, Unresolved, read_template


@dataclass
class TemplateRun:
    template: ParsedTemplate
    reports: list[SubjectReport] = field(default_factory=list)
    _locations: dict[int, Location] = field(default_factory=dict)
    _role_unchecked: set[int] = field(default_factory=set)

    def locate(self, report: SubjectReport) -> Location | None:
        return self._locations.get(id(report))

    def ignore_error(self, report: SubjectReport, result: CheckResult) -> bool:
        """A role check that could not run because the role does not exist yet."""
        return id(report) in self._role_unchecked and result.check_id in _role_check_ids()


def _role_check_ids() -> set[str]:
    return {c.meta.id for c in all_checks() if F.ROLE in c.meta.requires}


def subject_for(model: TemplateModel, region: str, path: str) -> Subject:
    vpc = VpcConfig(model.subnet_ids, model.security_group_ids) if model.subnet_ids is not None else None
    error = None
    if model.error:
        error = f"model {model.logical_id} ({path} line {model.line}) {model.error}"
    return Subject(
        type="model",
        name=model.logical_id,
        arn="",
        region=region,
        account=account_from_arn(model.role_arn),
        model_name=model.model_name,
        instance_count=1,
        vpc_config=vpc,
        execution_role_arn=model.role_arn,
        enable_network_isolation=model.network_isolation,
        error=error,
    )


def check_template(
    engine: Engine,
    path: str,
    *,
    parameters: Mapping[str, str] | None = None,
    fallback_role: str | None = None,
) -> TemplateRun:
    """Read `path`, and evaluate every model in it against the account's real VPC facts
    (one engine: each VPC is read once however many models use it)."""

    @cache
    def account_id() -> str:  # one STS call, only when the template uses ${AWS::AccountId}
        try:
            return str(engine.clients.account_id())
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            reason = describe_error(exc, "sts:GetCallerIdentity")
            raise Unresolved(f"!Ref AWS::AccountId: cannot read the account ({reason})") from None

    region = engine.clients.region
    parsed = read_template(
        path, region=region, parameters=parameters, account_id=account_id, fallback_role=fallback_role
    )
    run = TemplateRun(parsed)
    uri = artifact_uri(path)
    role_checks = _role_check_ids()
    for model in parsed.models:
        report = engine.evaluate(subject_for(model, region, path))
        if model.role_note:
            for result in report.results:
                if result.check_id in role_checks and result.status == Status.ERROR:
                    result.detail = f"could not be evaluated: {model.role_note}"
                elif result.check_id in role_checks:
                    result.detail = f"{result.detail} ({model.role_note})"
            if model.role_arn is None:
                run._role_unchecked.add(id(report))
        run.reports.append(report)
        run._locations[id(report)] = Location(uri=uri, line=model.line, logical_name=model.logical_id)
    return run
