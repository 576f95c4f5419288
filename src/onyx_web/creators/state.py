"""What the creators domain holds while the app serves: the refresh runner (background asyncio tasks of the web
process, the embedded default), the runs' store (in the database, so any process reads progress), and the response
cache of the creators list.

The cache is the 60 s / 500-entry :class:`~onyx_adapters.cache.TtlCache`. Its keys hold the agency, the agency's
*generation*, its stats stamp and the member's creator scope (so a member never gets an answer made for another
scope). A refresh of this process that stores new stats bumps the agency's generation (:meth:`CreatorsState.stored`)
and a sync of any process moves the stamp (the newest ``recorded_at`` of the agency's stats, one small read): either
way every entry of that agency becomes unreachable at once (and leaves by ttl or LRU).

The dashboard (:mod:`onyx_web.analytics.dashboard`) shares this one cache and these keys, adding the agency's data
stamp (:func:`~onyx_adapters.sql.repositories.versions.dashboard_stamp`) to what it asks for.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.cache import TtlCache
from onyx_adapters.runtime import Runtime, SystemClock
from onyx_adapters.sql.refresh_runs import SqlRefreshRunStore
from onyx_adapters.sql.repositories.stats import agency_stats_stamp
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts import Principal
from onyx_core.accounts.rules import has_scope
from onyx_core.accounts.usecases.creator_stats import StatsDeps
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.refresh import RefreshRun, RefreshRunPolicy, RunKind, RunState
from onyx_core.sync import SyncPolicy
from onyx_core.usecases.refresh_runs import execute_refresh_run
from onyx_fanvue.redaction import install_log_filter
from onyx_web.runtime import web_runtime

__all__ = ["STATE_KEY", "CreatorsState", "RefreshRunner", "creators_lifespan", "creators_state"]

STATE_KEY = "onyx_web.creators"
logger = logging.getLogger("onyx_web.creators")
install_log_filter("onyx_web.creators")


class RefreshRunner:
    """Runs queued refresh runs as tasks of the web process's event loop, and stops them with the app.

    A refresh-all bounds itself (``for_each_creator``: ``SyncPolicy.concurrency`` creators at a time); runs of one
    creator (a refresh button, refresh-on-view of a page full of creators) share one bound of the same size, so a
    burst of views never puts more than that many single refreshes on Fanvue at once: the others stay ``queued``
    until a slot frees."""

    def __init__(self, singles: int = SyncPolicy().concurrency) -> None:
        self._tasks: set[asyncio.Task[RunState]] = set()
        self._singles = asyncio.Semaphore(singles)

    def launch(self, state: CreatorsState, runtime: Runtime, run: RefreshRun, creator_ids: Sequence[CreatorId]) -> None:
        """Start ``run`` now, without waiting for it (its progress is in the database)."""
        task = asyncio.get_running_loop().create_task(
            self._execute(state, runtime, run, creator_ids), name=f"onyx-refresh-{run.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    async def _execute(
        self, state: CreatorsState, runtime: Runtime, run: RefreshRun, creator_ids: Sequence[CreatorId]
    ) -> RunState:
        if run.kind is RunKind.CREATOR:
            try:
                await self._singles.acquire()
            except asyncio.CancelledError:  # stopped while queued: it ends, and frees its key, now
                await asyncio.shield(state.runs.finish(run.id, RunState.INTERRUPTED, runtime.ctx.clock.now()))
                raise
        try:
            return await execute_refresh_run(runtime.ctx, state.runs, run, creator_ids, on_stored=state.stored)
        finally:
            if run.kind is RunKind.CREATOR:
                self._singles.release()

    def _ended(self, task: asyncio.Task[RunState]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("refresh %s failed", task.get_name(), exc_info=error)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every run started so far (and any they started) has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop every run (each ends ``interrupted``, its lock key free for the next process)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class CreatorsState:
    deps: StatsDeps
    runs: SqlRefreshRunStore
    runtime: Runtime | None
    engine: AsyncEngine
    cache: TtlCache = field(default_factory=TtlCache)
    runner: RefreshRunner = field(default_factory=RefreshRunner)
    generations: dict[AgencyId, int] = field(default_factory=dict)

    def stored(self, agency_id: AgencyId) -> None:
        """New stats of the agency are stored: its cached answers are out of date."""
        self.generations[agency_id] = self.generations.get(agency_id, 0) + 1

    async def cache_key(self, principal: Principal, what: str) -> str:
        """``what`` (a route and its canonical query) as ``principal`` sees it: her agency, its generation and
        stats stamp (:func:`agency_stats_stamp`: moves when any process stores stats), and her creator scope
        (members of one scope share entries; no one gets another scope's)."""
        member = principal.member
        scope = "all"
        if has_scope(member.role) and member.creator_scope is not None:
            scope = hashlib.sha256("\n".join(sorted(member.creator_scope)).encode()).hexdigest()[:32]
        generation = self.generations.get(member.agency_id, 0)
        stamp = await agency_stats_stamp(self.engine, member.agency_id)
        return f"creators:{member.agency_id}:{generation}:{stamp}:{scope}:{what}"

    def launch(self, run: RefreshRun, creator_ids: Sequence[CreatorId]) -> None:
        if self.runtime is None:  # deps.can_refresh is False then: the core refused before a run was stored
            raise RuntimeError("no Fanvue runtime to refresh with")
        self.runner.launch(self, self.runtime, run, creator_ids)


@asynccontextmanager
async def creators_lifespan(app: Litestar) -> AsyncIterator[None]:
    """The domain's state, from after the web runtime opened until before it closes (its runs stop first)."""
    web = web_runtime(app)
    runtime = web.runtime
    runs = SqlRefreshRunStore(web.engine)
    after = web.settings.refresh_on_view_after
    deps = StatsDeps(
        uow=runtime.ctx.uow if runtime is not None else sql_unit_of_work_factory(web.engine, web.cipher),
        runs=runs,
        clock=runtime.ctx.clock if runtime is not None else SystemClock(),
        policy=RefreshRunPolicy(on_view_after=timedelta(seconds=after) if after > 0 else None),
        can_refresh=runtime is not None,
    )
    singles = runtime.ctx.sync_policy.concurrency if runtime is not None else SyncPolicy().concurrency
    state = CreatorsState(deps, runs, runtime, web.engine, runner=RefreshRunner(singles))
    app.state[STATE_KEY] = state
    try:
        yield
    finally:
        await state.runner.aclose()
        del app.state[STATE_KEY]


def creators_state(connection: ASGIConnection[Any, Any, Any, Any]) -> CreatorsState:
    state = connection.app.state.get(STATE_KEY)
    if not isinstance(state, CreatorsState):
        raise RuntimeError("the creators domain is not open: the app is not started (run it with its lifespan)")
    return state
