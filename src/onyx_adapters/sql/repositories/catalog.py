"""Agencies and creators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from onyx_adapters.sql.repositories._base import Transaction, by_text, upsert
from onyx_adapters.sql.schema import agencies, creators
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId, CreatorId

__all__ = ["SqlAgencyRepository", "SqlCreatorRepository"]


def _agency(row: Any) -> Agency:
    return Agency(AgencyId(row.id), row.name, row.fanvue_user_uuid, row.timezone)


def _creator(row: Any) -> Creator:
    return Creator(CreatorId(row.id), AgencyId(row.agency_id), row.handle, row.display_name, row.imported_at)


class SqlAgencyRepository:
    """Implements :class:`~onyx_core.ports.AgencyRepository`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, agency_id: AgencyId) -> Agency | None:
        conn = await self._tx.reader()
        row = (await conn.execute(select(agencies).where(agencies.c.id == agency_id))).one_or_none()
        return None if row is None else _agency(row)

    async def upsert(self, agency: Agency) -> None:
        row = {
            "id": agency.id,
            "name": agency.name,
            "fanvue_user_uuid": agency.fanvue_user_uuid,
            "timezone": agency.timezone,
        }
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, agencies, [row], ["id"], counter="data_version"))

    async def list(self) -> list[Agency]:
        conn = await self._tx.reader()
        rows = await conn.execute(select(agencies).order_by(by_text(self._tx.dialect, agencies.c.id)))
        return [_agency(row) for row in rows]


class SqlCreatorRepository:
    """Implements :class:`~onyx_core.ports.CreatorRepository`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, creator_id: CreatorId) -> Creator | None:
        conn = await self._tx.reader()
        row = (await conn.execute(select(creators).where(creators.c.id == creator_id))).one_or_none()
        return None if row is None else _creator(row)

    async def for_agency(self, agency_id: AgencyId) -> list[Creator]:
        conn = await self._tx.reader()
        query = (
            select(creators).where(creators.c.agency_id == agency_id).order_by(by_text(self._tx.dialect, creators.c.id))
        )
        return [_creator(row) for row in await conn.execute(query)]

    async def every(self) -> list[Creator]:
        conn = await self._tx.reader()
        order = (by_text(self._tx.dialect, creators.c.agency_id), by_text(self._tx.dialect, creators.c.id))
        return [_creator(row) for row in await conn.execute(select(creators).order_by(*order))]

    async def upsert(self, creator: Creator) -> None:
        row = {
            "id": creator.id,
            "agency_id": creator.agency_id,
            "handle": creator.handle,
            "display_name": creator.display_name,
            "imported_at": creator.imported_at,
        }
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, creators, [row], ["id"], counter="data_version"))
