"""The stats merge: (stored record, observation, policy, now) -> (new record, events). Pure.

A record keeps the observations of the last ``policy.horizon`` behind the newest one (its *window*) and the
fold of everything older (its *base*). The current state is always ``fold(base, window)`` in time order, so:

- applying an observation twice changes nothing the second time (the window is a set);
- observations arriving in any order within the horizon give the same record, byte for byte;
- an observation arriving later than the horizon behind a newer one is ignored (and reported), which is what
  "an older observation than the stored one is ignored" means once the window has moved on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from onyx_core.errors import DomainValueError
from onyx_core.stats.events import EventKind, StatsEvent
from onyx_core.stats.observations import MissingReason, Observation
from onyx_core.stats.policy import MergePolicy
from onyx_core.stats.state import MetricState, PendingCliff, fold, sort_key, source_of
from onyx_core.timeutil import require_utc


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """Everything stored for one metric of one creator. ``state`` is what to show."""

    metric: str
    state: MetricState = field(default_factory=MetricState)
    base: MetricState = field(default_factory=MetricState)
    window: tuple[Observation, ...] = ()
    latest_at: datetime | None = None
    """The newest observation time merged so far; the horizon is measured back from it."""

    @property
    def value(self) -> int | None:
        return self.state.value

    @property
    def observed_at(self) -> datetime | None:
        return self.state.observed_at

    @property
    def source(self) -> str | None:
        return self.state.source

    @property
    def pending(self) -> PendingCliff | None:
        return self.state.pending

    @property
    def stale_since(self) -> datetime | None:
        return self.state.stale_since

    @property
    def stale_reason(self) -> MissingReason | None:
        return self.state.stale_reason

    @property
    def is_stale(self) -> bool:
        return self.state.is_stale


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged record and the events this observation caused (empty for a duplicate)."""

    record: MetricRecord
    events: tuple[StatsEvent, ...]


def _events_added(before: tuple[StatsEvent, ...], after: tuple[StatsEvent, ...]) -> tuple[StatsEvent, ...]:
    """The events of ``after`` that ``before`` lacks: what this arrival caused, even out of order."""
    remaining = Counter(before)
    added: list[StatsEvent] = []
    for event in after:
        if remaining[event]:
            remaining[event] -= 1
        else:
            added.append(event)
    return tuple(added)


def merge(record: MetricRecord | None, observation: Observation, policy: MergePolicy, now: datetime) -> MergeResult:
    """Merge one observation into the stored record of its metric (``None`` when nothing is stored yet)."""
    now = require_utc(now, "now")
    if record is None:
        record = MetricRecord(observation.metric)
    elif record.metric != observation.metric:
        raise DomainValueError(f"cannot merge a {observation.metric} observation into {record.metric}")
    source = source_of(observation)
    at = observation.at

    if at > now + policy.max_future_skew:
        event = StatsEvent(
            observation.metric, EventKind.REJECTED_FUTURE, at, source, detail=f"now is {now.isoformat()}"
        )
        return MergeResult(record, (event,))
    if record.latest_at is not None and at <= record.latest_at - policy.horizon:
        detail = f"newest is {record.latest_at.isoformat()}, horizon {policy.horizon}"
        return MergeResult(record, (StatsEvent(observation.metric, EventKind.IGNORED_LATE, at, source, detail=detail),))
    if observation in record.window:
        return MergeResult(record, ())

    latest = at if record.latest_at is None else max(record.latest_at, at)
    cutoff = latest - policy.horizon
    window = tuple(sorted((*record.window, observation), key=sort_key))
    settled = tuple(o for o in window if o.at <= cutoff)
    live = window[len(settled) :]
    base, _ = fold(record.base, settled, policy)  # their events were reported when they arrived

    _, events_before = fold(base, tuple(o for o in live if o != observation), policy)
    state, events_after = fold(base, live, policy)
    new_record = MetricRecord(observation.metric, state, base, live, latest)
    return MergeResult(new_record, _events_added(events_before, events_after))


def merge_all(
    records: dict[str, MetricRecord],
    observations: Iterable[Observation],
    policy: MergePolicy,
    now: datetime,
) -> tuple[dict[str, MetricRecord], tuple[StatsEvent, ...]]:
    """Merge many observations (of any metrics) into a creator's records; returns new records and events."""
    result = dict(records)
    events: list[StatsEvent] = []
    for observation in observations:
        merged = merge(result.get(observation.metric), observation, policy, now)
        result[observation.metric] = merged.record
        events.extend(merged.events)
    return result, tuple(events)


def stale_metrics(records: dict[str, MetricRecord]) -> dict[str, MissingReason]:
    """The metrics currently flagged stale, with why."""
    return {m: r.stale_reason for m, r in records.items() if r.stale_reason is not None}


def check_records_to_save(records: Mapping[str, MetricRecord]) -> None:
    """What every stats store checks before saving: each record is stored under its own metric."""
    for metric, record in records.items():
        if record.metric != metric:
            raise DomainValueError(f"record of {record.metric} given as {metric}")
