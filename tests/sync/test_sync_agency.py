"""The whole sync against the sandbox: every job for every creator, on SQLite and PostgreSQL."""

from __future__ import annotations

from harness import synced_world

from onyx_core.schedule import SyncJob
from onyx_core.stats import Metric
from onyx_core.sync import Stream
from onyx_core.usecases import SyncOutcome, sync_agency


async def test_first_sync_fills_every_job_and_a_rerun_changes_nothing(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=3, own=2) as world:
        first = await sync_agency(world.ctx, world.agency)
        assert not first.partial, first
        by_creator = {report.creator_id: report for report in first.creators}
        for creator in world.creators:
            report = by_creator[creator]
            earnings = next(r for r in report.ledger if r.stream is Stream.EARNINGS)
            assert earnings.outcome is SyncOutcome.COMPLETED
            assert earnings.inserted > 0
            assert report.history is not None
            assert report.top_spenders is not None
            assert report.links is not None
        # the creators with their own connection have reversals, posts and likes; the other has them "unavailable"
        for creator in world.own:
            assert by_creator[creator].failures == {}
            assert by_creator[creator].stats is not None
            assert by_creator[creator].stats.stale == {}
        other = world.creators[2]
        assert set(by_creator[other].stats.stale) == {Metric.POSTS, Metric.LIKES}  # type: ignore[union-attr]
        assert first.top_spenders is not None
        assert first.top_spenders.rows > 0

        second = await sync_agency(world.ctx, world.agency)
        assert not second.partial
        assert all(r.inserted == 0 for c in second.creators for r in c.ledger)


async def test_progress_reports_every_job_and_each_ledger_page(sync_database_url: str) -> None:
    seen: list[tuple[str, str, str, bool]] = []

    def record(creator_id: str, job: SyncJob, summary: str, *, done: bool) -> None:
        seen.append((creator_id, job.value, summary, done))

    async with synced_world(sync_database_url, creators=2, own=1) as world:
        await sync_agency(world.ctx, world.agency, progress=record)
    for creator in world.creators:
        finished = [job for c, job, _, done in seen if c == creator and done]
        assert finished == [job.value for job in SyncJob]
        pages = [summary for c, job, summary, done in seen if c == creator and not done]
        assert pages, "a backfill reports its pages while it runs"
        assert all(summary.startswith(("earnings: ", "reversals: ")) for summary in pages)
