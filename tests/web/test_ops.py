"""The operations routes under /api/ops on SQLite and PostgreSQL: owners and admins only (permission ``operate``);
database health, connections with token expiry, rebuilding a creator's stats floor from the ledger (it raises,
never lowers), and their refusals: another agency's creator 404, a manager or viewer 403, bad input 4xx with
nothing written. The re-sync, the heartbeat and /metrics are in test_ops_sync.py and test_ops_metrics.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Agency, Tenancy, leaks
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import head
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts.model import Role
from onyx_core.ids import CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.stats import MergePolicy, Metric, MetricRecord, Ok, merge_all
from onyx_core.sync import Stream, SyncCursor


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _run(env: Env, action):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        engine = create_engine(env.url)
        try:
            return await action(sql_unit_of_work_factory(engine, FernetCipher([KEY])))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def stored_revenue(env: Env, creator: str) -> MetricRecord | None:
    async def read(uow):  # type: ignore[no-untyped-def]
        async with uow() as work:
            return (await work.stats.get(CreatorId(creator))).get(Metric.REVENUE_TOTAL.value)

    return _run(env, read)


def seed_stats(env: Env, creator: str, *, revenue: int | None, ledger_net: int, refunds_fetched: bool = True) -> None:
    """``creator``'s stored lifetime revenue (``None``: none), a ledger netting ``ledger_net`` cents and, with
    ``refunds_fetched``, cursors saying its earnings and refunds are fetched (the ledger may then be a floor)."""
    now = env.clock.now()

    async def seed(uow):  # type: ignore[no-untyped-def]
        cid = CreatorId(creator)
        async with uow() as work:
            if revenue is not None:
                records = await work.stats.get_for_update(cid)
                ok = Ok(Metric.REVENUE_TOTAL.value, revenue, now - timedelta(hours=1), "fanvue:test")
                merged, events = merge_all(records, [ok], MergePolicy(), now)
                await work.stats.save(cid, merged, events, now)
            entry = LedgerEntry(
                cid, f"k-{creator}", now - timedelta(days=1), "subscription", Money(ledger_net + 99), Money(ledger_net)
            )
            await work.ledger.upsert([entry])
            if refunds_fetched:
                for stream in (Stream.EARNINGS, Stream.REVERSALS):
                    await work.cursors.save(SyncCursor(cid, stream, now, backfilled=True, updated_at=now))
            await work.commit()

    _run(env, seed)


def _owner(t: Tenancy, label: str = "Alpha") -> tuple[Agency, dict[str, str], dict[str, str]]:
    agency = t.agency(label)
    session = t.session(agency.owner_email)
    return agency, session.headers(), session.headers(unsafe=True)


# ---------------------------------------------------------------------------------------------------- database


def test_database_health_names_the_engine_the_revision_and_the_agencys_rows_only(env: Env) -> None:
    t = Tenancy(env)
    a, read, _ = _owner(t)
    b = t.agency("Bravo")
    for _ in range(2):
        t.creator(a)
    for _ in range(3):
        t.creator(b)
    t.connection(a)
    with client(env.app) as c:
        response = c.get("/api/ops/database", headers=read)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["engine"] == ("postgresql" if env.url.startswith("postgresql") else "sqlite")
    assert body["reachable"] is True
    assert 0 <= body["latency_ms"] < 5000
    assert body["revision"] == body["head"] == head()
    assert body["migrated"] is True
    assert body["rows"]["creators"] == 2  # B's three are not hers to count
    assert body["rows"]["connections"] == 1
    assert body["rows"]["members"] == 1
    assert set(body["rows"]) >= {"ledger_entries", "creator_stats", "stats_events", "sync_cursors", "audit_log"}
    assert "://" not in response.text  # no connection URL, so no password
    assert leaks(response.text, b) == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.VIEWER])
def test_a_manager_or_viewer_cannot_run_operations(env: Env, role: Role) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    creator = t.creator(a)
    seed_stats(env, creator, revenue=100, ledger_net=500)
    member = t.session(t.member(a, role))
    with client(env.app) as c:
        answers = [
            c.get("/api/ops/database", headers=member.headers()),
            c.get("/api/ops/connections", headers=member.headers()),
            c.post(f"/api/ops/creators/{creator}/stats-floor", headers=member.headers(unsafe=True)),
            c.post(f"/api/ops/creators/{creator}/sync", headers=member.headers(unsafe=True), json={}),
        ]
    for response in answers:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    revenue = stored_revenue(env, creator)
    assert revenue is not None
    assert revenue.value == 100  # nothing ran


def test_an_admin_may_run_operations(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    admin = t.session(t.member(a, Role.ADMIN))
    with client(env.app) as c:
        assert c.get("/api/ops/database", headers=admin.headers()).status_code == 200


# ---------------------------------------------------------------------------------------------------- connections


def test_the_connections_show_their_health_and_token_expiry(env: Env) -> None:
    t = Tenancy(env)
    a, read, _ = _owner(t)
    b = t.agency("Bravo")
    luna = t.creator(a, "luna")
    agency_connection, own = t.connection(a), t.connection(a, luna)
    t.connection(b)
    with client(env.app) as c:
        response = c.get("/api/ops/connections", headers=read)
        plain = c.get("/api/connections", headers=read)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [item["connection"]["id"] for item in listed] == [agency_connection, own]
    # the same health as GET /api/connections (the same core use case), plus what operators watch
    assert [item["connection"] for item in listed] == plain.json()
    for item in listed:
        assert item["connection"]["status"] == "needs_reconsent"  # the kit's tokens lack Onyx's scopes
        assert item["seconds_to_expiry"] == pytest.approx(3600, abs=1)
        assert item["token_expires_at"] is not None
        assert item["token_version"] == 0
    assert "at-" not in response.text  # no token
    assert leaks(response.text, b) == []


# ---------------------------------------------------------------------------------------------------- stats floor


def test_rebuilding_the_floor_raises_revenue_below_the_ledger(env: Env) -> None:
    t = Tenancy(env)
    a, _, write = _owner(t)
    creator = t.creator(a)
    seed_stats(env, creator, revenue=100, ledger_net=500)
    with client(env.app) as c:
        response = c.post(f"/api/ops/creators/{creator}/stats-floor", headers=write)
        audit = c.get("/api/agency/audit", headers=t.session(a.owner_email).headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "creator_id": creator,
        "metric": "revenue_total",
        "ledger_net_cents": 500,
        "before": 100,
        "after": 500,
        "raised": True,
        "skipped": None,
        "events": [{"kind": "floor_raised", "old_value": 100, "new_value": 500}],
    }
    stored = stored_revenue(env, creator)
    assert stored is not None
    assert stored.value == 500
    assert "stats_floor_rebuilt" in [entry["action"] for entry in audit.json()["entries"]]


def test_rebuilding_the_floor_never_lowers_revenue(env: Env) -> None:
    t = Tenancy(env)
    a, _, write = _owner(t)
    creator = t.creator(a)
    seed_stats(env, creator, revenue=9_000, ledger_net=500)
    before = stored_revenue(env, creator)
    with client(env.app) as c:
        response = c.post(f"/api/ops/creators/{creator}/stats-floor", headers=write)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["before"], body["after"], body["raised"], body["ledger_net_cents"]) == (9_000, 9_000, False, 500)
    after = stored_revenue(env, creator)
    assert after is not None
    assert before is not None
    assert after.value == 9_000
    assert after.observed_at == before.observed_at


def test_a_ledger_without_its_refunds_is_no_floor(env: Env) -> None:
    t = Tenancy(env)
    a, _, write = _owner(t)
    creator = t.creator(a)
    seed_stats(env, creator, revenue=100, ledger_net=500, refunds_fetched=False)
    with client(env.app) as c:
        response = c.post(f"/api/ops/creators/{creator}/stats-floor", headers=write)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["skipped"] is not None
    assert "refunds" in body["skipped"]
    assert (body["after"], body["raised"], body["ledger_net_cents"]) == (100, False, None)
    stored = stored_revenue(env, creator)
    assert stored is not None
    assert stored.value == 100


def test_another_agencys_creator_is_not_found_and_not_touched(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    _, _, b_write = _owner(t, "Bravo")
    theirs = t.creator(a)
    seed_stats(env, theirs, revenue=100, ledger_net=500)
    with client(env.app) as c:
        floor = c.post(f"/api/ops/creators/{theirs}/stats-floor", headers=b_write)
        sync = c.post(f"/api/ops/creators/{theirs}/sync", headers=b_write, json={})
        unknown = c.post("/api/ops/creators/no-such-creator/stats-floor", headers=b_write)
    for response in (floor, sync, unknown):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert leaks(response.text, a) == []
    stored = stored_revenue(env, theirs)
    assert stored is not None
    assert stored.value == 100


def test_bad_input_is_refused_and_changes_nothing(env: Env) -> None:
    t = Tenancy(env)
    a, _, write = _owner(t)
    creator = t.creator(a)
    seed_stats(env, creator, revenue=100, ledger_net=500)
    with client(env.app) as c:
        too_long = c.post(f"/api/ops/creators/{'x' * 300}/stats-floor", headers=write)
        no_jobs = c.post(f"/api/ops/creators/{creator}/sync", headers=write, json={"jobs": []})
        unknown_job = c.post(f"/api/ops/creators/{creator}/sync", headers=write, json={"jobs": ["everything"]})
        not_a_list = c.post(f"/api/ops/creators/{creator}/sync", headers=write, json={"jobs": "stats"})
    assert too_long.status_code == 400
    assert no_jobs.status_code == 422
    assert unknown_job.status_code == 422
    assert not_a_list.status_code == 400
    for response in (too_long, no_jobs, unknown_job, not_a_list):
        assert response.headers["content-type"] == "application/problem+json"
    stored = stored_revenue(env, creator)
    assert stored is not None
    assert stored.value == 100


def test_a_sync_without_fanvue_configured_is_503_after_the_creator_check(env: Env) -> None:
    t = Tenancy(env)
    a, _, write = _owner(t)
    creator = t.creator(a)
    with client(env.app) as c:
        response = c.post(f"/api/ops/creators/{creator}/sync", headers=write, json={})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_the_heartbeat_without_fanvue_is_503_and_takes_no_lease(database_url: str) -> None:
    from ops_kit import HEARTBEAT_SECRET  # noqa: PLC0415
    from web_helpers import serving, web_settings  # noqa: PLC0415

    from onyx_web.app import create_app  # noqa: PLC0415

    app = create_app(web_settings(database_url, heartbeat_secret=HEARTBEAT_SECRET))
    with serving(app) as c:
        response = c.post("/ops/heartbeat", headers={"Authorization": f"Bearer {HEARTBEAT_SECRET}"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
