"""Arranging an organization's worlds: one builder per account and region."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from .builders import Builder
from .server import REGION
from .worlds import WorldCache


class OrgSetup:
    """A test's way to arrange the organization's worlds: a builder per account and region
    (shared by the tests of this process; a member's carries moto's account header), whose
    calls take the tests' in-process setup path, and worlds kept as WorldCache steps."""

    def __init__(
        self,
        endpoint_url: str,
        builders: dict[tuple[str | None, str], Builder],
        send: Callable[..., Any],
        worlds: WorldCache,
    ):
        self.endpoint_url = endpoint_url
        self.worlds = worlds
        self._builders = builders
        self._send = send
        self._made = itertools.count()

    def builder(self, account: str | None = None, region: str = REGION) -> Builder:
        if (account, region) not in self._builders:
            self._builders[account, region] = Builder(
                self.endpoint_url, region=region, account=account, send=self._send
            )
        return self._builders[account, region]

    def next_world(self) -> int:
        return next(self._made)
