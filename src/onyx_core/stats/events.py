"""Provenance: every change the merge makes, holds back or refuses is an event a person can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    """What happened to a metric; see ``docs/stats.md``."""

    APPLIED = "applied"
    """A new value became current."""
    CLIFF_HELD = "cliff_held"
    """A sudden drop was quarantined: the stored value stays until a later observation confirms the drop."""
    CLIFF_CONFIRMED = "cliff_confirmed"
    """A second observation far enough apart confirmed the drop; it is now the current value."""
    CLIFF_DISMISSED = "cliff_dismissed"
    """A held drop was not confirmed: a later, ordinary observation replaced it."""
    REGRESSION_REJECTED = "regression_rejected"
    """A monotone metric (lifetime revenue) went down with no recorded adjustment to explain it."""
    ADJUSTMENT_RECORDED = "adjustment_recorded"
    """A refund or chargeback allows a monotone metric to go down by its amount."""
    ADJUSTMENT_REFLECTED = "adjustment_reflected"
    """A refund that happened before the current value was observed: that value already reflects it, so it allows
    no decrease."""
    ADJUSTED = "adjusted"
    """A monotone metric went down, covered by recorded refunds newer than the value it lowered."""
    DECREASE_HELD = "decrease_held"
    """A monotone metric whose refunds nobody can read went down: held until a later observation confirms it."""
    DECREASE_CONFIRMED = "decrease_confirmed"
    """A held decrease was confirmed by a second observation at least ``confirm_after`` later, and applied."""
    DECREASE_DISMISSED = "decrease_dismissed"
    """A held decrease was not confirmed: a later total was back at or above the value."""
    FLOOR_RAISED = "floor_raised"
    """A known lower bound (e.g. the ledger's sum) lifted the value."""
    MARKED_STALE = "marked_stale"
    """An observation failed; the stored value stays, flagged stale."""
    RECOVERED = "recovered"
    """A successful observation ended a stale spell."""
    IGNORED_LATE = "ignored_late"
    """An observation arrived after the merge horizon behind a newer one and was ignored."""
    REJECTED_FUTURE = "rejected_future"
    """An observation dated in the future (beyond the allowed clock skew) was refused."""


@dataclass(frozen=True, slots=True)
class StatsEvent:
    """One step of a metric's history: what happened, caused by which observation (``at``, ``source``)."""

    metric: str
    kind: EventKind
    at: datetime
    source: str
    old_value: int | None = None
    new_value: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StoredStatsEvent:
    """An event as stored: its id (rising in the order events were recorded) and when it was recorded."""

    id: int
    recorded_at: datetime
    event: StatsEvent
