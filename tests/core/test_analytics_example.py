"""The worked example of docs/analytics.md, number for number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

from onyx_core.analytics import (
    Basis,
    Granularity,
    Period,
    Window,
    arpu,
    golden_ratio,
    local_midnight,
    ltv,
    revenue_by_source,
    revenue_series,
    revenue_totals,
    tip_average,
    top_spenders,
    totals_with_growth,
    transaction_count,
)
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ratio import Ratio

BERLIN = "Europe/Berlin"
CREATOR = CreatorId("creator")
A, B, C = FanId("A"), FanId("B"), FanId("C")


def _entry(
    n: int,
    at: datetime,
    source: str,
    fan: FanId | None,
    gross: int,
    net: int,
    kind: EntryKind = EntryKind.EARNING,
) -> LedgerEntry:
    return LedgerEntry(CREATOR, f"e{n}", at, source, Money(gross), Money(net), kind, fan)


LEDGER = [
    _entry(1, datetime(2026, 3, 28, 9, 0, tzinfo=UTC), Source.SUBSCRIPTION, A, 1000, 800),
    _entry(2, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), Source.TIP, A, 500, 400),
    _entry(3, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), Source.MESSAGE, B, 2000, 1600),
    _entry(4, datetime(2026, 3, 29, 12, 0, tzinfo=UTC), Source.REFUND, B, -2000, -1600, EntryKind.REFUND),
    _entry(5, datetime(2026, 3, 29, 15, 0, tzinfo=UTC), Source.RENEWAL, C, 1000, 800),
    _entry(6, datetime(2026, 3, 29, 16, 0, tzinfo=UTC), Source.REFERRAL, None, 300, 240),
    _entry(7, datetime(2026, 3, 29, 21, 30, tzinfo=UTC), Source.TIP, C, 300, 240),
    _entry(8, datetime(2026, 3, 29, 22, 30, tzinfo=UTC), Source.POST, A, 1700, 1360),
]

# The Berlin days 2026-03-28 and 2026-03-29.
TWO_DAYS = Period(local_midnight(date(2026, 3, 28), BERLIN), local_midnight(date(2026, 3, 30), BERLIN))


def test_the_period_is_two_berlin_days_of_24_and_23_hours() -> None:
    assert Period(datetime(2026, 3, 27, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)) == TWO_DAYS
    assert TWO_DAYS.duration.total_seconds() == 47 * 3600


def test_revenue() -> None:
    totals = revenue_totals(LEDGER, TWO_DAYS)
    assert (totals.gross, totals.net) == (Money(3100), Money(2480))
    assert (totals.transaction_count, totals.reversal_count) == (6, 1)
    assert (totals.reversal_gross, totals.reversal_net) == (Money(-2000), Money(-1600))
    assert (totals.earnings_gross, totals.earnings_net) == (Money(5100), Money(4080))
    assert transaction_count(LEDGER, TWO_DAYS) == 6


def test_by_day_in_berlin_and_in_utc() -> None:
    days = revenue_series(LEDGER, TWO_DAYS, Granularity.DAY, BERLIN)
    assert [(d.label, d.gross.cents, d.net.cents, d.transaction_count) for d in days] == [
        (date(2026, 3, 28), 1000, 800, 1),
        (date(2026, 3, 29), 2100, 1680, 5),
    ]
    assert days[1].period.duration.total_seconds() == 23 * 3600
    # Entry 2 (23:30 UTC on the 28th) is on the 29th in Berlin, on the 28th in UTC.
    utc_days = revenue_series(LEDGER, TWO_DAYS, Granularity.DAY, "UTC")
    assert [(d.label, d.gross.cents) for d in utc_days] == [
        (date(2026, 3, 27), 0),
        (date(2026, 3, 28), 1500),
        (date(2026, 3, 29), 1600),
    ]


def test_by_source() -> None:
    by_source = revenue_by_source(LEDGER, TWO_DAYS)
    assert {source: totals.net.cents for source, totals in by_source.items()} == {
        "message": 1600,
        "referral": 240,
        "refund": -1600,
        "renewal": 800,
        "subscription": 800,
        "tip": 640,
    }
    assert list(by_source) == sorted(by_source)


def test_ratios() -> None:
    assert golden_ratio(LEDGER, TWO_DAYS).value == Fraction(7, 5)
    assert golden_ratio(LEDGER, TWO_DAYS).percent(0) == 140
    assert golden_ratio(LEDGER, TWO_DAYS, basis=Basis.GROSS).value == Fraction(2800, 2000)
    assert arpu(LEDGER, TWO_DAYS) == Ratio(2240, 3)
    assert str(arpu(LEDGER, TWO_DAYS)) == "2240/3"
    assert tip_average(LEDGER, TWO_DAYS).value == 400
    assert ltv(LEDGER).value == 1200


def test_top_spenders() -> None:
    spenders = top_spenders(LEDGER, TWO_DAYS)
    assert [(s.fan_id, s.net.cents, s.gross.cents, s.transaction_count, s.reversal_count) for s in spenders] == [
        (A, 1200, 1500, 2, 0),
        (C, 1040, 1300, 2, 0),
        (B, 0, 0, 1, 1),
    ]
    assert spenders[0].last_paid_at == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert spenders[2].last_paid_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_growth_from_nothing_is_undefined() -> None:
    now = datetime(2026, 3, 30, 10, tzinfo=UTC)
    seven = totals_with_growth(LEDGER, now, BERLIN)[Window.D7]
    assert seven.period == Period(datetime(2026, 3, 23, 23, tzinfo=UTC), now)
    assert seven.previous_period == Period(datetime(2026, 3, 17, 12, tzinfo=UTC), seven.period.start)
    assert seven.current.net == Money(3840)
    assert seven.net_growth is not None
    assert not seven.net_growth.defined
    assert seven.net_growth.value is None
    assert str(seven.net_growth) == "undefined"


def test_an_empty_day() -> None:
    day = Period(local_midnight(date(2026, 3, 27), BERLIN), local_midnight(date(2026, 3, 28), BERLIN))
    totals = revenue_totals(LEDGER, day)
    assert (totals.gross, totals.net, totals.transaction_count) == (Money(0), Money(0), 0)
    for ratio in (arpu(LEDGER, day), tip_average(LEDGER, day), golden_ratio(LEDGER, day)):
        assert not ratio.defined
        assert ratio.percent() is None


def test_the_doc_names_this_test_file() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
    assert "tests/core/test_analytics_example.py" in doc.read_text(encoding="utf-8")
