"""The other synced streams: subscriber history, top spenders, tracking links, and the sync cursors."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select

from onyx_adapters.sql.repositories._base import Transaction, by_text, chunks, upsert
from onyx_adapters.sql.repositories.versions import bump_agencies, bump_creators, bump_link_creator
from onyx_adapters.sql.schema import (
    chatter_days,
    creators,
    subscriber_days,
    sync_cursors,
    top_spenders,
    tracking_link_costs,
    tracking_links,
)
from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import ChatterDay, RankedSpender, TrackingLink, TrackingLinkCost
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.money import Money
from onyx_core.sync import Stream, SyncCursor
from onyx_core.timeutil import require_utc

__all__ = [
    "SqlChatterDayRepository",
    "SqlSubscriberHistoryRepository",
    "SqlSyncCursorRepository",
    "SqlTopSpenderRepository",
    "SqlTrackingLinkCostRepository",
    "SqlTrackingLinkRepository",
]


def _last_per_key(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key, the last one given winning (as sequential upserts would: one statement may update a row
    only once on PostgreSQL), sorted by key, so concurrent writers lock rows in one order and never deadlock."""
    last = {tuple(row[k] for k in keys): row for row in rows}
    return [last[key] for key in sorted(last)]


class SqlSubscriberHistoryRepository:
    """Implements :class:`~onyx_core.ports.SubscriberHistoryRepository`: upsert on (creator_id, day)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def upsert(self, days: Sequence[SubscriberDay]) -> None:
        if not days:
            return
        keys = ("creator_id", "day")
        rows = [{"creator_id": d.creator_id, "day": d.day, "new": d.new, "cancelled": d.cancelled} for d in days]
        conn = await self._tx.writer()
        for chunk in chunks(_last_per_key(rows, keys)):
            await conn.execute(upsert(self._tx.dialect, subscriber_days, chunk, keys))
        await bump_creators(self._tx, (d.creator_id for d in days))

    async def days(self, creator_id: CreatorId, start: date, end: date) -> list[SubscriberDay]:
        query = (
            select(subscriber_days)
            .where(subscriber_days.c.creator_id == creator_id)
            .where(subscriber_days.c.day >= start, subscriber_days.c.day < end)
            .order_by(subscriber_days.c.day)
        )
        conn = await self._tx.reader()
        return [SubscriberDay(CreatorId(r.creator_id), r.day, r.new, r.cancelled) for r in await conn.execute(query)]


class SqlTopSpenderRepository:
    """Implements :class:`~onyx_core.ports.TopSpenderRepository`. ``replace`` upserts the new ranks, then deletes
    the ranks it did not give, in the unit's transaction: a reader sees the old list or the new one. (Delete then
    insert would not do: on PostgreSQL a concurrent replace of the same scope could insert ranks the delete's
    snapshot did not see, and fail on the primary key.)"""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def replace(self, scope: str, spenders: Sequence[RankedSpender], as_of: datetime) -> None:
        as_of = require_utc(as_of, "as_of")
        rows = [
            {
                "scope": scope,
                "rank": s.rank,
                "fan_id": s.fan_id,
                "handle": s.handle,
                "display_name": s.display_name,
                "gross_cents": s.gross.cents,
                "net_cents": s.net.cents,
                "currency": s.gross.currency,
                "messages": s.messages,
                "creator_id": s.creator_id,
                "last_seen_at": s.last_seen_at,
                "as_of": as_of,
            }
            for s in spenders
        ]
        rows = _last_per_key(rows, ("rank",))
        conn = await self._tx.writer()
        for chunk in chunks(rows):
            await conn.execute(upsert(self._tx.dialect, top_spenders, chunk, ["scope", "rank"]))
        stale = delete(top_spenders).where(top_spenders.c.scope == scope)
        if rows:
            stale = stale.where(top_spenders.c.rank.not_in([row["rank"] for row in rows]))
        await conn.execute(stale)

    async def get(self, scope: str) -> list[RankedSpender]:
        """Ordered by rank."""
        query = select(top_spenders).where(top_spenders.c.scope == scope).order_by(top_spenders.c.rank)
        conn = await self._tx.reader()
        return [
            RankedSpender(
                rank=r.rank,
                fan_id=FanId(r.fan_id),
                handle=r.handle,
                display_name=r.display_name,
                gross=Money(int(r.gross_cents), r.currency),
                net=Money(int(r.net_cents), r.currency),
                messages=r.messages,
                creator_id=None if r.creator_id is None else CreatorId(r.creator_id),
                last_seen_at=r.last_seen_at,
            )
            for r in await conn.execute(query)
        ]


def _link_row(link: TrackingLink) -> dict[str, Any]:
    earned = link.earnings_gross or link.earnings_net
    return {
        "id": link.id,
        "creator_id": link.creator_id,
        "name": link.name,
        "url": link.url,
        "platform": link.platform,
        "created_at": link.created_at,
        "clicks": link.clicks,
        "acquired_subscribers": link.acquired_subscribers,
        "acquired_followers": link.acquired_followers,
        "earnings_gross_cents": None if link.earnings_gross is None else link.earnings_gross.cents,
        "earnings_net_cents": None if link.earnings_net is None else link.earnings_net.cents,
        "earnings_currency": None if earned is None else earned.currency,
    }


def _link(r: Any) -> TrackingLink:
    currency = r.earnings_currency
    return TrackingLink(
        id=TrackingLinkId(r.id),
        creator_id=CreatorId(r.creator_id),
        name=r.name,
        url=r.url,
        platform=r.platform,
        created_at=r.created_at,
        clicks=int(r.clicks),
        acquired_subscribers=int(r.acquired_subscribers),
        acquired_followers=int(r.acquired_followers),
        earnings_gross=None if r.earnings_gross_cents is None else Money(int(r.earnings_gross_cents), currency),
        earnings_net=None if r.earnings_net_cents is None else Money(int(r.earnings_net_cents), currency),
    )


class SqlTrackingLinkRepository:
    """Implements :class:`~onyx_core.ports.TrackingLinkRepository`: upsert on the link id, nothing deleted."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def upsert(self, links: Sequence[TrackingLink]) -> None:
        if not links:
            return
        conn = await self._tx.writer()
        for chunk in chunks(_last_per_key([_link_row(link) for link in links], ("id",))):
            await conn.execute(upsert(self._tx.dialect, tracking_links, chunk, ["id"]))
        await bump_creators(self._tx, (link.creator_id for link in links))

    async def for_creator(self, creator_id: CreatorId) -> list[TrackingLink]:
        """Ordered by link id."""
        query = (
            select(tracking_links)
            .where(tracking_links.c.creator_id == creator_id)
            .order_by(by_text(self._tx.dialect, tracking_links.c.id))
        )
        conn = await self._tx.reader()
        return [_link(r) for r in await conn.execute(query)]

    async def get(self, link_id: TrackingLinkId) -> TrackingLink | None:
        conn = await self._tx.reader()
        row = (await conn.execute(select(tracking_links).where(tracking_links.c.id == link_id))).one_or_none()
        return None if row is None else _link(row)


def _cost(r: Any) -> TrackingLinkCost:
    return TrackingLinkCost(TrackingLinkId(r.link_id), Money(int(r.cost_cents), r.currency), r.set_at)


class SqlTrackingLinkCostRepository:
    """Implements :class:`~onyx_core.ports.TrackingLinkCostRepository`: one row per link, upserted on its id."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def save(self, cost: TrackingLinkCost) -> None:
        row = {"link_id": cost.link_id, "cost_cents": cost.cost.cents, "currency": cost.cost.currency}
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, tracking_link_costs, [{**row, "set_at": cost.set_at}], ["link_id"]))
        await bump_link_creator(self._tx, cost.link_id)

    async def get(self, link_id: TrackingLinkId) -> TrackingLinkCost | None:
        conn = await self._tx.reader()
        query = select(tracking_link_costs).where(tracking_link_costs.c.link_id == link_id)
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else _cost(row)

    async def for_links(self, link_ids: Sequence[TrackingLinkId]) -> dict[TrackingLinkId, TrackingLinkCost]:
        found: dict[TrackingLinkId, TrackingLinkCost] = {}
        if not link_ids:
            return found
        conn = await self._tx.reader()
        for chunk in chunks(list(dict.fromkeys(link_ids))):
            query = select(tracking_link_costs).where(tracking_link_costs.c.link_id.in_(chunk))
            for row in await conn.execute(query):
                cost = _cost(row)
                found[cost.link_id] = cost
        return found

    async def for_agency(self, agency_id: AgencyId) -> dict[TrackingLinkId, TrackingLinkCost]:
        query = (
            select(tracking_link_costs)
            .join(tracking_links, tracking_links.c.id == tracking_link_costs.c.link_id)
            .join(creators, creators.c.id == tracking_links.c.creator_id)
            .where(creators.c.agency_id == agency_id)
        )
        conn = await self._tx.reader()
        return {cost.link_id: cost for cost in map(_cost, await conn.execute(query))}


class SqlChatterDayRepository:
    """Implements :class:`~onyx_core.ports.ChatterDayRepository`: upsert on (agency_id, day, chatter_id)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def upsert(self, days: Sequence[ChatterDay]) -> None:
        if not days:
            return
        keys = ("agency_id", "day", "chatter_id")
        rows = [
            {
                "agency_id": d.agency_id,
                "day": d.day,
                "chatter_id": d.chatter_id,
                "chatter_name": d.chatter_name,
                "messages": d.messages,
                "ppvs_sent": d.ppvs_sent,
                "ppvs_unlocked": d.ppvs_unlocked,
                "revenue_cents": d.revenue.cents,
                "currency": d.revenue.currency,
            }
            for d in days
        ]
        conn = await self._tx.writer()
        for chunk in chunks(_last_per_key(rows, keys)):
            await conn.execute(upsert(self._tx.dialect, chatter_days, chunk, keys))
        await bump_agencies(self._tx, (d.agency_id for d in days))

    async def for_agency(self, agency_id: AgencyId, start: date, end: date) -> list[ChatterDay]:
        query = (
            select(chatter_days)
            .where(chatter_days.c.agency_id == agency_id, chatter_days.c.day >= start, chatter_days.c.day < end)
            .order_by(chatter_days.c.day, by_text(self._tx.dialect, chatter_days.c.chatter_id))
        )
        conn = await self._tx.reader()
        return [
            ChatterDay(
                AgencyId(r.agency_id),
                r.day,
                r.chatter_id,
                r.chatter_name,
                int(r.messages),
                int(r.ppvs_sent),
                int(r.ppvs_unlocked),
                Money(int(r.revenue_cents), r.currency),
            )
            for r in await conn.execute(query)
        ]


class SqlSyncCursorRepository:
    """Implements :class:`~onyx_core.ports.SyncCursorRepository`: upsert on (creator_id, stream)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, creator_id: CreatorId, stream: Stream) -> SyncCursor | None:
        query = select(sync_cursors).where(
            sync_cursors.c.creator_id == creator_id, sync_cursors.c.stream == stream.value
        )
        conn = await self._tx.reader()
        r = (await conn.execute(query)).one_or_none()
        if r is None:
            return None
        return SyncCursor(
            creator_id=CreatorId(r.creator_id),
            stream=Stream(r.stream),
            synced_through=r.synced_through,
            backfilled=bool(r.backfilled),
            window_start=r.window_start,
            window_end=r.window_end,
            page_cursor=r.page_cursor,
            updated_at=r.updated_at,
        )

    async def save(self, cursor: SyncCursor) -> None:
        row = {
            "creator_id": cursor.creator_id,
            "stream": cursor.stream.value,
            "synced_through": cursor.synced_through,
            "backfilled": cursor.backfilled,
            "window_start": cursor.window_start,
            "window_end": cursor.window_end,
            "page_cursor": cursor.page_cursor,
            "updated_at": cursor.updated_at,
        }
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, sync_cursors, [row], ["creator_id", "stream"]))

    async def synced_through(
        self, streams: Collection[Stream], agency_id: AgencyId | None = None
    ) -> dict[CreatorId, dict[Stream, datetime]]:
        query = select(sync_cursors.c.creator_id, sync_cursors.c.stream, sync_cursors.c.synced_through).where(
            sync_cursors.c.stream.in_([stream.value for stream in streams]),
            sync_cursors.c.synced_through.is_not(None),
        )
        if agency_id is not None:
            query = query.join(creators, creators.c.id == sync_cursors.c.creator_id).where(
                creators.c.agency_id == agency_id
            )
        conn = await self._tx.reader()
        found: dict[CreatorId, dict[Stream, datetime]] = {}
        for row in await conn.execute(query):
            found.setdefault(CreatorId(row.creator_id), {})[Stream(row.stream)] = row.synced_through
        return found
