"""The database enforces the core's rules under concurrency, on SQLite and PostgreSQL.

- 20 units merging into one creator at once (each get_for_update -> merge -> save -> commit, on its own
  connection) end with the record of applying the observations one by one in observation order;
- the token-version fence: of N units saving over the same expected version, exactly one wins;
- S4: running the same ingest 3 times leaves every table's row count unchanged, with 0 unique-constraint errors.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql import schema
from onyx_adapters.sql.engine import create_engine, is_sqlite
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import Agency, Creator, RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import ConcurrentUpdateError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ports import UnitOfWorkFactory
from onyx_core.stats import (
    Adjustment,
    MergePolicy,
    Metric,
    Missing,
    MissingReason,
    Observation,
    Ok,
    encode_record,
    merge,
    merge_all,
    sort_key,
)
from onyx_core.sync import Stream
from onyx_core.testing.fakes import ManualClock, ReversibleCipher
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.tokens import TokenSet
from onyx_core.usecases.context import Context
from onyx_core.usecases.rankings import record_top_spenders, sync_tracking_links
from onyx_core.usecases.subscriber_history import record_subscriber_history
from onyx_core.usecases.sync_ledger import SyncOutcome, sync_ledger

WRITERS = 20
FENCED_WRITERS = 8
T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    # A pool as large as the crowd, so every PostgreSQL unit really holds a connection of its own at once.
    options = {} if is_sqlite(database_url) else {"pool_size": WRITERS, "max_overflow": 0}
    engine = create_engine(database_url, **options)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_unit_of_work_factory(engine, ReversibleCipher())


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex}"


async def _seed(uow_factory: UnitOfWorkFactory, now: datetime = T0) -> tuple[AgencyId, CreatorId, Connection]:
    """A fresh agency, creator and agency-level connection, committed."""
    agency_id, creator_id = AgencyId(_uid("agency")), CreatorId(_uid("creator"))
    connection = Connection(
        ConnectionId(_uid("conn")), ConnectionKind.AGENCY, agency_id, None, _uid("fv"), ConnectionStatus.ACTIVE,
        TokenSet(_uid("access"), _uid("refresh"), now + timedelta(hours=1), frozenset({"read:self"})), 1,
    )  # fmt: skip
    async with uow_factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Concurrency Agency"))
        await uow.creators.upsert(Creator(creator_id, agency_id, "crowd", "Crowd", now))
        await uow.connections.save(connection)
        await uow.commit()
    return agency_id, creator_id, connection


def _observations(rng: random.Random) -> list[Observation]:
    """20 observations of three metrics, distinct times, with a held cliff, a failure, a refund and a replay."""
    at = [T0 + timedelta(seconds=30 * i) for i in range(WRITERS)]
    observations: list[Observation] = [
        Ok(Metric.SUBSCRIBERS, 800 + rng.randrange(50), at[i], "crowd") for i in range(8)
    ]
    observations += [
        Ok(Metric.SUBSCRIBERS, 3, at[8], "crowd"),  # a cliff: held, not shown
        Missing(Metric.SUBSCRIBERS, MissingReason.TIMEOUT, at[9], "crowd", "read timed out"),
        Ok(Metric.SUBSCRIBERS, 840, at[10], "crowd"),
        Adjustment(Metric.REVENUE_TOTAL, 2_000, at[11], _uid("refund"), "refund"),
    ]
    observations += [Ok(Metric.REVENUE_TOTAL, 100_000 + 1_000 * i, at[i], "crowd") for i in range(12, 16)]
    observations += [Ok(Metric.FOLLOWERS, 5_000 + i, at[i], "crowd") for i in range(16, WRITERS)]
    assert len(observations) == WRITERS
    return observations


async def test_concurrent_merges_equal_merging_in_observation_order(uow_factory: UnitOfWorkFactory) -> None:
    _, creator_id, _ = await _seed(uow_factory)
    policy = MergePolicy()
    now = T0 + timedelta(hours=1)
    observations = _observations(random.Random(20))
    arrival = random.Random(5).sample(observations, len(observations))  # not the observation order
    assert arrival != sorted(observations, key=sort_key)
    start = asyncio.Event()

    async def writer(observation: Observation) -> None:
        await start.wait()
        async with uow_factory() as uow:
            records = await uow.stats.get_for_update(creator_id)
            await asyncio.sleep(0.001)  # invite the others in between the read and the write
            result = merge(records.get(observation.metric), observation, policy, now)
            await uow.stats.save(creator_id, {observation.metric: result.record}, result.events, now)
            await uow.commit()

    tasks = [asyncio.create_task(writer(o)) for o in arrival]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)

    expected, _ = merge_all({}, sorted(observations, key=sort_key), policy, now)
    async with uow_factory() as uow:
        stored = await uow.stats.get(creator_id)
        events = await uow.stats.events(creator_id)
    assert {m: encode_record(r) for m, r in stored.items()} == {m: encode_record(r) for m, r in expected.items()}
    assert sum(len(r.window) for r in stored.values()) == WRITERS  # no observation lost
    assert stored[Metric.SUBSCRIBERS].value == 840
    assert events  # every unit's events were appended


async def test_version_fence_lets_exactly_one_concurrent_writer_win(uow_factory: UnitOfWorkFactory) -> None:
    _, _, connection = await _seed(uow_factory)
    everyone_read = asyncio.Barrier(FENCED_WRITERS)

    async def refresher(i: int) -> Connection | None:
        async with uow_factory() as uow:
            seen = await uow.connections.get(connection.id)
            assert seen is not None
            await everyone_read.wait()  # all hold version 1 before anyone saves
            at = T0 + timedelta(minutes=i + 1)
            tokens = TokenSet(_uid("access"), _uid("refresh"), at + timedelta(hours=1), frozenset({"read:self"}))
            refreshed = seen.with_tokens(tokens, at)
            try:
                await uow.connections.save(refreshed, expected_version=seen.token_version)
                await asyncio.sleep(0.01)  # hold the row a moment, so the others' saves really wait on it
                await uow.commit()
            except ConcurrentUpdateError:
                return None
            return refreshed

    results = await asyncio.gather(*(refresher(i) for i in range(FENCED_WRITERS)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1, f"{len(winners)} of {FENCED_WRITERS} fenced writers won"
    async with uow_factory() as uow:
        stored = await uow.connections.get(connection.id)
    assert stored == winners[0]
    assert stored is not None
    assert stored.token_version == connection.token_version + 1


async def test_concurrent_upserts_of_the_same_page_insert_each_row_once(uow_factory: UnitOfWorkFactory) -> None:
    """Writers racing on the same ledger page: each key is reported inserted by exactly one, none as updated."""
    _, creator_id, _ = await _seed(uow_factory)
    page = [
        LedgerEntry(creator_id, _uid("earning"), T0 + timedelta(minutes=i), Source.TIP, Money(100 + i), Money(80 + i))
        for i in range(10)
    ]

    async def ingest(rng: random.Random) -> tuple[int, int]:
        async with uow_factory() as uow:
            result = await uow.ledger.upsert(rng.sample(page, len(page)))
            await asyncio.sleep(0.001)
            await uow.commit()
        return len(result.inserted), result.updated

    results = await asyncio.gather(*(ingest(random.Random(i)) for i in range(FENCED_WRITERS)))
    assert sum(i for i, _ in results) == len(page)
    assert sum(u for _, u in results) == 0
    async with uow_factory() as uow:
        assert await uow.ledger.entries(creator_id) == page


# ----------------------------------------------------------------------------- S4


def _world(creator_id: CreatorId, now: datetime) -> FakeFanvue:
    """A Fanvue with a ledger inside and outside the 7-day look-back, history, top spenders and links."""
    fanvue = FakeFanvue(page_size=3)
    fan = FanId(_uid("fan"))
    earnings = [
        LedgerEntry(creator_id, f"earning:{i}", now - timedelta(days=30 - 2 * i, microseconds=i), Source.TIP,
                    Money(1_000 + i), Money(800 + i), fan_id=fan)
        for i in range(14)
    ]  # fmt: skip
    reversals = [
        LedgerEntry(creator_id, f"refund:{i}", now - timedelta(days=i + 1), Source.REFUND, Money(-500), Money(-400),
                    EntryKind.REFUND, fan_id=fan)
        for i in range(4)
    ]  # fmt: skip
    fanvue.ledger = {(creator_id, Stream.EARNINGS): earnings, (creator_id, Stream.REVERSALS): reversals}
    today = now.date()
    fanvue.subscriber_days = {
        creator_id: [SubscriberDay(creator_id, today - timedelta(days=d), d, 1) for d in range(10)]
    }
    fanvue.top_spenders = {
        creator_id: [RankedSpender(r, FanId(_uid("fan")), f"f{r}", f"F {r}", Money(9_000 - r), Money(7_000 - r), r)
                     for r in range(1, 6)]
    }  # fmt: skip
    fanvue.links = {
        creator_id: [TrackingLink(TrackingLinkId(_uid("link")), creator_id, f"l{i}", f"https://x.example/{i}", "x",
                                  now - timedelta(days=40), 10 * i, i, i) for i in range(3)]
    }  # fmt: skip
    return fanvue


async def _row_counts(engine: AsyncEngine, agency_id: AgencyId, creator_id: CreatorId) -> dict[str, int]:
    by_creator = {
        t: t.c.creator_id
        for t in (
            schema.creator_stats, schema.stats_events, schema.ledger_entries, schema.subscriber_days,
            schema.tracking_links, schema.sync_cursors,
        )
    }  # fmt: skip
    counts: dict[str, int] = {}
    async with engine.connect() as conn:
        for table, column in by_creator.items():
            counts[table.name] = (await conn.execute(select(func.count()).where(column == creator_id))).scalar_one()
        scopes = select(func.count()).where(schema.top_spenders.c.scope == str(creator_id))
        counts["top_spenders"] = (await conn.execute(scopes)).scalar_one()
        for table in (schema.creators, schema.connections):
            query = select(func.count()).select_from(table).where(table.c.agency_id == agency_id)
            counts[table.name] = (await conn.execute(query)).scalar_one()
        query = select(func.count()).where(schema.agencies.c.id == agency_id)
        counts["agencies"] = (await conn.execute(query)).scalar_one()
    return counts


async def test_rerunning_the_same_ingest_changes_no_row_count(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> None:
    """S4: the same sync 3 times against unchanged data: equal row counts in every table, 0 unique errors."""
    now = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    agency_id, creator_id, _ = await _seed(uow_factory, now)
    clock = ManualClock(now)
    ctx = Context(uow=uow_factory, fanvue=_world(creator_id, now), clock=clock)
    counts: list[dict[str, int]] = []
    inserted: list[int] = []
    unique_errors = 0
    for _run in range(3):
        inserted.append(0)
        try:
            for stream in (Stream.EARNINGS, Stream.REVERSALS):
                report = await sync_ledger(ctx, creator_id, stream)
                assert report.outcome is SyncOutcome.COMPLETED
                assert report.pages >= 1  # the look-back re-reads pages every time
                inserted[-1] += report.inserted
            await record_subscriber_history(ctx, creator_id)
            await record_top_spenders(ctx, creator_id)
            await sync_tracking_links(ctx, creator_id)
        except IntegrityError:
            unique_errors += 1
        counts.append(await _row_counts(engine, agency_id, creator_id))
        clock.advance(timedelta(hours=1))
    assert unique_errors == 0
    assert inserted == [18, 0, 0]
    assert counts[0]["ledger_entries"] == 18
    assert counts[0]["sync_cursors"] == 5
    assert counts[0]["subscriber_days"] == 10
    assert counts[0] == counts[1] == counts[2]
    async with uow_factory() as uow:
        assert await uow.ledger.net_total(creator_id, "USD") == sum(800 + i for i in range(14)) - 4 * 400
