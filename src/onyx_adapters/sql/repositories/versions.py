"""Data versions: the counters ``creators.data_version`` and ``agencies.data_version``, and the stamp they make.

Every SQL write that changes data the dashboard reads bumps a counter in the writer's own transaction (so a
rolled-back write bumps nothing, and a committed one is visible together with its bump):

- a creator's counter: ledger rows inserted, corrected or deleted (a polled page's upsert, a webhook's
  provisional row, its settlement by the polled row: :class:`~onyx_adapters.sql.repositories.ledger.SqlLedgerRepository`
  bumps only when a row changed), her stats records and events (``StatsRepository.save``: the stats floor, a
  refresh, a refund's adjustment), her subscriber days, her tracking links, a cost set on one of her links, her
  handle or display name (``CreatorRepository.upsert``);
- the agency's counter: its chatter days (stored per agency, not per creator) and its own row (name, time zone).

Each bump also announces the change to live dashboards in the same transaction (:meth:`Transaction.announce`:
a ``NOTIFY`` on PostgreSQL, an after-commit publish in this process on SQLite; see docs/live.md), so a rolled-back
write tells no one and a committed one tells every listener. :func:`data_versions` reads the counters one by one
(the SQLite live check diffs them).

:func:`dashboard_stamp` reads them in one small statement (the agency by primary key, its creators by the
``(agency_id, id)`` index): the count of creators, the sum of their counters, the agency's counter. Counters only
grow and creators are never deleted, so any write above moves the stamp.

Locks (PostgreSQL): a bump is an ``UPDATE`` of the creator's row (``FOR NO KEY UPDATE``: ledger inserts' foreign-key
checks, ``FOR KEY SHARE``, never wait for it). The ledger bumps *after* its rows and the settlement's advisory lock,
so every path takes the advisory lock before the creator's row and none waits in the other order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import READ_ONLY
from onyx_adapters.sql.repositories._base import Transaction, chunks
from onyx_adapters.sql.schema import agencies, creators, tracking_links
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.live import DataChange

__all__ = ["bump_agencies", "bump_creators", "bump_link_creator", "dashboard_stamp", "data_versions"]


async def bump_creators(tx: Transaction, creator_ids: Iterable[str]) -> None:
    """Move the counters of ``creator_ids`` (in sorted order: concurrent writers lock rows in one order)."""
    ids = sorted(set(creator_ids))
    if not ids:
        return
    conn = await tx.writer()
    moved: defaultdict[AgencyId, dict[str, int]] = defaultdict(dict)
    for chunk in chunks(ids):
        rows = await conn.execute(
            update(creators)
            .where(creators.c.id.in_(chunk))
            .values(data_version=creators.c.data_version + 1)
            .returning(creators.c.agency_id, creators.c.id, creators.c.data_version)
        )
        for agency_id, creator_id, version in rows:
            moved[AgencyId(agency_id)][creator_id] = version
    for agency_id in sorted(moved):
        versions = moved[agency_id]
        await tx.announce(DataChange(agency_id, frozenset(CreatorId(c) for c in versions)), versions)


async def bump_link_creator(tx: Transaction, link_id: str) -> None:
    """Move the counter of the creator whose tracking link ``link_id`` is."""
    owner = select(tracking_links.c.creator_id).where(tracking_links.c.id == link_id).scalar_subquery()
    conn = await tx.writer()
    rows = await conn.execute(
        update(creators)
        .where(creators.c.id == owner)
        .values(data_version=creators.c.data_version + 1)
        .returning(creators.c.agency_id, creators.c.id, creators.c.data_version)
    )
    for agency_id, creator_id, version in rows:
        await tx.announce(DataChange(AgencyId(agency_id), frozenset({CreatorId(creator_id)})), {creator_id: version})


async def bump_agencies(tx: Transaction, agency_ids: Iterable[str]) -> None:
    ids = sorted(set(agency_ids))
    if not ids:
        return
    conn = await tx.writer()
    rows = await conn.execute(
        update(agencies)
        .where(agencies.c.id.in_(ids))
        .values(data_version=agencies.c.data_version + 1)
        .returning(agencies.c.id, agencies.c.data_version)
    )
    for agency_id, version in sorted(rows, key=lambda row: str(row[0])):
        await tx.announce(DataChange(AgencyId(agency_id), agency_wide=True), {}, version)


async def data_versions(engine: AsyncEngine, agency_id: AgencyId) -> tuple[int, dict[CreatorId, int]] | None:
    """The agency's counter and each of its creators' (``None``: no such agency), in one read."""
    query = (
        select(agencies.c.data_version, creators.c.id, creators.c.data_version)
        .select_from(agencies.outerjoin(creators, creators.c.agency_id == agencies.c.id))
        .where(agencies.c.id == agency_id)
    )
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        rows = (await conn.execute(query)).all()
    if not rows:
        return None
    return int(rows[0][0]), {CreatorId(row[1]): int(row[2]) for row in rows if row[1] is not None}


async def dashboard_stamp(engine: AsyncEngine, agency_id: AgencyId) -> str:
    """What moves whenever any process commits a write of the agency's dashboard data (see the module)."""
    query = (
        select(
            agencies.c.data_version,
            func.count(creators.c.id),
            func.coalesce(func.sum(creators.c.data_version), 0),
        )
        .select_from(agencies.outerjoin(creators, creators.c.agency_id == agencies.c.id))
        .where(agencies.c.id == agency_id)
        .group_by(agencies.c.data_version)
    )
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        row = (await conn.execute(query)).one_or_none()
    return "-" if row is None else f"{row[0]}.{row[1]}.{row[2]}"
