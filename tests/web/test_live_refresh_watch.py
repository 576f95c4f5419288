"""Stale creators are refreshed while someone is looking: while a live stream of the agency is open, its watcher
queues a refresh of each creator in the stream's scope whose stats are older than ``ONYX_REFRESH_ON_VIEW_AFTER``
(the creators domain's runner: its rate budget and concurrency bound), once per creator, and none for a fresh one
or one outside the scope. On SQLite and PostgreSQL, the app served by uvicorn over an in-process Fanvue sandbox."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from live_kit import BOUND, Stream, save_followers, write
from sqlalchemy import select
from stats_kit import START, StatsWorld, make_world
from web_helpers import Served

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import refresh_runs
from onyx_core.accounts.model import Role
from onyx_core.ids import AgencyId
from onyx_web.live.state import live_state

ACTIVE = {"queued", "running"}


def _runs(world: StatsWorld) -> list[tuple[str | None, str, str]]:
    """The agency's refresh runs: (creator, trigger, state)."""

    async def read() -> list[tuple[str | None, str, str]]:
        engine = create_engine(world.env.url)
        try:
            async with engine.connect() as conn:
                query = select(refresh_runs.c.creator_id, refresh_runs.c.trigger, refresh_runs.c.state).where(
                    refresh_runs.c.agency_id == world.agency.id
                )
                return [(r[0], r[1], r[2]) for r in (await conn.execute(query)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _settled(world: StatsWorld, ticks: int) -> list[tuple[str | None, str, str]]:
    """The runs once the agency's watcher has ticked ``ticks`` times and no run is active."""
    deadline = time.monotonic() + 2 * BOUND
    watches = live_state(world.app).watches
    while True:
        watch = watches.get(AgencyId(world.agency.id))
        runs = _runs(world)
        if watch is not None and watch.refreshes >= ticks and not any(state in ACTIVE for *_, state in runs):
            return runs
        assert time.monotonic() < deadline, f"the watcher did not settle: {runs}"
        time.sleep(0.05)


def test_the_watcher_refreshes_the_stale_creators_in_view_and_not_the_fresh(database_url: str) -> None:
    world = make_world(database_url, creators=3, live_refresh_every=0.1, live_heartbeat=0.3)
    stale, fresh, unseen = world.creators
    write(world.env.url, save_followers(stale, 10, at=START - timedelta(minutes=10)))
    write(world.env.url, save_followers(fresh, 10, at=START - timedelta(seconds=30)))
    write(world.env.url, save_followers(unseen, 10, at=START - timedelta(minutes=10)))
    viewer = world.tenancy.session(world.tenancy.member(world.agency, Role.VIEWER, frozenset({stale, fresh})))
    with Served(world.app) as served, Stream(f"{served.base}/api/events", viewer.headers()):
        runs = _settled(world, ticks=3)
    # one run for the stale creator, however many ticks; none for the fresh one, none outside the viewer's scope
    assert runs == [(stale, "view", "succeeded")]
    assert world.records(stale)["followers"].latest_at == START  # refreshed from the sandbox (its clock: START)


def test_no_stream_no_refresh(database_url: str) -> None:
    world = make_world(database_url, creators=1, live_refresh_every=0.1, live_heartbeat=0.3)
    write(world.env.url, save_followers(world.creators[0], 10, at=START - timedelta(minutes=10)))
    with Served(world.app):
        time.sleep(0.5)  # five of the watcher's periods, had it been started
        assert live_state(world.app).watches == {}
    assert _runs(world) == []
