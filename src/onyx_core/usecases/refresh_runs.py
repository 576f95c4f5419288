"""Carry out a queued refresh run: its creators' stats refreshed :func:`refresh_creator_stats` by
:func:`for_each_creator` (at most ``sync_policy.concurrency`` at a time, each creator on her own Fanvue rate
bucket), its progress stored as creators finish so any process can read it (:class:`_Progress`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from onyx_core.ids import AgencyId, CreatorId
from onyx_core.refresh import RefreshRun, RefreshRunStore, RunState, final_state
from onyx_core.usecases.context import Context, for_each_creator
from onyx_core.usecases.refresh_stats import StatsRefresh, refresh_creator_stats

__all__ = ["execute_refresh_run"]


class _Progress:
    """The run's counts, stored as its creators finish. While one write is in flight, the creators finishing
    meanwhile add their counts and the next write stores them together: one write per batch of finished creators
    instead of one each (they queue for one database writer anyway), and a creator's count is stored before her
    refresh returns. A failed write keeps the counts for the next one and raises, as a creator's write did."""

    def __init__(self, ctx: Context, runs: RefreshRunStore, run_id: str) -> None:
        self._ctx = ctx
        self._runs = runs
        self._run_id = run_id
        self._done = 0
        self._failed = 0
        self._writing = asyncio.Lock()

    async def add(self, *, done: int, failed: int) -> None:
        self._done += done
        self._failed += failed
        async with self._writing:
            done, failed = self._done, self._failed
            if not done and not failed:
                return  # the write before this one stored them
            self._done = self._failed = 0
            try:
                await self._runs.record_progress(self._run_id, done=done, failed=failed, at=self._ctx.clock.now())
            except BaseException:
                self._done += done
                self._failed += failed
                raise


async def execute_refresh_run(
    ctx: Context,
    runs: RefreshRunStore,
    run: RefreshRun,
    creator_ids: Sequence[CreatorId],
    *,
    on_stored: Callable[[AgencyId], None] | None = None,
) -> RunState:
    """Refresh ``creator_ids`` for ``run`` and end it. ``on_stored`` is called after each creator whose refresh
    stored (a response cache drops what it holds of the agency). Cancelled (the process stops), the run ends
    ``interrupted``."""
    progress = _Progress(ctx, runs, run.id)

    async def one(creator_id: CreatorId) -> StatsRefresh:
        try:
            refreshed = await refresh_creator_stats(ctx, creator_id)
        except Exception:
            await progress.add(done=0, failed=1)
            raise
        if on_stored is not None:
            on_stored(run.agency_id)
        await progress.add(done=1, failed=0)
        return refreshed

    try:
        await runs.mark_running(run.id, ctx.clock.now())
        refreshed, failed = await for_each_creator(ctx, creator_ids, one)
    except asyncio.CancelledError:
        await asyncio.shield(runs.finish(run.id, RunState.INTERRUPTED, ctx.clock.now()))
        raise
    except Exception:  # the store failed before any creator ran: end the run, or it holds its key for a lease
        await runs.finish(run.id, RunState.FAILED, ctx.clock.now())
        raise
    state = final_state(len(refreshed), len(failed))
    with contextlib.suppress(Exception):  # counts a failed last write kept: the run's end must not wait on them
        await progress.add(done=0, failed=0)
    await runs.finish(run.id, state, ctx.clock.now())
    return state
