"""Build a test's starting world once per process, then hand each later test a copy of it.

About 230 tests begin the same way: moto has just been reset, and `builder.compliant_vpc()`
builds the VPC the guidance describes (22 calls: VPC, subnets, route tables, group, S3
endpoint, flow log, execution role, buckets); the pipeline tests first deploy the stack's
queues, tables and topics. `WorldCache.restore_or_build(key, build)` runs such a step by its
calls the first time in a process, then keeps a deep copy of what moto holds at that moment
(every service's backends that exist, e.g. EC2, IAM, S3 and CloudWatch Logs, and the S3
bucket-name registry). A later test that takes the same steps in the same order, from an
empty moto, gets a fresh deep copy put back into moto's backends instead: the same
resources with the same ids, as if its own calls had made them, in about a tenth of the
time. Anything the test then changes changes only its copy.

A step is served from a copy only when moto holds exactly what the earlier cached steps of
this test left: nothing since the last reset, or nothing since the last step (counted by
the local AWS, whichever way a request came). Any other call in between, and every step
after it, is built by its calls as before. `VPCGUARD_TEST_WORLD_CACHE=0` turns it off, to
rule it out when a test fails. tests/test_local_aws.py checks that a restored world reads
the same, resource for resource, as a built one.
"""

from __future__ import annotations

import copy
import copyreg
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from moto.core.base_backend import BackendDict, backend_lock

from .server import LocalAws

T = TypeVar("T")

# moto's SQS queues guard their messages with a threading.Condition, whose lock cannot be
# copied (and whose acquire/release are the lock's own methods): a copy gets a new one,
# unlocked, with no waiters (no request is in flight while a world is copied). Registered
# for this test process only; copyreg is what deepcopy consults.
for _kind, _new in (
    (type(threading.Lock()), threading.Lock),
    (type(threading.RLock()), threading.RLock),
    (threading.Condition, threading.Condition),
):
    copyreg.pickle(_kind, lambda _original, new=_new: (new, ()))

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
        self._snapshots: dict[tuple[Hashable, ...], _Snapshot] = {}
        # The steps behind what moto holds, and the local AWS's (resets, requests) right after
        # the last of them: while that pair is unchanged, moto holds just their world.
        self._steps: tuple[Hashable, ...] = ()
        self._mark: tuple[int, int] | None = None
        self.built = 0
        self.restored = 0

    def restore_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`'s value, with the moto state its calls leave: made by the calls the first
        time these steps are taken from an empty moto, a copy of that state later."""
        steps = self._steps_behind_moto() if self.enabled else None
        if steps is None:
            return build()
        steps = (*steps, key)
        snapshot = self._snapshots.get(steps)
        if snapshot is None:
            value = build()
            self.built += 1
            self._snapshots[steps] = self._take(value)
            value = copy.deepcopy(value)
        else:
            if len(steps) > 1 or self.local_aws.requests_since_reset:
                self.local_aws.reset()  # a copy goes into an empty moto: it holds the earlier steps too
            value = self._restore(snapshot)
            self.restored += 1
        self._steps, self._mark = steps, self._now()
        return value

    def _now(self) -> tuple[int, int]:
        return self.local_aws.resets, self.local_aws.requests_since_reset

    def _steps_behind_moto(self) -> tuple[Hashable, ...] | None:
        """The cached steps that made everything moto holds; None if anything else did."""
        now = self._now()
        if now == self._mark:
            return self._steps
        if now[1] == 0 and (self._mark is None or self._mark[0] != now[0]):
            return ()  # reset since the last step, and nothing since
        return None

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
