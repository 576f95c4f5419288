"""Leases in the database: at most one holder of a named operation at a time, across threads, processes and
machines, on SQLite and PostgreSQL alike.

A lease row says who holds it (``holder``, random per attempt) and until when no one else may take it
(``available_at``). Taking it is one statement, an insert that, on the existing row, updates it only where
``available_at`` has passed (``INSERT … ON CONFLICT DO UPDATE … WHERE``): the database decides who wins, so of N
concurrent callers exactly one gets it, the others are told who holds it. A holder that dies leaves the row held
until ``available_at``, then anyone takes it over. Releasing records what the holder did and carries state to the
next one (both JSON).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.schema import ops_leases

__all__ = ["Lease", "LeaseRow", "SqlLeases"]


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease this caller holds (``state``: what the previous holder carried over)."""

    name: str
    holder: str
    started_at: datetime
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A lease as stored: held while ``finished_at`` is older than ``started_at`` (or missing)."""

    name: str
    started_at: datetime
    available_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None

    @property
    def running(self) -> bool:
        return self.finished_at is None or self.finished_at < self.started_at


class SqlLeases:
    """The ``ops_leases`` table of ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def acquire(self, name: str, now: datetime, until: datetime) -> Lease | None:
        """Take ``name`` until ``until`` if no one holds it (its ``available_at`` has passed, or it never ran);
        ``None`` when someone does."""
        holder = uuid.uuid4().hex
        values = {"name": name, "holder": holder, "started_at": now, "available_at": until, "finished_at": None}
        taken = {"holder": holder, "started_at": now, "available_at": until, "finished_at": None}
        free = ops_leases.c.available_at <= now
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                pg = postgresql.insert(ops_leases).values(values)
                statement: Any = pg.on_conflict_do_update(index_elements=["name"], set_=taken, where=free)
            else:
                lite = sqlite.insert(ops_leases).values(values)
                statement = lite.on_conflict_do_update(index_elements=["name"], set_=taken, where=free)
            # RETURNING, not rowcount: drivers disagree on what an upsert's rowcount counts
            row = (await conn.execute(statement.returning(ops_leases.c.holder, ops_leases.c.state))).first()
        if row is None or row.holder != holder:
            return None
        return Lease(name, holder, now, json.loads(row.state) if row.state else {})

    async def release(
        self, lease: Lease, now: datetime, available_at: datetime, report: dict[str, Any], state: dict[str, Any]
    ) -> bool:
        """Record that ``lease``'s run ended at ``now`` with ``report``, carry ``state`` over, and let the next
        holder in from ``available_at``. ``False`` when the lease was taken over meanwhile (nothing written)."""
        statement = (
            update(ops_leases)
            .where(ops_leases.c.name == lease.name, ops_leases.c.holder == lease.holder)
            .values(
                finished_at=now,
                available_at=available_at,
                report=json.dumps(report, sort_keys=True),
                state=json.dumps(state, sort_keys=True),
            )
        )
        async with self._engine.begin() as conn:
            return bool((await conn.execute(statement)).rowcount == 1)

    async def read(self, name: str) -> LeaseRow | None:
        columns = (
            ops_leases.c.started_at,
            ops_leases.c.available_at,
            ops_leases.c.finished_at,
            ops_leases.c.report,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*columns).where(ops_leases.c.name == name))).first()
        if row is None:
            return None
        report = json.loads(row.report) if row.report else None
        return LeaseRow(name, row.started_at, row.available_at, row.finished_at, report)
