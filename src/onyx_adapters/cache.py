"""An in-process TTL cache behind the core's :class:`~onyx_core.ports.Cache` port, for API responses and tokens.

Built on cachetools' ``TLRUCache`` so every entry keeps the ttl it was set with (``TTLCache`` has one ttl for all):
an expired entry is a miss from its expiry instant on, expired entries are dropped first when the cache is full,
and then the least recently used. One process only: workers that must share entries need a shared cache (Redis).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from cachetools import TLRUCache

from onyx_core.ports import Clock

__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_TTL", "TtlCache"]

DEFAULT_TTL = timedelta(seconds=60)
DEFAULT_MAX_ENTRIES = 500


def _expires(_key: str, entry: tuple[bytes, float], now: float) -> float:
    return now + entry[1]


class TtlCache:
    """Implements :class:`~onyx_core.ports.Cache` in memory: at most ``max_entries`` entries, each living ``ttl``
    (default 60 s) after it was set.

    Time comes from ``timer`` (seconds, monotonic by default) or from a core ``clock`` (a ``ManualClock`` in tests).
    Every operation runs without awaiting, under a thread lock, so concurrent tasks (or threads) never see a
    half-updated cache.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        default_ttl: timedelta = DEFAULT_TTL,
        timer: Callable[[], float] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if timer is not None and clock is not None:
            raise ValueError("pass a timer or a clock, not both")
        if clock is not None:
            source = clock
            timer = lambda: source.now().timestamp()  # noqa: E731 - a one-line adapter
        self.default_ttl = default_ttl
        self._lock = threading.Lock()
        self._entries: TLRUCache[str, tuple[bytes, float], float] = TLRUCache(
            maxsize=max_entries, ttu=_expires, timer=timer or time.monotonic
        )

    @property
    def max_entries(self) -> int:
        return int(self._entries.maxsize)

    def __len__(self) -> int:
        """Live (unexpired) entries."""
        with self._lock:
            self._entries.expire()
            return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired (at its expiry instant it is already gone)."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, ttl: timedelta | None = None) -> None:
        """Store ``value`` for ``ttl`` (default :attr:`default_ttl`); a ttl of zero or less removes ``key``."""
        seconds = (self.default_ttl if ttl is None else ttl).total_seconds()
        with self._lock:
            # TLRUCache drops an entry whose expiry is not after now, and the old value under the key with it
            self._entries[key] = (bytes(value), seconds)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (absent or expired keys are fine)."""
        # absent, or expired (TLRUCache removes it, then raises KeyError)
        with self._lock, contextlib.suppress(KeyError):
            del self._entries[key]

    async def clear(self) -> None:
        """Forget everything (e.g. after a key rotation or a disconnect)."""
        with self._lock:
            self._entries.clear()
