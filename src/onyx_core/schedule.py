"""The heartbeat: which sync jobs are due for a creator, from when each last completed. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.timeutil import optional_utc, require_utc


class SyncJob(StrEnum):
    """The per-creator jobs, in the order a sync runs them."""

    STATS = "stats"
    """Live stats (revenue, subscribers, followers, posts, likes)."""
    LEDGER = "ledger"
    """Earnings and reversals, incremental with the look-back."""
    RECONCILE = "reconcile"
    """The stored earnings compared with Fanvue's daily totals; days that disagree are fetched again."""
    HISTORY = "history"
    """Subscriber history per day."""
    TOP_SPENDERS = "top_spenders"
    LINKS = "links"
    """Tracking links and their counters."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """How often each job runs. A runner wakes every ``tick`` and runs what :func:`due_jobs` says is due."""

    tick: timedelta = timedelta(seconds=60)
    stats_every: timedelta = timedelta(minutes=2)
    """Stats are refreshed once they are older than this (checked every tick)."""
    ledger_every: timedelta = timedelta(minutes=5)
    reconcile_every: timedelta = timedelta(hours=1)
    history_every: timedelta = timedelta(hours=1)
    top_spenders_every: timedelta = timedelta(hours=1)
    links_every: timedelta = timedelta(hours=1)
    maintenance_every: timedelta = timedelta(minutes=5)
    """Token maintenance (see :func:`onyx_core.usecases.maintain_tokens`)."""
    import_every: timedelta = timedelta(hours=1)
    """Re-import each agency's creators, so a creator added on Fanvue is picked up."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise DomainValueError(f"Schedule.{name} must be a positive timedelta")

    def every(self, job: SyncJob) -> timedelta:
        """How long a completed ``job`` stays fresh."""
        return {
            SyncJob.STATS: self.stats_every,
            SyncJob.LEDGER: self.ledger_every,
            SyncJob.RECONCILE: self.reconcile_every,
            SyncJob.HISTORY: self.history_every,
            SyncJob.TOP_SPENDERS: self.top_spenders_every,
            SyncJob.LINKS: self.links_every,
        }[job]


@dataclass(frozen=True, slots=True)
class Freshness:
    """When each job last completed for one creator (``None``: never). Read from the stored data, so every
    runner and every process agrees on it."""

    stats: datetime | None = None
    ledger: datetime | None = None
    reconcile: datetime | None = None
    history: datetime | None = None
    top_spenders: datetime | None = None
    links: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("stats", "ledger", "reconcile", "history", "top_spenders", "links"):
            object.__setattr__(self, name, optional_utc(getattr(self, name), f"Freshness.{name}"))

    def of(self, job: SyncJob) -> datetime | None:
        value: datetime | None = getattr(self, job.value)
        return value


def due_jobs(schedule: Schedule, freshness: Freshness, now: datetime) -> tuple[SyncJob, ...]:
    """The jobs whose last completion is older than their interval (or that never completed), in run order.

    A failed job leaves its freshness where it was, so it is due again at the next tick: failures are retried
    within a minute, and the rate budget keeps retries inside Fanvue's limits.
    """
    now = require_utc(now, "now")
    due: list[SyncJob] = []
    for job in SyncJob:
        last = freshness.of(job)
        if last is None or now - last >= schedule.every(job):
            due.append(job)
    return tuple(due)


def starts_interval(timestamp: int, every: timedelta, tick: timedelta) -> bool:
    """Whether the tick at ``timestamp`` (Unix seconds) is the first of an ``every``-long period. A runner whose
    ticks fire once across all its processes (the distributed heartbeat) runs a job every ``every`` this way, with
    no state shared between processes (a missed tick skips one period; the jobs it would have queued are
    idempotent)."""
    period, step = int(every.total_seconds()), int(tick.total_seconds())
    return timestamp // period != (timestamp - step) // period


__all__ = ["Freshness", "Schedule", "SyncJob", "due_jobs", "starts_interval"]
