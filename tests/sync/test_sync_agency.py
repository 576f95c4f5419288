"""The whole sync against the sandbox: every job for every creator, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from harness import SyncWorld, synced_world

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.security import Argon2PasswordHasher
from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_core.accounts import create_owner
from onyx_core.accounts.usecases.analytics import read_dashboard
from onyx_core.accounts.usecases.deps import Principal
from onyx_core.analytics.periods import Period
from onyx_core.schedule import SyncJob
from onyx_core.stats import Metric
from onyx_core.sync import Stream
from onyx_core.usecases import SyncOutcome, sync_agency
from onyx_core.usecases.chatters import LOOKBACK_CHATTER_DAYS

HASHER = Argon2PasswordHasher.for_tests()
PASSWORD = "a long test passphrase 42"  # pragma: allowlist secret


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


def _sandbox_unlocks(world: SyncWorld, start: datetime, end: datetime) -> tuple[int, int]:
    """The truth, from the sandbox world itself: (unlocked, sent) over the PPVs a team member sent in [start, end)."""
    members = {m.uuid for m in world.sandbox.world.members()}
    sent = unlocked = 0
    for chats in world.sandbox.world.chats.values():
        for chat in chats:
            for message in chat.messages:
                mine = message.sent_by_user_id in members and start <= message.sent_at < end
                if mine and message.price is not None:
                    sent += 1
                    unlocked += message.purchased_at is not None
    return unlocked, sent


async def test_the_sync_stores_the_chatter_days_and_the_dashboard_unlock_rate_is_the_sandboxs(
    sync_database_url: str,
) -> None:
    async with synced_world(sync_database_url, creators=2, own=1) as world:
        first = await sync_agency(world.ctx, world.agency)
        assert not first.partial, first
        assert first.chatter_days is not None
        today = world.ctx.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=LOOKBACK_CHATTER_DAYS - 1)
        # the sandbox's leaderboard lags: today counts nothing yet
        unlocked, sent = _sandbox_unlocks(world, start, today)
        assert 0 < unlocked < sent, "the seeded world must send PPVs, some unlocked: else the test proves nothing"
        # a first run: one request over the 30 days, then one per day; a later run asks today and yesterday only
        assert (first.chatter_days.days, len(_leaderboards(world))) == (LOOKBACK_CHATTER_DAYS, 1 + 30)
        served = len(world.sandbox.requests)
        second = await sync_agency(world.ctx, world.agency)
        assert second.chatter_days is not None
        assert (second.chatter_days.days, len(_leaderboards(world, served))) == (2, 2)

        deps = accounts_deps(world.runtime.engine, world.runtime.cipher, clock=world.ctx.clock, hasher=HASHER)
        owner = await create_owner(
            deps, agency_name="", email="owner@example.com", display_name="Owner", password=PASSWORD,
            agency_id=world.agency,
        )  # fmt: skip
        period = Period(start, today + timedelta(days=1))
        reader = SqlDashboardReader(world.runtime.engine)
        answer = await read_dashboard(deps, Principal(owner), reader, range_=period, tz="UTC")
        assert answer.unlock_rate.defined, answer.unlock_rate.reason
        assert answer.unlock_rate.value == Fraction(unlocked, sent)


def _leaderboards(world: SyncWorld, after: int = 0) -> list[object]:
    return [r for r in world.sandbox.requests[after:] if r.path.endswith("/agencies/insights/chatter-leaderboard")]
