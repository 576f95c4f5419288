"""Refresh runs in the database (:class:`~onyx_core.refresh.RefreshRunStore`), so every process sees them.

One active run per lock key is the unique constraint on ``refresh_runs.lock_key``: a run holds its key while
active and sets it to NULL when it ends (NULLs never clash, on SQLite as on PostgreSQL). Two processes that begin
a refresh-all of one agency at the same instant both try the INSERT; the database lets one through, and the
other reads the winner.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import READ_ONLY
from onyx_adapters.sql.schema import refresh_runs
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.refresh import (
    ACTIVE_STATES,
    RefreshAlreadyRunningError,
    RefreshRun,
    RunKind,
    RunState,
    RunTrigger,
)
from onyx_core.timeutil import require_utc

__all__ = ["SqlRefreshRunStore"]

_ACTIVE = [state.value for state in ACTIVE_STATES]


def _run(row: Row[Any]) -> RefreshRun:
    return RefreshRun(
        id=row.id,
        agency_id=AgencyId(row.agency_id),
        kind=RunKind(row.kind),
        trigger=RunTrigger(row.trigger),
        creator_id=None if row.creator_id is None else CreatorId(row.creator_id),
        requested_by=None if row.requested_by is None else MemberId(row.requested_by),
        state=RunState(row.state),
        total=row.total,
        created_at=row.created_at,
        heartbeat_at=row.heartbeat_at,
        done=row.done,
        failed=row.failed,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class SqlRefreshRunStore:
    """Implements :class:`~onyx_core.refresh.RefreshRunStore` on ``engine``; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def begin(self, run: RefreshRun, *, abandoned_before: datetime) -> RefreshRun:
        if not run.state.active:
            raise ValueError("a run begins queued or running")
        key = run.lock_key
        try:
            async with self._engine.begin() as conn:
                # A holder silent for a whole lease died with its process: it ends interrupted, its key is free.
                await conn.execute(
                    update(refresh_runs)
                    .where(refresh_runs.c.lock_key == key, refresh_runs.c.heartbeat_at <= abandoned_before)
                    .values(lock_key=None, state=RunState.INTERRUPTED.value, finished_at=run.created_at)
                )
                await conn.execute(
                    refresh_runs.insert().values(
                        id=run.id,
                        agency_id=run.agency_id,
                        kind=run.kind.value,
                        trigger=run.trigger.value,
                        creator_id=run.creator_id,
                        requested_by=run.requested_by,
                        state=run.state.value,
                        total=run.total,
                        done=run.done,
                        failed=run.failed,
                        created_at=require_utc(run.created_at, "created_at"),
                        started_at=run.started_at,
                        finished_at=None,
                        heartbeat_at=require_utc(run.heartbeat_at, "heartbeat_at"),
                        lock_key=key,
                    )
                )
        except IntegrityError:
            holder = await self._holder(key)
            if holder is None:  # it ended between our INSERT and this read: the caller may simply ask again
                raise
            raise RefreshAlreadyRunningError(holder) from None
        return run

    async def _read(self, query: Any) -> list[RefreshRun]:
        async with self._engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            return [_run(row) for row in await conn.execute(query)]

    async def _holder(self, key: str) -> RefreshRun | None:
        found = await self._read(select(refresh_runs).where(refresh_runs.c.lock_key == key))
        return found[0] if found else None

    async def get(self, agency_id: AgencyId, run_id: str) -> RefreshRun | None:
        query = select(refresh_runs).where(refresh_runs.c.id == run_id, refresh_runs.c.agency_id == agency_id)
        found = await self._read(query)
        return found[0] if found else None

    async def active(self, agency_id: AgencyId, keys: Iterable[str]) -> list[RefreshRun]:
        query = (
            select(refresh_runs)
            .where(refresh_runs.c.agency_id == agency_id, refresh_runs.c.lock_key.in_(sorted(set(keys))))
            .order_by(refresh_runs.c.created_at, refresh_runs.c.id)
        )
        return await self._read(query)

    async def mark_running(self, run_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(refresh_runs)
                .where(refresh_runs.c.id == run_id, refresh_runs.c.state == RunState.QUEUED.value)
                .values(state=RunState.RUNNING.value, started_at=at, heartbeat_at=at)
            )

    async def record_progress(self, run_id: str, *, done: int, failed: int, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(refresh_runs)
                .where(refresh_runs.c.id == run_id, refresh_runs.c.state.in_(_ACTIVE))
                .values(
                    done=refresh_runs.c.done + done,
                    failed=refresh_runs.c.failed + failed,
                    heartbeat_at=at,
                )
            )

    async def finish(self, run_id: str, state: RunState, at: datetime) -> None:
        if state.active:
            raise ValueError("a run ends in a final state")
        async with self._engine.begin() as conn:
            await conn.execute(
                update(refresh_runs)
                .where(refresh_runs.c.id == run_id, refresh_runs.c.state.in_(_ACTIVE))
                .values(state=state.value, finished_at=at, heartbeat_at=at, lock_key=None)
            )
