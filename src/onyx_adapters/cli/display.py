"""How the CLI shows stored numbers: money in dollars, an unknown value as "—" (never 0), a held cliff and a
stale value marked. Both demos print through it."""

from __future__ import annotations

from onyx_core.stats import Metric, MetricRecord

__all__ = ["UNKNOWN", "metric_text", "money"]

UNKNOWN = "—"


def money(cents: int) -> str:
    """``$1,234.56`` (USD cents; a negative amount keeps its sign)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def metric_text(record: MetricRecord | None) -> str:
    """The stored value of ``record``: revenue as money, counts with separators, ``(held: n)`` for a quarantined
    drop, ``*`` when stale, :data:`UNKNOWN` when nothing was ever observed."""
    if record is None or record.value is None:
        return UNKNOWN
    text = money(record.value) if record.metric == Metric.REVENUE_TOTAL else f"{record.value:,}"
    if record.pending is not None:
        text += f" (held: {record.pending.value:,})"
    return text + ("*" if record.is_stale else "")
