"""Incremental ledger sync per (creator, stream): resumable, idempotent, with a look-back for late changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.ports import CursorRejectedError, LedgerPage, SourceUnavailableError, UnitOfWork, UpsertResult
from onyx_core.stats import Adjustment, Metric, MissingReason, Observation
from onyx_core.sync import Stream, SyncCursor, SyncPolicy
from onyx_core.usecases.context import Context, CreatorConnections, read_connections, with_connection
from onyx_core.usecases.refresh_stats import merge_observations

LEDGER_STREAMS = (Stream.EARNINGS, Stream.REVERSALS)


class SyncOutcome(StrEnum):
    """How a ledger sync run ended."""

    COMPLETED = "completed"
    """The whole window was fetched and committed; the cursor moved to its end."""
    PARTIAL = "partial"
    """Some pages were committed, then Fanvue failed or the page guard stopped us; the next run resumes."""
    FAILED = "failed"
    """Nothing new was committed (no connection, or the first page failed)."""


@dataclass(frozen=True, slots=True)
class LedgerSyncReport:
    """What one ledger sync run did: its window, pages, rows, and how it ended."""

    creator_id: CreatorId
    stream: Stream
    outcome: SyncOutcome
    window_start: datetime
    window_end: datetime
    resumed: bool
    pages: int
    inserted: int
    updated: int
    connection: ConnectionKind | None
    failure: MissingReason | None = None


def _adjustments(inserted: tuple[LedgerEntry, ...], now: datetime) -> list[Observation]:
    """Each new refund or chargeback is the recorded reason lifetime revenue may go down by its amount, if it
    happened after the stored total was read (the merge decides: an older one is already in that total)."""
    return [
        Adjustment(Metric.REVENUE_TOTAL, -entry.net.cents, now, entry.key, entry.kind.value, entry.occurred_at)
        for entry in inserted
        if entry.is_reversal and entry.net.cents < 0
    ]


PageHook = Callable[[Stream, int, int], None]
"""Called after each page fetched with the stream, the pages and the rows fetched so far in this run (a page
commits with its batch: see :class:`PageBatch`)."""


@dataclass(slots=True)
class PageBatch:
    """Pages fetched and not yet committed. They commit together, rows and cursor in one transaction, when the
    walk's last page arrives, :meth:`SyncPolicy.batch_due <onyx_core.sync.SyncPolicy.batch_due>` says so (by rows,
    by time), or the run stops partial: memory holds one batch, never the history. No transaction is open while
    pages are fetched: a batch's unit of work begins and commits in :func:`_commit_page`."""

    pages: int = 0
    entries: list[LedgerEntry] = field(default_factory=list)
    next_cursor: str | None = None
    opened_at: datetime | None = None

    def add(self, page: LedgerPage, now: datetime) -> None:
        if self.opened_at is None:
            self.opened_at = now
        self.pages += 1
        self.entries.extend(page.entries)
        self.next_cursor = page.next_cursor

    def due(self, policy: SyncPolicy, now: datetime) -> bool:
        if self.opened_at is None:
            return False
        return self.next_cursor is None or policy.batch_due(len(self.entries), self.opened_at, now)

    def take(self) -> LedgerPage | None:
        """The batch as one page (its rows in fetch order, the cursor after its last page), emptied."""
        if not self.pages:
            return None
        page = LedgerPage(tuple(self.entries), self.next_cursor)
        self.pages, self.entries, self.opened_at = 0, [], None
        return page


@dataclass(frozen=True, slots=True)
class _Run:
    """What a run starts from, read in one unit of work: the creator, the cursor, whether it was resumed, and the
    creator's candidate connections for the first batch."""

    creator: Creator
    cursor: SyncCursor
    resumed: bool
    connections: CreatorConnections


async def _open_run(ctx: Context, creator_id: CreatorId, stream: Stream) -> _Run:
    """The run's cursor: the one in progress (a crashed run with committed pages, resumed), or a new window from
    the last completed point minus the look-back (the whole history on the first run), with the creator (raises
    :class:`NotFoundError` if there is none, saving nothing) and her connections: one unit of work, not three (a
    run of a page or two is mostly these)."""
    policy = ctx.sync_policy
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        creator = await uow.creators.get(creator_id)
        if creator is None:
            raise NotFoundError(f"no creator {creator_id}")
        connections = await read_connections(uow, creator)
        cursor = await uow.cursors.get(creator_id, stream) or SyncCursor(creator_id, stream)
        if cursor.in_progress and cursor.page_cursor is not None:
            return _Run(creator, cursor, resumed=True, connections=connections)
        # A run that committed no page has nothing to resume: a new window reaching now serves it better than
        # the old one, which would stop short of everything since.
        start = policy.backfill_from
        if cursor.backfilled and cursor.synced_through is not None:
            start = max(policy.backfill_from, cursor.synced_through - policy.lookback)
        cursor = cursor.started(start, now, now)
        await uow.cursors.save(cursor)
        await uow.commit()
    return _Run(creator, cursor, resumed=False, connections=connections)


async def store_entries(ctx: Context, uow: UnitOfWork, creator_id: CreatorId, page: LedgerPage) -> UpsertResult:
    """Upsert a page's (or a batch's) rows inside ``uow``, with the refunds among the new ones as adjustments of
    lifetime revenue: a refund and the permission to lower revenue by it land in the same transaction. (Plain
    earnings merge nothing: the stats refresh raises the ledger floor, without a full SUM per page.)"""
    result = await uow.ledger.upsert(page.entries)
    adjustments = _adjustments(result.inserted, ctx.clock.now())
    if adjustments:
        await merge_observations(ctx, uow, creator_id, adjustments)
    return result


async def _commit_page(
    ctx: Context, creator_id: CreatorId, cursor: SyncCursor, page: LedgerPage, *, saw_data: bool
) -> tuple[SyncCursor, UpsertResult]:
    """The page's (or a batch's) rows and the advanced cursor, in one transaction: the cursor never runs ahead of
    the data."""
    async with ctx.uow() as uow:
        cursor = cursor.advanced(page.next_cursor, ctx.clock.now())
        if page.next_cursor is None:
            cursor = cursor.completed(ctx.clock.now(), saw_data=saw_data)
        await uow.cursors.save(cursor)  # saved first: the refunds' merge reads whether reversals caught up
        result = await store_entries(ctx, uow, creator_id, page)
        await uow.commit()
    return cursor, result


@dataclass(slots=True)
class _Committed:
    """What a run has committed so far."""

    pages: int = 0
    inserted: int = 0
    updated: int = 0


async def _commit_batch(
    ctx: Context, creator_id: CreatorId, cursor: SyncCursor, batch: PageBatch, done: _Committed, *, saw_data: bool
) -> SyncCursor:
    """Commit ``batch`` (if it holds a page) with the cursor after its last page; returns the cursor."""
    pages, page = batch.pages, batch.take()
    if page is None:
        return cursor
    cursor, result = await _commit_page(ctx, creator_id, cursor, page, saw_data=saw_data)
    done.pages += pages
    done.inserted += len(result.inserted)
    done.updated += result.updated
    return cursor


def cut_short(page_cursor: str | None, page: LedgerPage) -> bool:
    """Whether ``page`` is empty and says the history ends although the page before promised more (it gave
    ``page_cursor``). Fanvue's cursor names the rows after it (``nextCursor`` is null at the end), so this is a
    failed page, not the end of the history: taking it for the end lost every older row for good."""
    return page_cursor is not None and not page.entries and page.next_cursor is None


async def fetch_page(
    ctx: Context,
    creator: Creator,
    stream: Stream,
    start: datetime,
    end: datetime,
    page_cursor: str | None,
    exclude: frozenset[ConnectionKind] = frozenset(),
    connections: CreatorConnections | None = None,
) -> tuple[LedgerPage, ConnectionKind]:
    """One ledger page through :func:`with_connection`; a page :func:`cut_short` is asked again up to
    ``sync_policy.page_retries`` times, then raises :class:`SourceUnavailableError` (``EMPTY``): a rerun fixes it.
    ``connections``: the creator's candidate connections as the caller read them (else read before each try)."""

    async def fetch(connection: Connection) -> LedgerPage:
        return await ctx.fanvue.fetch_ledger_page(connection, creator, stream, start, end, page_cursor)

    for _ in range(ctx.sync_policy.page_retries + 1):
        page, kind = await with_connection(ctx, creator, fetch, exclude=exclude, connections=connections)
        if not cut_short(page_cursor, page):
            return page, kind
    raise SourceUnavailableError(
        MissingReason.EMPTY,
        f"{stream.value}: a page promised by the one before answered empty {ctx.sync_policy.page_retries + 1} times",
    )


async def _batch_connections(
    ctx: Context, creator: Creator, connections: CreatorConnections | None, batch: PageBatch, *, first: bool
) -> CreatorConnections:
    """The creator's candidate connections, read when a batch opens (not before every page: two SELECTs and a
    unit of work per 50 rows were most of a backfill's time; the ``first`` batch's as the run opened), or again
    after the last page's choice failed over."""
    if connections is not None and (batch.pages or first):
        return connections
    async with ctx.uow() as uow:
        return await read_connections(uow, creator)


async def sync_ledger(
    ctx: Context, creator_id: CreatorId, stream: Stream, on_page: PageHook | None = None
) -> LedgerSyncReport:
    """Fetch the stream's pages since the cursor (minus the look-back) and commit them, with the cursor, in batches.

    A batch's rows and the cursor after its last page are committed in one unit of work, so the cursor never runs
    ahead of the data: a run killed at any point resumes after the last committed batch. A batch commits at the
    walk's last page, once it holds ``sync_policy.batch_rows`` rows or its first page is ``batch_time`` old (a
    backfill or catch-up: one transaction per batch, not per page; a steady-state run of a page or two is one
    transaction), and when the run stops partial. A page that answers empty where the one before promised more
    is asked again, then ends the run partial (see :func:`fetch_page`): the history counts as complete only when
    a walk reached its end cleanly. Rows are upserted by key, so re-reading the look-back (or a whole batch after
    a crash) inserts nothing twice. Empty answers delete nothing. A page cursor Fanvue refuses (expired), or one
    issued to the other connection, makes the run walk its window again from the start, once (the batch is kept:
    its rows are Fanvue's all the same, and the cursor committed with them is the new walk's).
    """
    if stream not in LEDGER_STREAMS:
        raise DomainValueError(f"{stream} is not a ledger stream")
    run = await _open_run(ctx, creator_id, stream)
    creator, cursor, resumed = run.creator, run.cursor, run.resumed
    assert cursor.window_start is not None  # noqa: S101 - started() or in_progress set both ends
    assert cursor.window_end is not None  # noqa: S101
    window_start, window_end = cursor.window_start, cursor.window_end

    fetched = rows = 0
    done = _Committed()
    saw_data = cursor.page_cursor is not None  # a resumed run's earlier pages had rows
    kind: ConnectionKind | None = None
    walked_with: ConnectionKind | None = None  # whose walk issued the page cursor (unknown when resumed)
    restarted = False
    failure: MissingReason | None = None
    batch = PageBatch()
    position = cursor.page_cursor  # where the walk stands: the committed cursor, then the batch's pages

    connections: CreatorConnections | None = run.connections
    while fetched < ctx.sync_policy.max_pages:
        page_cursor = position
        # the first batch's connections were read as the run opened
        connections = await _batch_connections(ctx, creator, connections, batch, first=not (fetched or restarted))
        try:
            page, kind = await fetch_page(
                ctx, creator, stream, window_start, window_end, page_cursor, connections=connections
            )
        except CursorRejectedError as rejected:
            if page_cursor is None or restarted:
                failure = rejected.reason
                break
            # An expired cursor (a crashed run resumed days later) would fail every run from now on.
            restarted, cursor, position = True, cursor.advanced(None, ctx.clock.now()), None
            continue
        except SourceUnavailableError as unavailable:
            failure = unavailable.reason
            break
        if page_cursor is not None and walked_with not in (None, kind) and not restarted:
            # The cursor came from the other connection's walk, whose pages need not line up with this one's.
            restarted, cursor, position, walked_with = True, cursor.advanced(None, ctx.clock.now()), None, kind
            continue
        walked_with = kind
        # the first choice failed over (refused, not assigned): read them again; else as this page's touch left them
        connections = None if kind is not connections.choose().kind else connections.used(kind, ctx.clock.now())
        saw_data = saw_data or bool(page.entries)
        batch.add(page, ctx.clock.now())
        position = page.next_cursor
        fetched += 1
        rows += len(page.entries)
        if on_page is not None:
            on_page(stream, fetched, rows)
        if batch.due(ctx.sync_policy, ctx.clock.now()):
            cursor = await _commit_batch(ctx, creator_id, cursor, batch, done, saw_data=saw_data)
        if page.next_cursor is None:
            return LedgerSyncReport(
                creator_id, stream, SyncOutcome.COMPLETED, window_start, window_end, resumed, done.pages,
                done.inserted, done.updated, kind,
            )  # fmt: skip
    # Fanvue failed or the page guard stopped the walk: the pages fetched are kept, and the next run resumes after
    await _commit_batch(ctx, creator_id, cursor, batch, done, saw_data=saw_data)
    outcome = SyncOutcome.PARTIAL if done.pages else SyncOutcome.FAILED
    return LedgerSyncReport(
        creator_id, stream, outcome, window_start, window_end, resumed, done.pages, done.inserted, done.updated, kind,
        failure,
    )  # fmt: skip
