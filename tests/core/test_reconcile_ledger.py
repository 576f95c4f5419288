"""A first backfill never takes a failed page for the end of the history, and reconciliation heals a ledger that
lost rows anyway (issue 12, item 1), over the public fakes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from test_usecases import LUNA, T0, World, earning

from onyx_core.errors import DomainValueError
from onyx_core.ports import LedgerPage
from onyx_core.reconciliation import DayTotals, EarningsDays, Window, disagreeing_days, windows
from onyx_core.schedule import SyncJob
from onyx_core.stats import MissingReason
from onyx_core.sync import Stream
from onyx_core.usecases import ReconcileOutcome, SyncOutcome, reconcile_ledger, sync_creator, sync_ledger

HISTORY = [earning(LUNA, n, T0 - timedelta(days=40 - n, hours=n % 5)) for n in range(30)]


async def world_with_history(page_size: int = 3) -> World:
    world = World(page_size=page_size)
    await world.seed()
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = list(HISTORY)
    return world


async def cursor(world: World, stream: Stream = Stream.EARNINGS):
    async with world.ctx.uow() as uow:
        return await uow.cursors.get(LUNA, stream)


# ------------------------------------------------------------------------------------------ the page guard


async def test_an_empty_page_where_more_was_promised_is_asked_again_not_taken_for_the_end():
    world = await world_with_history()
    world.fanvue.cut_short = 2  # the 2nd and 3rd answers: {"data": [], "nextCursor": null}
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert report.outcome is SyncOutcome.COMPLETED
    assert len(await world.ledger(LUNA)) == len(HISTORY)


async def test_a_page_that_stays_empty_ends_the_backfill_partial_and_the_next_run_resumes_it():
    world = await world_with_history()
    world.fanvue.cut_short = world.ctx.sync_policy.page_retries + 1
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.outcome, report.failure, report.pages) == (SyncOutcome.PARTIAL, MissingReason.EMPTY, 1)
    stored = await cursor(world)
    assert stored is not None
    assert not stored.backfilled  # never marked complete: later runs would only look back a week
    assert stored.page_cursor is not None
    assert len(await world.ledger(LUNA)) == 3

    world.clock.advance(300)
    again = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (again.outcome, again.resumed) == (SyncOutcome.COMPLETED, True)
    assert len(await world.ledger(LUNA)) == len(HISTORY)
    assert (await cursor(world)).backfilled


async def test_an_empty_first_page_is_still_a_quiet_window():
    world = World(page_size=3)
    await world.seed()
    world.fanvue.cut_short = 5  # only pages asked with a cursor can be cut short
    report = await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    assert (report.outcome, report.pages, report.inserted) == (SyncOutcome.COMPLETED, 1, 0)


# ------------------------------------------------------------------------------------------ reconciliation


async def lose_rows(world: World, keep: int) -> None:
    """The walk of an older version: a cut-short page taken for the end, so only the first ``keep`` rows."""
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = sorted(HISTORY, key=lambda e: (e.occurred_at, e.key))[:keep]
    assert (await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)).outcome is SyncOutcome.COMPLETED
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = list(HISTORY)


async def test_reconciliation_finds_the_days_that_lost_rows_and_fetches_them_again():
    world = await world_with_history()
    await lose_rows(world, keep=12)
    assert len(await world.ledger(LUNA)) == 12
    world.clock.advance(60)
    report = await reconcile_ledger(world.ctx, LUNA)
    assert report.outcome is ReconcileOutcome.HEALED
    assert report.recovered == len(HISTORY) - 12
    assert len(report.disagreeing) == 18  # one row per day in this history
    assert report.still_disagreeing == ()
    assert sorted(e.key for e in await world.ledger(LUNA)) == sorted(e.key for e in HISTORY)
    assert "healed 18 of" in report.summary

    again = await reconcile_ledger(world.ctx, LUNA)
    assert (again.outcome, again.recovered) == (ReconcileOutcome.AGREED, 0)
    assert again.all_time == DayTotals(sum(e.gross.cents for e in HISTORY), sum(e.net.cents for e in HISTORY))


async def test_reconciliation_walks_only_the_windows_that_disagree():
    world = await world_with_history()
    assert (await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)).outcome is SyncOutcome.COMPLETED
    lost = HISTORY[7]
    world.store.ledger.pop((LUNA, lost.key))  # a row lost for any reason (here: taken out of the committed store)
    calls = len(world.fanvue.calls)
    report = await reconcile_ledger(world.ctx, LUNA)
    day = lost.occurred_at.date()
    assert (report.outcome, report.disagreeing, report.recovered) == (ReconcileOutcome.HEALED, (day,), 1)
    assert report.windows == (Window(day, day + timedelta(days=1)),)
    pages = [c for c in world.fanvue.calls[calls:] if c[0] == "fetch_ledger_page"]
    assert len(pages) == 1  # one page of one day, not the whole history again


async def test_reconciliation_says_when_rows_still_differ_after_a_clean_refetch():
    world = await world_with_history()
    assert (await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)).outcome is SyncOutcome.COMPLETED
    # Fanvue lists a row less than its summary counts (the summary sums rows the list no longer shows).
    shown = world.fanvue.ledger[(LUNA, Stream.EARNINGS)]
    world.fanvue.fetch_ledger_page = _hiding(world.fanvue.fetch_ledger_page, HISTORY[3].key)  # type: ignore[method-assign]
    world.store.ledger.pop((LUNA, HISTORY[3].key))
    report = await reconcile_ledger(world.ctx, LUNA)
    assert report.outcome is ReconcileOutcome.DISAGREES
    assert report.still_disagreeing == (HISTORY[3].occurred_at.date(),)
    assert "still differ" in report.summary
    assert len(shown) == len(HISTORY)


def _hiding(fetch, key: str):
    async def fetch_without(*args, **kwargs) -> LedgerPage:
        page = await fetch(*args, **kwargs)
        return LedgerPage(tuple(e for e in page.entries if e.key != key), page.next_cursor)

    return fetch_without


async def test_reconciliation_waits_for_a_completed_walk_and_ignores_an_empty_summary():
    world = await world_with_history()
    skipped = await reconcile_ledger(world.ctx, LUNA)
    assert (skipped.outcome, world.fanvue.calls[-1][0]) == (ReconcileOutcome.SKIPPED, "list_creators")
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = []
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = [earning(LUNA, 1, T0 - timedelta(days=3))]
    await sync_ledger(world.ctx, LUNA, Stream.EARNINGS)
    world.fanvue.ledger[(LUNA, Stream.EARNINGS)] = []  # an all-zero summary: no earnings, or no access
    empty = await reconcile_ledger(world.ctx, LUNA)
    assert empty.outcome is ReconcileOutcome.SKIPPED
    assert len(await world.ledger(LUNA)) == 1  # nothing compared, nothing changed


async def test_a_failing_summary_is_a_retryable_failure_of_the_reconcile_job():
    world = await world_with_history()
    await sync_creator(world.ctx, LUNA, [SyncJob.LEDGER])
    world.fanvue.fail("fetch_earnings_days", MissingReason.TIMEOUT, LUNA)
    report = await sync_creator(world.ctx, LUNA, [SyncJob.RECONCILE])
    assert report.failures == {SyncJob.RECONCILE: MissingReason.TIMEOUT}
    assert report.partial
    world.fanvue.heal()
    healed = await sync_creator(world.ctx, LUNA, [SyncJob.RECONCILE])
    assert healed.reconcile is not None
    assert healed.reconcile.outcome is ReconcileOutcome.AGREED
    assert not healed.partial


# ------------------------------------------------------------------------------------------ the pure part

D = date(2026, 5, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_a_day_disagrees_when_its_gross_or_net_differ_or_one_side_lacks_it():
    fanvue = EarningsDays(day(0), day(10), {day(1): DayTotals(100, 80), day(2): DayTotals(50, 40)}, DayTotals(150, 120))
    stored = {day(1): DayTotals(100, 80), day(2): DayTotals(50, 41), day(4): DayTotals(5, 4), day(12): DayTotals(1, 1)}
    assert disagreeing_days(fanvue, stored) == [day(2), day(4)]  # day 12 is outside the compared range


def test_windows_join_consecutive_days_and_stop_at_the_size_limit():
    assert windows([day(5), day(1), day(2), day(3), day(9)]) == [
        Window(day(1), day(4)),
        Window(day(5), day(6)),
        Window(day(9), day(10)),
    ]
    assert windows([day(n) for n in range(5)], max_days=2) == [
        Window(day(0), day(2)),
        Window(day(2), day(4)),
        Window(day(4), day(5)),
    ]
    with pytest.raises(DomainValueError):
        windows([day(0)], max_days=0)


def test_summary_days_must_lie_in_its_range():
    with pytest.raises(DomainValueError):
        EarningsDays(day(0), day(2), {day(3): DayTotals(1, 1)})
