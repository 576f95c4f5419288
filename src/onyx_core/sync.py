"""Sync bookkeeping: which streams exist, where each one stands, and how far back to look."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.ids import CreatorId
from onyx_core.timeutil import optional_utc, require_utc


class Stream(StrEnum):
    """A stream of data synced per creator, each with its own cursor."""

    EARNINGS = "earnings"
    REVERSALS = "reversals"
    """Refunds and chargebacks (Fanvue's spending endpoint)."""
    SUBSCRIBER_HISTORY = "subscriber_history"
    TOP_SPENDERS = "top_spenders"
    TRACKING_LINKS = "tracking_links"
    LEDGER_RECONCILIATION = "ledger_reconciliation"
    """Not fetched page by page: its cursor records when the ledger last agreed with Fanvue's daily totals."""


@dataclass(frozen=True, slots=True)
class SyncCursor:
    """Where a (creator, stream) sync stands.

    ``synced_through``: everything before it has been fetched and committed at least once.
    ``window_start``/``window_end``/``page_cursor``: a run in progress, so a crashed run resumes at the page
    after the last committed one instead of starting over. ``backfilled``: the full history was fetched once.
    """

    creator_id: CreatorId
    stream: Stream
    synced_through: datetime | None = None
    backfilled: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    page_cursor: str | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("synced_through", "window_start", "window_end", "updated_at"):
            object.__setattr__(self, name, optional_utc(getattr(self, name), f"SyncCursor.{name}"))
        if (self.window_start is None) != (self.window_end is None):
            raise DomainValueError("a run window needs both its start and its end")

    @property
    def in_progress(self) -> bool:
        return self.window_start is not None

    def started(self, start: datetime, end: datetime, now: datetime) -> SyncCursor:
        return replace(self, window_start=start, window_end=end, page_cursor=None, updated_at=now)

    def advanced(self, page_cursor: str | None, now: datetime) -> SyncCursor:
        return replace(self, page_cursor=page_cursor, updated_at=now)

    def completed(self, now: datetime, *, saw_data: bool) -> SyncCursor:
        """The run reached its last page. The history counts as backfilled once a run saw data: an empty first
        answer may be a permission problem, so the next run backfills again instead of looking back a week."""
        if self.window_end is None:
            raise DomainValueError("no run in progress to complete")
        backfilled = self.backfilled or saw_data
        return SyncCursor(self.creator_id, self.stream, self.window_end, backfilled=backfilled, updated_at=now)


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """How far back and how wide the sync use cases reach."""

    lookback: timedelta = timedelta(days=7)
    """Each incremental ledger run re-reads this much before ``synced_through``: late changes and refunds."""
    backfill_from: datetime = datetime(2020, 1, 1, tzinfo=UTC)
    """Where a first (full) backfill starts; Fanvue launched after this."""
    history_days: int = 7
    """Subscriber history: days re-read on each run after the first full backfill."""
    history_backfill_days: int = 365
    """Subscriber history: days fetched by the first run (Fanvue's agency history is limited to 365)."""
    max_pages: int = 10_000
    """A guard against a server that never stops paging, per run: a stream longer than this (500,000 rows at 50
    a page) completes its first backfill over several runs, each resuming where the last one stopped."""
    concurrency: int = 4
    """Creators refreshed at once by the agency-wide jobs."""
    page_retries: int = 2
    """How often a ledger page is asked again when it answers empty although the page before promised more,
    before the run stops partial (resumable) instead of taking it for the end of the history."""
    reconcile_window_days: int = 31
    """Reconciliation fetches disagreeing days again in windows of at most this many days."""
    batch_rows: int = 2_000
    """A ledger walk commits its pages in batches (:meth:`batch_due`): the rows of several pages and the cursor
    after the last of them in one transaction, once the batch holds this many rows. 1 commits every page."""
    batch_time: timedelta = timedelta(seconds=2)
    """... or once its first page was fetched this long ago, whichever comes first: a slow Fanvue still commits
    (and a crash loses) at most about this much fetching. ``timedelta(0)`` commits every page."""
    job_budget: timedelta = timedelta(seconds=5)
    """How long one job (a creator's stats, one ledger stream, reconciliation, history, top spenders, links; an
    import) may sit out Fanvue's 429s before it stops, partial, with when to try again (:mod:`onyx_core.budget`).
    Answers and the client's own pacing under Fanvue's rate do not count. The default keeps a sync of 3 creators
    under a storm of 429s well inside a minute; ``timedelta(0)`` never waits for a 429."""

    def __post_init__(self) -> None:
        require_utc(self.backfill_from, "SyncPolicy.backfill_from")
        if self.lookback < timedelta(0) or self.history_days < 1 or self.history_backfill_days < 1:
            raise DomainValueError("look-back and history lengths must be positive")
        if self.max_pages < 1 or self.concurrency < 1 or self.reconcile_window_days < 1:
            raise DomainValueError("max_pages, concurrency and reconcile_window_days must be at least 1")
        if self.page_retries < 0:
            raise DomainValueError("page_retries cannot be negative")
        if self.job_budget < timedelta(0):
            raise DomainValueError("job_budget cannot be negative")
        if self.batch_rows < 1 or self.batch_time < timedelta(0):
            raise DomainValueError("batch_rows must be at least 1 and batch_time cannot be negative")

    def batch_due(self, rows: int, opened_at: datetime, now: datetime) -> bool:
        """Whether a ledger batch of ``rows`` rows whose first page was fetched at ``opened_at`` commits now (its
        walk's last page commits it in any case). A catch-up of many pages then costs one transaction per
        ``batch_rows`` rows instead of one per page; a steady-state run of a page or two is one transaction."""
        return rows >= self.batch_rows or now - opened_at >= self.batch_time
