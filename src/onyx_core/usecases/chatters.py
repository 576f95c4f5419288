"""Fanvue's chatter leaderboard, stored per UTC day: the source of the PPV unlock rate (unlocked ÷ sent).

Fanvue computes it agency-wide (across the agency's creators, not split by creator), from a daily aggregate
that lags up to a day, and answers it to the agency's own grant only (``read:agency``). A day whose answer
failed stores nothing (never a row of zeros); a day synced again replaces its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from onyx_core.catalog import ChatterDay
from onyx_core.connections import Connection
from onyx_core.ids import AgencyId
from onyx_core.ratio import Ratio
from onyx_core.usecases.context import Context, with_agency_connection

__all__ = ["ChatterDaysReport", "record_chatter_days", "unlock_rate"]


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


def unlock_rate(days: Iterable[ChatterDay]) -> Ratio:
    """PPVs unlocked ÷ PPVs sent over ``days`` (every chatter): undefined when none was sent."""
    rows = list(days)
    return Ratio(sum(r.ppvs_unlocked for r in rows), sum(r.ppvs_sent for r in rows))
