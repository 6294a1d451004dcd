"""What a fix is: a planned, described, idempotent change that a check proposes.

The check that detects a gap also plans its fix (`Check.plan_fix`), so the metadata, the
detection and the remediation of one check sit in one module. The engine decides whether
to apply the plan (modes, dry run, exemptions), records it, and re-verifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .aws import AwsClients
from .model import Remediation, frozen_map


class NoSafeFix(Exception):
    """The check failed but no change within the remediation rules would fix it."""


@dataclass(frozen=True)
class FixPlan:
    check_id: str
    action: str  # the IAM action of the one write call, e.g. "ec2:AuthorizeSecurityGroupIngress"
    resource_id: str  # the resource the write changes
    params: Mapping[str, Any]  # the exact API parameters
    description: str  # one sentence a person can read
    # Runs the change. Must be idempotent: a "this already exists" answer is success.
    # Returns what AWS said about the new state (recorded as "after").
    apply: Callable[[AwsClients], Mapping[str, Any]]
    before: Mapping[str, Any] = field(default_factory=frozen_map)  # recorded as "before"
    touches: tuple[str, ...] = ()  # every resource id the change writes to

    def remediation(self) -> Remediation:
        return Remediation(
            action=self.action,
            resource_id=self.resource_id,
            params=self.params,
            description=self.description,
        )
