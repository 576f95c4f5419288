"""One heartbeat on demand, for deployments that schedule from outside (a cron, a platform scheduler): what
``POST /ops/heartbeat`` runs.

Each beat does what one tick of ``onyx schedule`` does (mode ``run``: :meth:`Scheduler.tick
<onyx_adapters.scheduler.Scheduler.tick>` in this process) or what one beat of the worker's periodic heartbeat does
(mode ``enqueue``: :func:`~onyx_adapters.workers.defer_due_work`, for a deployment whose ``onyx worker`` processes
run the jobs). Concurrent beats, in any number of processes, run at most one tick: the tick holds the database
lease ``heartbeat`` (:class:`~onyx_adapters.sql.leases.SqlLeases`); a beat that finds it held answers at once
with the running tick's start, or with the last tick's report while the spacing since that tick has not passed.

The scheduler remembers when its interval steps ran (token maintenance every 5 min, each agency's import and
top spenders every hour); a beat stores that with the lease, so the next beat, in whatever process, goes on
from there, as one long-running ``onyx schedule`` would.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onyx_adapters.runtime import Runtime
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_adapters.sql.leases import SqlLeases
from onyx_core.ports import Clock
from onyx_core.schedule import Schedule
from onyx_core.usecases import MaintenanceOutcome
from onyx_fanvue.redaction import install_log_filter

__all__ = [
    "HEARTBEAT_LEASE",
    "Heartbeat",
    "HeartbeatMode",
    "HeartbeatOutcome",
    "enqueue_work",
    "tick_summary",
    "tick_work",
]

log = logging.getLogger("onyx.heartbeat")
install_log_filter("onyx.heartbeat")

HEARTBEAT_LEASE = "heartbeat"
HOLD = timedelta(minutes=30)
"""How long a tick may hold the lease: a process that dies mid-tick blocks the heartbeat at most this long."""
SPACING = timedelta(seconds=30)
"""The least time between two ticks' starts: beats closer than this answer the last tick's report (a cron every
minute, even with jitter, ticks every time)."""

Work = Callable[[dict[str, Any]], Awaitable[tuple[dict[str, Any], dict[str, Any]]]]
"""One tick: given the state the previous tick carried over, its report and the state to carry on (JSON)."""


class HeartbeatMode(StrEnum):
    RUN = "run"
    """Run the due work in this process (``onyx schedule``'s tick): SQLite or PostgreSQL, no worker needed."""
    ENQUEUE = "enqueue"
    """Queue the due work for ``onyx worker`` (the worker heartbeat's beat): PostgreSQL with the job queue."""


@dataclass(frozen=True, slots=True)
class HeartbeatOutcome:
    """What a beat answers: ``ran`` (this beat ran the tick), ``running`` (another beat is running one now) or
    neither (the last tick ended less than the spacing ago: ``report`` is its report)."""

    ran: bool
    running: bool
    started_at: datetime | None
    finished_at: datetime | None
    report: dict[str, Any] | None


class Heartbeat:
    """Beats on ``leases``: ``work`` runs under the lease, at most once at a time across processes."""

    def __init__(
        self, leases: SqlLeases, clock: Clock, work: Work, *, hold: timedelta = HOLD, spacing: timedelta = SPACING
    ) -> None:
        self._leases = leases
        self._clock = clock
        self._work = work
        self._hold = hold
        self._spacing = spacing

    async def beat(self) -> HeartbeatOutcome:
        start = self._clock.now()
        lease = await self._leases.acquire(HEARTBEAT_LEASE, start, start + self._hold)
        if lease is None:
            row = await self._leases.read(HEARTBEAT_LEASE)
            if row is None:  # released and deleted in between: cannot happen (rows are never deleted)
                return HeartbeatOutcome(ran=False, running=True, started_at=None, finished_at=None, report=None)
            done = not row.running
            return HeartbeatOutcome(
                ran=False,
                running=row.running,
                started_at=row.started_at,
                finished_at=row.finished_at if done else None,
                report=row.report if done else None,
            )
        try:
            report, state = await self._work(lease.state)
        except BaseException as error:
            # let the next beat in at once (what this one did is idempotent to redo), keep the state it found
            failed = {"failed": type(error).__name__}
            now = self._clock.now()
            await self._leases.release(lease, now, now, failed, lease.state)
            raise
        end = self._clock.now()
        await self._leases.release(lease, end, max(end, start + self._spacing), report, state)
        return HeartbeatOutcome(ran=True, running=False, started_at=start, finished_at=end, report=report)


def tick_summary(report: TickReport) -> dict[str, Any]:
    """A tick's report as JSON: creators synced, token maintenance, imports, what failed (reasons, no secrets)."""
    maintenance = None
    if report.maintenance is not None:
        maintenance = {outcome.value: report.maintenance.count(outcome) for outcome in MaintenanceOutcome}
    return {
        "mode": HeartbeatMode.RUN.value,
        "at": report.at.isoformat(),
        "synced": [str(synced.creator_id) for synced in report.synced],
        "partial": report.partial,
        "failures": dict(report.failures),
        "maintenance": maintenance,
        "imports": {str(agency): imported.listed for agency, imported in report.imports.items()},
        "retry_at": None if report.retry_at is None else report.retry_at.isoformat(),
    }


def tick_work(runtime: Runtime, schedule: Schedule) -> Work:
    """Mode ``run``: one :meth:`Scheduler.tick` on ``runtime``, going on from the carried-over interval state."""

    async def work(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        last = {key: datetime.fromisoformat(value) for key, value in state.get("last_runs", {}).items()}
        scheduler = Scheduler(runtime, schedule, last_runs=last)
        report = await scheduler.tick()
        carried = {key: value.isoformat() for key, value in scheduler.last_runs.items()}
        return tick_summary(report), {"last_runs": carried}

    return work


def enqueue_work(runtime: Runtime, database_url: str, schedule: Schedule) -> Work:
    """Mode ``enqueue``: one beat of the worker heartbeat (:func:`~onyx_adapters.workers.defer_due_work`) on the
    job queue of ``database_url`` (PostgreSQL), stamped with the runtime clock's time."""

    async def work(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        # the queue is an optional extra (procrastinate): imported only by deployments that use it
        from onyx_adapters.workers import defer_due_work, make_app  # noqa: PLC0415

        app = make_app(database_url, schedule=schedule)
        timestamp = int(runtime.ctx.clock.now().timestamp())
        async with app.open_async():
            beat = await defer_due_work(app, runtime.ctx, schedule, timestamp=timestamp)
        report = {
            "mode": HeartbeatMode.ENQUEUE.value,
            "at": runtime.ctx.clock.now().isoformat(),
            "deferred": {str(creator): [job.value for job in jobs] for creator, jobs in beat.deferred.items()},
            "waiting": [str(creator) for creator in beat.waiting],
            "maintenance": beat.maintenance,
            "imports": [str(agency) for agency in beat.imports],
        }
        return report, state

    return work
