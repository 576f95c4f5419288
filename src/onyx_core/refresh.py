"""Refresh runs: a stats refresh of one creator or of every creator a member may refresh, its progress, and the
rules that keep them in check (see ``docs/creators.md``).

- at most one *active* run per lock key: one refresh-all per agency, one refresh per creator, whatever the number
  of processes (the store enforces it: :class:`RefreshRunStore.begin`);
- a run whose process died stops holding its key after :attr:`RefreshRunPolicy.lease` without progress;
- viewing a creator whose newest stats are older than :attr:`RefreshRunPolicy.on_view_after` queues a refresh.

Pure values and rules; the store is a port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from onyx_core.errors import OnyxError
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.stats import MetricRecord

__all__ = [
    "ACTIVE_STATES",
    "RefreshAlreadyRunningError",
    "RefreshRun",
    "RefreshRunPolicy",
    "RefreshRunStore",
    "RefreshUnavailableError",
    "RunKind",
    "RunState",
    "RunTrigger",
    "final_state",
    "last_refreshed_at",
    "lock_key",
    "refresh_due",
]


class RunKind(StrEnum):
    CREATOR = "creator"
    """One creator."""
    AGENCY = "agency"
    """Every creator the member who asked may refresh (refresh-all)."""


class RunTrigger(StrEnum):
    MANUAL = "manual"
    """A member asked (``POST …/refresh``, ``POST /api/refresh-all``)."""
    VIEW = "view"
    """A member viewed a creator whose stats were older than the policy allows."""


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    """Every creator refreshed (a metric Fanvue could not give is marked stale: still a refresh that ran)."""
    PARTIAL = "partial"
    """Some creators' refresh failed (storage trouble, a bug); the others ran."""
    FAILED = "failed"
    """Every creator's refresh failed."""
    INTERRUPTED = "interrupted"
    """The process running it stopped before it ended (or stopped reporting progress for a lease)."""

    @property
    def active(self) -> bool:
        return self in (RunState.QUEUED, RunState.RUNNING)


ACTIVE_STATES = frozenset({RunState.QUEUED, RunState.RUNNING})


@dataclass(frozen=True, slots=True)
class RefreshRunPolicy:
    on_view_after: timedelta | None = timedelta(minutes=2)
    """Viewing a creator whose newest stats are at least this old queues a refresh; ``None``: never."""
    lease: timedelta = timedelta(minutes=10)
    """An active run with no progress for this long is taken to be dead (its process stopped): its lock key is
    free again. Each creator's refresh is bounded by the sync policy's job budgets, far below this."""


def lock_key(kind: RunKind, agency_id: AgencyId, creator_id: CreatorId | None) -> str:
    """What an active run holds: ``agency:<id>`` for a refresh-all, ``creator:<id>`` for one creator."""
    if kind is RunKind.AGENCY:
        return f"agency:{agency_id}"
    if creator_id is None:
        raise ValueError("a creator's refresh names its creator")
    return f"creator:{creator_id}"


@dataclass(frozen=True, slots=True)
class RefreshRun:
    id: str
    agency_id: AgencyId
    kind: RunKind
    trigger: RunTrigger
    creator_id: CreatorId | None
    requested_by: MemberId | None
    state: RunState
    total: int
    created_at: datetime
    heartbeat_at: datetime
    done: int = 0
    """Creators refreshed."""
    failed: int = 0
    """Creators whose refresh failed."""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def lock_key(self) -> str:
        return lock_key(self.kind, self.agency_id, self.creator_id)

    def finished(self, state: RunState, at: datetime) -> RefreshRun:
        return replace(self, state=state, finished_at=at, heartbeat_at=at)


def final_state(done: int, failed: int) -> RunState:
    """How a run that went through all its creators ended."""
    if failed == 0:
        return RunState.SUCCEEDED
    return RunState.FAILED if done == 0 else RunState.PARTIAL


def last_refreshed_at(records: Mapping[str, MetricRecord]) -> datetime | None:
    """When Onyx last merged an observation of any of these metrics (a failed fetch counts: it was a refresh
    too); ``None`` when it never did."""
    times = [r.latest_at for r in records.values() if r.latest_at is not None]
    return max(times) if times else None


def refresh_due(records: Mapping[str, MetricRecord], now: datetime, policy: RefreshRunPolicy) -> bool:
    """Whether viewing a creator with these stats should queue a refresh of them."""
    if policy.on_view_after is None:
        return False
    last = last_refreshed_at(records)
    return last is None or now - last >= policy.on_view_after


class RefreshAlreadyRunningError(OnyxError):
    """The lock key is held by an active run (``running``)."""

    def __init__(self, running: RefreshRun) -> None:
        super().__init__(f"a refresh already runs: {running.id}")
        self.running = running


class RefreshUnavailableError(OnyxError):
    """This server cannot talk to Fanvue (its Fanvue app is not configured): nothing can be refreshed."""


class RefreshRunStore(Protocol):
    """Refresh runs, stored where every process sees them. Each method is its own transaction."""

    async def begin(self, run: RefreshRun, *, abandoned_before: datetime) -> RefreshRun:
        """Store ``run`` (active) unless another active run holds its lock key: then raise
        :class:`RefreshAlreadyRunningError` with that run. A holder whose heartbeat is at or before
        ``abandoned_before`` (silent for a whole lease) is marked interrupted first: its key is free. Atomic across
        processes."""
        ...

    async def get(self, agency_id: AgencyId, run_id: str) -> RefreshRun | None:
        """The agency's run (another agency's id reads as ``None``)."""
        ...

    async def active(self, agency_id: AgencyId, keys: Iterable[str]) -> list[RefreshRun]:
        """The agency's active runs holding any of ``keys``."""
        ...

    async def mark_running(self, run_id: str, at: datetime) -> None: ...

    async def record_progress(self, run_id: str, *, done: int, failed: int, at: datetime) -> None:
        """Add ``done`` and ``failed`` creators to the run's counts (its heartbeat becomes ``at``)."""
        ...

    async def finish(self, run_id: str, state: RunState, at: datetime) -> None:
        """End the run (its lock key is free); a run that already ended is left as it is."""
        ...
