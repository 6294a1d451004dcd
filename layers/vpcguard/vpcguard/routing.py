"""Evaluate a subject where it lives: in the account and region its event or ARN names.

The inspect function (events from every member account) and the CLI (`--model ARN` of
another account) both go through a SubjectRouter. The caller's own account and region use
the caller's engine; any other (account, region), another region of the caller's own account
included, gets an engine on that account's member-role clients (vpcguard.accounts). When the member role cannot be assumed the subject is
an ERROR report naming the role and the reason: it is never looked up with the caller's own
credentials, where a same-named model may exist.
"""

from __future__ import annotations

from collections.abc import Callable

from .accounts import (
    AccountSessions,
    MemberRoleError,
    Target,
    arn_account_region,
    member_settings,
    unreachable_subject,
)
from .aws import AwsClients
from .engine import Engine
from .results import SubjectReport
from .settings import Settings

# Builds the engine for another target: (its clients, its settings, the caller's engine).
EngineFactory = Callable[[AwsClients, Settings, Engine], Engine]


def default_engine(clients: AwsClients, settings: Settings, home: Engine) -> Engine:
    # Audit records go where the caller's go (the hub's table), whoever's clients made the change.
    return Engine(clients, settings, trigger=home.trigger, audit_sink=home.audit_sink)


class SubjectRouter:
    def __init__(
        self,
        sessions: AccountSessions,
        home: Engine,
        settings: Settings | None = None,
        *,
        engine_for: EngineFactory = default_engine,
    ) -> None:
        self.sessions = sessions
        self.home = home
        self.settings = settings or home.settings
        self.engine_for = engine_for
        self._engines: dict[Target, Engine] = {}
        # How many subjects were ERROR because a member role could not be assumed.
        self.role_failures = 0

    def target_of(self, ref: str, account: str = "", region: str = "") -> Target | None:
        """The (account, region) a subject lives in when it is not the caller's own; None
        for the caller's. The event's account and region win over the ARN's."""
        arn_account, arn_region = arn_account_region(ref)
        account = account or arn_account
        region = region or arn_region
        home_region = self.sessions.home_region
        if self.sessions.is_home(account) and (not region or region == home_region):
            return None
        return Target(account or self.sessions.home_account(), region or home_region)

    def engine(self, target: Target | None) -> Engine:
        """The engine for `target` (None: the caller's); raises MemberRoleError."""
        if target is None:
            return self.home
        engine = self._engines.get(target)
        if engine is None:
            clients = self.sessions.clients(target.account, target.region, own_credentials=False)
            settings = (
                self.settings
                if self.sessions.is_home(target.account)
                else member_settings(self.settings, target.account, target.region)
            )
            engine = self._engines[target] = self.engine_for(clients, settings, self.home)
        engine.trigger = self.home.trigger
        return engine

    def evaluate(self, kind: str, ref: str, account: str = "", region: str = "") -> SubjectReport:
        target = self.target_of(ref, account, region)
        try:
            engine = self.engine(target)
        except MemberRoleError as exc:
            assert target is not None  # the caller's own engine needs no role
            self.role_failures += 1
            subject = unreachable_subject(kind, ref, target.account, target.region, str(exc))
            return self.home.evaluate(subject)
        if kind == "model":
            return engine.evaluate_model(ref)
        return engine.evaluate_transform_job(ref)
