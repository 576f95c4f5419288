"""What the creators and stats routes answer: a creator with her live stats, one metric with how fresh it is and
why, a provenance event, a refresh run. A number Onyx does not have is ``null`` with ``missing_reason``, never 0."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from onyx_core.accounts.usecases.creators import CreatorOverview
from onyx_core.money import USD
from onyx_core.refresh import RefreshRun
from onyx_core.stats import Metric, MetricRecord, StoredStatsEvent

__all__ = [
    "CreatorStatsView",
    "CreatorView",
    "EventPage",
    "EventView",
    "HeldView",
    "MetricView",
    "OnViewView",
    "RunView",
    "creator_view",
    "metric_views",
]

OwnConnection = Literal["active", "needs_reauth", "revoked"]
NEVER_OBSERVED = "never_observed"


@dataclass(frozen=True, slots=True)
class HeldView:
    """A drop held in quarantine until a second observation confirms it: the pending value, not yet shown."""

    value: int
    first_observed_at: datetime
    last_observed_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class MetricView:
    value: int | None
    """``null`` when Onyx has no value (then ``missing_reason`` says why): never a 0 it does not know."""
    currency: str | None
    """``USD`` for ``revenue_total`` and ``available_balance`` (integer cents); ``null`` for counts."""
    observed_at: datetime | None
    """When Fanvue last gave the value shown."""
    source: str | None
    """What gave it (an endpoint of Fanvue, or ``onyx:ledger`` for the ledger's floor)."""
    stale: bool
    """The last attempt to read it failed: the value is the last known one."""
    stale_since: datetime | None
    stale_reason: str | None
    """Why it is stale (``timeout``, ``rate_limited``, ``permission``, ``no_connection``, …)."""
    missing_reason: str | None
    """Why ``value`` is ``null``: ``never_observed``, or the reason of the failure that left it unknown."""
    held: HeldView | None
    """A sudden drop (or a lifetime total going down) waiting for confirmation: shown here, not as ``value``."""


@dataclass(frozen=True, slots=True)
class CreatorView:
    id: str
    """The creator's Fanvue uuid."""
    handle: str
    display_name: str
    has_own_connection: bool
    """She connected her own Fanvue account (through a creator-connect invitation)."""
    own_connection_status: OwnConnection | None
    """That connection's status; ``None`` when she has none."""
    refreshed_at: datetime | None = None
    """When Onyx last read her stats from Fanvue (``null``: never)."""
    stale: bool = False
    """At least one metric is stale."""
    stats: dict[str, MetricView] | None = None
    """Every tracked metric by name (``GET /api/creators``; ``null`` on ``GET /api/creators/{id}``)."""


def _metric(name: str, record: MetricRecord | None) -> MetricView:
    state = None if record is None else record.state
    if state is None:
        return MetricView(
            value=None,
            currency=_currency(name),
            observed_at=None,
            source=None,
            stale=False,
            stale_since=None,
            stale_reason=None,
            missing_reason=NEVER_OBSERVED,
            held=None,
        )
    reason = None if state.stale_reason is None else state.stale_reason.value
    missing = None if state.value is not None else (reason or NEVER_OBSERVED)
    held = state.pending
    return MetricView(
        value=state.value,
        currency=_currency(name),
        observed_at=state.observed_at,
        source=state.source,
        stale=state.stale_since is not None,
        stale_since=state.stale_since,
        stale_reason=reason,
        missing_reason=missing,
        held=None if held is None else HeldView(held.value, held.first_observed_at, held.last_observed_at, held.source),
    )


def _currency(metric: str) -> str | None:
    return USD if metric in {Metric.REVENUE_TOTAL, Metric.AVAILABLE_BALANCE} else None


def metric_views(records: dict[str, MetricRecord]) -> dict[str, MetricView]:
    """Every tracked metric (and any other stored one), by name."""
    names = [m.value for m in Metric] + sorted(set(records) - {m.value for m in Metric})
    return {name: _metric(name, records.get(name)) for name in names}


def creator_view(
    overview: CreatorOverview,
    records: dict[str, MetricRecord] | None = None,
    refreshed_at: datetime | None = None,
) -> CreatorView:
    creator, status = overview.creator, overview.own_connection
    return CreatorView(
        id=str(creator.id),
        handle=creator.handle,
        display_name=creator.display_name,
        has_own_connection=status is not None,
        own_connection_status=None if status is None else status.value,
        refreshed_at=refreshed_at,
        stale=records is not None and any(r.stale_since is not None for r in records.values()),
        stats=None if records is None else metric_views(records),
    )


@dataclass(frozen=True, slots=True)
class RunView:
    id: str
    kind: Literal["creator", "agency"]
    """``creator``: one creator; ``agency``: refresh-all (every creator the member who asked may refresh)."""
    trigger: Literal["manual", "view"]
    creator_id: str | None
    state: Literal["queued", "running", "succeeded", "partial", "failed", "interrupted"]
    total: int
    """Creators in the run."""
    done: int
    """Creators refreshed so far."""
    failed: int
    """Creators whose refresh failed."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: RefreshRun) -> RunView:
        return cls(
            id=run.id,
            kind=run.kind.value,
            trigger=run.trigger.value,
            creator_id=run.creator_id,
            state=run.state.value,
            total=run.total,
            done=run.done,
            failed=run.failed,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


@dataclass(frozen=True, slots=True)
class OnViewView:
    queued: bool
    """This request queued a refresh of her stats (they were older than the server's refresh-on-view age)."""
    reason: Literal["queued", "running", "fresh", "disabled", "unavailable"]
    run: RunView | None
    """The refresh queued now, or the one already running (``null``: none)."""


@dataclass(frozen=True, slots=True)
class CreatorStatsView:
    creator_id: str
    refreshed_at: datetime | None
    """When Onyx last read her stats from Fanvue (``null``: never)."""
    metrics: dict[str, MetricView]
    refresh: OnViewView


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    metric: str
    kind: str
    """What happened: ``applied``, ``cliff_held``, ``marked_stale``, ``recovered``, … (docs/stats.md)."""
    at: datetime
    """When the observation behind it was made."""
    source: str
    old_value: int | None
    new_value: int | None
    detail: str
    recorded_at: datetime

    @classmethod
    def of(cls, stored: StoredStatsEvent) -> EventView:
        e = stored.event
        return cls(
            stored.id, e.metric, e.kind.value, e.at, e.source, e.old_value, e.new_value, e.detail, stored.recorded_at
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[EventView]
    """Newest first."""
    next_before: int | None
    """Pass as ``before`` for the next (older) page; ``null`` on the last page."""
