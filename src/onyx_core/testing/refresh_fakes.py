"""An in-memory :class:`~onyx_core.refresh.RefreshRunStore`: one active run per lock key, as the database's unique
constraint makes it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from onyx_core.ids import AgencyId
from onyx_core.refresh import RefreshAlreadyRunningError, RefreshRun, RunState

__all__ = ["InMemoryRefreshRuns"]


class InMemoryRefreshRuns:
    def __init__(self) -> None:
        self.runs: dict[str, RefreshRun] = {}
        """Every run by id, readable in assertions."""

    def _holder(self, key: str) -> RefreshRun | None:
        return next((r for r in self.runs.values() if r.state.active and r.lock_key == key), None)

    async def begin(self, run: RefreshRun, *, abandoned_before: datetime) -> RefreshRun:
        if not run.state.active:
            raise ValueError("a run begins queued or running")
        holder = self._holder(run.lock_key)
        if holder is not None and holder.heartbeat_at <= abandoned_before:
            self.runs[holder.id] = replace(holder, state=RunState.INTERRUPTED, finished_at=run.created_at)
            holder = None
        if holder is not None:
            raise RefreshAlreadyRunningError(holder)
        self.runs[run.id] = run
        return run

    async def get(self, agency_id: AgencyId, run_id: str) -> RefreshRun | None:
        run = self.runs.get(run_id)
        return run if run is not None and run.agency_id == agency_id else None

    async def active(self, agency_id: AgencyId, keys: Iterable[str]) -> list[RefreshRun]:
        wanted = set(keys)
        found = [r for r in self.runs.values() if r.agency_id == agency_id and r.state.active and r.lock_key in wanted]
        return sorted(found, key=lambda r: (r.created_at, r.id))

    async def mark_running(self, run_id: str, at: datetime) -> None:
        run = self.runs[run_id]
        if run.state is RunState.QUEUED:
            self.runs[run_id] = replace(run, state=RunState.RUNNING, started_at=at, heartbeat_at=at)

    async def record_progress(self, run_id: str, *, done: int, failed: int, at: datetime) -> None:
        run = self.runs[run_id]
        if run.state.active:
            self.runs[run_id] = replace(run, done=run.done + done, failed=run.failed + failed, heartbeat_at=at)

    async def finish(self, run_id: str, state: RunState, at: datetime) -> None:
        if state.active:
            raise ValueError("a run ends in a final state")
        run = self.runs[run_id]
        if run.state.active:
            self.runs[run_id] = run.finished(state, at)
