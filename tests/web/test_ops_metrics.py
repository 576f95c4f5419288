"""GET /metrics on SQLite and PostgreSQL, parsed with prometheus_client's own text parser: sync lag per job, Fanvue
failures by reason, token health, rate-budget use and request latency by route template (never an id as a label);
the bearer token; one registry per app."""

from __future__ import annotations

from datetime import timedelta

from litestar.testing import AsyncTestClient
from ops_kit import (  # noqa: F401
    HEARTBEAT_SECRET,
    METRICS_TOKEN,
    OpsWorld,
    fresh_url_fixture,
    postgresql_template_fixture,
    sqlite_template_fixture,
    world_fixture,
)
from prometheus_client.parser import text_string_to_metric_families
from web_helpers import KEY, serving, web_settings

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.ids import CreatorId
from onyx_core.stats import MergePolicy, Metric, Missing, MissingReason, merge_all
from onyx_web.app import create_app

BASE = "https://testserver.local"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}
BEAT = {"Authorization": f"Bearer {HEARTBEAT_SECRET}"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def mark_stale(world: OpsWorld, creator: str, reason: MissingReason) -> None:
    """A failed observation of the creator's followers, merged and stored as a sync would."""
    engine = create_engine(world.url)
    try:
        uow = sql_unit_of_work_factory(engine, FernetCipher([KEY]))
        now = world.sandbox.clock.now()
        async with uow() as work:
            records = await work.stats.get_for_update(CreatorId(creator))
            failed = Missing(Metric.FOLLOWERS.value, reason, now, "fanvue:test")
            merged, events = merge_all(records, [failed], MergePolicy(), now)
            await work.stats.save(CreatorId(creator), merged, events, now)
            await work.commit()
    finally:
        await engine.dispose()


async def test_metrics_show_sync_lag_failures_tokens_budget_and_latency(world: OpsWorld) -> None:
    creator = world.creators[0]
    async with AsyncTestClient(world.app(), base_url=BASE, raise_server_exceptions=False) as c:
        assert (await c.post("/ops/heartbeat", headers=BEAT)).json()["status"] == "ran"
        before = parse((await c.get("/metrics", headers=SCRAPE)).text)  # right after the tick's calls
        world.sandbox.advance(timedelta(seconds=90))
        await mark_stale(world, creator, MissingReason.TIMEOUT)
        await c.get(f"/api/creators/{creator}")  # 401 without credentials: timed all the same
        response = await c.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = parse(response.text)
    # the tick synced every job of both creators 90 s ago
    assert value(samples, "onyx_sync_lag_seconds", job="stats") == 90
    assert value(samples, "onyx_sync_lag_seconds", job="ledger") >= 90
    for job in ("stats", "ledger", "history", "top_spenders", "links"):
        assert value(samples, "onyx_sync_never_completed_creators", job=job) == 0
    assert value(samples, "onyx_creators") == len(world.creators)
    assert ("onyx_fanvue_errors_total", (("reason", "timeout"),)) not in before
    assert value(samples, "onyx_fanvue_errors_total", reason="timeout") == 1
    assert value(samples, "onyx_stale_metrics") == value(before, "onyx_stale_metrics") + 1
    assert value(samples, "onyx_connections", kind="agency", status="active") == 1
    assert 0 < value(samples, "onyx_token_expiry_seconds", kind="agency") <= 3600
    # the tick's calls went through this process's rate budget: in use right after it, back 90 s later
    assert value(before, "onyx_fanvue_rate_budget_capacity") == world.sandbox.limiter.limit
    assert value(before, "onyx_fanvue_rate_budget_buckets") >= 1
    assert 0 < value(before, "onyx_fanvue_rate_budget_used_ratio") <= 1
    assert value(samples, "onyx_fanvue_rate_budget_used_ratio") == 0
    assert value(before, "onyx_fanvue_rate_budget_blocked_buckets") == 0
    beat = {"method": "POST", "route": "/ops/heartbeat", "status": "200"}
    assert value(samples, "onyx_http_request_duration_seconds_count", **beat) == 1
    scrape = {"method": "GET", "route": "/metrics", "status": "200"}
    assert value(samples, "onyx_http_request_duration_seconds_count", **scrape) == 1  # the first scrape
    one = {"method": "GET", "route": "/api/creators/{creator_id}", "status": "401"}
    assert value(samples, "onyx_http_request_duration_seconds_count", **one) == 1
    assert creator not in response.text  # route templates, never ids
    assert METRICS_TOKEN not in response.text


def test_metrics_need_the_token(sqlite_database: str) -> None:
    app = create_app(web_settings(sqlite_database, metrics_token=METRICS_TOKEN))
    wrong = [{}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {HEARTBEAT_SECRET}"}]
    with serving(app) as c:
        answers = [c.get("/metrics", headers=headers) for headers in wrong]
        right = c.get("/metrics", headers=SCRAPE)
    for response in answers:
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "onyx_" not in response.text
    assert right.status_code == 200
    # no Fanvue app: the database's figures, no rate budget
    assert "onyx_creators" in right.text
    assert "onyx_fanvue_rate_budget" not in right.text


def test_each_app_has_its_own_registry(sqlite_database: str) -> None:
    first, second = (create_app(web_settings(sqlite_database, metrics_token=METRICS_TOKEN)) for _ in range(2))
    with serving(first) as a, serving(second) as b:
        for _ in range(3):
            a.get("/healthz")
        mine = parse(a.get("/metrics", headers=SCRAPE).text)
        theirs = parse(b.get("/metrics", headers=SCRAPE).text)
    health = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(mine, "onyx_http_request_duration_seconds_count", **health) == 3
    assert ("onyx_http_request_duration_seconds_count", tuple(sorted(health.items()))) not in theirs
