"""rebuild_stats_floor on the in-memory ports: for any stored lifetime revenue and any ledger, the floor raises the
value to the ledger's net at most, never lowers it, and does nothing while the ledger's refunds are not fetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.catalog import Agency, Creator
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.stats import MergePolicy, Metric, Ok, merge_all
from onyx_core.sync import Stream, SyncCursor
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock
from onyx_core.usecases.stats_floor import rebuild_stats_floor

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LUNA = CreatorId("luna")
REVENUE = Metric.REVENUE_TOTAL.value


async def _world(stored: int | None, net: int, *, fetched: bool) -> tuple[InMemoryStore, ManualClock]:
    store, clock = InMemoryStore(), ManualClock(T0)
    async with InMemoryUnitOfWork(store) as uow:
        await uow.agencies.upsert(Agency(AgencyId("a"), "A"))
        await uow.creators.upsert(Creator(LUNA, AgencyId("a"), "luna", "Luna", T0))
        if stored is not None:
            merged, events = merge_all({}, [Ok(REVENUE, stored, T0 - timedelta(hours=1), "fanvue")], MergePolicy(), T0)
            await uow.stats.save(LUNA, merged, events, T0)
        if net > 0:
            paid = LedgerEntry(LUNA, "k1", T0 - timedelta(days=1), "subscription", Money(net + 10), Money(net))
            await uow.ledger.upsert([paid])
        if fetched:
            for stream in (Stream.EARNINGS, Stream.REVERSALS):
                await uow.cursors.save(SyncCursor(LUNA, stream, T0, backfilled=True, updated_at=T0))
        await uow.commit()
    clock.advance(60)
    return store, clock


async def _stored(store: InMemoryStore) -> int | None:
    async with InMemoryUnitOfWork(store) as uow:
        record = (await uow.stats.get(LUNA)).get(REVENUE)
    return None if record is None else record.value


@settings(max_examples=150, deadline=None)
@given(
    stored=st.none() | st.integers(0, 10**9),
    net=st.integers(0, 10**9),
    fetched=st.booleans(),
)
def test_the_floor_raises_to_the_ledger_never_lowers_and_waits_for_refunds(
    stored: int | None, net: int, fetched: bool
) -> None:
    import asyncio  # noqa: PLC0415

    async def check() -> None:
        store, clock = await _world(stored, net, fetched=fetched)
        done = await rebuild_stats_floor(lambda: InMemoryUnitOfWork(store), clock, LUNA)
        after = await _stored(store)
        assert done.before == stored
        assert done.after == after
        if stored is not None:
            assert after is not None
            assert after >= stored  # never lowered
        if not fetched or net == 0:
            assert after == stored  # no floor: nothing changed
            assert done.skipped is not None
            assert not done.raised
        else:
            assert done.skipped is None
            assert done.ledger_net == net
            assert after == max(net, stored or 0)
            assert done.raised == (stored is None or net > stored)

    asyncio.run(check())


async def test_an_unknown_creator_is_not_found() -> None:
    store, clock = InMemoryStore(), ManualClock(T0)
    with pytest.raises(NotFoundError):
        await rebuild_stats_floor(lambda: InMemoryUnitOfWork(store), clock, CreatorId("nobody"))
