"""Build a test's starting world once per process, then hand each later test a copy of it.

About 230 tests begin the same way: moto has just been reset, and `builder.compliant_vpc()`
builds the VPC the guidance describes (22 calls: VPC, subnets, route tables, group, S3
endpoint, flow log, execution role, buckets). `WorldCache.restore_or_build` makes those calls
the first time in a process, then keeps a deep copy of what moto holds at that moment (every
service's backends that the calls created, e.g. EC2, IAM, S3 and CloudWatch Logs, and the S3
bucket-name registry). A later test that asks for the same world while moto is still empty
gets a fresh deep copy of it put back into moto's backends: the same resources with the
same ids, as if its own calls had made them, in about a tenth of the time. Anything the
test then changes changes only its copy.

The copy is taken only of a world built from an empty moto (`requests_since_reset == 0`),
and put back only into an empty moto, so it never merges with anything else; any other call
builds as before. `VPCGUARD_TEST_WORLD_CACHE=0` turns it off (every world is built by its
calls), to rule it out when a test fails. tests/test_local_aws.py checks that a restored
world reads the same, resource for resource, as a built one.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from moto.core.base_backend import BackendDict, backend_lock

from .server import LocalAws

T = TypeVar("T")

# A BackendDict's own attributes; anything else on one is state (S3's bucket_accounts, the
# Organizations' master_accounts).
_BACKEND_DICT_ATTRIBUTES = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


@dataclass
class _Snapshot:
    backend_dicts: list[BackendDict[Any]]
    # One deep copy for all of them, so references between services' objects stay shared:
    # per backend dict, (its accounts' backends, its extra state); then the builder's value.
    frozen: tuple[list[tuple[dict[str, Any], dict[str, Any]]], Any]


class WorldCache:
    def __init__(self, local_aws: LocalAws, enabled: bool | None = None):
        self.local_aws = local_aws
        self.enabled = os.environ.get("VPCGUARD_TEST_WORLD_CACHE", "1") != "0" if enabled is None else enabled
        self._snapshots: dict[Hashable, _Snapshot] = {}
        self.built = 0
        self.restored = 0

    def restore_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`'s value, and the moto state its calls leave, for an empty moto: built by
        the calls the first time, a copy of that state every later time."""
        if not self.enabled or self.local_aws.requests_since_reset != 0:
            return build()
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            value = build()
            self.built += 1
            self._snapshots[key] = self._take(value)
            return copy.deepcopy(value)
        self.restored += 1
        return self._restore(snapshot)

    @staticmethod
    def _take(value: Any) -> _Snapshot:
        with backend_lock:
            backend_dicts = list(BackendDict._instances)  # the services the build touched
            state = [(dict(bd), _extra_state(bd)) for bd in backend_dicts]
            return _Snapshot(backend_dicts, copy.deepcopy((state, value)))

    @staticmethod
    def _restore(snapshot: _Snapshot) -> Any:
        with backend_lock:
            state, value = copy.deepcopy(snapshot.frozen)
            for bd, (accounts, extra) in zip(snapshot.backend_dicts, state, strict=True):
                for account_id, account_backends in accounts.items():
                    dict.__setitem__(bd, account_id, account_backends)
                for name, saved in extra.items():
                    current = getattr(bd, name)
                    if isinstance(current, dict):
                        current.update(saved)  # e.g. bucket name -> account: add the world's
                    else:
                        setattr(bd, name, saved)
                if bd not in BackendDict._instances:
                    BackendDict._instances.append(bd)  # so the next reset clears it
        return value


def _extra_state(bd: BackendDict[Any]) -> dict[str, Any]:
    return {name: value for name, value in vars(bd).items() if name not in _BACKEND_DICT_ATTRIBUTES}
