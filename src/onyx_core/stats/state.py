"""The merge's state for one metric and the rule that folds one observation into it, in time order."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from onyx_core.stats.events import EventKind, StatsEvent
from onyx_core.stats.metrics import MetricKind
from onyx_core.stats.observations import Adjustment, Floor, Missing, MissingReason, Observation, Ok
from onyx_core.stats.policy import MergePolicy


@dataclass(frozen=True, slots=True)
class PendingCliff:
    """A drop held in quarantine: the latest such value, and when the drop was first and last seen."""

    value: int
    first_observed_at: datetime
    last_observed_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class MetricState:
    """What is known of one metric after folding a run of observations."""

    value: int | None = None
    observed_at: datetime | None = None
    source: str | None = None
    pending: PendingCliff | None = None
    stale_since: datetime | None = None
    stale_reason: MissingReason | None = None
    allowance: int = 0
    """Recorded adjustments not yet used up by a decrease (monotone metrics)."""

    @property
    def is_stale(self) -> bool:
        return self.stale_since is not None


def sort_key(observation: Observation) -> tuple[datetime, int, str, int, str, str]:
    """A total order on observations: by time, then a fixed rank, then content, so any fold is deterministic.

    At the same instant a success sorts after a failure (so it wins), and adjustments and floors come first.
    """
    match observation:
        case Adjustment():
            return (observation.at, 0, observation.reference, observation.amount, observation.reason, "")
        case Floor():
            return (observation.at, 1, observation.source, observation.value, "", "")
        case Missing():
            return (observation.at, 2, observation.source, 0, observation.reason.value, observation.detail)
        case Ok():
            return (observation.at, 3, observation.source, observation.value, "", "")


def source_of(obs: Observation) -> str:
    """Where an observation came from (an adjustment names its ledger entry)."""
    return obs.reference if isinstance(obs, Adjustment) else obs.source


def _event(obs: Observation, kind: EventKind, old: int | None, new: int | None, detail: str = "") -> StatsEvent:
    return StatsEvent(obs.metric, kind, obs.at, source_of(obs), old, new, detail)


def step(state: MetricState, obs: Observation, policy: MergePolicy) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    """Fold one observation into ``state``. Observations must come in :func:`sort_key` order."""
    match obs:
        case Missing():
            return _missing(state, obs)
        case Adjustment():
            ev = _event(obs, EventKind.ADJUSTMENT_RECORDED, None, None, f"{obs.reason}: -{obs.amount}")
            return replace(state, allowance=state.allowance + obs.amount), (ev,)
        case Floor():
            return _floor(state, obs)
        case Ok():
            recovered: tuple[StatsEvent, ...] = ()
            if state.stale_since is not None:
                recovered = (_event(obs, EventKind.RECOVERED, state.value, state.value),)
                state = replace(state, stale_since=None, stale_reason=None)
            if state.value is None:
                return _apply(state, obs), (*recovered, _event(obs, EventKind.APPLIED, None, obs.value))
            if policy.kind_of(obs.metric) is MetricKind.MONOTONE:
                new_state, events = _monotone(state, obs)
            else:
                new_state, events = _gauge(state, obs, policy)
            return new_state, (*recovered, *events)


def _apply(state: MetricState, obs: Ok) -> MetricState:
    return replace(state, value=obs.value, observed_at=obs.observed_at, source=obs.source, pending=None)


def _missing(state: MetricState, obs: Missing) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    # A failure never touches the value or when it was observed: only the stale flag.
    if state.stale_since is None:
        event = _event(obs, EventKind.MARKED_STALE, state.value, state.value, obs.reason.value)
        return replace(state, stale_since=obs.attempted_at, stale_reason=obs.reason), (event,)
    return replace(state, stale_reason=obs.reason), ()


def _floor(state: MetricState, obs: Floor) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    if state.value is not None and obs.value <= state.value:
        return state, ()
    raised = replace(state, value=obs.value, observed_at=obs.observed_at, source=obs.source)
    return raised, (_event(obs, EventKind.FLOOR_RAISED, state.value, obs.value),)


def _monotone(state: MetricState, obs: Ok) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    assert state.value is not None  # noqa: S101 - the caller handles the first value
    if obs.value >= state.value:
        events = () if obs.value == state.value else (_event(obs, EventKind.APPLIED, state.value, obs.value),)
        return _apply(state, obs), events
    decrease = state.value - obs.value
    if decrease <= state.allowance:
        adjusted = replace(_apply(state, obs), allowance=state.allowance - decrease)
        return adjusted, (_event(obs, EventKind.ADJUSTED, state.value, obs.value),)
    detail = f"down {decrease} with {state.allowance} of recorded adjustments"
    return state, (_event(obs, EventKind.REGRESSION_REJECTED, state.value, obs.value, detail),)


def _gauge(state: MetricState, obs: Ok, policy: MergePolicy) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    assert state.value is not None  # noqa: S101 - the caller handles the first value
    pending = state.pending
    if not policy.is_cliff(state.value, obs.value):
        events: list[StatsEvent] = []
        if pending is not None:
            events.append(_event(obs, EventKind.CLIFF_DISMISSED, state.value, pending.value))
        if obs.value != state.value:
            events.append(_event(obs, EventKind.APPLIED, state.value, obs.value))
        return _apply(state, obs), tuple(events)
    if pending is None or policy.is_cliff(pending.value, obs.value):
        # A drop below the held value is a new cliff of its own: its confirmation clock starts again, so a
        # value reaches 0 only after two zeros `confirm_after` apart, not a halving followed by a zero.
        held = PendingCliff(obs.value, obs.observed_at, obs.observed_at, obs.source)
        return replace(state, pending=held), (_event(obs, EventKind.CLIFF_HELD, state.value, obs.value),)
    if obs.observed_at - pending.first_observed_at >= policy.confirm_after:
        detail = f"first seen {pending.first_observed_at.isoformat()}"
        event = _event(obs, EventKind.CLIFF_CONFIRMED, state.value, obs.value, detail)
        return _apply(state, obs), (event,)
    still = replace(pending, value=obs.value, last_observed_at=obs.observed_at, source=obs.source)
    return replace(state, pending=still), ()


def fold(
    state: MetricState, observations: tuple[Observation, ...], policy: MergePolicy
) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    """Fold ``observations`` (already in :func:`sort_key` order) into ``state``; return it and the events."""
    events: list[StatsEvent] = []
    for obs in observations:
        state, produced = step(state, obs, policy)
        events.extend(produced)
    return state, tuple(events)
