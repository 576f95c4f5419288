"""The in-process runner: one asyncio loop that wakes every ``schedule.tick`` and runs what is due.

The embedded default (``onyx schedule``, SQLite): no queue, no second process. Each tick it runs token
maintenance and the creator re-import when their interval has passed, then every creator's due jobs
(:func:`onyx_core.usecases.due_work`, from the stored freshness, so a restart picks up where the data stands),
at most ``sync_policy.concurrency`` creators at a time. A tick waits for its syncs; a long backfill delays the
next tick instead of overlapping it, so one creator's sync never runs twice at once. Fanvue's throttling cannot
hold a tick: every job, the import and the agency-wide top spenders included, sits out 429s only for
``sync_policy.job_budget`` and then stops, partial, until a later tick (:mod:`onyx_core.budget`). The distributed
runner (:mod:`onyx_adapters.workers`) runs the same use cases. At the agency-wide top spenders' interval each agency's
chatter leaderboard of the last two UTC days is stored too (the PPV unlock rate's source), with its own grant.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from onyx_adapters.failures import explain
from onyx_adapters.runtime import Runtime
from onyx_core.budget import JobBudget
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import Schedule
from onyx_core.usecases import (
    ChatterDaysReport,
    CreatorSyncReport,
    ImportReport,
    MaintenanceReport,
    due_work,
    for_each_creator,
    import_creators,
    maintain_tokens,
    record_agency_top_spenders,
    record_recent_chatter_days,
    sync_creator,
)
from onyx_core.usecases.context import budgeted, retry_at_of
from onyx_fanvue.redaction import install_log_filter

__all__ = ["Scheduler", "TickReport"]

log = logging.getLogger("onyx.scheduler")
install_log_filter("onyx.scheduler")  # secrets out of every line, whatever an error says
_T = TypeVar("_T")


@dataclass
class TickReport:
    """What one tick did."""

    at: datetime
    maintenance: MaintenanceReport | None = None
    imports: dict[AgencyId, ImportReport] = field(default_factory=dict)
    synced: list[CreatorSyncReport] = field(default_factory=list)
    chatter_days: dict[AgencyId, ChatterDaysReport] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    """Steps that could not run (an import Fanvue refused, a creator's sync that raised), with why."""
    budgets: list[JobBudget] = field(default_factory=list)
    """The budgets of the tick's own steps (imports, agency-wide top spenders, chatter days)."""

    @property
    def partial(self) -> bool:
        return bool(self.failures) or any(report.partial for report in self.synced)

    @property
    def retry_at(self) -> datetime | None:
        """The latest time Fanvue named for a call it refused in this tick (``None``: none)."""
        times = [t for t in (retry_at_of(self.budgets), *(r.retry_at for r in self.synced)) if t is not None]
        return max(times) if times else None


def _log_failure(step: str, error: BaseException) -> None:
    """One WARNING line per failed step, saying what went wrong (a tick that fails every step still logs a few
    lines, not pages); the traceback goes to a DEBUG record, shown by ``onyx … --debug``."""
    log.warning("%s failed: %s", step, explain(error) or f"unexpected {type(error).__name__}")
    log.debug("%s failed", step, exc_info=error)


class Scheduler:
    """Runs the heartbeat schedule on ``runtime`` (see the module's doc). ``on_tick`` sees every tick's report."""

    def __init__(
        self,
        runtime: Runtime,
        schedule: Schedule | None = None,
        *,
        on_tick: Callable[[TickReport], None] | None = None,
        last_runs: Mapping[str, datetime] | None = None,
    ) -> None:
        self.runtime = runtime
        self.schedule = schedule or Schedule()
        self._on_tick = on_tick
        self._last: dict[str, datetime] = dict(last_runs or {})

    @property
    def last_runs(self) -> dict[str, datetime]:
        """When each interval step (maintenance, each agency's import, top spenders and chatter days) last ran:
        pass it to the next :class:`Scheduler` (``last_runs=``) to tick on where this one stopped, in another
        process (the heartbeat endpoint stores it between calls)."""
        return dict(self._last)

    def _due(self, what: str, every: timedelta, now: datetime) -> bool:
        last = self._last.get(what)
        return last is None or now - last >= every

    async def tick(self) -> TickReport:
        """Run everything due now, once. A step that fails (an unreadable connection row, the database away) is
        logged and recorded in the report; the other steps and the next tick still run."""
        ctx = self.runtime.ctx
        now = ctx.clock.now()
        report = TickReport(now)
        if self._due("maintenance", self.schedule.maintenance_every, now):
            self._last["maintenance"] = now
            report.maintenance = await self._step(report, "maintenance", maintain_tokens(ctx, self.runtime.clients))
        agencies = await self._step(report, "agencies", self._agencies()) or []
        for agency_id in agencies:
            key = f"import:{agency_id}"
            if self._due(key, self.schedule.import_every, now):
                self._last[key] = now
                imported = await self._step(report, key, budgeted(ctx, import_creators(ctx, agency_id), report.budgets))
                if imported is not None:
                    report.imports[agency_id] = imported
        await self._step(report, "sync", self._sync_due(report))
        refreshed = {synced.creator_id for synced in report.synced if synced.top_spenders is not None}
        for agency_id in agencies:
            key = f"agency_top_spenders:{agency_id}"
            # combined from the stored per-creator rankings: only worth storing when one of them was refreshed
            due = self._due(key, self.schedule.top_spenders_every, now) and await self._any_of(agency_id, refreshed)
            top = budgeted(ctx, record_agency_top_spenders(ctx, agency_id), report.budgets) if due else None
            if top is not None and await self._step(report, key, top) is not None:
                self._last[key] = now
            key = f"chatter_days:{agency_id}"
            if self._due(key, self.schedule.top_spenders_every, now):
                # marked on the attempt: a grant Fanvue refuses is asked again at the next interval, not every tick
                self._last[key] = now
                call = budgeted(ctx, record_recent_chatter_days(ctx, agency_id), report.budgets)
                chatters = await self._step(report, key, call)
                if chatters is not None:
                    report.chatter_days[agency_id] = chatters
        log.info("tick at %s: %d creator(s) synced, partial=%s", now.isoformat(), len(report.synced), report.partial)
        if self._on_tick is not None:
            self._on_tick(report)
        return report

    async def _any_of(self, agency_id: AgencyId, creators: set[CreatorId]) -> bool:
        if not creators:
            return False
        async with self.runtime.ctx.uow() as uow:
            return any(creator.id in creators for creator in await uow.creators.for_agency(agency_id))

    async def _agencies(self) -> list[AgencyId]:
        async with self.runtime.ctx.uow() as uow:
            return [agency.id for agency in await uow.agencies.list()]

    @staticmethod
    async def _step(report: TickReport, name: str, call: Awaitable[_T]) -> _T | None:
        try:
            return await call
        except SourceUnavailableError as failure:  # Fanvue could not answer: the next tick tries again
            report.failures[name] = failure.reason.value
        except Exception as error:  # a bug or the database away must not stop the heartbeat
            _log_failure(name, error)
            report.failures[name] = type(error).__name__
        return None

    async def _sync_due(self, report: TickReport) -> None:
        ctx = self.runtime.ctx
        due = dict(await due_work(ctx, self.schedule))

        async def sync(creator_id: CreatorId) -> CreatorSyncReport:
            return await sync_creator(ctx, creator_id, due[creator_id])

        synced, failed = await for_each_creator(ctx, list(due), sync)
        report.synced.extend(synced.values())
        for creator_id, error in failed.items():  # one creator's trouble must not stop the others or the loop
            _log_failure(f"sync of creator {creator_id}", error)
            report.failures[f"creator:{creator_id}"] = type(error).__name__

    async def run(self, *, stop: asyncio.Event | None = None, ticks: int | None = None) -> int:
        """Tick until ``stop`` is set (or ``ticks`` ticks ran), sleeping ``schedule.tick`` between ticks on the
        runtime's clock (virtual time in the sandbox moves instead of waiting). Returns the ticks run."""
        stop = stop or asyncio.Event()
        done = 0
        while not stop.is_set() and (ticks is None or done < ticks):
            await self.tick()
            done += 1
            if ticks is not None and done >= ticks:
                break
            await self._pause(stop)
        return done

    async def _pause(self, stop: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self.runtime.ctx.clock.sleep(self.schedule.tick.total_seconds()))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
