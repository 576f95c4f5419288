"""The heartbeat endpoint and the re-sync of a creator against an in-process sandbox, on SQLite and PostgreSQL.

Each test has a fresh database of its own: the heartbeat's lease and the tick's work are deployment-wide (every
agency), so a database shared with other tests would decide what these see. The concurrency tests run two apps
(two engines and pools, as two processes would have) on one database, 10 calls each at once: the lease row is all
they share."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import psycopg
from auth_kit import PASSWORD
from litestar import Litestar
from litestar.testing import AsyncTestClient
from ops_kit import (  # noqa: F401
    HEARTBEAT_SECRET,
    OpsWorld,
    fresh_url_fixture,
    postgresql_template_fixture,
    sqlite_template_fixture,
    world_fixture,
)

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.leases import SqlLeases
from onyx_core.accounts.tokens import csrf_token_for

BASE = "https://testserver.local"
BEAT = {"Authorization": f"Bearer {HEARTBEAT_SECRET}"}


async def _owner_headers(c: AsyncTestClient[Litestar], email: str) -> dict[str, str]:
    login = await c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    secret = login.cookies["__Host-onyx_session"]
    c.cookies.clear()
    return {"Cookie": f"__Host-onyx_session={secret}", "X-CSRF-Token": csrf_token_for(secret)}


async def _lease_row(url: str) -> Any:
    engine = create_engine(url)
    try:
        return await SqlLeases(engine).read("heartbeat")
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------------- heartbeat


async def test_twenty_concurrent_heartbeats_run_one_tick(world: OpsWorld) -> None:
    first, second = world.app(), world.app()
    async with (
        AsyncTestClient(first, base_url=BASE, raise_server_exceptions=False) as a,
        AsyncTestClient(second, base_url=BASE, raise_server_exceptions=False) as b,
    ):
        answers = await asyncio.gather(*(c.post("/ops/heartbeat", headers=BEAT) for c in [a, b] * 10))
    statuses = [(r.status_code, r.json()["status"]) for r in answers]
    ran = [r.json() for r in answers if r.json()["status"] == "ran"]
    assert len(ran) == 1, [r.text[:400] for r in answers if r.status_code != 202]
    assert all(s in {(200, "ran"), (202, "running"), (200, "recent")} for s in statuses), statuses
    assert sorted(ran[0]["report"]["synced"]) == world.creators
    # each creator's stats were fetched once: one tick's work, not 20
    assert world.served_to("/account") == len(world.creators)
    row = await _lease_row(world.url)
    assert row is not None
    assert not row.running


async def test_a_later_heartbeat_goes_on_where_the_last_tick_stopped(world: OpsWorld) -> None:
    async with AsyncTestClient(world.app(), base_url=BASE, raise_server_exceptions=False) as c:
        one = (await c.post("/ops/heartbeat", headers=BEAT)).json()
        again = await c.post("/ops/heartbeat", headers=BEAT)  # within the spacing: the same report
        world.sandbox.advance(timedelta(minutes=2))
        two = (await c.post("/ops/heartbeat", headers=BEAT)).json()
        world.sandbox.advance(timedelta(minutes=3))
        three = (await c.post("/ops/heartbeat", headers=BEAT)).json()
    assert one["status"] == "ran"
    assert one["report"]["maintenance"] is not None
    assert one["report"]["imports"] == {world.agency: len(world.creators)}
    assert again.status_code == 200
    assert again.json()["status"] == "recent"
    assert again.json()["report"] == one["report"]
    # minute 2: stats are due again; maintenance (every 5 min) and the import (hourly) are not, as in onyx schedule
    assert two["status"] == "ran"
    assert sorted(two["report"]["synced"]) == world.creators
    assert two["report"]["maintenance"] is None
    assert two["report"]["imports"] == {}
    # minute 5: maintenance again
    assert three["report"]["maintenance"] is not None
    assert three["report"]["imports"] == {}
    assert world.served_to("/account") == 3 * len(world.creators)


WRONG = [
    {},
    {"Authorization": "Bearer wrong-secret"},
    {"Authorization": f"Bearer {HEARTBEAT_SECRET}x"},
    {"Authorization": f"Basic {HEARTBEAT_SECRET}"},
    {"Authorization": HEARTBEAT_SECRET},
]


async def test_a_missing_or_wrong_secret_is_401_and_runs_nothing(world: OpsWorld) -> None:
    async with AsyncTestClient(world.app(), base_url=BASE, raise_server_exceptions=False) as c:
        answers = [await c.post("/ops/heartbeat", headers=headers) for headers in WRONG]
    for response in answers:
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert HEARTBEAT_SECRET not in response.text
    assert world.sandbox.requests == []
    assert await _lease_row(world.url) is None
    # without the setting the route does not exist, even for the right secret
    async with AsyncTestClient(world.app(heartbeat_secret=None), base_url=BASE) as c:
        response = await c.post("/ops/heartbeat", headers=BEAT)
    assert response.status_code == 404
    assert world.sandbox.requests == []


async def test_enqueue_mode_defers_each_due_creator_once_under_concurrent_calls(world: OpsWorld) -> None:
    if not world.url.startswith("postgresql"):  # the job queue is PostgreSQL's: said, not a 500, nothing run
        async with AsyncTestClient(world.app(heartbeat_mode="enqueue"), base_url=BASE) as c:
            response = await c.post("/ops/heartbeat", headers=BEAT)
        assert response.status_code == 503, response.text
        assert world.served_to("/account") == 0
        row = await _lease_row(world.url)
        assert row is not None
        assert not row.running  # released at once: the next call may try again
        return
    from onyx_adapters.workers import apply_queue_schema, conninfo  # noqa: PLC0415

    apply_queue_schema(world.url)
    first, second = world.app(heartbeat_mode="enqueue"), world.app(heartbeat_mode="enqueue")
    async with (
        AsyncTestClient(first, base_url=BASE, raise_server_exceptions=False) as a,
        AsyncTestClient(second, base_url=BASE, raise_server_exceptions=False) as b,
    ):
        answers = await asyncio.gather(*(c.post("/ops/heartbeat", headers=BEAT) for c in [a, b] * 10))
    ran = [r.json() for r in answers if r.json()["status"] == "ran"]
    assert len(ran) == 1, [r.text for r in answers]
    assert sorted(ran[0]["report"]["deferred"]) == world.creators
    with psycopg.connect(conninfo(world.url)) as db:
        rows = db.execute("SELECT task_name, args FROM procrastinate_jobs ORDER BY id").fetchall()
    synced = sorted(args["creator_id"] for name, args in rows if name == "onyx.sync_creator")
    assert synced == world.creators  # one job per creator, not one per call
    assert world.served_to("/account") == 0  # queued, not run here


# ---------------------------------------------------------------------------------------------------- re-sync


async def test_a_resync_runs_the_creators_jobs_now(world: OpsWorld) -> None:
    creator = world.creators[0]
    async with AsyncTestClient(world.app(), base_url=BASE, raise_server_exceptions=False) as c:
        owner = await _owner_headers(c, world.owner_email)
        response = await c.post(f"/api/ops/creators/{creator}/sync", headers=owner, json={"jobs": ["stats"]})
        everything = await c.post(f"/api/ops/creators/{creator}/sync", headers=owner)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["mode"], body["creator_id"], body["jobs"], body["partial"]) == ("run", creator, ["stats"], False)
    assert everything.status_code == 202, everything.text
    assert everything.json()["jobs"] == ["stats", "ledger", "reconcile", "history", "top_spenders", "links"]
    assert everything.json()["ledger_inserted"] > 0
    assert world.served_to("/account") == 2  # two syncs of her stats, none of the other creator's
    assert world.served_to("/insights/earnings") >= 1


async def test_a_resync_in_enqueue_mode_queues_one_job(world: OpsWorld) -> None:
    creator = world.creators[0]
    if not world.url.startswith("postgresql"):
        async with AsyncTestClient(world.app(heartbeat_mode="enqueue"), base_url=BASE) as c:
            owner = await _owner_headers(c, world.owner_email)
            response = await c.post(f"/api/ops/creators/{creator}/sync", headers=owner)
        assert response.status_code == 503  # no job queue on SQLite: said, not a 500
        return
    from onyx_adapters.workers import apply_queue_schema  # noqa: PLC0415

    apply_queue_schema(world.url)
    async with AsyncTestClient(world.app(heartbeat_mode="enqueue"), base_url=BASE) as c:
        owner = await _owner_headers(c, world.owner_email)
        first = await c.post(f"/api/ops/creators/{creator}/sync", headers=owner, json={"jobs": ["ledger"]})
        second = await c.post(f"/api/ops/creators/{creator}/sync", headers=owner, json={"jobs": ["ledger"]})
    assert first.status_code == 202, first.text
    assert first.json()["mode"] == "enqueue"
    assert isinstance(first.json()["job_id"], int)
    assert second.status_code == 202
    assert second.json()["job_id"] is None  # already waiting: it runs instead
    assert world.served_to("/account") == 0
