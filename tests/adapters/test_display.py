"""What the CLI prints for stored numbers: never a made-up 0."""

from __future__ import annotations

from datetime import UTC, datetime

from onyx_adapters.cli.display import UNKNOWN, metric_text, money
from onyx_core.stats import MergePolicy, Metric, MetricRecord, Ok, merge_all


def test_money() -> None:
    assert money(123456) == "$1,234.56"
    assert money(5) == "$0.05"
    assert money(-1999) == "-$19.99"


def test_metric_text() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert metric_text(None) == UNKNOWN
    assert metric_text(MetricRecord(Metric.FOLLOWERS)) == UNKNOWN
    records, _ = merge_all(
        {}, [Ok(Metric.REVENUE_TOTAL, 1254300, at, "t"), Ok(Metric.FOLLOWERS, 12345, at, "t")], MergePolicy(), at
    )
    assert metric_text(records[Metric.REVENUE_TOTAL]) == "$12,543.00"
    assert metric_text(records[Metric.FOLLOWERS]) == "12,345"
