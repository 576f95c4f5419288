"""What a creator's stats refresh costs the database, counted on each engine: one unit of work that reads (the
creator and her candidate connections) before the Fanvue calls, one that writes the merge after them, whatever
connection answers and however many tries it takes. Counted with SQLAlchemy's events on the real SQL adapters;
Fanvue is the in-memory fake, so every statement counted is the use case's (the SDK's token reads are not)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ports import UnitOfWorkFactory
from onyx_core.stats import Metric, MissingReason
from onyx_core.testing.fakes import ManualClock, ReversibleCipher
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.tokens import TokenSet
from onyx_core.usecases.context import Context
from onyx_core.usecases.refresh_stats import refresh_creator_stats

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
WRITE_STATEMENTS = 8
"""The merge's unit on PostgreSQL, where it is longest: the creator's row lock, her stats, the two cursors that
say whether refunds are tracked, the upsert of changed records, the data-version bump and its NOTIFY; SQLite has
BEGIN IMMEDIATE instead of the lock and no NOTIFY. One more would be an eighth statement."""
READ_STATEMENTS = 4
"""The creator, the agency's connection, her own connection (SQLite: plus the deferred BEGIN)."""


@dataclass
class Traffic:
    """What the engine did: each connection checked out, with the statements it ran, in order."""

    units: list[list[str]] = field(default_factory=list)
    fanvue_calls_before: list[int] = field(default_factory=list)
    """How many Fanvue calls had been made when each connection was checked out."""


@contextmanager
def counted(engine: AsyncEngine, fanvue: FakeFanvue) -> Iterator[Traffic]:
    traffic = Traffic()

    def checkout(*_: Any) -> None:
        traffic.units.append([])
        traffic.fanvue_calls_before.append(len(fanvue.calls))

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        traffic.units[-1].append(sql.split(None, 1)[0].upper())

    event.listen(engine.sync_engine.pool, "checkout", checkout)
    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        yield traffic
    finally:
        event.remove(engine.sync_engine.pool, "checkout", checkout)
        event.remove(engine.sync_engine, "before_cursor_execute", statement)


def _connection(kind: ConnectionKind, agency_id: AgencyId, creator_id: CreatorId | None) -> Connection:
    tokens = TokenSet(uuid4().hex, uuid4().hex, NOW + timedelta(hours=1), frozenset({"read:self"}))
    return Connection(
        ConnectionId(f"conn-{uuid4().hex}"), kind, agency_id, creator_id, uuid4().hex, ConnectionStatus.ACTIVE,
        tokens, 1,
    )  # fmt: skip


async def _world(uow_factory: UnitOfWorkFactory, *, own: bool) -> tuple[CreatorId, Connection, FakeFanvue]:
    agency_id, creator_id = AgencyId(f"agency-{uuid4().hex}"), CreatorId(f"creator-{uuid4().hex}")
    agency = _connection(ConnectionKind.AGENCY, agency_id, None)
    async with uow_factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Round Trips"))
        await uow.creators.upsert(Creator(creator_id, agency_id, "trips", "Trips", NOW))
        await uow.connections.save(agency)
        if own:
            await uow.connections.save(_connection(ConnectionKind.CREATOR, agency_id, creator_id))
        await uow.commit()
    fanvue = FakeFanvue()
    fanvue.stats[creator_id] = {m.value: 100 + i for i, m in enumerate(Metric)}
    return creator_id, agency, fanvue


async def _refresh_counted(
    engine: AsyncEngine, ctx: Context, fanvue: FakeFanvue, creator_id: CreatorId
) -> tuple[Traffic, int]:
    calls = len(fanvue.calls)
    with counted(engine, fanvue) as traffic:
        await refresh_creator_stats(ctx, creator_id)
    return traffic, len(fanvue.calls) - calls


def _assert_one_read_then_one_write(traffic: Traffic, fanvue_calls: int, calls_before: int) -> None:
    assert len(traffic.units) == 2, f"units of work (connections) per creator: {traffic.units}"
    read, write = traffic.units
    assert traffic.fanvue_calls_before == [calls_before, calls_before + fanvue_calls], "read, then Fanvue, then write"
    assert len(read) <= READ_STATEMENTS, read
    assert all(sql in ("SELECT", "BEGIN") for sql in read), read
    assert len(write) <= WRITE_STATEMENTS, write


@pytest.mark.parametrize("answered_by", ["agency", "agency-then-own", "own-after-not-assigned"])
async def test_a_refresh_is_one_read_and_one_write(engine: AsyncEngine, answered_by: str) -> None:
    uow_factory = sql_unit_of_work_factory(engine, ReversibleCipher())
    creator_id, agency, fanvue = await _world(uow_factory, own=answered_by != "agency")
    ctx = Context(uow=uow_factory, fanvue=fanvue, clock=ManualClock(NOW))

    def arrange() -> None:
        if answered_by == "agency-then-own":  # the agency cannot read posts: the creator's own grant is asked
            fanvue.fail("fetch_stats:posts", MissingReason.PERMISSION, creator_id, times=1)
        elif answered_by == "own-after-not-assigned":
            fanvue.unassigned.add((agency.id, creator_id))

    arrange()
    # The first refresh stores the first values and touches the connections it used (``last_used_at``: one write
    # per connection a minute, not counted here).
    await refresh_creator_stats(ctx, creator_id)
    arrange()
    fanvue.stats[creator_id][Metric.FOLLOWERS.value] += 1  # something to write

    calls_before = len(fanvue.calls)
    traffic, fanvue_calls = await _refresh_counted(engine, ctx, fanvue, creator_id)

    assert fanvue_calls == (1 if answered_by == "agency" else 2)
    _assert_one_read_then_one_write(traffic, fanvue_calls, calls_before)
    async with uow_factory() as uow:
        assert (await uow.stats.get(creator_id))[Metric.FOLLOWERS.value].value == 100 + list(Metric).index(
            Metric.FOLLOWERS
        ) + 1


async def test_a_failed_refresh_still_reads_once_and_writes_no_zero(engine: AsyncEngine) -> None:
    uow_factory = sql_unit_of_work_factory(engine, ReversibleCipher())
    creator_id, _, fanvue = await _world(uow_factory, own=True)
    clock = ManualClock(NOW)
    ctx = Context(uow=uow_factory, fanvue=fanvue, clock=clock)
    await refresh_creator_stats(ctx, creator_id)
    clock.advance(timedelta(seconds=30))  # later than the values, sooner than the next touch of the connection
    fanvue.fail("fetch_stats", MissingReason.TIMEOUT, creator_id)

    calls_before = len(fanvue.calls)
    traffic, fanvue_calls = await _refresh_counted(engine, ctx, fanvue, creator_id)

    _assert_one_read_then_one_write(traffic, fanvue_calls, calls_before)
    async with uow_factory() as uow:
        stored = await uow.stats.get(creator_id)
    assert stored[Metric.FOLLOWERS.value].value == 100 + list(Metric).index(Metric.FOLLOWERS)
    assert stored[Metric.FOLLOWERS.value].stale_since is not None
