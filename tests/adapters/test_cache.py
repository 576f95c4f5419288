"""The TTL cache adapter: the Cache port's contract (the same checks pass on the core's in-memory fake), per-entry
expiry by an injected clock, the size bound, and consistency under concurrent tasks and threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from onyx_adapters.cache import DEFAULT_MAX_ENTRIES, DEFAULT_TTL, TtlCache
from onyx_core.ports import Cache
from onyx_core.testing.fakes import InMemoryCache, ManualClock

START = datetime(2026, 1, 1, tzinfo=UTC)


def _fake(clock: ManualClock) -> Cache:
    return InMemoryCache(clock)


def _ttl_cache(clock: ManualClock) -> Cache:
    return TtlCache(clock=clock)


# ----------------------------------------------------------------------------- the port's contract


async def check_cache_contract(cache: Cache, clock: ManualClock) -> None:
    """What any Cache must do: get/set/delete, overwrite, per-entry expiry at its instant, ttl <= 0 removes."""
    assert await cache.get("absent") is None
    await cache.delete("absent")  # absent keys are fine

    await cache.set("a", b"1", timedelta(seconds=10))
    await cache.set("b", b"2", timedelta(seconds=30))
    assert await cache.get("a") == b"1"
    assert await cache.get("b") == b"2"

    await cache.set("a", b"one", timedelta(seconds=10))  # overwrite restarts the ttl
    clock.advance(timedelta(seconds=9, microseconds=999_000))
    assert await cache.get("a") == b"one"
    clock.advance(timedelta(milliseconds=1))  # exactly at the expiry instant: gone
    assert await cache.get("a") is None
    assert await cache.get("b") == b"2"  # each entry keeps its own ttl
    clock.advance(timedelta(seconds=20))
    assert await cache.get("b") is None

    await cache.set("c", b"3", timedelta(minutes=5))
    await cache.delete("c")
    assert await cache.get("c") is None

    await cache.set("d", b"4", timedelta(minutes=5))
    await cache.set("d", b"stale", timedelta(0))  # a ttl of zero stores nothing retrievable, old value included
    assert await cache.get("d") is None
    await cache.set("e", b"5", timedelta(seconds=-1))
    assert await cache.get("e") is None

    value = bytearray(b"mutable")
    await cache.set("f", value, timedelta(minutes=1))  # type: ignore[arg-type]
    value[:] = b"changed"
    assert await cache.get("f") == b"mutable"  # the cache keeps its own copy


@pytest.mark.parametrize("make", [_fake, _ttl_cache], ids=["InMemoryCache", "TtlCache"])
async def test_cache_contract(make: Callable[[ManualClock], Cache]) -> None:
    clock = ManualClock(START)
    await check_cache_contract(make(clock), clock)


# ----------------------------------------------------------------------------- TtlCache specifics


async def test_defaults_are_60_seconds_and_500_entries() -> None:
    clock = ManualClock(START)
    cache = TtlCache(clock=clock)
    assert timedelta(seconds=60) == DEFAULT_TTL
    assert cache.max_entries == DEFAULT_MAX_ENTRIES == 500
    await cache.set("k", b"v")  # no ttl: the default
    clock.advance(59.9)
    assert await cache.get("k") == b"v"
    clock.advance(0.1)
    assert await cache.get("k") is None

    for i in range(600):
        await cache.set(f"k{i}", b"x", timedelta(minutes=5))
    assert len(cache) == 500
    assert await cache.get("k599") == b"x"
    assert await cache.get("k0") is None  # the least recently used went first


async def test_a_plain_timer_can_drive_expiry() -> None:
    now = [1000.0]
    cache = TtlCache(timer=lambda: now[0], default_ttl=timedelta(seconds=5))
    await cache.set("k", b"v")
    now[0] += 4.5
    assert await cache.get("k") == b"v"
    now[0] += 0.5
    assert await cache.get("k") is None


async def test_full_cache_drops_expired_entries_then_the_least_recently_used() -> None:
    clock = ManualClock(START)
    cache = TtlCache(clock=clock, max_entries=3)
    await cache.set("short", b"s", timedelta(seconds=1))
    await cache.set("old", b"o", timedelta(minutes=1))
    await cache.set("used", b"u", timedelta(minutes=1))
    clock.advance(2)  # "short" has expired
    await cache.set("new", b"n", timedelta(minutes=1))
    assert len(cache) == 3
    assert [await cache.get(k) for k in ("old", "used", "new")] == [b"o", b"u", b"n"]

    assert await cache.get("old") == b"o"  # now "used" is the least recently used
    await cache.set("newer", b"n2", timedelta(minutes=1))
    assert await cache.get("used") is None
    assert await cache.get("old") == b"o"
    assert len(cache) == 3


async def test_clear_forgets_everything() -> None:
    cache = TtlCache()
    await cache.set("a", b"1")
    await cache.clear()
    assert await cache.get("a") is None
    assert len(cache) == 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        TtlCache(max_entries=0)
    with pytest.raises(ValueError, match="not both"):
        TtlCache(timer=lambda: 0.0, clock=ManualClock(START))


async def test_concurrent_tasks_see_a_consistent_cache() -> None:
    cache = TtlCache(max_entries=50)

    async def worker(n: int) -> None:
        for i in range(200):
            key = f"k{(n * 7 + i) % 80}"
            await cache.set(key, key.encode(), timedelta(minutes=1))
            await asyncio.sleep(0)
            got = await cache.get(key)
            assert got in (None, key.encode())  # never another key's value
            if i % 5 == 0:
                await cache.delete(key)

    await asyncio.gather(*(worker(n) for n in range(20)))
    assert len(cache) <= 50


def test_concurrent_threads_see_a_consistent_cache() -> None:
    cache = TtlCache(max_entries=64)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        async def run() -> None:
            for i in range(1500):
                key = f"k{(n * 13 + i) % 100}"
                await cache.set(key, key.encode(), timedelta(minutes=1))
                got = await cache.get(key)
                assert got in (None, key.encode())
                if i % 3 == 0:
                    await cache.delete(key)

        try:
            asyncio.run(run())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 64
