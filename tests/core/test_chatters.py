"""The chatter leaderboard use case on the fakes: each UTC day stored with the agency's own grant (replacing the
day's rows when synced again), nothing without it; the unlock rate is unlocked ÷ sent, undefined when none was
sent (never 0)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_usecases import AGENCY, AGENCY_CONN, LUNA, T0, World, connection

from onyx_core.catalog import ChatterDay
from onyx_core.connections import ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId
from onyx_core.money import Money
from onyx_core.ports import SourceUnavailableError
from onyx_core.stats import MissingReason
from onyx_core.usecases.chatters import record_chatter_days, unlock_rate

DAY = T0.date() - timedelta(days=2)


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
