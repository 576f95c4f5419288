"""Top spenders (per creator and agency-wide) and tracking links: snapshots Fanvue computes for us."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from onyx_core.analytics.spenders import DEFAULT_LIMIT
from onyx_core.catalog import RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.ids import AgencyId, CreatorId, FanId
from onyx_core.sync import Stream, SyncCursor
from onyx_core.usecases.context import Context, load_creator, require_agency, with_connection

TOP_SPENDERS_LIMIT = DEFAULT_LIMIT
"""Fanvue ranks; Onyx keeps the top 50 per creator and agency-wide, the same cut as its own analytics."""


def agency_scope(agency_id: AgencyId) -> str:
    """The top-spender scope of a whole agency."""
    return f"agency:{agency_id}"


@dataclass(frozen=True, slots=True)
class SnapshotReport:
    """What a top-spenders run stored."""

    scope: str
    rows: int
    connection: ConnectionKind | None
    """The connection that answered; ``None`` for a list combined from stored snapshots."""


async def record_top_spenders(ctx: Context, creator_id: CreatorId) -> SnapshotReport:
    """Replace the creator's top-50 list with Fanvue's current one.

    An empty answer replaces nothing: an empty list from Fanvue is indistinguishable from a permission problem,
    and a creator with spenders yesterday has them today.
    """
    creator = await load_creator(ctx, creator_id)

    async def fetch(connection: Connection) -> list[RankedSpender]:
        return await ctx.fanvue.fetch_top_spenders(connection, creator)

    spenders, kind = await with_connection(ctx, creator, fetch)
    await _store_spenders(ctx, str(creator_id), spenders[:TOP_SPENDERS_LIMIT], creator_id)
    return SnapshotReport(str(creator_id), min(len(spenders), TOP_SPENDERS_LIMIT), kind)


def combine_rankings(lists: Iterable[Sequence[RankedSpender]], limit: int = TOP_SPENDERS_LIMIT) -> list[RankedSpender]:
    """One ranking from several creators' lists: each fan's gross, net and messages summed, ranked by gross (then
    fan id), the top ``limit`` kept. Fanvue ranks per creator only, so this is how an agency-wide list is made."""
    totals: dict[FanId, RankedSpender] = {}
    for spenders in lists:
        for s in spenders:
            seen = totals.get(s.fan_id)
            totals[s.fan_id] = (
                replace(s, creator_id=None)
                if seen is None
                else replace(
                    seen, gross=seen.gross + s.gross, net=seen.net + s.net, messages=seen.messages + s.messages
                )
            )
    ranked = sorted(totals.values(), key=lambda s: (-s.gross.cents, s.fan_id))[:limit]
    return [replace(s, rank=rank) for rank, s in enumerate(ranked, start=1)]


async def record_agency_top_spenders(ctx: Context, agency_id: AgencyId) -> SnapshotReport:
    """The agency-wide top 50, combined from the stored per-creator snapshots (:func:`combine_rankings`).

    No Fanvue call: the per-creator lists are already stored, and each is replaced only by a non-empty answer, so
    one creator's empty or failed answer cannot shrink the agency's ranking. Nothing stored yet replaces nothing.
    """
    await require_agency(ctx, agency_id)
    async with ctx.uow() as uow:
        creators = await uow.creators.for_agency(agency_id)
        lists = [await uow.top_spenders.get(str(creator.id)) for creator in creators]
    ranked = combine_rankings(lists)
    scope = agency_scope(agency_id)
    await _store_spenders(ctx, scope, ranked, None)
    return SnapshotReport(scope, len(ranked), None)


async def _store_spenders(
    ctx: Context, scope: str, spenders: list[RankedSpender], creator_id: CreatorId | None
) -> None:
    if not spenders:
        return
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.top_spenders.replace(scope, spenders, now)
        if creator_id is not None:
            await uow.cursors.save(SyncCursor(creator_id, Stream.TOP_SPENDERS, now, backfilled=True, updated_at=now))
        await uow.commit()


@dataclass(frozen=True, slots=True)
class LinksReport:
    """What a tracking-links run stored."""

    creator_id: CreatorId
    links: int
    connection: ConnectionKind


async def sync_tracking_links(ctx: Context, creator_id: CreatorId) -> LinksReport:
    """Upsert the creator's tracking links with their current counters. Links are never deleted here."""
    creator = await load_creator(ctx, creator_id)

    async def fetch(connection: Connection) -> list[TrackingLink]:
        return await ctx.fanvue.fetch_tracking_links(connection, creator)

    links, kind = await with_connection(ctx, creator, fetch)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.tracking_links.upsert([link for link in links if link.creator_id == creator_id])
        await uow.cursors.save(SyncCursor(creator_id, Stream.TRACKING_LINKS, now, backfilled=True, updated_at=now))
        await uow.commit()
    return LinksReport(creator_id, len(links), kind)
