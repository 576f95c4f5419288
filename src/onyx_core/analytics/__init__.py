"""Reference semantics of Onyx's analytics: pure functions over ledger entries and subscriber days.

SQL implementations are checked against these. Rules that hold throughout: money is integer cents of one
currency (mixing raises :class:`~onyx_core.errors.CurrencyMismatchError`); periods are half-open UTC
``[start, end)``; calendar buckets are computed in an IANA time zone given as a parameter; every division
returns a :class:`~onyx_core.ratio.Ratio`, undefined (never a silent 0) when its denominator is 0.
See ``docs/analytics.md`` for the definitions.
"""

from onyx_core.analytics.audience import SubscriberDay, SubscriberHistoryDay, subscriber_history
from onyx_core.analytics.kpis import (
    Basis,
    arpu,
    golden_ratio,
    ltv,
    paying_fans,
    tip_average,
    transaction_count,
)
from onyx_core.analytics.periods import (
    GROWTH_WINDOWS,
    Granularity,
    Period,
    TimeZone,
    Window,
    bucket_bounds,
    bucket_label,
    bucket_labels,
    earliest_instant,
    local_date,
    local_midnight,
    window_period,
    zone,
)
from onyx_core.analytics.revenue import (
    RevenueBucket,
    RevenueTotals,
    SourceBucket,
    WindowTotals,
    check_currency,
    growth,
    revenue_by_source,
    revenue_by_source_series,
    revenue_series,
    revenue_totals,
    totals_with_growth,
)
from onyx_core.analytics.spenders import FanSpend, top_spenders
from onyx_core.ratio import Ratio

__all__ = [
    "GROWTH_WINDOWS",
    "Basis",
    "FanSpend",
    "Granularity",
    "Period",
    "Ratio",
    "RevenueBucket",
    "RevenueTotals",
    "SourceBucket",
    "SubscriberDay",
    "SubscriberHistoryDay",
    "TimeZone",
    "Window",
    "WindowTotals",
    "arpu",
    "bucket_bounds",
    "bucket_label",
    "bucket_labels",
    "check_currency",
    "earliest_instant",
    "golden_ratio",
    "growth",
    "local_date",
    "local_midnight",
    "ltv",
    "paying_fans",
    "revenue_by_source",
    "revenue_by_source_series",
    "revenue_series",
    "revenue_totals",
    "subscriber_history",
    "tip_average",
    "top_spenders",
    "totals_with_growth",
    "transaction_count",
    "window_period",
    "zone",
]
