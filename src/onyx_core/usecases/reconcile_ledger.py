"""Reconcile a creator's stored earnings with Fanvue's own daily totals, and fetch again the days that disagree.

The ledger sync trusts Fanvue's paging; a page that came back empty or cut short, a crash, or a bug can still
leave rows out. Fanvue's earnings summary adds up the same rows per day, so it tells which days lost rows: those
days are walked again (rows are upserted by key, so nothing is stored twice) and compared once more. A ledger that
lost rows for any reason heals itself, and the report says what was found, fetched and healed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.ids import CreatorId
from onyx_core.ports import SourceUnavailableError
from onyx_core.reconciliation import ZERO, DayTotals, EarningsDays, Window, disagreeing_days, windows
from onyx_core.stats import MissingReason
from onyx_core.sync import Stream, SyncCursor
from onyx_core.usecases.context import Context, load_creator, with_connection
from onyx_core.usecases.sync_ledger import fetch_page, store_entries


class ReconcileOutcome(StrEnum):
    """How a reconciliation ended."""

    AGREED = "agreed"
    """Every compared day equals Fanvue's totals."""
    HEALED = "healed"
    """Some days disagreed; fetched again, they all agree now."""
    DISAGREES = "disagrees"
    """Days still disagree after a clean re-fetch: rows Fanvue counts but does not list (a person should look)."""
    SKIPPED = "skipped"
    """Nothing to compare yet: no completed ledger walk, or Fanvue's summary is empty (no earnings, or no access)."""


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one reconciliation found and did."""

    creator_id: CreatorId
    outcome: ReconcileOutcome
    days_checked: int = 0
    disagreeing: tuple[date, ...] = ()
    """Days whose stored totals differed from Fanvue's before the re-fetch."""
    windows: tuple[Window, ...] = ()
    recovered: int = 0
    """Rows the re-fetch inserted (rows the ledger had lost)."""
    still_disagreeing: tuple[date, ...] = ()
    all_time: DayTotals | None = None
    """Fanvue's lifetime total of earnings rows."""
    stored_all_time: DayTotals | None = None
    """The stored earnings' lifetime total, after any re-fetch."""
    connection: ConnectionKind | None = None
    note: str = ""

    @property
    def summary(self) -> str:
        """One line for people: what agreed, what was healed, what still differs."""
        match self.outcome:
            case ReconcileOutcome.SKIPPED:
                return f"skipped: {self.note}"
            case ReconcileOutcome.AGREED:
                return f"{self.days_checked} days agree with Fanvue{self._lifetime}"
            case ReconcileOutcome.HEALED:
                return (
                    f"healed {len(self.disagreeing)} of {self.days_checked} days "
                    f"(+{self.recovered} rows in {len(self.windows)} windows){self._lifetime}"
                )
            case ReconcileOutcome.DISAGREES:
                first = self.still_disagreeing[0].isoformat()
                return (
                    f"{len(self.still_disagreeing)} days still differ from Fanvue after a re-fetch (first {first}; "
                    f"+{self.recovered} rows)"
                )

    @property
    def _lifetime(self) -> str:
        if self.all_time is None or self.stored_all_time is None or self.all_time == self.stored_all_time:
            return ""
        gap = self.all_time.net - self.stored_all_time.net
        return f"; lifetime differs by {gap} net cents (today's rows, or from before the backfill start)"


async def _stored_days(ctx: Context, creator_id: CreatorId, start: date, end: date) -> dict[date, DayTotals]:
    async with ctx.uow() as uow:
        return await uow.ledger.earnings_by_day(creator_id, start, end)


async def _walk(ctx: Context, creator: Creator, window: Window) -> int:
    """Every earnings page of ``window`` again, each page committed on its own; returns the rows inserted. The
    walk stays on the connection that answered its first page: page cursors belong to the walk that issued them."""
    inserted, page_cursor = 0, None
    exclude: frozenset[ConnectionKind] = frozenset()
    for _ in range(ctx.sync_policy.max_pages):
        page, kind = await fetch_page(ctx, creator, Stream.EARNINGS, window.start, window.stop, page_cursor, exclude)
        exclude = frozenset(ConnectionKind) - {kind}
        async with ctx.uow() as uow:
            inserted += len((await store_entries(ctx, uow, creator.id, page)).inserted)
            await uow.commit()
        if page.next_cursor is None:
            return inserted
        page_cursor = page.next_cursor
    raise SourceUnavailableError(MissingReason.PARTIAL, f"{window.first}..{window.end}: more than max_pages pages")


async def _mark_reconciled(ctx: Context, creator_id: CreatorId) -> None:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await uow.cursors.save(
            SyncCursor(creator_id, Stream.LEDGER_RECONCILIATION, now, backfilled=True, updated_at=now)
        )
        await uow.commit()


async def reconcile_ledger(ctx: Context, creator_id: CreatorId) -> ReconcileReport:
    """Compare the creator's stored earnings, day by day, with Fanvue's earnings summary over the days the ledger
    has completed (from ``sync_policy.backfill_from`` to the day before ``synced_through``); fetch the days that
    disagree again, in windows of ``sync_policy.reconcile_window_days``, and compare once more. The report also
    carries Fanvue's lifetime total of earnings and the stored one (they differ by rows of today, or from before
    ``backfill_from``, which the days do not cover).

    Raises :class:`SourceUnavailableError` when Fanvue fails (the rows a re-fetch already committed stay): a rerun
    completes it. An empty summary is not compared (it cannot be told from a permission problem)."""
    creator = await load_creator(ctx, creator_id)
    async with ctx.uow() as uow:
        earnings = await uow.cursors.get(creator_id, Stream.EARNINGS)
    # A completed walk is enough, backfilled or not: a first walk whose first page came back empty completes
    # without data (an empty window is quiet), and only Fanvue's totals can tell that it was not.
    if earnings is None or earnings.synced_through is None:
        return ReconcileReport(creator_id, ReconcileOutcome.SKIPPED, note="the ledger has no completed walk yet")
    start, end = ctx.sync_policy.backfill_from.date(), earnings.synced_through.date()

    async def fetch(connection: Connection) -> EarningsDays:
        return await ctx.fanvue.fetch_earnings_days(connection, creator, start, end)

    try:
        fanvue, kind = await with_connection(ctx, creator, fetch)
    except SourceUnavailableError as unavailable:
        if unavailable.reason is not MissingReason.EMPTY:
            raise
        await _mark_reconciled(ctx, creator_id)
        return ReconcileReport(creator_id, ReconcileOutcome.SKIPPED, note=f"Fanvue's summary: {unavailable.detail}")
    days_checked = (end - start).days
    wrong = disagreeing_days(fanvue, await _stored_days(ctx, creator_id, start, end))
    todo = windows(wrong, ctx.sync_policy.reconcile_window_days)
    recovered = 0
    for window in todo:
        recovered += await _walk(ctx, creator, window)
    still = disagreeing_days(fanvue, await _stored_days(ctx, creator_id, start, end)) if todo else []
    lifetime = sum((await _stored_days(ctx, creator_id, date.min, date.max)).values(), ZERO)
    await _mark_reconciled(ctx, creator_id)
    outcome = ReconcileOutcome.DISAGREES if still else ReconcileOutcome.HEALED if wrong else ReconcileOutcome.AGREED
    return ReconcileReport(
        creator_id, outcome, days_checked, tuple(wrong), tuple(todo), recovered, tuple(still),
        fanvue.all_time, lifetime, kind,
    )  # fmt: skip


__all__ = ["ReconcileOutcome", "ReconcileReport", "reconcile_ledger"]
