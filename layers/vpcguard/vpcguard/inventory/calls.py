"""How every inventory read calls AWS: one place where an AWS error becomes a FactError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsClients, describe_error, raise_if_setup_error
from .memo import FactError

T = TypeVar("T")


class Reader:
    """The clients of one run, and the two ways the inventory calls them."""

    def __init__(self, clients: AwsClients):
        self.clients = clients
        self.region = clients.region

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        """Run one read; AWS errors become FactError naming the action (a setup error, such
        as missing credentials, is raised as it is: it stops the run, not one check)."""
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            raise_if_setup_error(exc)
            raise FactError(describe_error(exc, action)) from exc

    def _paginate(self, service: str, operation: str, action: str, key: str, **kwargs: Any) -> list[Any]:
        def run() -> list[Any]:
            client = self.clients.client(service)
            items: list[Any] = []
            if client.can_paginate(operation):
                for page in client.get_paginator(operation).paginate(**kwargs):
                    items.extend(page.get(key, []))
            else:
                items.extend(getattr(client, operation)(**kwargs).get(key, []))
            return items

        return self._call(action, run)
