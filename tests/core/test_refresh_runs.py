"""Carrying out a refresh run with the fakes: every creator refreshed through ``for_each_creator``, the progress
counted creator by creator, a creator whose refresh raises counted failed while the others run, the cache hook
called per stored creator, and a cancelled run ends interrupted (its lock key free)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onyx_core.catalog import Agency, CreatorProfile
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, MemberId
from onyx_core.refresh import RefreshRun, RunKind, RunState, RunTrigger
from onyx_core.sync import SyncPolicy
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.testing.refresh_fakes import InMemoryRefreshRuns
from onyx_core.tokens import TokenSet
from onyx_core.usecases import Context, import_creators
from onyx_core.usecases.refresh_runs import execute_refresh_run

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
AGENCY = AgencyId("agency-1")
CONN = ConnectionId("conn-agency")
LUNA, MIKA = CreatorId("luna"), CreatorId("mika")
VALUES = {
    "revenue_total": 100_000,
    "subscribers": 120,
    "followers": 900,
    "posts": 40,
    "likes": 5000,
    "chats": 75,
    "available_balance": 12_345,
}


async def _world() -> tuple[Context, InMemoryStore]:
    store = InMemoryStore()
    fanvue = FakeFanvue()
    ctx = Context(uow=lambda: InMemoryUnitOfWork(store), fanvue=fanvue, clock=ManualClock(T0))
    tokens = TokenSet("access-x", "refresh-x", T0 + timedelta(hours=1), frozenset())
    async with ctx.uow() as uow:
        await uow.agencies.upsert(Agency(AGENCY, "Agency One"))
        await uow.connections.save(
            Connection(CONN, ConnectionKind.AGENCY, AGENCY, None, "fv", ConnectionStatus.ACTIVE, tokens, 1, T0)
        )
        await uow.commit()
    fanvue.creators[CONN] = [CreatorProfile(LUNA, "luna", "Luna"), CreatorProfile(MIKA, "mika", "Mika")]
    fanvue.stats = {LUNA: dict(VALUES), MIKA: dict(VALUES)}
    await import_creators(ctx, AGENCY)
    return ctx, store


def _run(total: int) -> RefreshRun:
    return RefreshRun(
        "run-1", AGENCY, RunKind.AGENCY, RunTrigger.MANUAL, None, MemberId("m"), RunState.QUEUED, total, T0, T0
    )


async def test_a_run_refreshes_every_creator_and_counts_a_failure_without_stopping_the_others() -> None:
    ctx, store = await _world()
    runs = InMemoryRefreshRuns()
    await runs.begin(_run(3), abandoned_before=T0 - timedelta(minutes=10))
    stored: list[AgencyId] = []
    state = await execute_refresh_run(ctx, runs, _run(3), [LUNA, CreatorId("gone"), MIKA], on_stored=stored.append)
    assert state is RunState.PARTIAL
    ended = runs.runs["run-1"]
    assert (ended.state, ended.done, ended.failed, ended.total) == (RunState.PARTIAL, 2, 1, 3)
    assert ended.started_at == T0
    assert ended.finished_at == T0
    assert stored == [AGENCY, AGENCY]
    assert {(c, m) for (c, m) in store.stats} >= {(LUNA, "subscribers"), (MIKA, "subscribers")}
    assert await runs.active(AGENCY, ["agency:agency-1"]) == []


async def test_a_cancelled_run_ends_interrupted_and_frees_its_key() -> None:
    ctx, _ = await _world()
    runs = InMemoryRefreshRuns()
    await runs.begin(_run(2), abandoned_before=T0 - timedelta(minutes=10))
    task = asyncio.create_task(execute_refresh_run(ctx, runs, _run(2), [LUNA, MIKA]))
    await asyncio.sleep(0)  # it started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert runs.runs["run-1"].state is RunState.INTERRUPTED
    assert await runs.active(AGENCY, ["agency:agency-1"]) == []


class _SlowRuns(InMemoryRefreshRuns):
    """Progress writes that wait for the test to let them through, counted; the ``fail``-th one fails."""

    def __init__(self, *, fail: int | None = None) -> None:
        super().__init__()
        self.writes: list[tuple[int, int]] = []
        self.gate = asyncio.Event()
        self.fail = fail

    async def record_progress(self, run_id: str, *, done: int, failed: int, at: datetime) -> None:
        await self.gate.wait()
        self.writes.append((done, failed))
        if len(self.writes) == self.fail:
            raise ConnectionError("the database went away for a moment")
        await super().record_progress(run_id, done=done, failed=failed, at=at)


async def _many(names: list[str]) -> tuple[Context, list[CreatorId]]:
    ctx, _ = await _world()
    extra = [CreatorProfile(CreatorId(n), n, n.title()) for n in names]
    assert isinstance(ctx.fanvue, FakeFanvue)
    ctx.fanvue.creators[CONN] += extra
    ctx.fanvue.stats.update({CreatorId(n): dict(VALUES) for n in names})
    await import_creators(ctx, AGENCY)
    return ctx, [LUNA, MIKA, *(CreatorId(n) for n in names)]


async def test_creators_finishing_during_a_progress_write_are_stored_by_the_next_write() -> None:
    ctx, creators = await _many(["nova", "ivy", "zara"])
    ctx = replace(ctx, sync_policy=SyncPolicy(concurrency=8))  # all 6 in flight at once
    runs = _SlowRuns()
    await runs.begin(_run(len(creators) + 1), abandoned_before=T0 - timedelta(minutes=10))
    task = asyncio.create_task(execute_refresh_run(ctx, runs, _run(6), [*creators, CreatorId("gone")]))
    for _ in range(50):  # every creator's refresh ends (the fakes never wait) while the first write is held
        await asyncio.sleep(0)
    runs.gate.set()
    assert await task is RunState.PARTIAL
    assert runs.writes[0] in ((1, 0), (0, 1))
    assert len(runs.writes) == 2, f"one write for the first creator, one for the 5 finished meanwhile: {runs.writes}"
    ended = runs.runs["run-1"]
    assert (ended.done, ended.failed) == (5, 1)


@pytest.mark.parametrize("fail", [1, 3])  # the first write, and the last creator's
async def test_a_failed_progress_write_loses_no_count(fail: int) -> None:
    ctx, creators = await _many(["nova"])
    runs = _SlowRuns(fail=fail)
    runs.gate.set()
    await runs.begin(_run(3), abandoned_before=T0 - timedelta(minutes=10))
    state = await execute_refresh_run(ctx, runs, _run(3), creators)
    assert state is RunState.PARTIAL  # the creator whose write failed is counted failed, as before
    ended = runs.runs["run-1"]
    assert ended.done + ended.failed == 3
    assert ended.done == 3  # every creator's stats were stored, and the counts of the failed write went in later
