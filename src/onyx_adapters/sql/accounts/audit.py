"""The audit log: append-only, ids from the database (their order is the log's order)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select

from onyx_adapters.sql.repositories._base import Transaction
from onyx_adapters.sql.schema import audit_log
from onyx_core.accounts.model import AuditAction, AuditEntry
from onyx_core.ids import AgencyId, MemberId

__all__ = ["SqlAuditLog"]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        action=AuditAction(row.action),
        agency_id=None if row.agency_id is None else AgencyId(row.agency_id),
        actor=None if row.actor is None else MemberId(row.actor),
        target=row.target,
        details=json.loads(row.details),
        ip=row.ip,
        id=int(row.id),
    )


class SqlAuditLog:
    """Implements :class:`~onyx_core.accounts.ports.AuditLog`; ``details`` are stored as a JSON object."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def record(self, entry: AuditEntry) -> None:
        row = {
            "at": entry.at,
            "action": entry.action.value,
            "agency_id": entry.agency_id,
            "actor": entry.actor,
            "target": entry.target,
            "details": json.dumps(dict(entry.details), sort_keys=True),
            "ip": entry.ip,
        }
        conn = await self._tx.writer()
        await conn.execute(insert(audit_log).values(row))

    async def for_agency(
        self, agency_id: AgencyId, *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEntry]:
        query = select(audit_log).where(audit_log.c.agency_id == agency_id)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        conn = await self._tx.reader()
        rows = await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit))
        return [_entry(row) for row in rows]
