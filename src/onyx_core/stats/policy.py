"""The knobs of the stats merge. Defaults are the documented behaviour; every one can be changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from onyx_core.errors import DomainValueError
from onyx_core.stats.metrics import DEFAULT_KINDS, MetricKind


@dataclass(frozen=True, slots=True)
class MergePolicy:
    """The knobs of :func:`~onyx_core.stats.merge`; the defaults are what ``docs/stats.md`` documents."""

    cliff_drop_percent: int = 50
    """A gauge dropping by more than this percentage in one step is a cliff."""
    cliff_to_zero: bool = True
    """A gauge dropping from > 0 to 0 is always a cliff."""
    confirm_after: timedelta = timedelta(minutes=10)
    """A cliff is applied only once a second observation at least this much later confirms it."""
    horizon: timedelta = timedelta(minutes=30)
    """How late an observation may arrive and still be merged exactly as if it had come in time.

    Observations are kept for this long behind the newest one; one older than that is ignored (and reported).
    """
    reflection_lag: timedelta = timedelta(minutes=10)
    """How long Fanvue may take to show a refund in its lifetime total. A total observed at ``t`` is taken to
    reflect every refund that happened before ``t - reflection_lag``: their credit is spent, and a refund that old
    found later (a backfill's history) explains no decrease. A younger refund keeps its credit."""
    max_future_skew: timedelta = timedelta(minutes=5)
    """Observations dated further than this after ``now`` are refused: they would win every later merge."""
    kinds: Mapping[str, MetricKind] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_KINDS)))
    """The kind of each metric; a metric not listed is a gauge."""

    def __post_init__(self) -> None:
        if not 0 < self.cliff_drop_percent < 100:
            raise DomainValueError("cliff_drop_percent must be between 1 and 99")
        if self.confirm_after < timedelta(0):
            raise DomainValueError("confirm_after must not be negative")
        if self.horizon < self.confirm_after:
            raise DomainValueError("horizon must be at least confirm_after, or late confirmations are lost")
        if self.reflection_lag < timedelta(0):
            raise DomainValueError("reflection_lag must not be negative")
        if self.max_future_skew < timedelta(0):
            raise DomainValueError("max_future_skew must not be negative")
        object.__setattr__(self, "kinds", MappingProxyType(dict(self.kinds)))

    def kind_of(self, metric: str) -> MetricKind:
        return self.kinds.get(metric, MetricKind.GAUGE)

    def is_cliff(self, current: int, new: int) -> bool:
        """Whether going from ``current`` to ``new`` in one step is a cliff (integer arithmetic, no floats)."""
        if new >= current:
            return False
        if self.cliff_to_zero and new == 0:
            return True
        return new * 100 < current * (100 - self.cliff_drop_percent)
