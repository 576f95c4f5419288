"""Carry out a queued refresh run: its creators' stats refreshed :func:`refresh_creator_stats` by
:func:`for_each_creator` (at most ``sync_policy.concurrency`` at a time, each creator on her own Fanvue rate
bucket), its progress stored creator by creator so any process can read it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from onyx_core.ids import AgencyId, CreatorId
from onyx_core.refresh import RefreshRun, RefreshRunStore, RunState, final_state
from onyx_core.usecases.context import Context, for_each_creator
from onyx_core.usecases.refresh_stats import StatsRefresh, refresh_creator_stats

__all__ = ["execute_refresh_run"]


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

    async def one(creator_id: CreatorId) -> StatsRefresh:
        try:
            refreshed = await refresh_creator_stats(ctx, creator_id)
        except Exception:
            await runs.record_progress(run.id, done=0, failed=1, at=ctx.clock.now())
            raise
        if on_stored is not None:
            on_stored(run.agency_id)
        await runs.record_progress(run.id, done=1, failed=0, at=ctx.clock.now())
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
    await runs.finish(run.id, state, ctx.clock.now())
    return state
