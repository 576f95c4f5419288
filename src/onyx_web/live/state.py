"""What the live domain holds while the app serves: the process's :class:`~onyx_adapters.live.ChangeHub`, how
committed changes reach it (PostgreSQL: one ``LISTEN`` connection; SQLite: this process's commits, plus a check of
the data counters for other processes' writes), and one watcher per agency with a live dashboard open.

An agency's watcher (:class:`AgencyWatch`) runs while at least one event stream of the agency is open in this
process, however many: every ``ONYX_LIVE_REFRESH_EVERY`` seconds (from the first stream on) it queues a refresh of
the stale creators in its streams' scopes (:func:`~onyx_core.accounts.usecases.live.refresh_stale_in_view`, on the
creators domain's refresh runner: the same rate budget and concurrency bound as any refresh); on SQLite, every
``ONYX_LIVE_CHECK_EVERY`` seconds it reads the agency's data counters and publishes the creators whose counter moved
(writes of ``onyx worker`` or another web process, which this process cannot hear).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.live import ChangeHub, PostgresChangeListener, attach_local
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.repositories.versions import data_versions
from onyx_core.accounts import Principal
from onyx_core.accounts.usecases.live import refresh_stale_in_view
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.live import ChangeSubscription, DataChange
from onyx_fanvue.redaction import install_log_filter
from onyx_web.creators.state import STATE_KEY as CREATORS_KEY
from onyx_web.creators.state import CreatorsState
from onyx_web.runtime import web_runtime

__all__ = ["STATE_KEY", "AgencyWatch", "LiveState", "live_lifespan", "live_state"]

STATE_KEY = "onyx_web.live"
logger = logging.getLogger("onyx_web.live")
install_log_filter("onyx_web.live")

Versions = tuple[int, dict[CreatorId, int]]


def moved(agency_id: AgencyId, before: Versions | None, after: Versions | None, heard: Versions) -> DataChange | None:
    """What changed between two readings of the agency's counters that this process did not announce already
    (``heard``: the counters its own commits left since the first reading); ``None``: nothing, or nothing to
    compare. Counters only grow, so a counter above both the first reading and what was heard is another
    process's write."""
    if before is None or after is None:
        return None
    (agency_before, creators_before), (agency_after, creators_after), (agency_heard, creators_heard) = (
        before,
        after,
        heard,
    )
    creators = frozenset(
        c for c, v in creators_after.items() if v > max(creators_before.get(c, -1), creators_heard.get(c, -1))
    )
    change = DataChange(agency_id, creators, agency_wide=agency_after > max(agency_before, agency_heard))
    return None if change.empty else change


@dataclass
class AgencyWatch:
    """The agency's watcher: alive while ``watchers`` (the members of its open streams) is not empty."""

    agency_id: AgencyId
    live: LiveState
    watchers: dict[int, Principal] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    refreshes: int = 0
    """Ticks of the stale refresh so far (tests wait on it)."""

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"onyx-live-{self.agency_id}")

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def principals(self) -> list[Principal]:
        """One principal per member watching (the first stream's)."""
        seen: dict[MemberId, Principal] = {}
        for principal in self.watchers.values():
            seen.setdefault(principal.member.id, principal)
        return list(seen.values())

    async def _run(self) -> None:
        settings, loop = self.live.settings, asyncio.get_running_loop()
        refresh_every, check_every = settings.live_refresh_every, settings.live_check_every
        check = self.live.sqlite
        if check:
            self.live.hub.take_heard(self.agency_id)  # what the first reading shows is the baseline
        versions = await self._versions() if check else None
        next_refresh = loop.time() if refresh_every > 0 else math.inf  # the first right away
        next_check = loop.time() + check_every if check else math.inf
        while True:
            now = loop.time()
            if now >= next_refresh:
                await self._refresh()
                next_refresh = loop.time() + refresh_every
            if now >= next_check:
                heard = self.live.hub.take_heard(self.agency_id)  # before the reading: what it may already show
                latest = await self._versions()
                change = moved(self.agency_id, versions, latest, heard)
                if change is not None:
                    self.live.hub.publish(change)
                versions = latest if latest is not None else versions
                next_check = loop.time() + check_every
            wake = min(next_refresh, next_check)
            if wake == math.inf:
                return
            await asyncio.sleep(max(0.0, wake - loop.time()))

    async def _versions(self) -> Versions | None:
        try:
            return await data_versions(self.live.engine, self.agency_id)
        except Exception:  # a database hiccup: the next check tries again
            logger.warning("live check of agency %s failed", self.agency_id, exc_info=True)
            return None

    async def _refresh(self) -> None:
        creators = self.live.creators
        try:
            for queued in await refresh_stale_in_view(creators.deps, self.principals()):
                creators.launch(queued.run, [queued.creator_id])
        except Exception:  # the next tick tries again
            logger.warning("live refresh of agency %s failed", self.agency_id, exc_info=True)
        finally:
            self.refreshes += 1


@dataclass
class LiveState:
    hub: ChangeHub
    engine: AsyncEngine
    settings: OnyxSettings
    creators: CreatorsState
    sqlite: bool
    listener: PostgresChangeListener | None = None
    watches: dict[AgencyId, AgencyWatch] = field(default_factory=dict)

    @asynccontextmanager
    async def stream(self, principal: Principal) -> AsyncIterator[ChangeSubscription]:
        """The agency's changes for one event stream of ``principal``, its agency's watcher running meanwhile."""
        agency_id = principal.member.agency_id
        async with self.hub.subscribe(agency_id) as subscription:
            watch = self.watches.get(agency_id)
            if watch is None:
                watch = self.watches[agency_id] = AgencyWatch(agency_id, self)
                watch.start()
            key = id(subscription)
            watch.watchers[key] = principal
            try:
                yield subscription
            finally:
                watch.watchers.pop(key, None)
                if not watch.watchers:
                    watch.stop()
                    if self.watches.get(agency_id) is watch:
                        del self.watches[agency_id]

    async def aclose(self) -> None:
        watches, self.watches = list(self.watches.values()), {}
        for watch in watches:
            watch.stop()
        await asyncio.gather(*(w.task for w in watches if w.task is not None), return_exceptions=True)


@asynccontextmanager
async def live_lifespan(app: Litestar) -> AsyncIterator[None]:
    """The hub and its sources, from after the creators domain opened until before it closes."""
    web = web_runtime(app)
    hub = ChangeHub()
    sqlite = web.engine.dialect.name == "sqlite"
    creators = app.state.get(CREATORS_KEY)
    if not isinstance(creators, CreatorsState):
        raise RuntimeError("the live domain needs the creators domain open first (its lifespan before this one)")
    state = LiveState(hub, web.engine, web.settings, creators, sqlite)
    app.state[STATE_KEY] = state
    try:
        if sqlite:
            with attach_local(web.settings.database_url, hub):
                yield
        else:
            state.listener = PostgresChangeListener(web.settings.database_url, hub)
            await state.listener.start()
            try:
                yield
            finally:
                await state.listener.aclose()
    finally:
        await state.aclose()
        del app.state[STATE_KEY]


def live_state(connection: ASGIConnection[Any, Any, Any, Any] | Litestar) -> LiveState:
    app = connection if isinstance(connection, Litestar) else connection.app
    state = app.state.get(STATE_KEY)
    if not isinstance(state, LiveState):
        raise RuntimeError("the live domain is not open: the app is not started (run it with its lifespan)")
    return state
