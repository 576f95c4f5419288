"""The heartbeat's read of what is due (``due_work``) is set-based: a constant number of SQL statements however
many creators there are (issue 16: one unit of work with 6 reads per creator outlasted the minute at ~1,000), and
its set-based reads agree with the per-creator ones on random data, on the fakes and on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import UnitOfWorkFactory
from onyx_core.schedule import Schedule
from onyx_core.stats import MergePolicy, Metric, Observation, Ok, merge_all
from onyx_core.sync import Stream, SyncCursor
from onyx_core.testing.contracts import T0, expect_freshness_reads_agree
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock, ReversibleCipher
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.testing.strategies import EPOCH, instants, observations
from onyx_core.usecases import due_work
from onyx_core.usecases.context import Context


async def _add_creators(ctx: Context, agencies: list[AgencyId], each: int) -> None:
    """``each`` more creators per agency, half of them with stats and cursors (read as fresh), half with none."""
    async with ctx.uow() as uow:
        for agency_id in agencies:
            for n in range(each):
                creator_id = CreatorId(f"creator-{uuid4().hex}")
                await uow.creators.upsert(Creator(creator_id, agency_id, f"h{n}", f"H {n}", T0))
                if n % 2:
                    continue
                records, events = merge_all({}, [Ok(Metric.FOLLOWERS, n, T0, "test")], MergePolicy(), T0)
                await uow.stats.save(creator_id, records, events, T0)
                await uow.cursors.save(SyncCursor(creator_id, Stream.EARNINGS, synced_through=T0))
        await uow.commit()


async def test_due_work_runs_a_constant_number_of_statements(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _count_statements(engine)
    finally:
        await engine.dispose()


async def _count_statements(engine: AsyncEngine) -> None:
    ctx = Context(
        uow=sql_unit_of_work_factory(engine, ReversibleCipher()),
        fanvue=FakeFanvue(),
        clock=ManualClock(T0 + timedelta(minutes=1)),
    )
    agencies = [AgencyId(f"agency-{uuid4().hex}") for _ in range(3)]
    async with ctx.uow() as uow:
        for agency_id in agencies:
            await uow.agencies.upsert(Agency(agency_id, "Due"))
        await uow.commit()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):  # SQLite's transaction start, not a read
            statements.append(sql)

    async def count(agency_id: AgencyId | None) -> tuple[int, int]:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", seen)
        try:
            work = await due_work(ctx, Schedule(), agency_id)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", seen)
        return len(statements), len(work)

    await _add_creators(ctx, agencies, 10)
    all_30, due_30 = await count(None)
    one_10, one_due_10 = await count(agencies[0])
    await _add_creators(ctx, agencies, 10)
    all_60, due_60 = await count(None)
    one_20, one_due_20 = await count(agencies[0])

    assert (one_due_10, one_due_20) == (10, 20)  # every creator has some job due (links never ran)
    assert due_60 - due_30 == 30  # the database is shared with other tests: only the difference is ours
    assert all_60 == all_30
    assert one_20 == one_10
    assert one_10 <= 3, statements  # the agency's creators, their stats attempts, their cursors
    assert all_30 <= 3  # the same of every agency


# Whole seconds collide; fractions test the order of a whole second against its own fractions.
TIMES = st.one_of(
    instants(), st.builds(lambda t, us: t + timedelta(microseconds=us), instants(), st.integers(1, 999_999))
)
CreatorData = tuple[list[Observation], dict[Stream, Any]]
CREATORS: st.SearchStrategy[CreatorData] = st.tuples(
    st.lists(observations(times=TIMES), max_size=6),
    st.dictionaries(st.sampled_from(list(Stream)), st.one_of(st.none(), TIMES), max_size=4),
)
AGENCIES = st.lists(st.lists(CREATORS, max_size=4), min_size=1, max_size=2)
NOW = EPOCH + timedelta(hours=3)


async def _seed_and_compare(uow_factory: UnitOfWorkFactory, agencies: list[list[CreatorData]]) -> None:
    for creators in agencies:
        agency_id = AgencyId(f"agency-{uuid4().hex}")
        ids: list[CreatorId] = []
        async with uow_factory() as uow:
            await uow.agencies.upsert(Agency(agency_id, "Property"))
            for seen, cursors in creators:
                ids.append(CreatorId(f"creator-{uuid4().hex}"))
                await uow.creators.upsert(Creator(ids[-1], agency_id, "h", "H", T0))
                records, events = merge_all({}, seen, MergePolicy(), NOW)
                if records:
                    await uow.stats.save(ids[-1], records, events, NOW)
                for stream, through in cursors.items():
                    await uow.cursors.save(SyncCursor(ids[-1], stream, through))
            await uow.commit()
        await expect_freshness_reads_agree(uow_factory, agency_id, ids)


@given(AGENCIES)
def test_set_based_freshness_reads_agree_on_the_fakes(agencies: list[list[CreatorData]]) -> None:
    store = InMemoryStore()
    asyncio.run(_seed_and_compare(lambda: InMemoryUnitOfWork(store), agencies))


def test_set_based_freshness_reads_agree_on_sql(database_url: str) -> None:
    async def run(agencies: list[list[CreatorData]]) -> None:
        engine = create_engine(database_url)
        try:
            await _seed_and_compare(sql_unit_of_work_factory(engine, ReversibleCipher()), agencies)
        finally:
            await engine.dispose()

    @given(AGENCIES)
    def agree(agencies: list[list[CreatorData]]) -> None:
        asyncio.run(run(agencies))

    agree()
