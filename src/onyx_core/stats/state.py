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
class Credit:
    """A recorded refund that the current value does not reflect yet: it may explain a decrease of ``amount``."""

    amount: int
    occurred_at: datetime
    reference: str


@dataclass(frozen=True, slots=True)
class MetricState:
    """What is known of one metric after folding a run of observations."""

    value: int | None = None
    observed_at: datetime | None = None
    source: str | None = None
    pending: PendingCliff | None = None
    """A drop held until confirmed: a gauge's cliff, or a monotone decrease no recorded refund explains."""
    stale_since: datetime | None = None
    stale_reason: MissingReason | None = None
    credits: tuple[Credit, ...] = ()
    """Monotone metrics: recorded refunds newer than the last applied total, in fold order (spendable once)."""
    reflects_until: datetime | None = None
    """Monotone metrics: the last applied total reflects every refund that happened up to this instant (its
    observation time minus ``MergePolicy.reflection_lag``)."""
    floor: int | None = None
    """Monotone metrics: the newest known lower bound (the ledger's net). The value is never shown below it."""

    @property
    def is_stale(self) -> bool:
        return self.stale_since is not None

    @property
    def allowance(self) -> int:
        """How far recorded, not yet reflected refunds allow the value to go down."""
        return sum(credit.amount for credit in self.credits)


def sort_key(observation: Observation) -> tuple[datetime, int, str, int, str, str]:
    """A total order on observations: by time, then a fixed rank, then content, so any fold is deterministic.

    At the same instant a success sorts after a failure (so it wins), and adjustments and floors come first.
    """
    match observation:
        case Adjustment():
            occurred = observation.occurred.isoformat()
            return (observation.at, 0, observation.reference, observation.amount, observation.reason, occurred)
        case Floor():
            # Two floors of one instant (the ledger moved within it): the lower folds last and binds, the safe bound.
            return (observation.at, 1, observation.source, -observation.value, "", "")
        case Missing():
            return (observation.at, 2, observation.source, 0, observation.reason.value, observation.detail)
        case Ok():
            tracked = "" if observation.refunds_tracked else "untracked"
            return (observation.at, 3, observation.source, observation.value, tracked, "")


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
            return _adjustment(state, obs)
        case Floor():
            return _floor(state, obs)
        case Ok():
            recovered: tuple[StatsEvent, ...] = ()
            if state.stale_since is not None:
                recovered = (_event(obs, EventKind.RECOVERED, state.value, state.value),)
                state = replace(state, stale_since=None, stale_reason=None)
            monotone = policy.kind_of(obs.metric) is MetricKind.MONOTONE
            if state.value is None:
                first = _reflected(state, obs, policy) if monotone else _apply(state, obs)
                return first, (*recovered, _event(obs, EventKind.APPLIED, None, obs.value))
            if monotone:
                new_state, events = _monotone(state, obs, policy)
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


def _adjustment(state: MetricState, obs: Adjustment) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    occurred = obs.occurred
    if state.reflects_until is not None and occurred <= state.reflects_until:
        # The total observed at reflects_until was read after this refund: it is already in the value, and
        # counting it again would let one glitchy low total through (the first backfill's historical refunds).
        detail = f"{obs.reason}: -{obs.amount}, happened {occurred.isoformat()}, already in the value"
        return state, (_event(obs, EventKind.ADJUSTMENT_REFLECTED, None, None, detail),)
    credit = Credit(obs.amount, occurred, obs.reference)
    event = _event(obs, EventKind.ADJUSTMENT_RECORDED, None, None, f"{obs.reason}: -{obs.amount}")
    return replace(state, credits=(*state.credits, credit)), (event,)


def _floor(state: MetricState, obs: Floor) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    state = replace(state, floor=obs.value)
    if state.value is not None and obs.value <= state.value:
        return state, ()
    raised = replace(state, value=obs.value, observed_at=obs.observed_at, source=obs.source)
    return raised, (_event(obs, EventKind.FLOOR_RAISED, state.value, obs.value),)


def _reflected(state: MetricState, obs: Ok, policy: MergePolicy, spend: int = 0) -> MetricState:
    """``state`` after applying the total ``obs``, which spent ``spend`` of the credits to go down. It reflects every
    refund that happened before it was observed (allowing Fanvue ``reflection_lag`` to catch up), so their credit
    is gone too; the value is never below the floor."""
    applied = _apply(state, obs)
    if state.floor is not None and applied.value is not None and applied.value < state.floor:
        applied = replace(applied, value=state.floor)
    reflects_until = obs.observed_at - policy.reflection_lag
    credits = tuple(c for c in _spent(state.credits, spend) if c.occurred_at > reflects_until)
    return replace(applied, credits=credits, reflects_until=reflects_until)


def _spent(credits: tuple[Credit, ...], amount: int) -> tuple[Credit, ...]:
    """``credits`` after ``amount`` of them explained a decrease, oldest refund first: each refund explains once."""
    left: list[Credit] = []
    for credit in credits:
        used = min(amount, credit.amount)
        amount -= used
        if credit.amount > used:
            left.append(replace(credit, amount=credit.amount - used))
    return tuple(left)


def _monotone(state: MetricState, obs: Ok, policy: MergePolicy) -> tuple[MetricState, tuple[StatsEvent, ...]]:
    assert state.value is not None  # noqa: S101 - the caller handles the first value
    pending = state.pending
    if obs.value >= state.value:
        events: list[StatsEvent] = []
        if pending is not None:
            events.append(_event(obs, EventKind.DECREASE_DISMISSED, state.value, pending.value))
        if obs.value != state.value:
            events.append(_event(obs, EventKind.APPLIED, state.value, obs.value))
        return _reflected(state, obs, policy), tuple(events)
    decrease = state.value - obs.value
    if decrease <= state.allowance:
        adjusted = _reflected(state, obs, policy, spend=decrease)
        detail = _floor_detail(state, obs)
        return adjusted, (_event(obs, EventKind.ADJUSTED, state.value, adjusted.value, detail),)
    if obs.refunds_tracked:
        detail = f"down {decrease} with {state.allowance} of recorded refunds newer than the value"
        return state, (_event(obs, EventKind.REGRESSION_REJECTED, state.value, obs.value, detail),)
    # Nobody can see this creator's refunds: a decrease is believed once a second total, far enough apart, says so.
    if pending is not None and obs.observed_at - pending.first_observed_at >= policy.confirm_after:
        confirmed = _reflected(state, obs, policy)
        detail = f"first seen {pending.first_observed_at.isoformat()}{_floor_detail(state, obs)}"
        return confirmed, (_event(obs, EventKind.DECREASE_CONFIRMED, state.value, confirmed.value, detail),)
    if pending is None:
        held = PendingCliff(obs.value, obs.observed_at, obs.observed_at, obs.source)
        detail = f"down {decrease}; refunds are not tracked for this creator"
        return replace(state, pending=held), (_event(obs, EventKind.DECREASE_HELD, state.value, obs.value, detail),)
    still = replace(pending, value=obs.value, last_observed_at=obs.observed_at, source=obs.source)
    return replace(state, pending=still), ()


def _floor_detail(state: MetricState, obs: Ok) -> str:
    if state.floor is not None and obs.value < state.floor:
        return f"; {obs.value} is below the ledger floor {state.floor}, kept at the floor"
    return ""


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
