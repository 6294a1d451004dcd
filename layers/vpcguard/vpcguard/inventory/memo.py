"""The per-run memo every read goes through, and the error a failed read becomes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class FactError(Exception):
    """A fact could not be read; `reason` is the line shown in the ERROR result."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Memo:
    """Thread-safe memo: each key is loaded once even when threads ask at once;
    a failure is remembered too (so a denied API is not asked again for every subject)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Any, Any] = {}
        self._key_locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                return self._unwrap(self._values[key])
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._unwrap(self._values[key])
            try:
                value: Any = load()
            except FactError as exc:
                value = exc
            with self._lock:
                self._values[key] = value
            return self._unwrap(value)

    def known(self, key: Any) -> bool:
        """Whether `key` is loaded (a value or a remembered failure)."""
        with self._lock:
            return key in self._values

    def loaded_keys(self) -> list[Any]:
        with self._lock:
            return list(self._values)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._values.pop(key, None)

    def forget_where(self, drop: Callable[[Any, Any], bool], *, locks: bool = False) -> None:
        """Forget every entry for which `drop(key, value)` is true (with `locks`, its key
        lock too: for entries never asked for again, so the memo does not grow)."""
        with self._lock:
            for key in [k for k, v in self._values.items() if drop(k, v)]:
                del self._values[key]
                if locks:
                    self._key_locks.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    @staticmethod
    def _unwrap(value: Any) -> Any:
        if isinstance(value, FactError):
            raise value
        return value
