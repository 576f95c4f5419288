"""Live updates (``GET /api/events``, docs/live.md), on SQLite and PostgreSQL, against the app served by uvicorn:
a committed write through the real repositories reaches an open stream within :data:`~live_kit.BOUND` seconds
(on PostgreSQL through ``NOTIFY``: the write's engine is not the app's, as another process's would be); a rolled-back
write sends nothing; a viewer limited to one creator never hears of another; a writer this process cannot hear
reaches SQLite streams through the counters' check; the PostgreSQL listener comes back after losing its connection
and tells every stream to read again; the stream answers 401 without a session and 406 to a client that does not
ask for an event stream; and one watcher per agency lives exactly while its streams do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from auth_kit import HASHER, Env, client
from live_kit import BOUND, EVENTS, Stream, insert_tip, save_followers, write
from sqlalchemy import text, update
from tenancy_kit import Agency, Tenancy
from web_helpers import Served, web_settings

from onyx_adapters.live import APPLICATION_NAME, ChangeHub
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import creators
from onyx_core.accounts.model import Role
from onyx_core.ids import AgencyId
from onyx_core.testing.fakes import ManualClock
from onyx_web.app import create_app
from onyx_web.live.state import LiveState, live_state

LIVE = {"live_heartbeat": 0.3, "live_check_every": 3600.0, "live_refresh_every": 0}
"""Short beats so that a closed stream notices at once; no check of the counters on SQLite (a change must come by
the commit's own announcement) but in the test of that check; no Fanvue here, so no refreshes."""


class World:
    def __init__(self, url: str, **settings: float) -> None:
        from datetime import UTC, datetime  # noqa: PLC0415

        clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
        app = create_app(web_settings(url, **{**LIVE, **settings}), clock=clock, hasher=HASHER)
        self.env = Env(url, clock, app)
        self.tenancy = Tenancy(self.env)
        self.agency: Agency = self.tenancy.agency("Live")
        self.x = self.tenancy.creator(self.agency, "xena")
        self.y = self.tenancy.creator(self.agency, "yara")
        self.owner = self.tenancy.session(self.agency.owner_email)

    def live(self) -> LiveState:
        return live_state(self.env.app)

    def hub(self) -> ChangeHub:
        return self.live().hub


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[World, Served]]:
    w = World(database_url)
    with Served(w.env.app) as served:
        yield w, served


def _stream(served: Served, headers: dict[str, str]) -> Stream:
    return Stream(f"{served.base}/api/events", headers)


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["stats", "ledger"])
def test_a_committed_write_reaches_an_open_stream(world: tuple[World, Served], kind: str) -> None:
    w, served = world
    with _stream(served, w.owner.headers()) as stream:
        started = time.monotonic()
        write(w.env.url, save_followers(w.x, 100) if kind == "stats" else insert_tip(w.x))
        change = stream.next_change()
        took = time.monotonic() - started
    assert change == {"creator_ids": [w.x], "agency": False}
    assert took < BOUND


def test_a_rolled_back_write_sends_nothing(world: tuple[World, Served]) -> None:
    w, served = world
    with _stream(served, w.owner.headers()) as stream:
        write(w.env.url, insert_tip(w.y), commit=False)
        write(w.env.url, save_followers(w.y, 5), commit=False)
        write(w.env.url, save_followers(w.x, 7))
        # the first change heard is the committed one: the rolled-back writes (made before it) sent nothing
        assert stream.next_change() == {"creator_ids": [w.x], "agency": False}
        assert not [e for e in list(stream.events.queue) if e.get("event") == "change"]


def test_a_viewer_limited_to_one_creator_hears_nothing_of_another(world: tuple[World, Served]) -> None:
    w, served = world
    viewer = w.tenancy.session(w.tenancy.member(w.agency, Role.VIEWER, frozenset({w.x})))
    other = Tenancy(w.env)
    bravo = other.agency("Bravo")
    b_creator = other.creator(bravo)
    b_owner = other.session(bravo.owner_email)
    with (
        _stream(served, viewer.headers()) as seen,
        _stream(served, w.owner.headers()) as owner,
        _stream(served, b_owner.headers()) as b,
    ):
        write(w.env.url, save_followers(w.y, 11))
        assert owner.next_change() == {"creator_ids": [w.y], "agency": False}
        write(w.env.url, save_followers(w.x, 12))
        assert owner.next_change() == {"creator_ids": [w.x], "agency": False}
        # Y's change was published before X's: the viewer's first change is X's, so Y's never reached her
        assert seen.next_change() == {"creator_ids": [w.x], "agency": False}
        write(w.env.url, save_followers(b_creator, 13))
        assert b.next_change() == {"creator_ids": [b_creator], "agency": False}  # only agency B's own
    for text_seen in (list(seen.events.queue), list(b.events.queue)):
        assert w.y not in repr(text_seen)


def test_a_write_this_process_cannot_hear_reaches_a_sqlite_stream_by_the_check(database_url: str) -> None:
    """On SQLite, a writer in another process publishes to its own process only: the web's check of the counters
    finds the creator whose counter moved. (A plain UPDATE of the counter on an engine of the test's: the app's
    hub hears nothing of it.) On PostgreSQL the same write reaches the stream only if it notifies: it does not."""
    w = World(database_url, live_check_every=0.2)

    async def bump_elsewhere() -> None:
        engine = create_engine(w.env.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(creators).where(creators.c.id == w.y).values(data_version=creators.c.data_version + 1)
                )
        finally:
            await engine.dispose()

    with Served(w.env.app) as served, _stream(served, w.owner.headers()) as stream:
        asyncio.run(bump_elsewhere())
        if w.env.url.startswith("sqlite"):
            assert stream.next_change() == {"creator_ids": [w.y], "agency": False}
        else:
            write(w.env.url, save_followers(w.x, 3))
            assert stream.next_change() == {"creator_ids": [w.x], "agency": False}


def test_the_postgresql_listener_reconnects_and_tells_every_stream_to_read_again(postgresql_database: str) -> None:
    """PostgreSQL only: SQLite has no listener to lose."""
    w = World(postgresql_database)
    with Served(w.env.app) as served:
        _reconnects(w, served)


def _reconnects(w: World, served: Served) -> None:
    listener = w.live().listener
    assert listener is not None
    assert listener.connections == 1

    async def kill_listener() -> int:
        engine = create_engine(w.env.url)
        try:
            async with engine.begin() as conn:
                query = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name")
                return len((await conn.execute(query, {"name": APPLICATION_NAME})).all())
        finally:
            await engine.dispose()

    with _stream(served, w.owner.headers()) as stream:
        assert asyncio.run(kill_listener()) >= 1
        assert stream.next_change(timeout=10) == {"creator_ids": [], "agency": True}
        assert listener.connections >= 2
        write(w.env.url, save_followers(w.x, 21))  # and it listens again
        assert stream.next_change() == {"creator_ids": [w.x], "agency": False}


def test_one_watcher_per_agency_while_its_streams_are_open(world: tuple[World, Served]) -> None:
    w, served = world
    agency = AgencyId(w.agency.id)
    first = _stream(served, w.owner.headers()).start()
    second = _stream(served, w.owner.headers()).start()
    assert w.hub().subscribers(agency) == 2
    assert list(w.live().watches) == [agency]
    assert len(w.live().watches[agency].watchers) == 2
    first.close()
    _wait(lambda: w.hub().subscribers(agency) == 1, "the first stream's subscription was not dropped")
    assert list(w.live().watches) == [agency]
    second.close()
    _wait(lambda: w.hub().subscribers(agency) == 0, "the second stream's subscription was not dropped")
    _wait(lambda: not w.live().watches, "the watcher outlived its streams")


def test_heartbeats_and_the_retry_hint(world: tuple[World, Served]) -> None:
    w, served = world
    with _stream(served, w.owner.headers()) as stream:
        beat = stream.events.get(timeout=BOUND)
    assert beat == {"comments": "heartbeat"}


def test_no_session_is_a_401_problem_and_a_plain_client_a_406(world: tuple[World, Served]) -> None:
    w, served = world
    with httpx.Client(base_url=served.base, timeout=BOUND) as http:
        anonymous = http.get("/api/events", headers=EVENTS)
        plain = http.get("/api/events", headers=w.owner.headers())
        made_up = http.get("/api/events", headers={**EVENTS, "Authorization": "Bearer onyx_pat_made-up"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert made_up.status_code == 401
    assert plain.status_code == 406
    assert plain.headers["content-type"] == "application/problem+json"


def test_an_api_token_opens_a_stream(database_url: str) -> None:
    w = World(database_url)
    token = w.env.api_token(w.env.owner())
    with client(w.env.app) as c:  # the test client cannot stream: it shows the route accepts the token
        refused = c.get("/api/events", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 406


def test_a_write_of_this_process_is_announced_once_on_sqlite(database_url: str) -> None:
    """The commit announces it; the check of the counters (every 0.1 s here) knows the counters that commit left
    and does not announce it again. On PostgreSQL there is no check: one NOTIFY, one event."""
    w = World(database_url, live_check_every=0.1)
    with Served(w.env.app) as served, _stream(served, w.owner.headers()) as stream:
        write(w.env.url, save_followers(w.x, 1))
        assert stream.next_change() == {"creator_ids": [w.x], "agency": False}
        time.sleep(0.6)  # six checks
        assert [e for e in list(stream.events.queue) if e.get("event") == "change"] == []
