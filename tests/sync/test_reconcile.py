"""Revenue reconciles to the cent with the sandbox's own data, and S4: reruns add no rows. SQLite and PostgreSQL.

The truth is computed from the sandbox world directly (``iter_earnings`` / ``iter_reversals``), never through the
API the sync used. Two figures are compared with it:

* the ledger's net sum (:meth:`LedgerRepository.net_total`, and :class:`SqlAnalytics` over any period): earnings
  net minus refunds and chargebacks, for creators whose own connection makes reversals readable;
* the stored ``revenue_total`` stat, which is Fanvue's lifetime ``account.earnings.total`` (net of reversals): for
  those creators it equals the ledger's net. For a creator read through the agency only, the ledger holds earnings
  alone (``/insights/spending`` needs her own token), so the documented relation is
  ``ledger net - revenue_total = the reversals' net``, which Onyx cannot see.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from harness import NOW, SyncWorld, synced_world
from sqlalchemy import func, select

from onyx_adapters.sql import schema
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_core.analytics.periods import Period
from onyx_core.ids import CreatorId
from onyx_core.schedule import SyncJob
from onyx_core.stats import EventKind, Metric
from onyx_core.usecases import sync_agency
from onyx_fanvue.sandbox.endpoints.users import account_json

TINY = timedelta(microseconds=1)


def earned(world: SyncWorld, creator: CreatorId, start: datetime | None, end: datetime) -> int:
    return sum(r.net for r in world.sandbox.world.iter_earnings(creator, start, end))


def reversed_net(world: SyncWorld, creator: CreatorId, start: datetime | None, end: datetime) -> int:
    return sum(r.net for r in world.sandbox.world.iter_reversals(creator, start, end))


def fanvue_total(world: SyncWorld, creator: CreatorId) -> int:
    account = account_json(world.sandbox.world, creator, world.sandbox.clock.now())
    return int(account["account"]["earnings"]["total"])


async def stat(world: SyncWorld, creator: CreatorId, metric: Metric = Metric.REVENUE_TOTAL) -> int | None:
    async with world.ctx.uow() as uow:
        record = (await uow.stats.get(creator)).get(metric)
    return None if record is None else record.value


async def ledger_net(world: SyncWorld, creator: CreatorId) -> int:
    async with world.ctx.uow() as uow:
        return await uow.ledger.net_total(creator, "USD")


def refund_some(world: SyncWorld, creator: CreatorId, at: datetime, *, nth: int = 3, **options: object) -> int:
    """Reverse the creator's ``nth`` payment at ``at``; returns the reversal's net."""
    paid = list(world.sandbox.world.iter_earnings(creator, end=at))[nth]
    return world.sandbox.add_refund(creator, paid.transaction_order_id, at=at, **options).net  # type: ignore[arg-type]


async def test_the_ledger_reconciles_to_the_cent_for_creators_with_their_own_connection(
    sync_database_url: str,
) -> None:
    async with synced_world(sync_database_url, creators=2, own=2, days=40) as world:
        for creator in world.creators:  # reversals of both kinds, inside and outside the last week
            refund_some(world, creator, NOW - timedelta(days=20), nth=2)
            refund_some(world, creator, NOW - timedelta(days=3), nth=5, source="chargeback")
            refund_some(world, creator, NOW - timedelta(hours=2), nth=9, gross=123)
        assert not (await sync_agency(world.ctx, world.agency)).partial
        analytics = SqlAnalytics(world.runtime.engine)
        now = world.sandbox.clock.now()
        periods = [
            Period(world.ctx.sync_policy.backfill_from, now),
            Period(now - timedelta(days=7), now),
            Period(NOW - timedelta(days=30), NOW - timedelta(days=10)),
        ]
        for creator in world.creators:
            truth = earned(world, creator, None, now) - reversed_net(world, creator, None, now)
            assert reversed_net(world, creator, None, now) > 0
            assert await ledger_net(world, creator) == truth
            for period in periods:
                totals = await analytics.revenue_totals(creator, period)
                expected = earned(world, creator, period.start, period.end)
                expected -= reversed_net(world, creator, period.start, period.end)
                assert totals.net.cents == expected, (creator, period)
                assert totals.reversal_net.cents == -reversed_net(world, creator, period.start, period.end)
            # the stat is Fanvue's own lifetime figure; with the reversals readable it is the ledger's net
            assert await stat(world, creator) == fanvue_total(world, creator) == truth

        # a refund and a payment after the first sync: one more sync and all three agree again
        for creator in world.creators:
            refund_some(world, creator, world.sandbox.clock.now(), nth=11)
            world.sandbox.add_earning(creator, gross=777, source="tip")
        world.sandbox.advance(timedelta(minutes=20))
        assert not (await sync_agency(world.ctx, world.agency)).partial
        now = world.sandbox.clock.now()
        for creator in world.creators:
            truth = earned(world, creator, None, now) - reversed_net(world, creator, None, now)
            assert await ledger_net(world, creator) == truth
            assert await stat(world, creator) == fanvue_total(world, creator) == truth


async def test_through_the_agency_only_the_ledger_lacks_exactly_the_reversals(sync_database_url: str) -> None:
    """The documented relation for a creator read through the agency only: ``revenue_total`` is Fanvue's total
    (net of reversals) and the ledger holds earnings only, so they differ by exactly the reversals' net."""
    async with synced_world(sync_database_url, creators=2, own=1, days=40) as world:
        other = world.creators[1]
        refund_some(world, other, NOW - timedelta(days=12), nth=4)
        refund_some(world, other, NOW - timedelta(days=2), nth=8, source="chargeback")
        assert not (await sync_agency(world.ctx, world.agency)).partial
        now = world.sandbox.clock.now()
        invisible = reversed_net(world, other, None, now)
        assert invisible > 0
        assert await ledger_net(world, other) == earned(world, other, None, now)
        assert await stat(world, other) == fanvue_total(world, other)
        assert await ledger_net(world, other) - invisible == await stat(world, other)


async def test_an_agency_only_creators_lower_total_is_believed_once_confirmed_ten_minutes_later(
    sync_database_url: str,
) -> None:
    """Without the creator's own connection no refund can be read, so no recorded refund can explain Fanvue's
    lower total. It is held (``decrease_held``) and applied only when a second total, at least 10 minutes later,
    says the same (``decrease_confirmed``): one low answer changes nothing, a real refund is not kept higher forever."""
    async with synced_world(sync_database_url, creators=2, own=1, days=40) as world:
        other = world.creators[1]
        assert not (await sync_agency(world.ctx, world.agency)).partial
        before = await stat(world, other)
        assert before is not None
        refund_some(world, other, world.sandbox.clock.now(), nth=6)
        world.sandbox.advance(timedelta(minutes=5))
        await sync_agency(world.ctx, world.agency, [SyncJob.STATS], import_first=False)
        assert fanvue_total(world, other) < before
        assert await stat(world, other) == before  # one observation: held
        world.sandbox.advance(timedelta(minutes=9))
        await sync_agency(world.ctx, world.agency, [SyncJob.STATS], import_first=False)
        assert await stat(world, other) == before  # 9 minutes later: still held
        world.sandbox.advance(timedelta(minutes=1, seconds=1))
        await sync_agency(world.ctx, world.agency, [SyncJob.STATS], import_first=False)
        assert await stat(world, other) == fanvue_total(world, other)
        async with world.ctx.uow() as uow:
            events = await uow.stats.events(other, Metric.REVENUE_TOTAL)
        kinds = [e.kind for e in events]
        assert EventKind.REGRESSION_REJECTED not in kinds
        assert kinds.index(EventKind.DECREASE_HELD) < kinds.index(EventKind.DECREASE_CONFIRMED)
        confirmed = events[kinds.index(EventKind.DECREASE_CONFIRMED)]
        assert (confirmed.old_value, confirmed.new_value) == (before, fanvue_total(world, other))


async def row_counts(world: SyncWorld) -> dict[str, int]:
    async with world.runtime.engine.connect() as conn:
        return {
            name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            for name, table in schema.metadata.tables.items()
        }


async def test_three_syncs_of_an_unchanged_sandbox_leave_every_table_s_row_count_unchanged(
    sync_database_url: str,
) -> None:
    """S4: after the first sync, two more against the same world add no row to any table (no duplicates) and
    raise nothing (a unique-constraint error would surface as a creator's failure)."""
    async with synced_world(sync_database_url, creators=3, own=2, days=40) as world:
        until = NOW + timedelta(minutes=5)
        for creator in world.creators:  # nothing the seed schedules may land while the test runs
            assert not list(world.sandbox.world.iter_reversals(creator, NOW, until))
        counts = []
        for _ in range(3):
            report = await sync_agency(world.ctx, world.agency)
            assert not report.partial, report
            assert report.failures == {}
            counts.append(await row_counts(world))
            world.sandbox.advance(timedelta(minutes=1))
        assert set(counts[0]) == set(schema.metadata.tables)
        for name in ("ledger_entries", "subscriber_days", "top_spenders", "tracking_links", "creator_stats"):
            assert counts[0][name] > 0, f"{name} is empty: the test would prove nothing for it"
        assert counts[1] == counts[0]
        assert counts[2] == counts[0]
