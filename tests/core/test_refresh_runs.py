"""Carrying out a refresh run with the fakes: every creator refreshed through ``for_each_creator``, the progress
counted creator by creator, a creator whose refresh raises counted failed while the others run, the cache hook
called per stored creator, and a cancelled run ends interrupted (its lock key free)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from onyx_core.catalog import Agency, CreatorProfile
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, MemberId
from onyx_core.refresh import RefreshRun, RunKind, RunState, RunTrigger
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
