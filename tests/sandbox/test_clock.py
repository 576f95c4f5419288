"""The sandbox clock: frozen or real, only ever moving forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from onyx_fanvue.sandbox.clock import SandboxClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_frozen_clock_moves_only_when_told():
    clock = SandboxClock(T0)
    assert clock.now() == T0
    clock.advance(90)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == T0 + timedelta(seconds=150)
    assert clock.timestamp() == (T0 + timedelta(seconds=150)).timestamp()


def test_the_clock_never_goes_back_and_needs_an_aware_start():
    clock = SandboxClock(T0)
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        SandboxClock(datetime(2026, 1, 1))


def test_a_real_clock_is_utc_and_can_be_pushed_ahead():
    clock = SandboxClock()
    before = datetime.now(UTC)
    clock.advance(timedelta(hours=1))
    now = clock.now()
    assert now.tzinfo is UTC
    assert now - before >= timedelta(hours=1)


def test_other_zones_are_converted():
    clock = SandboxClock(T0.astimezone(timezone(timedelta(hours=3))))
    assert clock.now().tzinfo is UTC
    assert clock.now() == T0
