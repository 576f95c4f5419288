"""A storm of 429s: every job stops within its budget, partial, with when to try again; nothing stored changes;
other creators are not held behind a throttled one; a scheduler tick stays bounded (SQLite and PostgreSQL).

Time is virtual: every wait of the SDK moves the sandbox clock by what it asked for, so the clock's advance over a
sync is the total time the sync sat out Fanvue (all creators' waits added up, since they share one clock). Every
wait under a storm is spent from some job's budget, so that total is at most (budgeted jobs) x (budget). The real
time figure (``onyx sync`` against a served sandbox) is in tests/e2e/test_cli_rate_storm.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from harness import synced_world
from sqlalchemy import select

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.scheduler import Scheduler
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql import schema
from onyx_core.schedule import SyncJob
from onyx_core.stats import EventKind, MissingReason
from onyx_core.sync import SyncPolicy
from onyx_core.usecases import LEDGER_STREAMS, sync_agency

DATA_TABLES = (
    schema.agencies,
    schema.creators,
    schema.ledger_entries,
    schema.subscriber_days,
    schema.top_spenders,
    schema.tracking_links,
)
JOBS_PER_CREATOR = len(SyncJob) - 1 + len(LEDGER_STREAMS)  # each ledger stream runs under a budget of its own
AGENCY_STEPS = 2  # the import and the agency-wide top spenders


async def stored(world: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the data tables, and each stored metric's value (what a 429 must never change)."""
    async with world.runtime.engine.connect() as connection:
        # all but the dashboard cache's data_version counters: flagging a value stale is a stats save, and moves
        # them on purpose (a cached dashboard must not show the value as fresh)
        rows = {
            table.name: sorted(
                tuple(row)
                for row in (await connection.execute(select(*(c for c in table.c if c.name != "data_version")))).all()
            )
            for table in DATA_TABLES
        }
        stats = schema.creator_stats.c
        values = select(stats.creator_id, stats.metric, stats.value, stats.observed_at, stats.source)
        rows["creator_stats"] = sorted(tuple(row) for row in (await connection.execute(values)).all())
        rows["events"] = [tuple(row) for row in (await connection.execute(select(schema.stats_events))).all()]
    return rows


def assert_nothing_stored_changed(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]):
    for table in (*(t.name for t in DATA_TABLES), "creator_stats"):
        assert after[table] == before[table], table
    assert after["events"][: len(before["events"])] == before["events"]
    kind = list(schema.stats_events.c.keys()).index("kind")
    kinds = {row[kind] for row in after["events"][len(before["events"]) :]}
    assert kinds <= {EventKind.MARKED_STALE.value}, kinds  # a 429 only ever flags a value stale


def waited(world: Any, start: datetime) -> float:
    return (world.sandbox.clock.now() - start).total_seconds()


@pytest.mark.parametrize("retry_after", [1, 30])
async def test_a_storm_stops_every_job_within_its_budget_and_changes_nothing(
    sync_database_url: str, retry_after: int
) -> None:
    budget = 2.0
    policy = SyncPolicy(job_budget=timedelta(seconds=budget))
    async with synced_world(sync_database_url, creators=3, own=1, sync_policy=policy) as world:
        assert not (await sync_agency(world.ctx, world.agency)).partial
        before = await stored(world)
        world.sandbox.advance(60)  # a minute later (at the very instant of a success, a failure would lose to it)
        world.sandbox.inject("rate_limit", retry_after=retry_after)  # every API call: 429, Remaining 0
        world.sandbox.clear_requests()
        start = world.sandbox.clock.now()

        report = await sync_agency(world.ctx, world.agency)

        total_wait = waited(world, start)
        budgeted_jobs = AGENCY_STEPS + len(world.creators) * JOBS_PER_CREATOR
        assert total_wait <= budgeted_jobs * budget, total_wait
        if retry_after > budget:  # no refusal fits in a budget: every job gives up at once, nothing is slept
            assert total_wait == 0.0
        assert {r.status for r in world.sandbox.requests} == {429}
        assert report.partial
        assert not any(step.startswith("creator:") for step in report.failures), report.failures  # none raised
        assert report.failures.get("import") == MissingReason.RATE_LIMITED.value
        assert len(report.creators) == 3
        for creator in report.creators:
            assert creator.partial
            assert set(creator.failures.values()) <= {MissingReason.RATE_LIMITED, MissingReason.PERMISSION}
            assert creator.failures.get(SyncJob.LINKS) is MissingReason.RATE_LIMITED
            assert creator.stats is not None
            assert set(creator.stats.stale.values()) <= {MissingReason.RATE_LIMITED, MissingReason.PERMISSION}
            assert creator.retry_at is not None
            assert creator.retry_at >= start + timedelta(seconds=retry_after)
        assert report.retry_at is not None
        assert all(report.retry_at >= c.retry_at for c in report.creators if c.retry_at is not None)
        assert_nothing_stored_changed(before, await stored(world))

        world.sandbox.clear_faults()  # the storm passes: the next run is complete again
        world.sandbox.advance(120)
        assert not (await sync_agency(world.ctx, world.agency)).partial


async def test_a_throttled_creator_holds_the_creators_behind_it_only_for_its_budgets(sync_database_url: str) -> None:
    """One creator stormed (Retry-After 30), one creator synced at a time: the next creators start within the
    stormed creator's budgets and complete; without budgets each of its calls sat out a full minute."""
    policy = SyncPolicy(concurrency=1)
    budget = policy.job_budget.total_seconds()
    async with synced_world(sync_database_url, creators=3, own=0, sync_policy=policy) as world:
        assert not (await sync_agency(world.ctx, world.agency, import_first=False)).partial
        async with world.ctx.uow() as uow:  # the order the agency's creators are synced in
            order = [c.id for c in await uow.creators.for_agency(world.agency)]
        stormed, others = order[0], order[1:]
        world.sandbox.inject("rate_limit", retry_after=30, creator=str(stormed))
        world.sandbox.advance(3600)  # everything is due again and the rate windows are fresh
        world.sandbox.clear_requests()
        start = world.sandbox.clock.now()

        report = await sync_agency(world.ctx, world.agency, import_first=False)

        by_creator = {r.creator_id: r for r in report.creators}
        assert by_creator[stormed].partial
        assert by_creator[stormed].retry_at is not None
        for creator in others:
            assert not by_creator[creator].partial, by_creator[creator]
            assert by_creator[creator].retry_at is None
        first_served = {
            creator: min(r.at for r in world.sandbox.requests if r.creator == str(creator)) for creator in others
        }
        held = (min(first_served.values()) - start).total_seconds()
        assert held <= JOBS_PER_CREATOR * budget, held


async def test_a_scheduler_tick_under_a_storm_returns_within_the_budgets(sync_database_url: str) -> None:
    budget = 3.0
    policy = SyncPolicy(job_budget=timedelta(seconds=budget))
    async with synced_world(sync_database_url, creators=3, own=0, sync_policy=policy) as world:
        scheduler = Scheduler(world.runtime)
        assert not (await scheduler.tick()).partial
        world.sandbox.inject("rate_limit", retry_after=2)
        world.sandbox.advance(3600)  # every job due, every import and top-spenders interval passed
        start = world.sandbox.clock.now()

        tick = await scheduler.tick()

        steps = AGENCY_STEPS + len(world.creators) * JOBS_PER_CREATOR
        assert waited(world, start) <= steps * budget
        assert tick.partial
        assert len(tick.synced) == 3
        assert all(report.retry_at is not None for report in tick.synced)
        assert tick.retry_at is not None
        assert tick.retry_at >= start + timedelta(seconds=2)


def _settings(database_url: str, **sync: float) -> OnyxSettings:
    """Settings a runtime opens with (an app registration, a key ring), and the given ``sync_*`` ones."""
    return OnyxSettings(
        database_url=database_url,
        cipher_keys=FernetCipher.generate_key(),
        fanvue_client_id="app",
        fanvue_client_secret="secret",
        **sync,
    )


async def test_onyx_sync_job_budget_sets_the_budget_of_every_runner(fresh_sqlite: str) -> None:
    settings = _settings(fresh_sqlite, sync_job_budget=2.5)
    async with Runtime.from_settings(settings, sync_policy=SyncPolicy(concurrency=2)) as runtime:
        assert runtime.ctx.sync_policy.job_budget == timedelta(seconds=2.5)
        assert runtime.ctx.sync_policy.concurrency == 2  # the rest of the given policy is kept
    async with Runtime.from_settings(settings.model_copy(update={"sync_job_budget": None})) as runtime:
        assert runtime.ctx.sync_policy.job_budget == SyncPolicy().job_budget


async def test_onyx_sync_batch_settings_set_the_ledger_batches(fresh_sqlite: str) -> None:
    settings = _settings(fresh_sqlite, sync_batch_rows=500, sync_batch_seconds=0.5)
    async with Runtime.from_settings(settings, sync_policy=SyncPolicy(concurrency=2)) as runtime:
        policy = runtime.ctx.sync_policy
        assert (policy.batch_rows, policy.batch_time) == (500, timedelta(seconds=0.5))
        assert policy.concurrency == 2  # the rest of the given policy is kept
    unset = settings.model_copy(update={"sync_batch_rows": None, "sync_batch_seconds": None})
    async with Runtime.from_settings(unset) as runtime:
        policy = runtime.ctx.sync_policy
        assert (policy.batch_rows, policy.batch_time) == (SyncPolicy().batch_rows, SyncPolicy().batch_time)


@pytest.mark.parametrize(("name", "value"), [("ONYX_SYNC_BATCH_ROWS", "0"), ("ONYX_SYNC_BATCH_SECONDS", "-1")])
def test_an_unusable_batch_setting_is_one_line_and_exit_1(
    fresh_sqlite: str, name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(name, value)
    assert main(["sync", "--database-url", fresh_sqlite]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert name in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon", "3601"])
def test_an_unusable_job_budget_is_one_line_and_exit_1(
    fresh_sqlite: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONYX_SYNC_JOB_BUDGET", value)
    assert main(["sync", "--database-url", fresh_sqlite]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ONYX_SYNC_JOB_BUDGET" in err
    assert "Traceback" not in err
