"""Creators and live stats on SQLite and PostgreSQL, against the in-process Fanvue sandbox: the list with stats
(filter, sort by a stat with no value last, key paging with ``Link``), one creator's stats with freshness and why,
provenance events, refresh one / refresh-all with progress in the database, one refresh-all per agency across
processes, refresh-on-view (queued once, never waited for), the response cache (a hit, and dropped after a
refresh), and who may do what (404 for another agency's ids, 403 for a role without the right, 4xx for bad input
with nothing written)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from auth_kit import client, make_env
from litestar.testing import TestClient
from stats_kit import START, StatsWorld, advance, drain, make_world, state_of
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts.model import Role
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.refresh import RefreshAlreadyRunningError, RefreshRun, RunKind, RunState, RunTrigger
from onyx_core.stats import Metric, MetricRecord, MetricState, MissingReason, PendingCliff
from onyx_web.creators import routes as creators_routes
from onyx_web.creators import state as creators_state_module
from onyx_web.errors import PROBLEM_JSON

METRICS = {m.value for m in Metric}


@pytest.fixture
def world(database_url: str) -> StatsWorld:
    return make_world(database_url)


def _refresh_all(c: TestClient[Any], world: StatsWorld, headers: dict[str, str]) -> Any:
    return c.post("/api/refresh-all", headers=headers)


def _run_of(c: TestClient[Any], location: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = c.get(location, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_refresh_all_fills_the_list_and_the_list_sorts_filters_and_pages(world: StatsWorld) -> None:
    owner = world.tenancy.session(world.agency.owner_email)
    with client(world.app) as c:
        before = c.get("/api/creators", headers=owner.headers())
        assert before.status_code == 200
        assert {item["id"] for item in before.json()} == set(world.creators)
        for item in before.json():  # never refreshed: every number unknown, and said why; never a 0
            assert set(item["stats"]) == METRICS
            assert item["refreshed_at"] is None
            for metric in item["stats"].values():
                assert metric["value"] is None
                assert metric["missing_reason"] == "never_observed"

        started = _refresh_all(c, world, owner.headers(unsafe=True))
        assert started.status_code == 202, started.text
        run = started.json()
        assert (run["kind"], run["trigger"], run["total"]) == ("agency", "manual", 3)
        assert started.headers["location"] == f"/api/refresh-runs/{run['id']}"
        drain(c)
        ended = _run_of(c, started.headers["location"], owner.headers())
        assert (ended["state"], ended["done"], ended["failed"], ended["total"]) == ("succeeded", 3, 0, 3)
        assert ended["started_at"] is not None
        assert ended["finished_at"] is not None

        # the cached list of before the refresh is gone: the same query now shows the stored values
        after = c.get("/api/creators", headers=owner.headers()).json()
        for item in after:
            stored = world.records(item["id"])
            assert item["refreshed_at"] is not None
            for name, metric in item["stats"].items():
                record = stored.get(name)
                assert metric["value"] == (None if record is None else record.value)
                if metric["value"] is None:
                    assert metric["missing_reason"] is not None
            assert item["stats"]["revenue_total"]["currency"] == "USD"

        _check_queries(c, world, owner.headers(), after)
        _check_one_creator(c, world, owner.headers())


def _check_queries(c: TestClient[Any], world: StatsWorld, headers: dict[str, str], after: list[Any]) -> None:
    """Sort by a stat descending with no value last, key pages through ``Link``, and the filters."""
    values = {item["id"]: item["stats"]["subscribers"]["value"] for item in after}
    expected = sorted(
        world.creators, key=lambda cid: (values[cid] is None, -(values[cid] or 0), cid)
    )  # descending, no value last
    first = c.get("/api/creators?sort=-subscribers&limit=2", headers=headers)
    assert first.status_code == 200
    assert first.headers["x-total-count"] == "3"
    assert [i["id"] for i in first.json()] == expected[:2]
    next_url = first.links["next"]["url"]
    second = c.get(next_url, headers=headers)
    assert [i["id"] for i in second.json()] == expected[2:]
    assert "link" not in second.headers

    handle = after[0]["handle"]
    found = c.get(f"/api/creators?q={handle.upper()}", headers=headers).json()
    assert handle in [i["handle"] for i in found]
    assert all(handle.casefold() in (i["handle"] + i["display_name"]).casefold() for i in found)
    assert len(c.get("/api/creators?connection=none", headers=headers).json()) == 3
    assert c.get("/api/creators?connection=active", headers=headers).json() == []
    stale = c.get("/api/creators?stale=true", headers=headers).json()
    assert {i["id"] for i in stale} == {i["id"] for i in after if i["stale"]}
    by_name = [i["display_name"] for i in c.get("/api/creators?sort=-name", headers=headers).json()]
    assert by_name == sorted(by_name, key=str.casefold, reverse=True)


def _check_one_creator(c: TestClient[Any], world: StatsWorld, headers: dict[str, str]) -> None:
    """One creator: her stats (fresh: no refresh queued) and their provenance, paged."""
    creator_id = world.creators[0]
    stats = c.get(f"/api/creators/{creator_id}/stats", headers=headers)
    assert stats.status_code == 200
    body = stats.json()
    assert body["refresh"] == {"queued": False, "reason": "fresh", "run": None}
    assert set(body["metrics"]) >= METRICS
    stored = world.records(creator_id)
    for name, record in stored.items():
        assert body["metrics"][name]["value"] == record.value
        assert body["metrics"][name]["source"] == record.source
    events = c.get(f"/api/creators/{creator_id}/stats/events", headers=headers)
    assert events.status_code == 200
    listed = events.json()["events"]
    assert listed
    assert [e["id"] for e in listed] == sorted((e["id"] for e in listed), reverse=True)
    assert {e["kind"] for e in listed} >= {"applied"}
    one = c.get(f"/api/creators/{creator_id}/stats/events?limit=1", headers=headers).json()
    assert one["events"] == listed[:1]
    older = c.get(
        f"/api/creators/{creator_id}/stats/events?limit=1&before={one['next_before']}", headers=headers
    ).json()
    assert older["events"] == listed[1:2]
    only = c.get(f"/api/creators/{creator_id}/stats/events?metric=subscribers", headers=headers).json()
    assert only["events"]
    assert {e["metric"] for e in only["events"]} == {"subscribers"}


def test_one_refresh_all_per_agency_even_from_another_process(world: StatsWorld) -> None:
    owner = world.tenancy.session(world.agency.owner_email)
    now = world.sandbox.clock.now()

    def run(run_id: str) -> RefreshRun:
        return RefreshRun(
            run_id,
            AgencyId(world.agency.id),
            RunKind.AGENCY,
            RunTrigger.MANUAL,
            None,
            MemberId(world.agency.owner_id),
            RunState.QUEUED,
            3,
            now,
            now,
        )

    async def race() -> list[str]:
        """20 processes' worth of connections ask at once: the database lets one through."""
        engines = [create_engine(world.env.url) for _ in range(20)]
        try:
            from onyx_adapters.sql.refresh_runs import SqlRefreshRunStore  # noqa: PLC0415

            async def one(i: int, e: Any) -> str:
                try:
                    await SqlRefreshRunStore(e).begin(run(f"race-{i}"), abandoned_before=now - timedelta(minutes=10))
                except RefreshAlreadyRunningError as already:
                    return f"lost to {already.running.id}"
                return "won"

            return list(await asyncio.gather(*(one(i, e) for i, e in enumerate(engines))))
        finally:
            for e in engines:
                await e.dispose()

    answers = asyncio.run(race())
    assert answers.count("won") == 1
    winner = f"race-{answers.index('won')}"
    assert all(a in ("won", f"lost to {winner}") for a in answers)
    runs_before = world.run_count()
    with client(world.app) as c:
        refused = _refresh_all(c, world, owner.headers(unsafe=True))
        assert refused.status_code == 409
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.headers["location"] == f"/api/refresh-runs/{winner}"
        assert world.run_count() == runs_before  # nothing written
        # the other process died: after a lease without progress the key is free again
        advance(world, 11)
        taken = _refresh_all(c, world, owner.headers(unsafe=True))
        assert taken.status_code == 202, taken.text
        drain(c)
        assert _run_of(c, f"/api/refresh-runs/{winner}", owner.headers())["state"] == "interrupted"
        assert _run_of(c, taken.headers["location"], owner.headers())["state"] == "succeeded"


def test_refresh_on_view_queues_once_and_never_waits(world: StatsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = world.tenancy.session(world.tenancy.member(world.agency, Role.VIEWER))
    creator_id = world.creators[0]
    gate = threading.Event()
    real = creators_state_module.execute_refresh_run

    async def held(*args: Any, **kwargs: Any) -> RunState:
        # the refresh cannot start before the test lets it: an answer that waited for it would never come
        await asyncio.to_thread(gate.wait, 30)
        return await real(*args, **kwargs)

    monkeypatch.setattr(creators_state_module, "execute_refresh_run", held)
    with client(world.app) as c:
        first = c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers())
        assert first.status_code == 200
        queued = first.json()["refresh"]
        assert queued["queued"] is True
        assert queued["reason"] == "queued"
        assert queued["run"]["state"] == "queued"
        assert queued["run"]["trigger"] == "view"
        assert state_of(c).runner.running == 1
        again = c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers()).json()["refresh"]
        assert again["queued"] is False
        assert again["reason"] == "running"
        assert again["run"]["id"] == queued["run"]["id"]
        assert world.run_count() == 1
        gate.set()
        drain(c)
        fresh = c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers()).json()
        assert fresh["refresh"]["reason"] == "fresh"
        assert fresh["refreshed_at"] is not None
        advance(world, 1.9)
        assert c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers()).json()["refresh"]["queued"] is False
        advance(world, 0.2)  # 2 min 6 s after the refresh: older than the default 2 min
        later = c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers()).json()["refresh"]
        assert later["queued"] is True
        drain(c)
    assert world.run_count() == 2


def test_refresh_on_view_age_is_a_setting(database_url: str) -> None:
    world = make_world(database_url, creators=1, refresh_on_view_after=0)
    owner = world.tenancy.session(world.agency.owner_email)
    with client(world.app) as c:
        answer = c.get(f"/api/creators/{world.creators[0]}/stats", headers=owner.headers()).json()
    assert answer["refresh"] == {"queued": False, "reason": "disabled", "run": None}
    assert world.run_count() == 0


def test_the_list_is_cached_per_scope_and_dropped_when_stats_are_stored(
    world: StatsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = world.tenancy.session(world.agency.owner_email)
    mine = world.creators[0]
    scoped = world.tenancy.session(world.tenancy.member(world.agency, Role.MANAGER, frozenset({mine})))
    reads: list[str] = []
    real = creators_routes.list_creators_with_stats

    async def counted(uow: Any, principal: Any) -> Any:
        reads.append(principal.member.email)
        return await real(uow, principal)

    monkeypatch.setattr(creators_routes, "list_creators_with_stats", counted)
    with client(world.app) as c:
        cached = c.get("/api/creators", headers=owner.headers()).json()
        assert c.get("/api/creators", headers=owner.headers()).json() == cached
        assert len(reads) == 1  # the second answer was the cache's
        # the scoped manager's answer is her own, whatever the owner's cached one holds
        assert [i["id"] for i in c.get("/api/creators", headers=scoped.headers()).json()] == [mine]
        assert len(reads) == 2
        assert len(state_of(c).cache) == 2

        async def sync_elsewhere() -> None:
            """Another process (a scheduled sync) stores a number: this process's refreshes never saw it."""
            engine = create_engine(world.env.url)
            try:
                async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                    state = MetricState(value=777, observed_at=START, source="test")
                    record = MetricRecord(Metric.FOLLOWERS, state, state, (), START)
                    await uow.stats.save(CreatorId(mine), {Metric.FOLLOWERS: record}, [], START)
                    await uow.commit()
            finally:
                await engine.dispose()

        asyncio.run(sync_elsewhere())
        synced = {i["id"]: i for i in c.get("/api/creators", headers=owner.headers()).json()}
        assert len(reads) == 3
        assert synced[mine]["stats"]["followers"]["value"] == 777

        refreshed = c.post(f"/api/creators/{mine}/refresh", headers=scoped.headers(unsafe=True))
        assert refreshed.status_code == 202, refreshed.text
        assert refreshed.json()["kind"] == "creator"
        drain(c)
        after = {i["id"]: i for i in c.get("/api/creators", headers=owner.headers()).json()}
        assert len(reads) == 4
        assert after[mine]["refreshed_at"] is not None
        assert after[mine]["stats"]["followers"]["value"] == world.records(mine)[Metric.FOLLOWERS].value
        assert after[mine]["stats"]["subscribers"]["value"] == world.records(mine)[Metric.SUBSCRIBERS].value

        # Fanvue's number moves and a refresh at the same instant stores it over the same rows (the stats stamp does
        # not move): the refresh's own hook drops the cached list
        followers = after[mine]["stats"]["followers"]["value"]
        world.sandbox.world.set_followers(mine, followers + 5)
        again = c.post(f"/api/creators/{mine}/refresh", headers=scoped.headers(unsafe=True))
        assert again.status_code == 202, again.text
        drain(c)
        latest = {i["id"]: i for i in c.get("/api/creators", headers=owner.headers()).json()}
        assert latest[mine]["stats"]["followers"]["value"] == followers + 5


def test_who_may_refresh_and_bad_input(world: StatsWorld) -> None:
    a = world.agency
    t = world.tenancy
    x, y = world.creators[0], world.creators[1]
    viewer = t.session(t.member(a, Role.VIEWER))
    manager = t.session(t.member(a, Role.MANAGER, frozenset({x})))
    b = t.agency("Bravo")
    b_owner = t.session(b.owner_email)
    owner = t.session(a.owner_email)
    with client(world.app) as c:
        for answer in (
            c.post("/api/refresh-all", headers=viewer.headers(unsafe=True)),
            c.post(f"/api/creators/{x}/refresh", headers=viewer.headers(unsafe=True)),
        ):
            assert answer.status_code == 403
            assert answer.headers["content-type"] == PROBLEM_JSON
        for answer in (
            c.post(f"/api/creators/{y}/refresh", headers=manager.headers(unsafe=True)),  # outside her scope
            c.post(f"/api/creators/{x}/refresh", headers=b_owner.headers(unsafe=True)),  # another agency's
            c.get(f"/api/creators/{x}/stats", headers=b_owner.headers()),
            c.get(f"/api/creators/{x}/stats/events", headers=b_owner.headers()),
        ):
            assert answer.status_code == 404
            assert x not in answer.text
        assert c.post("/api/refresh-all", headers=manager.headers()).status_code == 403  # no CSRF token
        assert world.run_count() == 0  # nothing written by any of those
        assert c.get("/api/creators", headers=b_owner.headers()).json() == []

        for bad in (
            "/api/creators?limit=0",
            "/api/creators?limit=201",
            "/api/creators?limit=ten",
            "/api/creators?connection=maybe",
            f"/api/creators/{x}/stats/events?limit=0",
            f"/api/creators/{x}/stats/events?before=0",
            # NUL in text: PostgreSQL refuses it in a string (a 500 before; W2 found it in metric)
            "/api/creators?q=a%00b",
            "/api/creators?cursor=a%00b",
            f"/api/creators/{x}/stats/events?metric=a%00b",
        ):
            answer = c.get(bad, headers=owner.headers())
            assert answer.status_code == 400, bad
            assert answer.headers["content-type"] == PROBLEM_JSON
        for bad in (
            "/api/creators?sort=tips",
            "/api/creators?cursor=not-a-cursor",
            "/api/creators?sort=name&cursor=" + _cursor_of(c, owner.headers()),
            f"/api/creators/{x}/stats/events?metric=tips",
        ):
            answer = c.get(bad, headers=owner.headers())
            assert answer.status_code == 422, bad
            assert answer.headers["content-type"] == PROBLEM_JSON
        assert world.run_count() == 0

        # a manager limited to X refreshes her scope only, and reads her own run
        mine = c.post("/api/refresh-all", headers=manager.headers(unsafe=True))
        assert mine.status_code == 202, mine.text
        assert mine.json()["total"] == 1
        drain(c)
        assert _run_of(c, mine.headers["location"], manager.headers())["done"] == 1
        # the owner's refresh-all is no business of a viewer limited to X (it covers creators she may not see)
        everyone = c.post("/api/refresh-all", headers=owner.headers(unsafe=True))
        assert everyone.json()["total"] == 3
        drain(c)
        limited = t.session(t.member(a, Role.VIEWER, frozenset({x})))
        assert c.get(everyone.headers["location"], headers=limited.headers()).status_code == 404
        assert c.get(everyone.headers["location"], headers=viewer.headers()).status_code == 200
        assert c.get(everyone.headers["location"], headers=b_owner.headers()).status_code == 404


def _cursor_of(c: TestClient[Any], headers: dict[str, str]) -> str:
    """A cursor another query (sorted by handle) gave."""
    answer = c.get("/api/creators?sort=handle&limit=1", headers=headers)
    return str(answer.links["next"]["url"]).rsplit("cursor=", 1)[1]


def test_without_a_fanvue_app_nothing_refreshes(database_url: str) -> None:
    env = make_env(database_url)
    from tenancy_kit import Tenancy  # noqa: PLC0415

    t = Tenancy(env)
    a = t.agency("Alpha")
    x = t.creator(a)
    owner = t.session(a.owner_email)

    async def store_held_and_stale() -> None:
        """Subscribers 120 with a drop to 3 held for confirmation; followers never read, the last try timed out."""
        engine = create_engine(env.url)
        try:
            held = PendingCliff(3, START, START + timedelta(minutes=1), "fanvue:/insights")
            subscribers = MetricState(120, START, "fanvue:/insights", held)
            followers = MetricState(stale_since=START, stale_reason=MissingReason.TIMEOUT)
            records = {
                Metric.SUBSCRIBERS.value: MetricRecord(Metric.SUBSCRIBERS, subscribers, subscribers, (), START),
                Metric.FOLLOWERS.value: MetricRecord(Metric.FOLLOWERS, followers, followers, (), START),
            }
            async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                await uow.stats.save(CreatorId(x), records, [], START)
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(store_held_and_stale())
    with client(env.app) as c:
        view = c.get(f"/api/creators/{x}/stats", headers=owner.headers())
        assert view.status_code == 200
        assert view.json()["refresh"]["reason"] == "unavailable"
        metrics = view.json()["metrics"]
        assert metrics["subscribers"]["value"] == 120
        assert metrics["subscribers"]["held"] == {
            "value": 3,
            "first_observed_at": "2026-12-03T09:00:00Z",
            "last_observed_at": "2026-12-03T09:01:00Z",
            "source": "fanvue:/insights",
        }
        assert metrics["subscribers"]["missing_reason"] is None
        assert metrics["followers"]["value"] is None
        assert metrics["followers"]["stale"] is True
        assert metrics["followers"]["stale_reason"] == "timeout"
        assert metrics["followers"]["missing_reason"] == "timeout"
        assert metrics["posts"]["value"] is None
        assert metrics["posts"]["missing_reason"] == "never_observed"
        listed = c.get("/api/creators?stale=true", headers=owner.headers()).json()
        assert [i["id"] for i in listed] == [x]
        assert listed[0]["stats"] == metrics
        for answer in (
            c.post(f"/api/creators/{x}/refresh", headers=owner.headers(unsafe=True)),
            c.post("/api/refresh-all", headers=owner.headers(unsafe=True)),
        ):
            assert answer.status_code == 409
            assert answer.headers["content-type"] == PROBLEM_JSON
            assert "location" not in answer.headers
            assert "no Fanvue app" in answer.json()["detail"]


def test_concurrent_refresh_alls_start_one_run(world: StatsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """8 refresh-all requests at once (the first run held until all have answered): one 202, seven 409 naming it."""
    owner = world.tenancy.session(world.agency.owner_email)
    gate = threading.Event()
    real = creators_state_module.execute_refresh_run

    async def held(*args: Any, **kwargs: Any) -> RunState:
        await asyncio.to_thread(gate.wait, 30)
        return await real(*args, **kwargs)

    monkeypatch.setattr(creators_state_module, "execute_refresh_run", held)
    with client(world.app) as c, ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _refresh_all(c, world, owner.headers(unsafe=True)), range(8)))
        gate.set()
        drain(c)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [202] + [409] * 7
        started = next(a for a in answers if a.status_code == 202)
        assert {a.headers["location"] for a in answers} == {started.headers["location"]}
        assert _run_of(c, started.headers["location"], owner.headers())["state"] == "succeeded"
    assert world.run_count() == 1


def test_a_burst_of_views_runs_at_most_the_policy_s_concurrency_of_refreshes(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(database_url, creators=6)
    viewer = world.tenancy.session(world.tenancy.member(world.agency, Role.VIEWER))
    gate, four_in = threading.Event(), threading.Event()
    lock = threading.Lock()
    inside: list[int] = [0, 0]  # now, most
    real = creators_state_module.execute_refresh_run

    async def counted(*args: Any, **kwargs: Any) -> RunState:
        with lock:
            inside[0] += 1
            inside[1] = max(inside)
            if inside[0] == 4:
                four_in.set()
        try:
            await asyncio.to_thread(gate.wait, 30)
            return await real(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(creators_state_module, "execute_refresh_run", counted)
    with client(world.app) as c:
        for creator_id in world.creators:
            answer = c.get(f"/api/creators/{creator_id}/stats", headers=viewer.headers())
            assert answer.json()["refresh"]["queued"] is True
        assert four_in.wait(30)
        assert state_of(c).runner.running == 6
        gate.set()
        drain(c)
    assert inside[1] == 4  # SyncPolicy.concurrency: the other two waited their turn
    assert world.run_count() == 6
