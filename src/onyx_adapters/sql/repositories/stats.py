"""Creators' metric records and their provenance events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql.engine import READ_ONLY
from onyx_adapters.sql.repositories._base import Transaction, chunks, upsert
from onyx_adapters.sql.repositories.versions import bump_creators
from onyx_adapters.sql.schema import creator_stats, creators, stats_events
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.stats import (
    EventKind,
    MetricRecord,
    StatsEvent,
    StoredStatsEvent,
    check_records_to_save,
    decode_record,
    encode_record,
)
from onyx_core.timeutil import require_utc

__all__ = ["SqlStatsRepository", "agency_stats_stamp"]


class SqlStatsRepository:
    """Implements :class:`~onyx_core.ports.StatsRepository`.

    The ``record`` column holds the full merge state (:func:`onyx_core.stats.encode_record`); ``value``,
    ``observed_at``, ``source``, ``stale_since`` and ``pending_value`` repeat what to show, for queries.

    The lock of :meth:`get_for_update` (and of :meth:`save`): on PostgreSQL the creator's row,
    ``SELECT … FOR NO KEY UPDATE`` (it exists before the creator has any stats row, and unlike ``FOR UPDATE`` it
    does not block inserts of ledger rows whose foreign-key check takes ``FOR KEY SHARE`` on it); on SQLite the
    unit's ``BEGIN IMMEDIATE``.
    """

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._locked: tuple[AsyncConnection, set[CreatorId]] | None = None
        """The transaction (its connection) and the creators whose rows it has locked: a merge's save after its
        get_for_update takes no second round trip for a lock it holds."""

    async def _lock(self, creator_id: CreatorId) -> None:
        conn = await self._tx.writer()
        if self._tx.dialect != "postgresql":
            return
        if self._locked is None or self._locked[0] is not conn:
            self._locked = (conn, set())
        if creator_id not in self._locked[1]:
            await conn.execute(select(creators.c.id).where(creators.c.id == creator_id).with_for_update(key_share=True))
            self._locked[1].add(creator_id)

    async def _read(self, creator_id: CreatorId, *, locked: bool) -> dict[str, MetricRecord]:
        conn = await (self._tx.writer() if locked else self._tx.reader())
        query = select(creator_stats.c.metric, creator_stats.c.record).where(creator_stats.c.creator_id == creator_id)
        records = {row.metric: decode_record(row.record) for row in await conn.execute(query)}
        return dict(sorted(records.items()))  # by metric name, in code-point order as the fake does

    async def get(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        return await self._read(creator_id, locked=False)

    async def get_for_update(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        await self._lock(creator_id)
        return await self._read(creator_id, locked=True)

    async def save(
        self,
        creator_id: CreatorId,
        records: Mapping[str, MetricRecord],
        events: Sequence[StatsEvent],
        recorded_at: datetime,
    ) -> None:
        recorded_at = require_utc(recorded_at, "recorded_at")
        check_records_to_save(records)
        await self._lock(creator_id)
        conn = await self._tx.writer()
        rows = [
            {
                "creator_id": creator_id,
                "metric": metric,
                "value": record.value,
                "observed_at": record.observed_at,
                "source": record.source,
                "stale_since": record.stale_since,
                "pending_value": None if record.pending is None else record.pending.value,
                "record": encode_record(record),
                "recorded_at": recorded_at,
                "latest_at": record.latest_at,
            }
            for metric, record in sorted(records.items())
        ]
        for chunk in chunks(rows):
            await conn.execute(upsert(self._tx.dialect, creator_stats, chunk, ["creator_id", "metric"]))
        if events:
            # One executemany (a round trip, not one per event): its rows go in one after another, so the ids
            # (the read order) follow the events' order on every driver.
            await conn.execute(
                insert(stats_events),
                [
                    {
                        "creator_id": creator_id,
                        "metric": event.metric,
                        "kind": event.kind.value,
                        "at": event.at,
                        "source": event.source,
                        "old_value": event.old_value,
                        "new_value": event.new_value,
                        "detail": event.detail,
                        "recorded_at": recorded_at,
                    }
                    for event in events
                ],
            )
        if rows or events:  # the creator's row is locked already (_lock): the bump waits for no one
            await bump_creators(self._tx, [creator_id])

    async def events(self, creator_id: CreatorId, metric: str | None = None) -> list[StatsEvent]:
        query = select(stats_events).where(stats_events.c.creator_id == creator_id)
        if metric is not None:
            query = query.where(stats_events.c.metric == metric)
        conn = await self._tx.reader()
        return [_event(row) for row in await conn.execute(query.order_by(stats_events.c.id))]

    async def for_creators(self, creator_ids: Sequence[CreatorId]) -> dict[CreatorId, dict[str, MetricRecord]]:
        found: dict[CreatorId, dict[str, MetricRecord]] = {}
        conn = await self._tx.reader()
        for chunk in chunks(sorted(set(creator_ids))):
            query = select(creator_stats.c.creator_id, creator_stats.c.metric, creator_stats.c.record).where(
                creator_stats.c.creator_id.in_(chunk)
            )
            for row in await conn.execute(query):
                found.setdefault(CreatorId(row.creator_id), {})[row.metric] = decode_record(row.record)
        return {creator_id: dict(sorted(records.items())) for creator_id, records in found.items()}

    async def event_page(
        self, creator_id: CreatorId, *, metric: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[StoredStatsEvent]:
        query = select(stats_events).where(stats_events.c.creator_id == creator_id)
        if metric is not None:
            query = query.where(stats_events.c.metric == metric)
        if before is not None:
            query = query.where(stats_events.c.id < before)
        conn = await self._tx.reader()
        rows = await conn.execute(query.order_by(stats_events.c.id.desc()).limit(limit))
        return [StoredStatsEvent(row.id, row.recorded_at, _event(row)) for row in rows]

    async def last_attempts(self, agency_id: AgencyId | None = None) -> dict[CreatorId, datetime]:
        latest = func.max(creator_stats.c.latest_at).label("latest_at")
        query = select(creator_stats.c.creator_id, latest).group_by(creator_stats.c.creator_id)
        if agency_id is not None:
            query = query.join(creators, creators.c.id == creator_stats.c.creator_id).where(
                creators.c.agency_id == agency_id
            )
        conn = await self._tx.reader()
        rows = await conn.execute(query)
        return {CreatorId(row.creator_id): row.latest_at for row in rows if row.latest_at is not None}


def _event(row: Row[Any]) -> StatsEvent:
    return StatsEvent(row.metric, EventKind(row.kind), row.at, row.source, row.old_value, row.new_value, row.detail)


async def agency_stats_stamp(engine: AsyncEngine, agency_id: AgencyId) -> str:
    """What changes whenever any process stores stats of the agency's creators: the newest ``recorded_at`` and the
    number of rows. One small read (the agency's creators by index, their rows by primary key), so a response
    cache can put it in its keys and never serve a list older than the last sync of any process."""
    joined = creator_stats.join(creators, creators.c.id == creator_stats.c.creator_id)
    query = (
        select(func.max(creator_stats.c.recorded_at), func.count())
        .select_from(joined)
        .where(creators.c.agency_id == agency_id)
    )
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        newest, rows = (await conn.execute(query)).one()
    return f"{'-' if newest is None else require_utc(newest, 'recorded_at').isoformat()}/{rows}"
