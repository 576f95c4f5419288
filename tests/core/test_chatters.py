"""The chatter leaderboard use case on the fakes: each UTC day stored with the agency's own grant (replacing the
day's rows when synced again), nothing without it; the unlock rate is unlocked ÷ sent, undefined when none was
sent (never 0)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from test_usecases import AGENCY, AGENCY_CONN, LUNA, T0, World, connection

from onyx_core.catalog import ChatterDay
from onyx_core.connections import ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId
from onyx_core.money import Money
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import SyncJob
from onyx_core.stats import MissingReason
from onyx_core.usecases import sync_agency
from onyx_core.usecases.chatters import (
    LOOKBACK_CHATTER_DAYS,
    RECENT_CHATTER_DAYS,
    record_chatter_days,
    record_recent_chatter_days,
    unlock_rate,
)

DAY = T0.date() - timedelta(days=2)
_1D = timedelta(days=1)


def row(chatter: str, sent: int, unlocked: int, agency: AgencyId = AGENCY) -> ChatterDay:
    return ChatterDay(agency, DAY, chatter, chatter.title(), sent * 4, sent, unlocked, Money(unlocked * 1_000))


async def test_each_day_is_stored_and_a_later_sync_replaces_it() -> None:
    world = World()
    await world.seed()
    world.fanvue.chatter_days[DAY] = [row("ann", 10, 4), row("bob", 5, 1), row("eve", 3, 3, AgencyId("elsewhere"))]
    report = await record_chatter_days(world.ctx, AGENCY, [DAY, DAY + timedelta(days=1)])
    assert (report.days, report.rows) == (2, 2)
    world.fanvue.chatter_days[DAY] = [row("ann", 12, 6)]
    await record_chatter_days(world.ctx, AGENCY, [DAY])
    async with world.ctx.uow() as uow:
        stored = await uow.chatter_days.for_agency(AGENCY, DAY, DAY + timedelta(days=7))
    assert stored == [row("ann", 12, 6), row("bob", 5, 1)]
    rate = unlock_rate(stored)
    assert (rate.numerator, rate.denominator) == (7, 17)


async def test_without_the_agencys_grant_nothing_is_read_or_stored() -> None:
    world = World()
    await world.seed()
    async with world.ctx.uow() as uow:  # the agency's grant revoked; a creator's own one does not read this
        await uow.connections.save(connection(AGENCY_CONN, ConnectionKind.AGENCY, status=ConnectionStatus.REVOKED))
        await uow.connections.save(connection("conn-own", ConnectionKind.CREATOR, LUNA))
        await uow.commit()
    world.fanvue.chatter_days[DAY] = [row("ann", 10, 4)]
    with pytest.raises(SourceUnavailableError) as caught:
        await record_chatter_days(world.ctx, AGENCY, [DAY])
    assert caught.value.reason is MissingReason.NO_CONNECTION
    assert world.fanvue.calls == [c for c in world.fanvue.calls if c[0] != "fetch_chatter_days"]
    assert world.store.chatter_days == {}
    with pytest.raises(NotFoundError):
        await record_chatter_days(world.ctx, AgencyId("no-such-agency"), [DAY])


def test_the_unlock_rate_is_undefined_when_no_ppv_was_sent() -> None:
    assert unlock_rate([]).value is None
    assert unlock_rate([row("ann", 0, 0)]).value is None
    assert str(unlock_rate([row("ann", 4, 1)]).value) == "1/4"


def _days(world: World, since: int = 0) -> list[object]:
    return [c for c in world.fanvue.calls[since:] if c[0] in ("fetch_chatter_days", "count_chatter_messages")]


async def test_a_first_run_looks_back_30_days_then_only_today_and_yesterday() -> None:
    world = World()
    await world.seed()
    today = T0.date()
    old = today - timedelta(days=LOOKBACK_CHATTER_DAYS - 1)  # the look-back's first day
    world.fanvue.chatter_days[old] = [replace(row("ann", 6, 2), day=old)]
    world.fanvue.chatter_days[old - timedelta(days=1)] = [replace(row("bob", 9, 9), day=old - timedelta(days=1))]
    first = await record_recent_chatter_days(world.ctx, AGENCY)
    assert (first.days, first.rows) == (LOOKBACK_CHATTER_DAYS, 1)
    assert len(_days(world)) == 1 + LOOKBACK_CHATTER_DAYS  # the range's one answer, then each day
    async with world.ctx.uow() as uow:
        stored = await uow.chatter_days.for_agency(AGENCY, old - timedelta(days=5), today + timedelta(days=1))
    assert [r.chatter_id for r in stored] == ["ann"], "the day before the look-back is not asked"
    since = len(world.fanvue.calls)
    again = await record_recent_chatter_days(world.ctx, AGENCY)
    assert again.days == RECENT_CHATTER_DAYS
    asked = _days(world, since)
    assert [c[0] for c in asked] == ["fetch_chatter_days"] * 2  # today and yesterday, stored rows seen


async def test_a_quiet_agency_costs_one_request_and_stores_nothing() -> None:
    world = World()
    await world.seed()
    report = await record_recent_chatter_days(world.ctx, AGENCY)
    assert (report.days, report.rows) == (LOOKBACK_CHATTER_DAYS, 0)
    assert [c[0] for c in _days(world)] == ["count_chatter_messages"]
    assert world.store.chatter_days == {}


async def test_the_agency_sync_records_the_chatter_days_and_a_refusal_is_a_failure_of_its_own() -> None:
    world = World()
    await world.seed()
    world.fanvue.chatter_days[T0.date() - timedelta(days=1)] = [replace(row("ann", 6, 2), day=T0.date() - _1D)]
    report = await sync_agency(world.ctx, AGENCY)
    assert report.chatter_days is not None
    assert report.chatter_days.rows == 1
    assert "chatter_days" not in report.failures
    # no top-spenders job: no chatter days either (the same cadence)
    assert (await sync_agency(world.ctx, AGENCY, [SyncJob.STATS])).chatter_days is None

    async with world.ctx.uow() as uow:  # the agency's grant revoked: the creators' own syncs still run
        await uow.connections.save(connection(AGENCY_CONN, ConnectionKind.AGENCY, status=ConnectionStatus.REVOKED))
        await uow.connections.save(connection("conn-own", ConnectionKind.CREATOR, LUNA))
        await uow.commit()
    before = dict(world.store.chatter_days)
    refused = await sync_agency(world.ctx, AGENCY)
    assert refused.chatter_days is None
    assert refused.failures["chatter_days"] == MissingReason.NO_CONNECTION.value
    assert refused.partial
    assert any(r.top_spenders is not None for r in refused.creators), "the rest of the sync still ran"
    assert world.store.chatter_days == before, "nothing overwritten"
