"""One creator's whole sync (the jobs a runner schedules), an agency's, and what is due when."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from onyx_core.budget import JobBudget
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import SourceUnavailableError
from onyx_core.refresh import last_refreshed_at
from onyx_core.schedule import Freshness, Schedule, SyncJob, due_jobs
from onyx_core.stats import RETRYABLE_REASONS, MissingReason
from onyx_core.sync import Stream
from onyx_core.usecases.chatters import ChatterDaysReport, record_recent_chatter_days
from onyx_core.usecases.context import Context, budgeted, for_each_creator, require_agency, retry_at_of
from onyx_core.usecases.import_creators import ImportReport, import_creators
from onyx_core.usecases.rankings import (
    LinksReport,
    SnapshotReport,
    record_agency_top_spenders,
    record_top_spenders,
    sync_tracking_links,
)
from onyx_core.usecases.reconcile_ledger import ReconcileReport, reconcile_ledger
from onyx_core.usecases.refresh_stats import StatsRefresh, refresh_creator_stats
from onyx_core.usecases.subscriber_history import HistoryReport, record_subscriber_history
from onyx_core.usecases.sync_ledger import LEDGER_STREAMS, LedgerSyncReport, SyncOutcome, sync_ledger

RETRYABLE = RETRYABLE_REASONS


class ProgressHook(Protocol):
    """Called with a one-line summary after each job of a creator's sync (``done``) and after each ledger page
    (not ``done``: the job is still running), for progress bars."""

    def __call__(self, creator_id: CreatorId, job: SyncJob, summary: str, *, done: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class CreatorSyncReport:
    """What one creator's sync did, job by job. ``failures`` maps a job (or ``ledger:<stream>``) to the reason
    it could not complete; a job that ran is in its own field."""

    creator_id: CreatorId
    stats: StatsRefresh | None = None
    ledger: tuple[LedgerSyncReport, ...] = ()
    reconcile: ReconcileReport | None = None
    history: HistoryReport | None = None
    top_spenders: SnapshotReport | None = None
    links: LinksReport | None = None
    failures: dict[str, MissingReason] = field(default_factory=dict)
    retry_at: datetime | None = None
    """When Fanvue's rate limit lets a rerun in: the latest time it named for a call it refused (``None``: it
    refused nothing). A job stops once it has sat out 429s for ``SyncPolicy.job_budget``."""

    @property
    def partial(self) -> bool:
        """Something failed that a later run can fix (Fanvue erred, timed out, answered empty or rate-limited):
        the stored data is intact but not fully current. Missing permissions don't count: they need a person."""
        stale: list[MissingReason] = []
        if self.stats is not None:
            # An empty answer for a metric that never had a value is how a brand-new creator (no chats, no fans)
            # looks: unknown, but no run will "complete" it, so it does not make the sync partial.
            stale = [
                reason
                for metric, reason in self.stats.stale.items()
                if not (reason is MissingReason.EMPTY and metric in self.stats.unknown)
            ]
        return any(reason in RETRYABLE for reason in (*self.failures.values(), *stale))


async def _attempt(failures: dict[str, MissingReason], label: str, call: Awaitable[object]) -> object | None:
    try:
        return await call
    except SourceUnavailableError as failure:
        failures[label] = failure.reason
        return None


async def sync_creator(
    ctx: Context,
    creator_id: CreatorId,
    jobs: Iterable[SyncJob] = tuple(SyncJob),
    progress: ProgressHook | None = None,
) -> CreatorSyncReport:
    """Run ``jobs`` for one creator, in :class:`SyncJob` order. A job that fails is recorded and the next one
    still runs; nothing is ever zeroed or deleted because Fanvue failed. Re-running is always safe.

    Each job (and each ledger stream) runs under its own ``sync_policy.job_budget`` of sitting out 429s: under a
    storm a job stops within it (its reason ``rate_limited``) and the report says when to try again."""
    wanted = set(jobs)
    failures: dict[str, MissingReason] = {}
    budgets: list[JobBudget] = []
    stats: StatsRefresh | None = None
    ledger: list[LedgerSyncReport] = []
    reconciled = history = spenders = links = None

    def done(job: SyncJob, summary: str) -> None:
        if progress is not None:
            progress(creator_id, job, summary, done=True)

    def paging(stream: Stream, pages: int, rows: int) -> None:
        if progress is not None:
            progress(creator_id, SyncJob.LEDGER, f"{stream.value}: {rows} rows in {pages} pages", done=False)

    if SyncJob.STATS in wanted:
        stats = await budgeted(ctx, refresh_creator_stats(ctx, creator_id), budgets)
        done(SyncJob.STATS, f"{stats.observations} observations, {len(stats.stale)} stale")
    if SyncJob.LEDGER in wanted:
        for stream in LEDGER_STREAMS:
            report = await budgeted(ctx, sync_ledger(ctx, creator_id, stream, paging), budgets)
            ledger.append(report)
            if report.outcome is not SyncOutcome.COMPLETED:
                failures[f"ledger:{stream.value}"] = report.failure or MissingReason.PARTIAL
        done(SyncJob.LEDGER, ", ".join(f"{r.stream.value} +{r.inserted} {r.outcome.value}" for r in ledger))
    if SyncJob.RECONCILE in wanted:
        reconciled = await _attempt(
            failures, SyncJob.RECONCILE, budgeted(ctx, reconcile_ledger(ctx, creator_id), budgets)
        )
        summary = reconciled.summary if isinstance(reconciled, ReconcileReport) else failures[SyncJob.RECONCILE]
        done(SyncJob.RECONCILE, str(summary))
    if SyncJob.HISTORY in wanted:
        history = await _attempt(
            failures, SyncJob.HISTORY, budgeted(ctx, record_subscriber_history(ctx, creator_id), budgets)
        )
        done(SyncJob.HISTORY, "ok" if history is not None else failures[SyncJob.HISTORY].value)
    if SyncJob.TOP_SPENDERS in wanted:
        spenders = await _attempt(
            failures, SyncJob.TOP_SPENDERS, budgeted(ctx, record_top_spenders(ctx, creator_id), budgets)
        )
        done(SyncJob.TOP_SPENDERS, "ok" if spenders is not None else failures[SyncJob.TOP_SPENDERS].value)
    if SyncJob.LINKS in wanted:
        links = await _attempt(failures, SyncJob.LINKS, budgeted(ctx, sync_tracking_links(ctx, creator_id), budgets))
        done(SyncJob.LINKS, "ok" if links is not None else failures[SyncJob.LINKS].value)
    return CreatorSyncReport(
        creator_id,
        stats,
        tuple(ledger),
        reconciled if isinstance(reconciled, ReconcileReport) else None,
        history if isinstance(history, HistoryReport) else None,
        spenders if isinstance(spenders, SnapshotReport) else None,
        links if isinstance(links, LinksReport) else None,
        failures,
        retry_at_of(budgets),
    )


@dataclass(frozen=True, slots=True)
class AgencySyncReport:
    """What an agency-wide sync did: the import, each creator's sync, the agency-wide top spenders and the chatter
    leaderboard's recent days."""

    agency_id: AgencyId
    imported: ImportReport | None
    creators: tuple[CreatorSyncReport, ...]
    top_spenders: SnapshotReport | None
    failures: dict[str, str]
    """Steps that failed outside a creator's own jobs (import, agency top spenders, chatter days, a creator's sync
    raising)."""
    own_retry_at: datetime | None = None
    """When Fanvue's rate limit lets the import, the agency-wide top spenders and the chatter days in again
    (``None``: it refused none)."""
    chatter_days: ChatterDaysReport | None = None
    """The chatter leaderboard's last UTC days stored (``None``: not run, or refused: see ``failures``)."""

    @property
    def partial(self) -> bool:
        return bool(self.failures) or any(report.partial for report in self.creators)

    @property
    def retry_at(self) -> datetime | None:
        """The latest time Fanvue named for a refused call anywhere in this sync (``None``: none)."""
        times = [t for t in (self.own_retry_at, *(r.retry_at for r in self.creators)) if t is not None]
        return max(times) if times else None


async def sync_agency(
    ctx: Context,
    agency_id: AgencyId,
    jobs: Iterable[SyncJob] = tuple(SyncJob),
    *,
    import_first: bool = True,
    progress: ProgressHook | None = None,
) -> AgencySyncReport:
    """Import the agency's creators (unless ``import_first`` is false), sync each of them (at most
    ``sync_policy.concurrency`` at a time) and, with the top-spenders job, the agency-wide top 50 (when at least
    one creator's ranking was refreshed) and the chatter leaderboard of the last two UTC days (the agency's own
    grant only: refused, it is a failure of its own and stores nothing).

    An import that fails leaves the stored creators as they are and their sync still runs."""
    await require_agency(ctx, agency_id)
    wanted = tuple(jobs)
    failures: dict[str, str] = {}
    budgets: list[JobBudget] = []
    imported: ImportReport | None = None
    if import_first:
        try:
            imported = await budgeted(ctx, import_creators(ctx, agency_id), budgets)
        except SourceUnavailableError as failure:
            failures["import"] = failure.reason.value
    async with ctx.uow() as uow:
        creators = await uow.creators.for_agency(agency_id)

    async def sync(creator_id: CreatorId) -> CreatorSyncReport:
        return await sync_creator(ctx, creator_id, wanted, progress)

    reports, failed = await for_each_creator(ctx, [c.id for c in creators], sync)
    failures.update({f"creator:{creator_id}": type(error).__name__ for creator_id, error in failed.items()})
    top: SnapshotReport | None = None
    # The agency's ranking is combined from the stored per-creator ones: with none of them refreshed it would be
    # the same list stamped "now", a freshness no answer gave (a storm of 429s must change nothing stored).
    refreshed = any(report.top_spenders is not None for report in reports.values())
    if SyncJob.TOP_SPENDERS in wanted and refreshed:
        try:
            top = await budgeted(ctx, record_agency_top_spenders(ctx, agency_id), budgets)
        except SourceUnavailableError as failure:
            failures["agency_top_spenders"] = failure.reason.value
    chatters: ChatterDaysReport | None = None
    if SyncJob.TOP_SPENDERS in wanted:  # the same cadence as the agency's ranking, both agency-wide snapshots
        try:
            chatters = await budgeted(ctx, record_recent_chatter_days(ctx, agency_id), budgets)
        except SourceUnavailableError as failure:
            failures["chatter_days"] = failure.reason.value
    return AgencySyncReport(agency_id, imported, tuple(reports.values()), top, failures, retry_at_of(budgets), chatters)


FRESHNESS_STREAMS: Mapping[SyncJob, Stream] = {
    SyncJob.LEDGER: Stream.EARNINGS,
    SyncJob.RECONCILE: Stream.LEDGER_RECONCILIATION,
    SyncJob.HISTORY: Stream.SUBSCRIBER_HISTORY,
    SyncJob.TOP_SPENDERS: Stream.TOP_SPENDERS,
    SyncJob.LINKS: Stream.TRACKING_LINKS,
}
"""The cursor whose ``synced_through`` says when each job (but stats) last completed."""


def _freshness(stats_at: datetime | None, through: Mapping[Stream, datetime]) -> Freshness:
    return Freshness(
        stats=stats_at,
        ledger=through.get(Stream.EARNINGS),
        reconcile=through.get(Stream.LEDGER_RECONCILIATION),
        history=through.get(Stream.SUBSCRIBER_HISTORY),
        top_spenders=through.get(Stream.TOP_SPENDERS),
        links=through.get(Stream.TRACKING_LINKS),
    )


async def creator_freshness(ctx: Context, creator_id: CreatorId) -> Freshness:
    """When each job last completed for the creator, from the stored stats and cursors."""
    through: dict[Stream, datetime] = {}
    async with ctx.uow() as uow:
        records = await uow.stats.get(creator_id)
        for stream in FRESHNESS_STREAMS.values():
            cursor = await uow.cursors.get(creator_id, stream)
            if cursor is not None and cursor.synced_through is not None:
                through[stream] = cursor.synced_through
    return _freshness(last_refreshed_at(records), through)


async def due_work(
    ctx: Context, schedule: Schedule, agency_id: AgencyId | None = None
) -> list[tuple[CreatorId, tuple[SyncJob, ...]]]:
    """Every creator (of one agency, or of all) with the jobs due now; creators with nothing due are left out.

    Every creator's freshness comes from one set-based read of the stats and one of the cursors (the heartbeat
    runs this every minute: reading creator by creator outlasted the minute at about a thousand creators)."""
    async with ctx.uow() as uow:
        creators = await (uow.creators.every() if agency_id is None else uow.creators.for_agency(agency_id))
        attempts = await uow.stats.last_attempts(agency_id)
        through = await uow.cursors.synced_through(tuple(FRESHNESS_STREAMS.values()), agency_id)
    now = ctx.clock.now()
    work: list[tuple[CreatorId, tuple[SyncJob, ...]]] = []
    for creator in creators:
        jobs = due_jobs(schedule, _freshness(attempts.get(creator.id), through.get(creator.id, {})), now)
        if jobs:
            work.append((creator.id, jobs))
    return work
