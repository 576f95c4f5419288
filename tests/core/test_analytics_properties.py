"""Properties of the analytics over generated ledgers: integer cents, aware datetimes, few sources and fans."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.analytics import (
    GROWTH_WINDOWS,
    Basis,
    Granularity,
    Period,
    SubscriberDay,
    arpu,
    bucket_label,
    golden_ratio,
    revenue_by_source,
    revenue_series,
    revenue_totals,
    subscriber_history,
    top_spenders,
    totals_with_growth,
)
from onyx_core.analytics.periods import next_bucket_date
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.testing import strategies

EXAMPLES = settings(max_examples=200, deadline=None)

CREATOR = CreatorId("creator")
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",
    "America/Santiago",
]
FANS = [None, FanId("f1"), FanId("f2"), FanId("f3")]
# Hypothesis takes naive bounds; the generated instants are in UTC (timezones= below).
LOW = datetime(2025, 10, 1)
HIGH = datetime(2026, 12, 31)

instants = st.datetimes(min_value=LOW, max_value=HIGH, timezones=st.just(UTC))


ledgers = strategies.ledgers(CREATOR, instants)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    a, b = draw(instants), draw(instants)
    return Period(min(a, b), max(a, b))


@st.composite
def short_periods(draw: st.DrawFn) -> Period:
    """At most ~120 days, so daily series stay small."""
    start = draw(instants)
    return Period(start, start + timedelta(seconds=draw(st.integers(0, 120 * 86_400))))


@st.composite
def refunds(draw: st.DrawFn) -> LedgerEntry:
    amount = draw(st.integers(0, 50_000))
    return LedgerEntry(
        CREATOR,
        "the-refund",
        draw(instants),
        Source.REFUND,
        Money(-amount),
        Money(-draw(st.integers(0, amount))),
        EntryKind.REFUND,
        draw(st.sampled_from(FANS)),
    )


def inside(entries: Sequence[LedgerEntry], period: Period) -> list[LedgerEntry]:
    return [e for e in entries if e.occurred_at in period]


@EXAMPLES
@given(ledgers, periods())
def test_sources_add_up_to_the_totals(entries: list[LedgerEntry], period: Period) -> None:
    totals = revenue_totals(entries, period)
    by_source = revenue_by_source(entries, period).values()
    assert Money.total(t.gross for t in by_source) == totals.gross
    assert Money.total(t.net for t in by_source) == totals.net
    assert sum(t.transaction_count for t in by_source) == totals.transaction_count
    assert sum(t.reversal_count for t in by_source) == totals.reversal_count
    chosen = inside(entries, period)
    assert totals.gross.cents == sum(e.gross.cents for e in chosen)
    assert totals.transaction_count + totals.reversal_count == len(chosen)


@EXAMPLES
@given(
    ledgers,
    short_periods(),
    st.sampled_from(list(Granularity)),
    st.sampled_from(ZONES),
)
def test_series_adds_up_and_tiles_the_period(
    entries: list[LedgerEntry], period: Period, granularity: Granularity, tz: str
) -> None:
    series = revenue_series(entries, period, granularity, tz)
    totals = revenue_totals(entries, period)
    assert Money.total(b.gross for b in series) == totals.gross
    assert Money.total(b.net for b in series) == totals.net
    assert sum(b.transaction_count for b in series) == totals.transaction_count
    assert sum(b.totals.reversal_count for b in series) == totals.reversal_count
    if period.empty:
        assert series == []
        return
    # Consecutive calendar labels whose (clipped) periods tile [start, end) with no gap or overlap.
    assert series[0].period.start == period.start
    assert series[-1].period.end == period.end
    for before, after in itertools.pairwise(series):
        assert next_bucket_date(before.label, granularity) == after.label
        assert before.period.end == after.period.start
    for bucket in series:
        for e in inside(entries, bucket.period):
            assert bucket_label(e.occurred_at, granularity, tz) == bucket.label


@EXAMPLES
@given(ledgers, periods(), st.sampled_from(list(Basis)))
def test_golden_ratio_undefined_iff_no_subscription_revenue(
    entries: list[LedgerEntry], period: Period, basis: Basis
) -> None:
    ratio = golden_ratio(entries, period, basis=basis)
    chosen = inside(entries, period)

    def pick(e: LedgerEntry) -> int:
        return e.gross.cents if basis is Basis.GROSS else e.net.cents

    subscription = sum(pick(e) for e in chosen if e.source in Source.SUBSCRIPTION_LIKE)
    engagement = sum(pick(e) for e in chosen if e.source in Source.ENGAGEMENT)
    assert ratio.defined == (subscription != 0)
    assert (ratio.value is None) == (subscription == 0)
    assert (ratio.numerator, ratio.denominator) == (engagement, subscription)


@EXAMPLES
@given(ledgers, periods())
def test_top_spenders_add_up_to_fan_revenue(entries: list[LedgerEntry], period: Period) -> None:
    spenders = top_spenders(entries, period, limit=None)
    with_fan = [e for e in inside(entries, period) if e.fan_id is not None]
    assert sum(s.net.cents for s in spenders) == sum(e.net.cents for e in with_fan)
    assert sum(s.gross.cents for s in spenders) == sum(e.gross.cents for e in with_fan)
    assert sum(s.transaction_count + s.reversal_count for s in spenders) == len(with_fan)
    assert len({s.fan_id for s in spenders}) == len(spenders) == len({e.fan_id for e in with_fan})
    keys = [(-s.net.cents, -s.gross.cents, s.fan_id) for s in spenders]
    assert keys == sorted(keys)
    assert top_spenders(entries, period, limit=2) == spenders[:2]
    # ARPU's numerator is the same fan revenue.
    assert arpu(entries, period).numerator == sum(s.net.cents for s in spenders)


@EXAMPLES
@given(ledgers, instants, st.sampled_from(ZONES))
def test_growth_undefined_iff_previous_is_zero(entries: list[LedgerEntry], now: datetime, tz: str) -> None:
    result = totals_with_growth(entries, now, tz)
    for window in GROWTH_WINDOWS:
        row = result[window]
        assert row.previous is not None
        assert row.net_growth is not None
        assert row.gross_growth is not None
        assert row.previous_period == row.period.previous()
        assert row.net_growth.defined == (row.previous.net.cents != 0)
        assert row.gross_growth.defined == (row.previous.gross.cents != 0)
        assert row.net_growth.numerator == row.current.net.cents - row.previous.net.cents
        assert row.period.end == now
    starts = [result[window].period.start for window in GROWTH_WINDOWS]
    assert starts == sorted(starts, reverse=True)  # longer windows reach further back


@EXAMPLES
@given(ledgers, refunds(), short_periods(), st.sampled_from(ZONES))
def test_a_refund_never_increases_a_total(
    entries: list[LedgerEntry], refund: LedgerEntry, period: Period, tz: str
) -> None:
    more = [*entries, refund]
    before, after = revenue_totals(entries, period), revenue_totals(more, period)
    assert after.gross <= before.gross
    assert after.net <= before.net
    assert after.transaction_count == before.transaction_count
    src_before, src_after = revenue_by_source(entries, period), revenue_by_source(more, period)
    for source, totals in src_after.items():
        old = src_before.get(source)
        assert totals.gross.cents <= (0 if old is None else old.gross.cents)
        assert totals.net.cents <= (0 if old is None else old.net.cents)
    for old_bucket, new_bucket in zip(
        revenue_series(entries, period, Granularity.DAY, tz),
        revenue_series(more, period, Granularity.DAY, tz),
        strict=True,
    ):
        assert new_bucket.gross <= old_bucket.gross
        assert new_bucket.net <= old_bucket.net
    fans_before = {s.fan_id: s for s in top_spenders(entries, period, limit=None)}
    for spender in top_spenders(more, period, limit=None):
        old_spender = fans_before.get(spender.fan_id)
        assert spender.net.cents <= (0 if old_spender is None else old_spender.net.cents)
        assert spender.gross.cents <= (0 if old_spender is None else old_spender.gross.cents)


@st.composite
def subscriber_rows(draw: st.DrawFn) -> list[SubscriberDay]:
    days = draw(st.sets(st.integers(0, 40), max_size=40))
    return [
        SubscriberDay(CREATOR, date(2026, 1, 1) + timedelta(days=d), draw(st.integers(0, 50)), draw(st.integers(0, 50)))
        for d in sorted(days)
    ]


@EXAMPLES
@given(subscriber_rows(), st.integers(0, 40), st.integers(0, 40))
def test_subscriber_history_keeps_every_day_and_never_invents_zeros(rows: list[SubscriberDay], a: int, b: int) -> None:
    start, end = date(2026, 1, 1) + timedelta(days=min(a, b)), date(2026, 1, 1) + timedelta(days=max(a, b))
    history = subscriber_history(rows, start, end)
    assert [h.day for h in history] == [start + timedelta(days=i) for i in range((end - start).days)]
    reported = {r.day: r for r in rows}
    running = 0
    seen_gap = False
    for h in history:
        assert h.observed == (h.day in reported)
        if not h.observed:
            seen_gap = True
            assert (h.new, h.cancelled, h.net, h.running_net) == (None, None, None, None)
            continue
        row = reported[h.day]
        assert (h.new, h.cancelled, h.net) == (row.new, row.cancelled, row.new - row.cancelled)
        running += row.net
        assert h.running_net == (None if seen_gap else running)
