"""The use cases end to end over the public fakes: what a sync does when Fanvue behaves, and when it does not."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import Agency, CreatorProfile, RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import SyncJob
from onyx_core.stats import EventKind, MissingReason
from onyx_core.sync import Stream, SyncPolicy
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock, _Connections
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.tokens import TokenSet
from onyx_core.usecases import (
    Context,
    SyncOutcome,
    import_creators,
    record_agency_top_spenders,
    record_subscriber_history,
    record_top_spenders,
    refresh_agency_stats,
    refresh_creator_stats,
    sync_creator,
    sync_ledger,
    sync_tracking_links,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AGENCY = AgencyId("agency-1")
AGENCY_CONN = ConnectionId("conn-agency")
LUNA, MIKA = CreatorId("c-luna"), CreatorId("c-mika")
VALUES = {
    "revenue_total": 100_000,
    "subscribers": 120,
    "followers": 900,
    "posts": 40,
    "likes": 5000,
    "chats": 75,
    "available_balance": 12_345,
}


def connection(cid: str, kind: ConnectionKind, creator: CreatorId | None = None, **changes) -> Connection:
    fields = {
        "id": ConnectionId(cid),
        "kind": kind,
        "agency_id": AGENCY,
        "creator_id": creator,
        "fanvue_user_uuid": f"fv-{cid}",
        "status": ConnectionStatus.ACTIVE,
        "tokens": TokenSet("access-x", "refresh-x", T0 + timedelta(hours=1), frozenset()),
        "token_version": 1,
        "last_refreshed_at": T0,
        "last_used_at": None,
        "last_error": None,
    }
    fields.update(changes)
    return Connection(**fields)


def earning(creator: CreatorId, n: int, at: datetime, cents: int = 1000, fan: str = "fan-1") -> LedgerEntry:
    key = ledger_key(
        kind=EntryKind.EARNING, transaction_order_id=f"FV-{creator}-{n}", occurred_at=at, source=Source.TIP,
        gross_cents=cents, net_cents=cents * 8 // 10, fan_id=fan, reference=None,
    )  # fmt: skip
    return LedgerEntry(creator, key, at, Source.TIP, Money(cents), Money(cents * 8 // 10), fan_id=FanId(fan))


def refund(creator: CreatorId, n: int, at: datetime, cents: int) -> LedgerEntry:
    key = ledger_key(
        kind=EntryKind.REFUND, transaction_order_id=None, occurred_at=at, source=Source.REFUND,
        gross_cents=-cents, net_cents=-cents, fan_id="fan-1", reference=str(n),
    )  # fmt: skip
    return LedgerEntry(
        creator, key, at, Source.REFUND, Money(-cents), Money(-cents), EntryKind.REFUND, FanId("fan-1"), str(n)
    )


class World:
    def __init__(self, *, page_size: int = 2, policy: SyncPolicy | None = None) -> None:
        self.clock = ManualClock(T0)
        self.store = InMemoryStore()
        self.fanvue = FakeFanvue(page_size=page_size)
        self.ctx = Context(
            uow=lambda: InMemoryUnitOfWork(self.store),
            fanvue=self.fanvue,
            clock=self.clock,
            sync_policy=policy or SyncPolicy(),
        )

    async def seed(self, *connections: Connection) -> None:
        async with self.ctx.uow() as uow:
            await uow.agencies.upsert(Agency(AGENCY, "Agency One"))
            for conn in connections or (connection(AGENCY_CONN, ConnectionKind.AGENCY),):
                await uow.connections.save(conn)
            await uow.commit()
        self.fanvue.creators[AGENCY_CONN] = [
            CreatorProfile(LUNA, "luna", "Luna"),
            CreatorProfile(MIKA, "mika", "Mika"),
        ]
        self.fanvue.stats = {LUNA: dict(VALUES), MIKA: dict(VALUES)}
        await import_creators(self.ctx, AGENCY)

    async def stats(self, creator: CreatorId):
        async with self.ctx.uow() as uow:
            return await uow.stats.get(creator)

    async def ledger(self, creator: CreatorId):
        async with self.ctx.uow() as uow:
            return await uow.ledger.entries(creator)


# ------------------------------------------------------------------------------------------ import


async def test_import_adds_then_updates_and_never_deletes():
    world = World()
    await world.seed()
    async with world.ctx.uow() as uow:
        assert [c.id for c in await uow.creators.for_agency(AGENCY)] == [LUNA, MIKA]

    world.fanvue.creators[AGENCY_CONN] = [CreatorProfile(LUNA, "luna.new", "Luna")]
    again = await import_creators(world.ctx, AGENCY)
    assert (again.added, again.updated, again.unchanged) == ((), (LUNA,), 0)

    world.fanvue.creators[AGENCY_CONN] = []  # what a permission problem looks like
    empty = await import_creators(world.ctx, AGENCY)
    assert empty.listed == 0
    async with world.ctx.uow() as uow:
        creators = await uow.creators.for_agency(AGENCY)
    assert [(c.id, c.handle) for c in creators] == [(LUNA, "luna.new"), (MIKA, "mika")]


async def test_import_never_moves_a_creator_from_another_agency():
    world = World()
    await world.seed()
    other = AgencyId("agency-2")
    other_conn = connection("conn-other", ConnectionKind.AGENCY, agency_id=other)
    async with world.ctx.uow() as uow:
        await uow.agencies.upsert(Agency(other, "Agency Two"))
        await uow.connections.save(other_conn)
        await uow.commit()
    world.fanvue.creators[other_conn.id] = [CreatorProfile(LUNA, "luna", "Luna")]
    report = await import_creators(world.ctx, other)
    assert (report.added, report.conflicts, report.unchanged) == ((), (LUNA,), 0)
    async with world.ctx.uow() as uow:
        luna = await uow.creators.get(LUNA)
    assert luna is not None
    assert luna.agency_id == AGENCY


async def test_import_without_a_usable_agency_connection_fails_clearly():
    world = World()
    await world.seed()
    async with world.ctx.uow() as uow:
        conn = await uow.connections.get(AGENCY_CONN)
        assert conn is not None
        await uow.connections.save(conn.marked_needs_reauth("invalid_grant"))
        await uow.commit()
    with pytest.raises(SourceUnavailableError) as failure:
        await import_creators(world.ctx, AGENCY)
    assert failure.value.reason is MissingReason.NO_CONNECTION
    with pytest.raises(NotFoundError):
        await import_creators(world.ctx, AgencyId("nope"))


# ------------------------------------------------------------------------------------------ stats


async def test_refresh_stores_every_metric():
    world = World()
    await world.seed()
    report = await refresh_creator_stats(world.ctx, LUNA)
    assert report.connection is ConnectionKind.AGENCY
    assert report.stale == {}
    records = await world.stats(LUNA)
    assert {m: r.value for m, r in records.items()} == VALUES


async def test_a_failing_fanvue_never_overwrites_stats_with_zero():
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    for reason in MissingReason:
        world.clock.advance(60)
        world.fanvue.fail("fetch_stats", reason, LUNA, times=1)
        report = await refresh_creator_stats(world.ctx, LUNA)
        assert set(report.stale) == set(VALUES)
        records = await world.stats(LUNA)
        assert {m: r.value for m, r in records.items()} == VALUES
        assert {r.observed_at for r in records.values()} == {T0}
    world.clock.advance(60)
    healed = await refresh_creator_stats(world.ctx, LUNA)
    assert healed.stale == {}
    assert EventKind.RECOVERED in {e.kind for e in healed.events}


async def test_one_metric_empty_marks_only_that_metric_stale():
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    world.clock.advance(60)
    world.fanvue.fail("fetch_stats:followers", MissingReason.EMPTY, LUNA)
    report = await refresh_creator_stats(world.ctx, LUNA)
    assert report.stale == {"followers": MissingReason.EMPTY}


async def test_unassigned_creator_falls_back_to_the_creators_own_connection():
    world = World()
    await world.seed(
        connection(AGENCY_CONN, ConnectionKind.AGENCY), connection("conn-luna", ConnectionKind.CREATOR, LUNA)
    )
    world.fanvue.unassigned.add((AGENCY_CONN, LUNA))
    report = await refresh_creator_stats(world.ctx, LUNA)
    assert report.connection is ConnectionKind.CREATOR
    assert report.stale == {}
    assert [c[:2] for c in world.fanvue.calls if c[0] == "fetch_stats"] == [
        ("fetch_stats", AGENCY_CONN),
        ("fetch_stats", "conn-luna"),
    ]


async def test_unassigned_creator_without_own_connection_is_stale_not_zero():
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    world.fanvue.unassigned.add((AGENCY_CONN, LUNA))
    world.clock.advance(60)
    report = await refresh_creator_stats(world.ctx, LUNA)
    assert report.connection is None
    # the agency's answer says why (not assigned), rather than a generic "no connection"
    assert set(report.stale.values()) == {MissingReason.NOT_ASSIGNED}
    assert {m: r.value for m, r in (await world.stats(LUNA)).items()} == VALUES


async def test_agency_token_is_used_for_imported_creators_even_with_no_personal_token():
    # The incident Onyx exists to avoid: creators imported under an agency have no token of their own.
    world = World()
    await world.seed()
    report = await refresh_agency_stats(world.ctx, AGENCY)
    assert {r.connection for r in report.refreshed} == {ConnectionKind.AGENCY}
    assert report.failures == {}


@pytest.mark.parametrize("concurrency", [1, 2, 8])
async def test_refresh_agency_runs_creators_concurrently_but_bounded(concurrency):
    world = World(policy=SyncPolicy(concurrency=concurrency))
    await world.seed()
    more = [CreatorProfile(f"c-extra-{n}", f"extra{n}", f"Extra {n}") for n in range(6)]
    world.fanvue.creators[AGENCY_CONN] += more
    world.fanvue.stats.update({CreatorId(p.fanvue_uuid): dict(VALUES) for p in more})
    await import_creators(world.ctx, AGENCY)
    running = peak = 0
    original = world.fanvue.fetch_stats

    async def slow(conn, creator, at):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return await original(conn, creator, at)

    world.fanvue.fetch_stats = slow  # type: ignore[method-assign]
    report = await refresh_agency_stats(world.ctx, AGENCY)
    assert len(report.refreshed) == 8
    assert peak == min(concurrency, 8)


async def test_a_cliff_in_fanvues_answer_is_held_not_applied():
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    world.fanvue.stats[LUNA]["subscribers"] = 0
    world.clock.advance(60)
    report = await refresh_creator_stats(world.ctx, LUNA)
    assert EventKind.CLIFF_HELD in {e.kind for e in report.events}
    assert (await world.stats(LUNA))["subscribers"].value == 120
    world.clock.advance(timedelta(minutes=10))
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["subscribers"].value == 0


async def test_concurrent_refreshes_of_one_creator_lose_no_update():
    world = World()
    await world.seed()
    seen = []
    original = world.fanvue.fetch_stats

    async def spying(conn, creator, at):
        observations = await original(conn, creator, at)
        seen.extend(o for o in observations if o.metric == "likes")
        return observations

    world.fanvue.fetch_stats = spying  # type: ignore[method-assign]

    async def refresh_with(likes: int) -> None:
        world.fanvue.stats[LUNA]["likes"] = likes
        await refresh_creator_stats(world.ctx, LUNA)

    await asyncio.gather(*(refresh_with(5000 + i) for i in range(20)))
    assert len({o.value for o in seen}) > 1
    record = (await world.stats(LUNA))["likes"]
    assert set(seen) <= set(record.window), "every observation that was fetched was merged"


# ------------------------------------------------------------------------------------------ ledger


async def test_ledger_backfill_then_incremental_with_lookback():
    world = World(page_size=2)
    await world.seed()
    rows = [earning(LUNA, n, T0 - timedelta(days=20 - n)) for n in range(5)]
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = rows
    first = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (first.outcome, first.pages, first.inserted) == (SyncOutcome.COMPLETED, 3, 5)
    assert first.window_start == SyncPolicy().backfill_from

    world.clock.advance(timedelta(days=1))
    late = earning(LUNA, 99, T0 - timedelta(days=6))  # a late row for day D-6 (requirement S5)
    too_old = earning(LUNA, 98, T0 - timedelta(days=9))  # outside the 7-day look-back
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] += [late, too_old]
    second = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert second.window_start == T0 - timedelta(days=7)
    assert second.inserted == 1
    keys = {e.key for e in await world.ledger(LUNA)}
    assert late.key in keys
    assert too_old.key not in keys


async def test_ledger_sync_is_idempotent():
    # S4 in miniature: three runs over unchanged data add nothing after the first.
    world = World()
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=n + 1)) for n in range(4)]
    counts = []
    for _ in range(3):
        await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
        counts.append(len(await world.ledger(LUNA)))
        world.clock.advance(3600)
    assert counts == [4, 4, 4]


async def test_an_empty_lookback_window_deletes_nothing():
    world = World()
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=n + 1)) for n in range(4)]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = []
    world.clock.advance(3600)
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert report.outcome is SyncOutcome.COMPLETED
    assert len(await world.ledger(LUNA)) == 4


async def test_an_empty_first_backfill_is_retried_in_full():
    # Fanvue answers an empty list for a permission problem: that must not count as "history fetched".
    world = World()
    await world.seed()
    first = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (first.outcome, first.inserted) == (SyncOutcome.COMPLETED, 0)
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=20 + n)) for n in range(3)]
    world.clock.advance(3600)
    second = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert second.window_start == SyncPolicy().backfill_from
    assert second.inserted == 3
    world.clock.advance(3600)
    third = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert third.window_start == T0 + timedelta(hours=1) - timedelta(days=7)


def _fail_fetch(world: World, *, at: int, error: Exception):
    """Make the ``at``-th ledger page request raise ``error``; returns the original fetch."""
    original = world.fanvue.fetch_ledger_page
    calls = 0

    async def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == at:
            raise error
        return await original(*args, **kwargs)

    world.fanvue.fetch_ledger_page = failing  # type: ignore[method-assign]
    return original


async def test_a_failure_mid_backfill_keeps_committed_pages_and_resumes():
    world = World(page_size=2)
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(6)]
    _fail_fetch(world, at=2, error=SourceUnavailableError(MissingReason.TIMEOUT, "read timeout"))
    partial = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (partial.outcome, partial.pages, partial.failure) == (SyncOutcome.PARTIAL, 1, MissingReason.TIMEOUT)
    assert len(await world.ledger(LUNA)) == 2
    async with world.ctx.uow() as uow:
        cursor = await uow.cursors.get(LUNA, Stream.EARNINGS)
    assert cursor is not None
    assert cursor.in_progress
    assert cursor.page_cursor == "2"

    resumed = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert resumed.resumed
    assert (resumed.outcome, resumed.inserted) == (SyncOutcome.COMPLETED, 4)
    assert len(await world.ledger(LUNA)) == 6


async def test_a_crash_before_commit_leaves_the_cursor_with_the_data():
    world = World(page_size=2)
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(4)]
    commits_before = world.store.commits
    # The unit of work that starts the run commits; the first page's commit then fails.
    world.store.fail_next_commit(RuntimeError("disk full"), skip=1)
    with pytest.raises(RuntimeError):
        await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert world.store.commits == commits_before + 1
    assert await world.ledger(LUNA) == []
    async with world.ctx.uow() as uow:
        cursor = await uow.cursors.get(LUNA, Stream.EARNINGS)
    assert cursor is not None
    assert cursor.page_cursor is None  # the cursor did not run ahead of the (lost) page
    again = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (again.outcome, again.inserted) == (SyncOutcome.COMPLETED, 4)


def _stored_before_each_fetch(world: World) -> list[int]:
    """Spy: how many of Luna's rows are committed when each ledger page is asked for."""
    seen: list[int] = []
    original = world.fanvue.fetch_ledger_page

    async def spying(*args, **kwargs):
        seen.append(len(await world.ledger(LUNA)))
        return await original(*args, **kwargs)

    world.fanvue.fetch_ledger_page = spying  # type: ignore[method-assign]
    return seen


async def test_a_backfill_commits_its_pages_in_batches_bounded_by_rows():
    world = World(page_size=2, policy=SyncPolicy(batch_rows=5))
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(13)]
    seen = _stored_before_each_fetch(world)
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.outcome, report.pages, report.inserted) == (SyncOutcome.COMPLETED, 7, 13)
    # pages of 2 rows: a batch commits at its 6th row (>= 5), the last page commits the rest
    assert seen == [0, 0, 0, 6, 6, 6, 12]
    assert len(await world.ledger(LUNA)) == 13


async def test_a_slow_walk_commits_its_batch_when_the_first_page_is_batch_time_old():
    world = World(page_size=2, policy=SyncPolicy(batch_rows=1_000, batch_time=timedelta(seconds=2)))
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(13)]
    seen = _stored_before_each_fetch(world)
    spied = world.fanvue.fetch_ledger_page

    async def slow(*args, **kwargs):
        page = await spied(*args, **kwargs)
        world.clock.advance(0.8)  # each answer takes 0.8 s
        return page

    world.fanvue.fetch_ledger_page = slow  # type: ignore[method-assign]
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.outcome, report.inserted) == (SyncOutcome.COMPLETED, 13)
    # the first page arrives at 0.8 s; at the 4th (3.2 s) it is 2.4 s old: 4 pages (8 rows) commit
    assert seen == [0, 0, 0, 0, 8, 8, 8]


async def test_a_steady_state_run_commits_its_pages_in_one_transaction():
    world = World(page_size=2)
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(5)]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    world.clock.advance(timedelta(minutes=5))
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] += [earning(LUNA, 10 + n, T0 + timedelta(minutes=n)) for n in range(3)]
    seen = _stored_before_each_fetch(world)
    commits = world.store.commits
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.pages, report.inserted) == (2, 3)
    assert seen == [5, 5], "the second page was asked with nothing of the first committed"
    assert len(await world.ledger(LUNA)) == 8
    assert world.store.commits - commits == 3  # the run's opening, the connection's touch, one for the rows


async def test_a_crash_mid_batch_resumes_after_the_last_committed_batch():
    world = World(page_size=2, policy=SyncPolicy(batch_rows=5))
    await world.seed()
    rows = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(13)]
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = rows
    # not Fanvue failing: the process dies asking for page 5, with page 4 uncommitted
    original = _fail_fetch(world, at=5, error=RuntimeError("killed"))
    with pytest.raises(RuntimeError):
        await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert [e.key for e in await world.ledger(LUNA)] == [e.key for e in rows[:6]]
    async with world.ctx.uow() as uow:
        cursor = await uow.cursors.get(LUNA, Stream.EARNINGS)
    assert cursor is not None
    assert cursor.page_cursor == "6", "the cursor stands after the committed batch, not after page 4"

    world.fanvue.fetch_ledger_page = original  # type: ignore[method-assign]
    resumed = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert resumed.resumed
    assert (resumed.outcome, resumed.pages, resumed.inserted) == (SyncOutcome.COMPLETED, 4, 7)
    assert sorted(e.key for e in await world.ledger(LUNA)) == sorted(e.key for e in rows)


async def test_a_refund_older_than_the_stored_total_lets_nothing_go_down():
    # A first backfill finds the creator's historical refunds after her total was read: that total had already
    # subtracted them, so a once-low total from Fanvue is refused instead of spending them as credit.
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    world.fanvue.ledger[(LUNA, Stream.REVERSALS)] = [refund(LUNA, 1, T0 - timedelta(days=2), 1_000)]
    world.clock.advance(60)
    assert (await sync_ledger(world.ctx, LUNA, Stream.REVERSALS)).inserted == 1
    world.fanvue.stats[LUNA]["revenue_total"] = 99_000
    refresh = await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 100_000
    kinds = [e.kind for e in refresh.events if e.metric == "revenue_total"]
    assert EventKind.REGRESSION_REJECTED in kinds


async def test_a_new_refund_lets_revenue_go_down_by_its_amount():
    world = World()
    await world.seed()
    await refresh_creator_stats(world.ctx, LUNA)
    world.fanvue.stats[LUNA]["revenue_total"] = 99_000
    world.clock.advance(60)
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 100_000  # no recorded reason yet

    # The refund happened after the total of 100,000 was read (at T0), so that total did not reflect it.
    world.fanvue.ledger[(LUNA, Stream.REVERSALS)] = [refund(LUNA, 1, T0 + timedelta(seconds=30), 1_000)]
    world.clock.advance(60)
    report = await sync_ledger(world.ctx, LUNA, Stream.REVERSALS)
    assert report.inserted == 1
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 99_000

    # Re-reading the same refund does not grant the decrease twice.
    world.clock.advance(3600)
    await sync_ledger(world.ctx, LUNA, Stream.REVERSALS)
    world.fanvue.stats[LUNA]["revenue_total"] = 98_000
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 99_000


async def test_revenue_is_never_below_the_ledger():
    world = World()
    await world.seed()
    world.fanvue.stats[LUNA]["revenue_total"] = 500  # Fanvue's total lags the ledger
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=n + 1)) for n in range(3)]
    world.fanvue.ledger[(LUNA, Stream.REVERSALS)] = [refund(LUNA, 0, T0 - timedelta(hours=1), 300)]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    await sync_ledger(world.ctx, LUNA, Stream.REVERSALS)
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 3 * 800 - 300


async def test_earnings_without_their_reversals_are_no_floor():
    """An agency connection cannot read refunds: a ledger of earnings alone overstates lifetime revenue, so it
    must not overrule Fanvue's total (which has the refunds taken off)."""
    world = World()
    await world.seed()
    world.fanvue.stats[LUNA]["revenue_total"] = 2000  # Fanvue: 3 x 800 earned, 400 refunded
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=n + 1)) for n in range(3)]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    world.fanvue.fail("fetch_ledger_page", MissingReason.PERMISSION)
    await sync_ledger(world.ctx, LUNA, Stream.REVERSALS)
    world.fanvue.heal()
    await refresh_creator_stats(world.ctx, LUNA)
    assert (await world.stats(LUNA))["revenue_total"].value == 2000


# ------------------------------------------------------------------------------------------ history, rankings


async def test_subscriber_history_backfills_a_year_then_a_rolling_week():
    world = World()
    await world.seed()
    today = T0.date()
    world.fanvue.subscriber_days[LUNA] = [
        SubscriberDay(LUNA, today - timedelta(days=n), new=n % 5, cancelled=n % 3) for n in range(400)
    ]
    first = await record_subscriber_history(world.ctx, LUNA)
    assert first.backfill
    assert (first.start, first.end, first.days) == (today - timedelta(days=364), today + timedelta(days=1), 365)
    world.clock.advance(timedelta(days=1))
    second = await record_subscriber_history(world.ctx, LUNA)
    assert not second.backfill
    assert second.start == today + timedelta(days=1) - timedelta(days=6)
    async with world.ctx.uow() as uow:
        stored = await uow.history.days(LUNA, date(2000, 1, 1), date(2100, 1, 1))
    assert len(stored) == 365


async def test_an_empty_first_history_answer_keeps_backfilling():
    world = World()
    await world.seed()
    assert (await record_subscriber_history(world.ctx, LUNA)).backfill
    world.fanvue.subscriber_days[LUNA] = [SubscriberDay(LUNA, T0.date() - timedelta(days=100), new=3, cancelled=1)]
    world.clock.advance(timedelta(days=1))
    second = await record_subscriber_history(world.ctx, LUNA)
    assert (second.backfill, second.days) == (True, 1)
    world.clock.advance(timedelta(days=1))
    assert not (await record_subscriber_history(world.ctx, LUNA)).backfill


async def test_history_failure_writes_nothing():
    world = World()
    await world.seed()
    world.fanvue.fail("fetch_subscriber_days", MissingReason.ERROR, LUNA)
    with pytest.raises(SourceUnavailableError):
        await record_subscriber_history(world.ctx, LUNA)
    async with world.ctx.uow() as uow:
        assert await uow.cursors.get(LUNA, Stream.SUBSCRIBER_HISTORY) is None


def spender(rank: int, creator: CreatorId | None) -> RankedSpender:
    return RankedSpender(
        rank,
        FanId(f"fan-{rank}"),
        f"fan{rank}",
        f"Fan {rank}",
        Money(10_000 - rank),
        Money(8_000 - rank),
        rank,
        creator,
    )


async def test_top_spenders_snapshot_keeps_fifty_and_an_empty_answer_replaces_nothing():
    world = World()
    await world.seed()
    world.fanvue.top_spenders[LUNA] = [spender(r, LUNA) for r in range(1, 61)]
    assert (await record_top_spenders(world.ctx, LUNA)).rows == 50
    world.fanvue.top_spenders[LUNA] = []
    await record_top_spenders(world.ctx, LUNA)
    async with world.ctx.uow() as uow:
        assert len(await uow.top_spenders.get(LUNA)) == 50


async def test_the_agency_ranking_combines_the_stored_creator_lists_without_calling_fanvue():
    world = World()
    await world.seed()
    world.fanvue.top_spenders[LUNA] = [spender(r, LUNA) for r in range(1, 4)]
    world.fanvue.top_spenders[MIKA] = [spender(r, MIKA) for r in range(2, 6)]
    await record_top_spenders(world.ctx, LUNA)
    await record_top_spenders(world.ctx, MIKA)
    calls = len(world.fanvue.calls)
    report = await record_agency_top_spenders(world.ctx, AGENCY)
    assert len(world.fanvue.calls) == calls
    assert report.rows == 5
    async with world.ctx.uow() as uow:
        ranked = await uow.top_spenders.get(f"agency:{AGENCY}")
    # fans 2 and 3 spent with both creators: their sums rank first
    assert [(s.rank, s.fan_id) for s in ranked][:2] == [(1, "fan-2"), (2, "fan-3")]
    assert ranked[0].gross == Money(2 * (10_000 - 2))
    assert all(s.creator_id is None for s in ranked)
    # an empty answer for one creator leaves its stored list, so the agency ranking does not shrink
    world.fanvue.top_spenders[MIKA] = []
    await record_top_spenders(world.ctx, MIKA)
    assert (await record_agency_top_spenders(world.ctx, AGENCY)).rows == 5


async def test_tracking_links_are_upserted():
    world = World()
    await world.seed()
    link = TrackingLink(TrackingLinkId("l1"), LUNA, "insta", "fv-1", "instagram", T0, 10, 2, 3)
    world.fanvue.links[LUNA] = [link]
    assert (await sync_tracking_links(world.ctx, LUNA)).links == 1
    world.fanvue.links[LUNA] = [TrackingLink(TrackingLinkId("l1"), LUNA, "insta", "fv-1", "instagram", T0, 15, 2, 3)]
    await sync_tracking_links(world.ctx, LUNA)
    async with world.ctx.uow() as uow:
        assert [lk.clicks for lk in await uow.tracking_links.for_creator(LUNA)] == [15]


async def test_a_metric_that_never_had_a_value_and_answers_empty_does_not_make_a_sync_partial():
    world = World()
    await world.seed()
    del world.fanvue.stats[LUNA]["chats"]  # a creator without chats: Fanvue's empty list, never a value
    first = await sync_creator(world.ctx, LUNA, [SyncJob.STATS])
    assert first.stats is not None
    assert first.stats.stale == {"chats": MissingReason.EMPTY}
    assert not first.partial, "nothing a rerun could complete"
    world.fanvue.stats[LUNA]["chats"] = 3
    world.clock.advance(60)
    assert not (await sync_creator(world.ctx, LUNA, [SyncJob.STATS])).partial
    del world.fanvue.stats[LUNA]["chats"]  # now a known value goes empty: that is a failure to report
    world.clock.advance(60)
    assert (await sync_creator(world.ctx, LUNA, [SyncJob.STATS])).partial


async def test_a_backfill_reads_the_connections_once_per_batch(monkeypatch: pytest.MonkeyPatch):
    world = World(page_size=2, policy=SyncPolicy(batch_rows=6))
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=30 - n)) for n in range(13)]
    reads: list[AgencyId] = []
    original = _Connections.for_agency

    async def counted(self: _Connections, agency_id: AgencyId) -> Connection | None:
        reads.append(agency_id)
        return await original(self, agency_id)

    monkeypatch.setattr(_Connections, "for_agency", counted)
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.outcome, report.pages, report.inserted) == (SyncOutcome.COMPLETED, 7, 13)
    # 7 pages in batches of 6 rows: pages 1-3, 4-6 and 7, each opened by one read of who may fetch
    assert len(reads) == 3


async def test_a_ledger_run_opens_in_one_unit_of_work():
    """The creator, the cursor and the first batch's connections are read (and the new window saved) in one unit
    of work: a steady-state run of one page is that and its batch's commit (was four: the creator, the cursor and
    the connections each in their own)."""
    world = World()
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, n, T0 - timedelta(days=3 - n)) for n in range(2)]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)  # the connection's touch is due once: done here
    opened = 0
    factory = world.ctx.uow

    def counted() -> InMemoryUnitOfWork:
        nonlocal opened
        opened += 1
        return factory()  # type: ignore[return-value]

    world.clock.advance(30)  # within TOUCH_EVERY: no touch's unit of work
    report = await sync_ledger(replace(world.ctx, uow=counted), LUNA, Stream.EARNINGS)
    assert (report.outcome, report.pages, report.inserted) == (SyncOutcome.COMPLETED, 1, 0)
    assert opened == 2
    with pytest.raises(NotFoundError):  # a missing creator still saves no cursor
        await sync_ledger(world.ctx, CreatorId("nobody"), Stream.EARNINGS)
    async with world.ctx.uow() as uow:
        assert await uow.cursors.get(CreatorId("nobody"), Stream.EARNINGS) is None
