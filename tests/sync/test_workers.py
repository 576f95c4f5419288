"""The distributed runner on PostgreSQL: procrastinate's queue, Onyx's tasks and their locks.

The acceptance test runs two real ``onyx worker`` processes against a served sandbox; the others check the
deferring rules (one waiting job per creator, one running job per creator) and the heartbeat in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from harness import synced_world
from procrastinate.jobs import Job, Status
from worker_setup import connect_served, served_sandbox, start_worker, stop

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import ConfigurationError, Runtime
from onyx_adapters.workers import (
    HEARTBEAT,
    IMPORT_CREATORS,
    MAINTAIN_TOKENS,
    SYNC_CREATOR,
    apply_queue_schema,
    conninfo,
    defer_due_work,
    defer_sync,
    make_app,
    queue_schema_installed,
    run_worker,
)
from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.schedule import Schedule, SyncJob, due_jobs, starts_interval
from onyx_core.usecases import creator_freshness, sync_creator
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

pytestmark = pytest.mark.postgres
log = logging.getLogger(__name__)

CREATORS = 4
DAYS = 60
ROUNDS = 3
START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)


def _rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(url)) as connection:
        return connection.execute(query, params).fetchall()


def _jobs(url: str) -> list[tuple[Any, ...]]:
    """(id, task_name, lock, queueing_lock, status, worker_id, args) of every job, in id order."""
    return _rows(
        url, "SELECT id, task_name, lock, queueing_lock, status, worker_id, args FROM procrastinate_jobs ORDER BY id"
    )


def _intervals(url: str) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each job's runs, from procrastinate's events: (started, ended) pairs."""
    runs: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    started: dict[int, datetime] = {}
    for job_id, kind, at in _rows(url, "SELECT job_id, type::text, at FROM procrastinate_events ORDER BY id"):
        if kind == "started":
            started[job_id] = at
        elif kind in ("succeeded", "failed", "deferred_for_retry", "aborted") and job_id in started:
            runs[job_id].append((started.pop(job_id), at))
    assert not started, f"jobs that started and never ended: {started}"
    return runs


def _expected_earnings() -> dict[str, int]:
    """What the served sandbox holds: the same seed, size and start in-process."""
    world = FanvueSandbox(spec=WorldSpec(seed=1, creators=CREATORS, days=DAYS, start=START)).world
    return {creator.uuid: sum(1 for _ in world.iter_earnings(creator.uuid)) for creator in world.creators}


@dataclass
class Drained:
    """What the deferring loop did while the workers ran."""

    accepted: dict[str, int]
    refused: int
    seconds: float
    jobs: list[tuple[Any, ...]]


async def test_two_worker_processes_drain_a_queue_of_creator_syncs_one_run_per_creator_at_a_time(
    fresh_postgresql: str, tmp_path: Path
) -> None:
    url = fresh_postgresql
    key = FernetCipher.generate_key()
    with served_sandbox(creators=CREATORS, days=DAYS, start=START, latency=0.02) as sandbox:
        creators, secrets = await connect_served(url, sandbox, key)
        assert sorted(creators) == sorted(sandbox.creators.values())
        assert apply_queue_schema(url) is True
        assert apply_queue_schema(url) is False  # idempotent: `onyx migrate` runs it every time

        logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
        workers = [
            start_worker(sandbox, url, key, f"w{n}", path, concurrency=2) for n, path in enumerate(logs, start=1)
        ]
        try:
            drained = await _defer_rounds_until_drained(url, creators, workers, logs)
        finally:
            codes = [stop(worker) for worker in workers]
        assert drained.accepted == dict.fromkeys(creators, ROUNDS), (drained, _tails(logs))
        assert codes == [0, 0], _tails(logs)
        assert drained.refused > 0, "no defer was ever deduplicated"

        jobs = drained.jobs
        assert {job[4] for job in jobs} == {"succeeded"}, (jobs, _tails(logs))
        syncs = [job for job in jobs if job[1] == SYNC_CREATOR]
        # every creator ran at least its rounds (a heartbeat may add an only_due sync); the locks name the creator
        per_creator: dict[str, int] = defaultdict(int)
        for _, _, lock, queueing_lock, _, _, args in syncs:
            assert lock == queueing_lock == f"creator:{args['creator_id']}"
            per_creator[args["creator_id"]] += 1
        assert set(per_creator) == set(creators)
        assert min(per_creator.values()) >= ROUNDS
        # both workers ran creator syncs, and said so in their logs, which hold no token
        by_worker = Counter(job[5] for job in syncs)
        assert len(by_worker) == 2, by_worker
        assert None not in by_worker
        for name, path in zip(("w1", "w2"), logs, strict=True):
            text = path.read_text()
            assert f"on {name}, creator " in text
            assert not [secret for secret in secrets if secret in text]

        contended = _assert_runs_of_a_lock_never_overlap(url, jobs)
        assert contended > 0, "no job ever waited for its creator's lock: the test proved nothing"

        # the database holds every creator's whole ledger, as the sandbox serves it
        query = "SELECT creator_id, count(*) FROM ledger_entries WHERE kind = 'earning' GROUP BY creator_id"
        stored = dict(_rows(url, query))
        assert stored == _expected_earnings()
        log.info(  # the figures (pytest -o log_cli=true -o log_cli_level=INFO)
            f"{len(syncs)} syncs ({sum(drained.accepted.values())} deferred, {drained.refused} refused, "
            f"{contended} waited for the lock), {dict(by_worker)} per worker id, drained in {drained.seconds:.1f} s, "
            f"{sum(stored.values())} earnings",
        )


async def _defer_rounds_until_drained(
    url: str, creators: list[CreatorId], workers: list[subprocess.Popen[str]], logs: list[Path]
) -> Drained:
    """Once both workers are up, keep deferring every creator until each had ``ROUNDS`` syncs accepted, then wait
    for the queue to drain (at most 120 s). A defer while the creator's job waits is refused (queueing lock); one
    while it runs queues behind the running one (lock): the case this test is about."""
    accepted = dict.fromkeys(creators, 0)
    refused = 0
    began = time.monotonic()

    def alive() -> None:
        assert all(worker.poll() is None for worker in workers), _tails(logs)
        assert time.monotonic() - began < 120, ("the queue did not drain", accepted, _tails(logs))

    # both registered first, so the first round's 4 jobs cannot all land on one worker of concurrency 2
    while _rows(url, "SELECT count(*) FROM procrastinate_workers")[0][0] < 2:
        alive()
        await asyncio.sleep(0.05)
    async with make_app(url).open_async() as app:
        while True:
            for creator in creators:
                if accepted[creator] < ROUNDS:
                    if await defer_sync(app, creator) is None:
                        refused += 1
                    else:
                        accepted[creator] += 1
            pending = _rows(url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
            if min(accepted.values()) == ROUNDS and pending[0][0] == 0:
                break
            alive()
            await asyncio.sleep(0.05)
    # read before the workers stop: unregistering a worker clears its jobs' worker_id
    return Drained(dict(accepted), refused, time.monotonic() - began, _jobs(url))


def _assert_runs_of_a_lock_never_overlap(url: str, jobs: list[tuple[Any, ...]]) -> int:
    """Check from procrastinate's events that no two runs for one creator (or of one other lock) overlap in time;
    returns how many jobs were queued while another of their key was running (and so had to wait for it)."""
    runs = _intervals(url)
    deferred_at = dict(_rows(url, "SELECT job_id, at FROM procrastinate_events WHERE type = 'deferred'"))
    # a creator's syncs are grouped by the creator they name, not by their lock: a wrong lock must show as overlap
    keys = {job[0]: f"creator:{job[6]['creator_id']}" if job[1] == SYNC_CREATOR else job[2] for job in jobs}
    contended = 0
    for key in {key for key in keys.values() if key}:
        ordered = sorted((run, job_id) for job_id, k in keys.items() if k == key for run in runs[job_id])
        for ((_, previous_end), _), ((next_start, _), next_id) in itertools.pairwise(ordered):
            assert previous_end <= next_start, f"{key}: two runs overlap"
            if deferred_at[next_id] < previous_end:
                contended += 1
    return contended


def _tails(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-30:]) for log in logs)


def test_a_sqlite_database_is_refused_with_the_runner_to_use_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}"
    assert main(["worker", f"--database-url={sqlite}"]) == 1
    message = capsys.readouterr().err
    assert "needs PostgreSQL" in message
    assert "onyx schedule" in message
    assert main(["enqueue", "sync", "--agency=a", f"--database-url={sqlite}"]) == 1
    assert "needs PostgreSQL" in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        make_app(sqlite)
    assert not (tmp_path / "onyx.db").exists()  # refused before touching anything


def test_conninfo_turns_a_sqlalchemy_url_into_a_libpq_one() -> None:
    assert (
        conninfo("postgresql+psycopg://postgres:pw@127.0.0.1:5432/db") == "postgresql://postgres:pw@127.0.0.1:5432/db"
    )
    assert conninfo("postgresql://u@h/db?sslmode=require") == "postgresql://u@h/db?sslmode=require"
    # the alias hosted PostgreSQL services write, read as everywhere else in Onyx
    assert conninfo("postgres://u:pw@h:6543/db") == "postgresql://u:pw@h:6543/db"


async def test_one_waiting_and_one_running_job_per_creator(fresh_postgresql: str) -> None:
    url = fresh_postgresql
    assert not queue_schema_installed(url)
    apply_queue_schema(url)
    assert queue_schema_installed(url)
    async with make_app(url).open_async() as app:
        first = await defer_sync(app, "c1", [SyncJob.LEDGER])
        assert first is not None
        assert await defer_sync(app, "c1") is None  # already waiting: deduplicated
        other = await defer_sync(app, "c2")
        assert other is not None

        manager = app.job_manager
        worker = await manager.register_worker()
        running = await manager.fetch_job(queues=None, worker_id=worker)
        assert running is not None
        assert running.id == first
        assert running.task_kwargs == {"creator_id": "c1", "jobs": ["ledger"], "only_due": False}
        second = await defer_sync(app, "c1")  # c1 runs: a new sync may wait behind it
        assert second is not None
        assert await defer_sync(app, "c1") is None
        fetched = await manager.fetch_job(queues=None, worker_id=worker)
        assert fetched is not None
        assert fetched.id == other  # c2's job, not c1's second: that one waits for the lock
        assert await manager.fetch_job(queues=None, worker_id=worker) is None
        await manager.finish_job(running, status=Status.SUCCEEDED, delete_job=False)
        after = await manager.fetch_job(queues=None, worker_id=worker)
        assert after is not None
        assert after.id == second


@asynccontextmanager
async def _shared(runtime: Runtime) -> AsyncIterator[Runtime]:
    yield runtime  # the test's runtime, left open for the test


async def test_the_heartbeat_defers_only_due_creators_and_a_worker_runs_them(fresh_postgresql: str) -> None:
    url = fresh_postgresql
    apply_queue_schema(url)
    schedule = Schedule()
    minute = 1_800_000_060  # a tick that starts neither a 5-minute nor an hour period
    hour = 1_800_000_000 - 1_800_000_000 % 3600 + 3600
    async with synced_world(url, creators=3) as world, make_app(url).open_async() as app:
        fresh = world.creators[0]
        report = await sync_creator(world.ctx, fresh)
        assert not report.partial

        beat = await defer_due_work(app, world.ctx, schedule, timestamp=minute)
        assert beat.deferred == {creator: tuple(SyncJob) for creator in world.creators[1:]}
        assert (beat.waiting, beat.maintenance, beat.imports) == ((), False, ())
        queued = {job[6]["creator_id"]: job[6] for job in _jobs(url)}
        assert set(queued) == set(world.creators[1:])
        assert all(args["only_due"] for args in queued.values())

        again = await defer_due_work(app, world.ctx, schedule, timestamp=minute + 60)
        assert (again.deferred, set(again.waiting)) == ({}, set(world.creators[1:]))

        world.sandbox.advance(timedelta(minutes=3))  # stats (every 2 min) are due again, the ledger (5) is not
        later = await defer_due_work(app, world.ctx, schedule, timestamp=hour)
        at = world.ctx.clock.now()
        assert later.deferred == {fresh: (SyncJob.STATS,)}
        assert later.maintenance
        assert later.imports == (world.agency,)
        tasks = [job[1] for job in _jobs(url)]
        assert tasks.count(MAINTAIN_TOKENS) == 1
        assert tasks.count(IMPORT_CREATORS) == 1
        assert HEARTBEAT not in tasks

        # an in-process worker with the test's runtime runs everything queued (its own heartbeat included)
        worker = asyncio.create_task(run_worker(url, concurrency=2, runtime=lambda: _shared(world.runtime)))
        try:
            for _ in range(600):
                pending = _rows(url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
                if pending[0][0] == 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            worker.cancel()  # a graceful stop: running jobs finish first
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        states = {(job[1], job[4]) for job in _jobs(url)}
        assert {state for _, state in states} == {"succeeded"}, states
        # every queued sync ran: nothing is due at the time of the last heartbeat (virtual time may move on since)
        for creator in world.creators:
            assert due_jobs(schedule, await creator_freshness(world.ctx, creator), at) == (), creator


def test_enqueue_sync_queues_each_creator_of_an_agency_once(
    fresh_postgresql: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = fresh_postgresql

    async def imported() -> tuple[str, list[CreatorId]]:
        async with synced_world(url, creators=2) as world:
            return world.agency, world.creators

    agency, creators = asyncio.run(imported())
    command = ["enqueue", "sync", f"--database-url={url}"]
    assert main([*command, f"--agency={agency}"]) == 1
    assert "run `onyx migrate` first" in capsys.readouterr().err
    apply_queue_schema(url)

    assert main([*command, f"--agency={agency}", "--job=ledger", "--job=stats"]) == 0
    assert capsys.readouterr().out == "queued 2 creator sync(s); 0 already waiting\n"
    assert main([*command, f"--creator={creators[0]}"]) == 0
    assert capsys.readouterr().out == "queued 0 creator sync(s); 1 already waiting\n"
    assert main([*command, "--agency=nobody"]) == 1
    assert "agency nobody has no imported creators" in capsys.readouterr().err
    queued = {job[6]["creator_id"]: job[6]["jobs"] for job in _jobs(url)}
    assert queued == {creator: ["stats", "ledger"] for creator in creators}  # in run order, whatever the order asked


def test_a_heartbeat_tick_starts_maintenance_every_five_minutes_and_the_import_every_hour() -> None:
    schedule = Schedule()
    ticks = range(1_800_000_000, 1_800_000_000 + 2 * 3600, 60)  # two hours of minute ticks
    maintenance = [t for t in ticks if starts_interval(t, schedule.maintenance_every, schedule.tick)]
    imports = [t for t in ticks if starts_interval(t, schedule.import_every, schedule.tick)]
    assert len(maintenance) == 24
    assert all(t % 300 == 0 for t in maintenance)
    assert len(imports) == 2
    assert all(t % 3600 == 0 for t in imports)


def test_unexpected_errors_are_retried_with_backoff_and_hopeless_ones_are_not() -> None:
    task = make_app("postgresql+psycopg://nobody@127.0.0.1/none").tasks[SYNC_CREATOR]  # never connects
    job = Job(queue="default", lock=None, queueing_lock=None, task_name=SYNC_CREATOR, attempts=1)
    retry = task.get_retry_exception(OSError("connection reset"), job)
    assert retry is not None
    assert retry.retry_decision.retry_at is not None
    assert retry.retry_decision.retry_at > datetime.now(UTC) + timedelta(seconds=3)  # 2 ** 2 s after attempt 1
    assert task.get_retry_exception(NotFoundError("no creator x"), job) is None
    assert task.get_retry_exception(OSError(), job.evolve(attempts=5)) is None  # gave up: the heartbeat defers again
