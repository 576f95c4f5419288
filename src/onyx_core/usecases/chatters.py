"""Fanvue's chatter leaderboard, stored per UTC day: the source of the PPV unlock rate (unlocked ÷ sent).

Fanvue computes it agency-wide (across the agency's creators, not split by creator), from a daily aggregate
that lags up to a day, and answers it to the agency's own grant only (``read:agency``). A day whose answer
failed stores nothing (never a row of zeros); a day synced again replaces its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from onyx_core.catalog import ChatterDay
from onyx_core.connections import Connection
from onyx_core.ids import AgencyId
from onyx_core.ratio import Ratio
from onyx_core.usecases.context import Context, with_agency_connection

__all__ = [
    "LOOKBACK_CHATTER_DAYS",
    "RECENT_CHATTER_DAYS",
    "ChatterDaysReport",
    "recent_utc_days",
    "record_chatter_days",
    "record_recent_chatter_days",
    "unlock_rate",
]

RECENT_CHATTER_DAYS = 2
"""Today and yesterday (UTC): the leaderboard lags up to a day, so yesterday is fetched again until it is whole."""

LOOKBACK_CHATTER_DAYS = 30
"""With no day stored in the last 30 UTC days (a first run), those 30 days are fetched. The endpoint answers one
aggregate for a range, not a row per day, so each stored day costs its own request: one request over the whole
range first tells whether there is anything to store (a quiet agency then costs that one request, not 30)."""


@dataclass(frozen=True, slots=True)
class ChatterDaysReport:
    days: int
    rows: int


async def record_chatter_days(ctx: Context, agency_id: AgencyId, days: Sequence[date]) -> ChatterDaysReport:
    """Fetch and store the leaderboard of each UTC day in ``days`` with the agency's own connection. Raises
    :class:`~onyx_core.ports.SourceUnavailableError` (``no_connection``, ``permission``...) when the grant cannot
    read it; the days stored before the failure stay."""
    rows = 0
    for day in days:

        async def fetch(connection: Connection, day: date = day) -> list[ChatterDay]:
            return await ctx.fanvue.fetch_chatter_days(connection, day)

        board = await with_agency_connection(ctx, agency_id, fetch)
        async with ctx.uow() as uow:
            await uow.chatter_days.upsert(board)
            await uow.commit()
        rows += len(board)
    return ChatterDaysReport(len(days), rows)


def recent_utc_days(now: datetime, count: int = RECENT_CHATTER_DAYS) -> list[date]:
    """The last ``count`` UTC days up to ``now``'s, oldest first."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


async def record_recent_chatter_days(ctx: Context, agency_id: AgencyId) -> ChatterDaysReport:
    """The agency sync's step: :func:`record_chatter_days` of the last :data:`RECENT_CHATTER_DAYS` UTC days, or of
    the last :data:`LOOKBACK_CHATTER_DAYS` when none of those is stored and Fanvue has chatter messages in them
    (without any, the range's one answer covered them all: nothing more is asked)."""
    now = ctx.clock.now()
    window = recent_utc_days(now, LOOKBACK_CHATTER_DAYS)
    start, end = window[0], window[-1] + timedelta(days=1)
    async with ctx.uow() as uow:
        stored = await uow.chatter_days.for_agency(agency_id, start, end)
    if stored:
        return await record_chatter_days(ctx, agency_id, recent_utc_days(now))

    async def count(connection: Connection) -> int:
        return await ctx.fanvue.count_chatter_messages(connection, start, end)

    if not await with_agency_connection(ctx, agency_id, count):
        return ChatterDaysReport(len(window), 0)
    return await record_chatter_days(ctx, agency_id, window)


def unlock_rate(days: Iterable[ChatterDay]) -> Ratio:
    """PPVs unlocked ÷ PPVs sent over ``days`` (every chatter): undefined when none was sent."""
    rows = list(days)
    return Ratio(sum(r.ppvs_unlocked for r in rows), sum(r.ppvs_sent for r in rows))
