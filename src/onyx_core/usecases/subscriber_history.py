"""Subscriber history per creator per day: a full year once, then a rolling window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from onyx_core.analytics import SubscriberDay
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.ids import CreatorId
from onyx_core.sync import Stream, SyncCursor
from onyx_core.timeutil import require_utc
from onyx_core.usecases.context import Context, load_creator, with_connection


@dataclass(frozen=True, slots=True)
class HistoryReport:
    """What one subscriber-history run did."""

    creator_id: CreatorId
    start: date
    end: date
    """Days in ``[start, end)`` were requested."""
    days: int
    backfill: bool
    connection: ConnectionKind


async def record_subscriber_history(ctx: Context, creator_id: CreatorId) -> HistoryReport:
    """Fetch and upsert per-day new/cancelled counts (UTC days, today included and re-read next time).

    The first run backfills ``sync_policy.history_backfill_days``; later runs re-read ``history_days``, which
    picks up Fanvue's late corrections. Days Fanvue does not return are left as they are (no zeros written).
    Raises :class:`~onyx_core.ports.SourceUnavailableError` when Fanvue cannot answer; nothing is written then.
    """
    creator = await load_creator(ctx, creator_id)
    now = ctx.clock.now()
    today = require_utc(now).date()
    async with ctx.uow() as uow:
        cursor = await uow.cursors.get(creator_id, Stream.SUBSCRIBER_HISTORY)
    backfill = cursor is None or not cursor.backfilled
    policy = ctx.sync_policy
    start = today - timedelta(days=(policy.history_backfill_days if backfill else policy.history_days) - 1)
    end = today + timedelta(days=1)

    async def fetch(connection: Connection) -> list[SubscriberDay]:
        return await ctx.fanvue.fetch_subscriber_days(connection, creator, start, end)

    days, kind = await with_connection(ctx, creator, fetch)
    async with ctx.uow() as uow:
        await uow.history.upsert([d for d in days if d.creator_id == creator_id and start <= d.day < end])
        # An empty first answer may be a permission problem: stay in backfill mode until data is seen.
        backfilled = not backfill or bool(days)
        await uow.cursors.save(
            SyncCursor(creator_id, Stream.SUBSCRIBER_HISTORY, now, backfilled=backfilled, updated_at=now)
        )
        await uow.commit()
    return HistoryReport(creator_id, start, end, len(days), backfill, kind)
