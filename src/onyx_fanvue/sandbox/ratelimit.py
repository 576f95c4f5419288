"""Fanvue's rate limit: a token bucket per key that starts full and refills completely every window.

Fanvue documents 200 requests per 60 s, keyed ``clientId:userUuid`` plus ``:creatorUserUuid`` on
``/creators/{uuid}/*`` (api doc §7). The first request on a key opens its window; once the window has passed the
bucket is full again and the next request opens a new one. ``X-RateLimit-Reset`` is the window's end in Unix seconds
and ``Retry-After`` the whole seconds until then.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from onyx_fanvue.sandbox.clock import SandboxClock

__all__ = ["DEFAULT_LIMIT", "DEFAULT_WINDOW_SECONDS", "RateDecision", "RateLimiter", "rate_key"]

DEFAULT_LIMIT = 200
DEFAULT_WINDOW_SECONDS = 60
_PRUNE_AT = 10_000


def rate_key(client_id: str, user_uuid: str, creator_uuid: str | None = None) -> str:
    """``clientId:userUuid[:creatorUserUuid]``, the way Fanvue names its buckets."""
    base = f"{client_id}:{user_uuid}"
    return base if creator_uuid is None else f"{base}:{creator_uuid}"


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime
    retry_after: int  # whole seconds until the bucket is full again (0 when allowed)

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at.timestamp())),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


@dataclass(slots=True)
class _Bucket:
    opened_at: datetime
    used: int


class RateLimiter:
    """Buckets per key on the sandbox clock. Thread-safe."""

    def __init__(
        self, clock: SandboxClock, *, limit: int = DEFAULT_LIMIT, window_seconds: float = DEFAULT_WINDOW_SECONDS
    ) -> None:
        if limit <= 0 or window_seconds <= 0:
            raise ValueError("a rate limit needs a positive limit and window")
        self.clock = clock
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> RateDecision:
        """Spend one token of ``key``'s bucket, or refuse (a refused request spends nothing)."""
        now = self.clock.now()
        with self._lock:
            if len(self._buckets) >= _PRUNE_AT:  # a long-running server sees many keys; expired ones are full again
                self._buckets = {k: b for k, b in self._buckets.items() if now < b.opened_at + self.window}
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.opened_at + self.window:
                bucket = self._buckets[key] = _Bucket(now, 0)
            reset_at = bucket.opened_at + self.window
            if bucket.used >= self.limit:
                wait = max(1, math.ceil((reset_at - now).total_seconds()))
                return RateDecision(allowed=False, limit=self.limit, remaining=0, reset_at=reset_at, retry_after=wait)
            bucket.used += 1
            return RateDecision(
                allowed=True, limit=self.limit, remaining=self.limit - bucket.used, reset_at=reset_at, retry_after=0
            )

    def remaining(self, key: str) -> int:
        """Tokens left in ``key``'s bucket now (a full bucket when the key has not been seen in this window)."""
        now = self.clock.now()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.opened_at + self.window:
                return self.limit
            return self.limit - bucket.used

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
