"""Hypothesis strategies for Onyx's domain values. Public: use them to test your own adapters.

Requires ``hypothesis`` (``pip install 'onyx-fanvue[testing]'``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from onyx_core.stats.metrics import Metric
from onyx_core.stats.observations import Adjustment, Floor, Missing, MissingReason, Observation, Ok

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where generated timelines start."""

GAUGES = (Metric.SUBSCRIBERS, Metric.FOLLOWERS, Metric.POSTS, Metric.LIKES)
ALL_METRICS = (Metric.REVENUE_TOTAL, *GAUGES)
SOURCES = ("fanvue:agency", "fanvue:creator", "fanvue:summary")


def instants(start: datetime = EPOCH, span: timedelta = timedelta(hours=2)) -> st.SearchStrategy[datetime]:
    """Aware UTC instants in ``[start, start + span]``, at whole seconds (so collisions happen)."""
    return st.integers(0, int(span.total_seconds())).map(lambda s: start + timedelta(seconds=s))


def values(metric: str) -> st.SearchStrategy[int]:
    """Plausible values, with 0 and small numbers over-represented (where the interesting rules live)."""
    top = 10_000_000 if metric == Metric.REVENUE_TOTAL else 5_000
    return st.one_of(st.just(0), st.integers(1, 20), st.integers(0, top))


def ok_observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Ok]:
    """``Ok`` observations of the given metrics."""
    when = times if times is not None else instants()
    return st.sampled_from(metrics).flatmap(
        lambda m: st.builds(Ok, st.just(m), values(m), when, st.sampled_from(SOURCES))
    )


def missing_observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Missing]:
    """``Missing`` observations of every reason."""
    when = times if times is not None else instants()
    return st.builds(
        Missing,
        st.sampled_from(metrics),
        st.sampled_from(list(MissingReason)),
        when,
        st.sampled_from(SOURCES),
    )


def adjustments(times: st.SearchStrategy[datetime] | None = None) -> st.SearchStrategy[Adjustment]:
    """Refund or chargeback adjustments of lifetime revenue."""
    when = times if times is not None else instants()
    return st.builds(
        Adjustment,
        st.just(Metric.REVENUE_TOTAL.value),
        st.integers(1, 50_000),
        when,
        st.text("abcdef0123456789", min_size=4, max_size=8).map(lambda h: f"refund:{h}"),
        st.sampled_from(["refund", "chargeback"]),
    )


def floors(times: st.SearchStrategy[datetime] | None = None) -> st.SearchStrategy[Floor]:
    """Ledger floors of lifetime revenue."""
    when = times if times is not None else instants()
    return st.builds(Floor, st.just(Metric.REVENUE_TOTAL.value), values(Metric.REVENUE_TOTAL), when, st.just("ledger"))


def observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Observation]:
    """Any observation: mostly values, often failures, sometimes adjustments and floors."""
    parts: list[st.SearchStrategy[Observation]] = [
        ok_observations(metrics, times),
        ok_observations(metrics, times),
        missing_observations(metrics, times),
    ]
    if Metric.REVENUE_TOTAL in metrics:
        parts += [adjustments(times), floors(times)]
    return st.one_of(*parts)


def observation_batches(
    metrics: tuple[str, ...] = ALL_METRICS,
    span: timedelta = timedelta(minutes=30),
    max_size: int = 40,
) -> st.SearchStrategy[list[Observation]]:
    """Lists of observations whose times lie within ``span`` (keep it <= the merge horizon for exact order tests)."""
    return st.lists(observations(metrics, instants(EPOCH, span)), max_size=max_size)
