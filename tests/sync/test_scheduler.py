"""The in-process scheduler on virtual time: what runs at which tick, and that a restart resumes from the data."""

from __future__ import annotations

from datetime import timedelta

from harness import synced_world

from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_core.schedule import Schedule, SyncJob
from onyx_core.usecases import MaintenanceOutcome
from onyx_core.usecases.chatters import LOOKBACK_CHATTER_DAYS


def _jobs(report: TickReport) -> dict[str, set[str]]:
    """Which jobs ran for which creator in one tick (from the reports' filled fields)."""
    ran: dict[str, set[str]] = {}
    for synced in report.synced:
        jobs = ran.setdefault(str(synced.creator_id), set())
        if synced.stats is not None:
            jobs.add(SyncJob.STATS)
        if synced.ledger:
            jobs.add(SyncJob.LEDGER)
        if synced.history is not None:
            jobs.add(SyncJob.HISTORY)
        if synced.top_spenders is not None:
            jobs.add(SyncJob.TOP_SPENDERS)
        if synced.links is not None:
            jobs.add(SyncJob.LINKS)
    return ran


async def test_ticks_run_each_job_at_its_interval(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=2) as world:
        reports: list[TickReport] = []
        scheduler = Scheduler(world.runtime, Schedule(), on_tick=reports.append)
        start = world.sandbox.clock.now()
        assert await scheduler.run(ticks=11) == 11  # 0..10 minutes of virtual time
        assert world.sandbox.clock.now() - start >= timedelta(minutes=10)
        everything = {SyncJob.STATS, SyncJob.LEDGER, SyncJob.HISTORY, SyncJob.TOP_SPENDERS, SyncJob.LINKS}
        first = _jobs(reports[0])
        assert first == {str(c): everything for c in world.creators}
        # minute 1: nothing is older than its interval yet; minute 2: stats again; minute 5: the ledger too
        assert _jobs(reports[1]) == {}
        assert all(jobs == {SyncJob.STATS} for jobs in _jobs(reports[2]).values())
        assert len(_jobs(reports[2])) == 2
        assert all(SyncJob.LEDGER in jobs for jobs in _jobs(reports[5]).values())
        assert all(SyncJob.HISTORY not in jobs for r in reports[1:] for jobs in _jobs(r).values())
        stats_ticks = [i for i, r in enumerate(reports) if any(SyncJob.STATS in j for j in _jobs(r).values())]
        assert stats_ticks == [0, 2, 4, 6, 8, 10]
        # maintenance ran at minutes 0, 5 and 10; nothing was due (fresh tokens), so no refresh
        ran = [r.maintenance for r in reports if r.maintenance is not None]
        assert len(ran) == 3
        assert all(m.count(MaintenanceOutcome.REFRESHED) == 0 for m in ran)
        assert not any(r.partial for r in reports)
        # the chatter leaderboard at the agency-wide top spenders' interval (an hour): the first tick only, a
        # first run's look-back
        assert [i for i, r in enumerate(reports) if r.chatter_days] == [0]
        assert reports[0].chatter_days[world.agency].days == LOOKBACK_CHATTER_DAYS


async def test_a_restarted_scheduler_resumes_from_the_stored_freshness(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=2) as world:
        await Scheduler(world.runtime).run(ticks=1)
        world.sandbox.advance(60)
        fresh = Scheduler(world.runtime)  # a new process knows nothing but the database
        report = await fresh.tick()
        assert _jobs(report) == {}  # everything synced a minute ago is still fresh
