"""The sandbox's token bucket on its own: full at first, refilled when the window ends, counted per key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.ratelimit import RateLimiter, rate_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_keys_are_fanvues() -> None:
    assert rate_key("app", "user") == "app:user"
    assert rate_key("app", "user", "creator") == "app:user:creator"


def test_a_window_allows_limit_then_refuses_until_it_ends() -> None:
    clock = SandboxClock(T0)
    limiter = RateLimiter(clock, limit=3, window_seconds=60)
    assert [limiter.take("k").remaining for _ in range(3)] == [2, 1, 0]
    clock.advance(59.5)
    refused = limiter.take("k")
    assert not refused.allowed
    assert refused.retry_after == 1  # never 0: the client must wait
    assert refused.headers()["Retry-After"] == "1"
    assert limiter.remaining("k") == 0
    clock.advance(0.5)
    assert limiter.remaining("k") == 3
    assert limiter.take("k").allowed


def test_refused_requests_do_not_spend() -> None:
    clock = SandboxClock(T0)
    limiter = RateLimiter(clock, limit=1, window_seconds=10)
    limiter.take("k")
    for _ in range(5):
        assert not limiter.take("k").allowed
    clock.advance(10)
    assert limiter.take("k").remaining == 0


def test_expired_buckets_are_pruned_and_live_ones_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("onyx_fanvue.sandbox.ratelimit._PRUNE_AT", 5)
    clock = SandboxClock(T0)
    limiter = RateLimiter(clock, limit=2, window_seconds=60)
    for i in range(4):
        limiter.take(f"old{i}")
    clock.advance(30)
    limiter.take("live")
    limiter.take("live")
    clock.advance(31)  # the old windows are over, "live" has 29 s left
    limiter.take("new")
    assert set(limiter._buckets) == {"live", "new"}
    assert not limiter.take("live").allowed


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(SandboxClock(T0), limit=0)
