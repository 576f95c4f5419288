"""Data versions: the counters ``creators.data_version`` and ``agencies.data_version``, and the stamp they make.

Every SQL write that changes data the dashboard reads bumps a counter in the writer's own transaction (so a
rolled-back write bumps nothing, and a committed one is visible together with its bump):

- a creator's counter: ledger rows inserted, corrected or deleted (a polled page's upsert, a webhook's
  provisional row, its settlement by the polled row: :class:`~onyx_adapters.sql.repositories.ledger.SqlLedgerRepository`
  bumps only when a row changed), her stats records and events (``StatsRepository.save``: the stats floor, a
  refresh, a refund's adjustment), her subscriber days, her tracking links, a cost set on one of her links, her
  handle or display name (``CreatorRepository.upsert``);
- the agency's counter: its chatter days (stored per agency, not per creator) and its own row (name, time zone).

:func:`dashboard_stamp` reads them in one small statement (the agency by primary key, its creators by the
``(agency_id, id)`` index): the count of creators, the sum of their counters, the agency's counter. Counters only
grow and creators are never deleted, so any write above moves the stamp.

Locks (PostgreSQL): a bump is an ``UPDATE`` of the creator's row (``FOR NO KEY UPDATE``: ledger inserts' foreign-key
checks, ``FOR KEY SHARE``, never wait for it). The ledger bumps *after* its rows and the settlement's advisory lock,
so every path takes the advisory lock before the creator's row and none waits in the other order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import READ_ONLY
from onyx_adapters.sql.repositories._base import Transaction, chunks
from onyx_adapters.sql.schema import agencies, creators, tracking_links
from onyx_core.ids import AgencyId

__all__ = ["bump_agencies", "bump_creators", "bump_link_creator", "dashboard_stamp"]


async def bump_creators(tx: Transaction, creator_ids: Iterable[str]) -> None:
    """Move the counters of ``creator_ids`` (in sorted order: concurrent writers lock rows in one order)."""
    ids = sorted(set(creator_ids))
    if not ids:
        return
    conn = await tx.writer()
    for chunk in chunks(ids):
        await conn.execute(
            update(creators).where(creators.c.id.in_(chunk)).values(data_version=creators.c.data_version + 1)
        )


async def bump_link_creator(tx: Transaction, link_id: str) -> None:
    """Move the counter of the creator whose tracking link ``link_id`` is."""
    owner = select(tracking_links.c.creator_id).where(tracking_links.c.id == link_id).scalar_subquery()
    conn = await tx.writer()
    await conn.execute(update(creators).where(creators.c.id == owner).values(data_version=creators.c.data_version + 1))


async def bump_agencies(tx: Transaction, agency_ids: Iterable[str]) -> None:
    ids = sorted(set(agency_ids))
    if not ids:
        return
    conn = await tx.writer()
    await conn.execute(update(agencies).where(agencies.c.id.in_(ids)).values(data_version=agencies.c.data_version + 1))


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
