"""What ``onyx sync`` and ``onyx demo`` show: a progress bar per creator while syncing, then a table of the stored
numbers (unknown values as "—", stale ones starred, never a made-up 0) with why any value is missing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from onyx_adapters.cli.display import UNKNOWN, metric_text, money
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_core.analytics import Period
from onyx_core.catalog import Creator
from onyx_core.ids import CreatorId
from onyx_core.money import USD
from onyx_core.schedule import SyncJob
from onyx_core.stats import Metric, MetricRecord
from onyx_core.sync import Stream
from onyx_core.usecases import Context, CreatorSyncReport, ReconcileOutcome

__all__ = ["SyncProgress", "print_reports", "print_summary", "try_again", "when"]


class SyncProgress:
    """Progress bars, one per creator, advanced by :data:`onyx_core.usecases.ProgressHook` calls. Use as a
    context manager around the sync; pass the instance as ``progress=``."""

    def __init__(self, console: Console, creators: Sequence[Creator], jobs: Sequence[SyncJob]) -> None:
        self._progress = Progress(
            TextColumn("{task.fields[handle]:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
        )
        self._tasks: dict[CreatorId, TaskID] = {
            c.id: self._progress.add_task("waiting", total=len(jobs), handle=c.handle) for c in creators
        }

    def __call__(self, creator_id: CreatorId, job: SyncJob, summary: str, *, done: bool) -> None:
        task = self._tasks.get(creator_id)
        if task is not None:
            self._progress.update(task, advance=1 if done else 0, description=f"{job.value}: {summary}")

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()


def _age(now: datetime, at: datetime | None) -> str:
    if at is None:
        return "never"
    minutes = int((now - at).total_seconds() // 60)
    return "just now" if minutes < 1 else f"{minutes} min ago"


def _why(record: MetricRecord | None) -> str | None:
    if record is None or record.value is None:
        reason = record.stale_reason if record is not None else None
        return reason.value if reason is not None else "never observed"
    return record.stale_reason.value if record.is_stale and record.stale_reason is not None else None


async def print_summary(
    ctx: Context, analytics: SqlAnalytics, creators: Sequence[Creator], console: Console, *, title: str = ""
) -> None:
    """The stored stats of ``creators`` as a table, then the reason for every unknown or stale value."""
    now = ctx.clock.now()
    table = Table(title=title or f"stored stats at {now:%Y-%m-%d %H:%M} UTC (* stale, {UNKNOWN} unknown, never 0)")
    for column in ("creator", "revenue", "ledger net", "subscribers", "followers", "posts", "likes", "chats"):
        table.add_column(column, justify="left" if column == "creator" else "right")
    table.add_column("fresh")
    notes: list[str] = []
    for creator in creators:
        async with ctx.uow() as uow:
            records = await uow.stats.get(creator.id)
            earnings = await uow.cursors.get(creator.id, Stream.EARNINGS)
            reversals = await uow.cursors.get(creator.id, Stream.REVERSALS)
        totals = await analytics.revenue_totals(creator.id, Period(ctx.sync_policy.backfill_from, now), USD)
        cells = []
        for metric in Metric:
            record = records.get(metric)
            cells.append(metric_text(record))
            why = _why(record)
            if why is not None:
                notes.append(f"{creator.handle} {metric.value}: {why}")
        ledger = money(totals.net.cents) if totals.transaction_count else UNKNOWN
        if totals.transaction_count and (reversals is None or not reversals.backfilled):
            ledger += " (no refunds)"
            notes.append(f"{creator.handle} ledger: earnings only, refunds need the creator's own connection")
        observed = [r.observed_at for r in records.values() if r.observed_at is not None]
        fresh = (
            f"stats {_age(now, max(observed) if observed else None)}, "
            f"ledger {_age(now, earnings.synced_through if earnings else None)}"
        )
        table.add_row(creator.handle, cells[0], ledger, *cells[1:], fresh)
    console.print(table)
    if notes:
        console.print("why some values are missing or stale:")
        for note in notes:
            console.print(f"  {note}")


def when(at: datetime) -> str:
    """A time to try again, as printed: to the second, in UTC."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def try_again(retry_at: datetime | None) -> str:
    """What a partial sync tells the user about running again."""
    if retry_at is None:
        return "run again to complete it"
    return f"Fanvue is throttling: try again after {when(retry_at)}"


def print_reports(reports: Sequence[CreatorSyncReport], handles: dict[CreatorId, str], console: Console) -> None:
    """One line per creator: rows added per ledger stream, what could not be read, with why, and for a partial
    creator when to try again (the time Fanvue's rate limit named, when it throttled)."""
    for report in reports:
        added = ", ".join(f"{r.stream.value} +{r.inserted}" for r in report.ledger) or "no ledger run"
        failed = ", ".join(f"{job} ({reason.value})" for job, reason in sorted(report.failures.items()))
        state = "partial" if report.partial else "complete"
        line = f"{handles.get(report.creator_id, report.creator_id)}: {state}; ledger {added}"
        if report.reconcile is not None and report.reconcile.outcome is not ReconcileOutcome.SKIPPED:
            line += f"; reconciled: {report.reconcile.summary}"
        line += f"; unavailable: {failed}" if failed else ""
        console.print(line + (f"; {try_again(report.retry_at)}" if report.partial else ""), soft_wrap=True)
