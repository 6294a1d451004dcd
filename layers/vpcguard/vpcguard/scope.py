"""Whose resources the credentials in use may evaluate: their own account, their own region.

A subject (an event, an ARN) from another account or region is never evaluated or fixed
with local credentials: a same-named local model is a different model. Today such a subject
is refused; the organization work (hub and spoke) replaces `HomeScope.clients_for` with one
that assumes the member role of the subject's account and region.

The credentials' account costs one `sts:GetCallerIdentity`, made only when a subject names
an account, and remembered on the `AwsClients` (so once per CLI run, once per Lambda
instance: the inspect function reuses its clients across invocations).
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients, describe_error, raise_if_setup_error


class ForeignSubjectError(ValueError):
    """A subject in another account or region than the credentials in use. A ValueError, so
    the CLI prints it as one line and exits 2."""


def arn_account_region(arn: str) -> tuple[str, str]:
    """(account, region) of an ARN; ("", "") for a plain name."""
    if not arn.startswith("arn:"):
        return "", ""
    parts = arn.split(":", 5)
    return (parts[4], parts[3]) if len(parts) > 4 else ("", "")


class HomeScope:
    """The account and region of the credentials in use, and the decision for a subject
    elsewhere."""

    def __init__(self, clients: AwsClients):
        self.clients = clients

    @property
    def region(self) -> str:
        return self.clients.region

    def account(self) -> str:
        try:
            return self.clients.caller_account()
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            reason = describe_error(exc, "sts:GetCallerIdentity")
            raise ForeignSubjectError(f"cannot tell which account the credentials are for: {reason}") from exc

    def foreign_reason(self, account: str, region: str, what: str) -> str | None:
        """Why `what` (in `account`/`region`; "" = not stated) is not ours, or None.
        The account is asked of STS only when the region alone does not already decide."""
        if region and region != self.region:
            return f"{what} is in region {region}, but the credentials in use are for {self.region}"
        if account and account != self.account():
            return (
                f"{what} is in account {account}, but the credentials in use are for account {self.account()}"
            )
        return None

    def clients_for(self, account: str, region: str, what: str) -> AwsClients:
        """The clients that may evaluate a subject in `account`/`region`: ours for our own,
        else ForeignSubjectError. (Issue 12: the member role's clients instead.)"""
        reason = self.foreign_reason(account, region, what)
        if reason:
            raise ForeignSubjectError(
                f"{reason}; vpcguard never evaluates or fixes it with these credentials "
                "(run it with credentials for that account and region)"
            )
        return self.clients

    def check_arn(self, name_or_arn: str, what: str) -> None:
        account, region = arn_account_region(name_or_arn)
        self.clients_for(account, region, f"{what} {name_or_arn}")
