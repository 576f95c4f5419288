"""S5: the ledger's 7-day look-back, on SQLite and PostgreSQL.

The first sync backfills the whole history (``startDate = policy.backfill_from``); every later run re-reads only
``synced_through - lookback`` onwards, which is enough to pick up a late payment or refund dated 6 days back, and
an empty answer inside that window deletes nothing. The requests the sandbox served are the evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from harness import NOW, SyncWorld, synced_world
from sqlalchemy import func, select

from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_adapters.sql.schema import ledger_entries
from onyx_core.analytics.periods import Period
from onyx_core.ids import CreatorId
from onyx_core.schedule import SyncJob
from onyx_core.sync import Stream, SyncCursor, SyncPolicy
from onyx_core.usecases import sync_agency
from onyx_fanvue.sandbox.sandbox import Served

LEDGER_ROUTES = {
    "/creators/{creator}/insights/earnings": Stream.EARNINGS,
    "/insights/earnings": Stream.EARNINGS,
    "/insights/spending": Stream.REVERSALS,
}


def start_dates(served: Iterable[Served]) -> list[tuple[Served, datetime]]:
    """Each ledger request with the ``startDate`` it asked for (every ledger request must name one)."""
    out = []
    for request in served:
        if request.route in LEDGER_ROUTES and request.status == 200:
            raw = parse_qs(request.query)["startDate"][0]
            out.append((request, datetime.fromisoformat(raw.replace("Z", "+00:00"))))
    return out


async def cursor_of(world: SyncWorld, creator: CreatorId, stream: Stream) -> SyncCursor:
    async with world.ctx.uow() as uow:
        cursor = await uow.cursors.get(creator, stream)
    assert cursor is not None
    assert cursor.synced_through is not None
    return cursor


def expected_start(cursor: SyncCursor, policy: SyncPolicy) -> datetime:
    """Where an incremental run must start: ``synced_through - lookback``; but a stream that has never answered a
    single row is not ``backfilled`` (an empty first answer may be a permission problem), so it asks for the whole
    history again; that costs one empty page, and there is no older data it could re-read."""
    assert cursor.synced_through is not None
    if not cursor.backfilled:
        return policy.backfill_from
    return max(policy.backfill_from, cursor.synced_through - policy.lookback)


async def row_count(world: SyncWorld, creator: CreatorId | None = None) -> int:
    query = select(func.count()).select_from(ledger_entries)
    if creator is not None:
        query = query.where(ledger_entries.c.creator_id == creator)
    async with world.runtime.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_the_first_sync_backfills_the_whole_history(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=2, own=1, days=30) as world:
        report = await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER])
        assert not report.partial, report
        asked = start_dates(world.sandbox.requests)
        policy = world.ctx.sync_policy
        streams = {(r.creator or r.user, LEDGER_ROUTES[r.route]) for r, _ in asked}
        assert streams == {(world.creators[0], Stream.EARNINGS), (world.creators[1], Stream.EARNINGS)} | {
            (world.creators[0], Stream.REVERSALS)
        }
        assert {start for _, start in asked} == {policy.backfill_from}
        earliest = min(r.date for c in world.creators for r in world.sandbox.world.iter_earnings(c))
        assert policy.backfill_from < earliest  # so "full history" really is all of it
        expected = sum(1 for c in world.creators for _ in world.sandbox.world.iter_earnings(c, end=NOW))
        expected += sum(1 for _ in world.sandbox.world.iter_reversals(world.creators[0], end=NOW))
        assert await row_count(world) == expected


async def test_a_late_adjustment_six_days_back_is_picked_up_without_reading_older_days(
    sync_database_url: str,
) -> None:
    """A payment booked late under day D-6 and a refund dated D-6 (of an older payment) both appear after the next
    incremental sync, and that sync asks for nothing before ``synced_through - 7 days``."""
    async with synced_world(sync_database_url, creators=2, own=1, days=30) as world:
        own, other = world.creators
        early = next(iter(world.sandbox.world.iter_earnings(own)))
        world.sandbox.add_refund(own, early.transaction_order_id, at=early.date + timedelta(days=1))
        assert not (await sync_agency(world.ctx, world.agency)).partial
        analytics = SqlAnalytics(world.runtime.engine)
        d_minus_6 = NOW - timedelta(days=6)
        day = Period(d_minus_6.replace(hour=0, minute=0, second=0, microsecond=0), NOW - timedelta(days=5))
        before = {c: await analytics.revenue_totals(c, day) for c in world.creators}
        old_net = {c: await _net(world, c) for c in world.creators}
        cursors = {
            (c, s): await cursor_of(world, c, s)
            for c, s in [(own, Stream.EARNINGS), (own, Stream.REVERSALS), (other, Stream.EARNINGS)]
        }
        assert all(c.backfilled for c in cursors.values())  # each stream saw rows: incremental from here

        late = {c: world.sandbox.add_earning(c, gross=2500, source="tip", at=d_minus_6) for c in world.creators}
        paid = next(r for r in world.sandbox.world.iter_earnings(own, end=NOW - timedelta(days=8)) if r.gross > 700)
        refund = world.sandbox.add_refund(own, paid.transaction_order_id, at=d_minus_6 + timedelta(hours=1))
        world.sandbox.advance(timedelta(hours=3))
        served = len(world.sandbox.requests)

        report = await sync_agency(world.ctx, world.agency)
        assert not report.partial, report
        asked = start_dates(world.sandbox.requests[served:])
        assert {(r.creator or r.user, LEDGER_ROUTES[r.route]) for r, _ in asked} == set(cursors)
        for request, start in asked:
            cursor = cursors[(request.creator or request.user, LEDGER_ROUTES[request.route])]
            assert start == expected_start(cursor, world.ctx.sync_policy), request
            if cursor.backfilled:
                assert cursor.synced_through is not None
                assert start >= cursor.synced_through - timedelta(days=7), f"{request.path} re-read {start}"

        after = {c: await analytics.revenue_totals(c, day) for c in world.creators}
        for creator in world.creators:
            assert after[creator].transaction_count == before[creator].transaction_count + 1
        assert after[other].net.cents == before[other].net.cents + late[other].net
        # the refund is dated D-6 too: on the creator with her own connection it lands in the same day
        assert after[own].net.cents == before[own].net.cents + late[own].net - refund.net
        assert after[own].reversal_count == before[own].reversal_count + 1
        assert await _net(world, own) == old_net[own] + late[own].net - refund.net
        assert await _net(world, other) == old_net[other] + late[other].net


async def test_an_adjustment_older_than_the_look_back_is_not_requested(sync_database_url: str) -> None:
    """The other side of the window: a payment booked late under D-9 is outside the look-back, so the incremental
    sync does not see it (no request reaches back that far); the documented price of bounded re-reads."""
    async with synced_world(sync_database_url, creators=1, own=0, days=30) as world:
        assert not (await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER])).partial
        creator = world.creators[0]
        count = await row_count(world, creator)
        world.sandbox.add_earning(creator, gross=2500, source="tip", at=NOW - timedelta(days=9))
        world.sandbox.advance(timedelta(hours=3))
        served = len(world.sandbox.requests)
        assert not (await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER])).partial
        asked = start_dates(world.sandbox.requests[served:])
        assert asked
        assert all(start == NOW - timedelta(days=7) for _, start in asked)
        assert await row_count(world, creator) == count


async def test_a_stream_that_never_answered_a_row_asks_for_the_whole_history_again(sync_database_url: str) -> None:
    """The documented exception to "older days are not re-requested": a reversals stream that has never seen a row
    (a creator without refunds, or a grant Fanvue answers empty) stays in backfill mode, one empty page a run."""
    async with synced_world(sync_database_url, creators=1, own=1, days=10) as world:
        creator = world.creators[0]
        assert not list(world.sandbox.world.iter_reversals(creator, end=NOW + timedelta(days=1)))
        for _ in range(2):
            served = len(world.sandbox.requests)
            assert not (await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER])).partial
            asked = {LEDGER_ROUTES[r.route]: start for r, start in start_dates(world.sandbox.requests[served:])}
            world.sandbox.advance(timedelta(hours=1))
        assert asked[Stream.REVERSALS] == world.ctx.sync_policy.backfill_from
        assert asked[Stream.EARNINGS] == NOW - world.ctx.sync_policy.lookback
        assert not (await cursor_of(world, creator, Stream.REVERSALS)).backfilled


async def test_an_empty_answer_inside_the_window_deletes_nothing(sync_database_url: str) -> None:
    """Fanvue answers an empty page for the whole look-back window (the ``empty`` fault on both ledger routes):
    every stored row stays, and the revenue of those days is unchanged."""
    async with synced_world(sync_database_url, creators=2, own=1, days=30) as world:
        assert not (await sync_agency(world.ctx, world.agency)).partial
        analytics = SqlAnalytics(world.runtime.engine)
        window = Period(NOW - timedelta(days=7), NOW)
        counts = {c: await row_count(world, c) for c in world.creators}
        assert all(counts.values())
        revenue = {c: await analytics.revenue_totals(c, window) for c in world.creators}
        assert all(r.transaction_count > 0 for r in revenue.values())  # the window did hold rows to lose

        world.sandbox.inject("empty", route="*/insights/earnings")
        world.sandbox.inject("empty", route="/insights/spending")
        world.sandbox.advance(timedelta(hours=1))
        served = len(world.sandbox.requests)
        await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER])
        assert start_dates(world.sandbox.requests[served:]), "no ledger request was made"

        assert {c: await row_count(world, c) for c in world.creators} == counts
        assert {c: await analytics.revenue_totals(c, window) for c in world.creators} == revenue


async def _net(world: SyncWorld, creator: CreatorId) -> int:
    async with world.ctx.uow() as uow:
        return await uow.ledger.net_total(creator, "USD")


def test_the_look_back_is_seven_days_by_default() -> None:
    """The figure S5 names; the tests above read it from the policy, so they follow a configured value."""
    assert SyncPolicy().lookback == timedelta(days=7)
