"""Ratio, currency rules, series shape, top spenders and subscriber history: hand-checked cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from onyx_core.analytics import (
    Granularity,
    Period,
    SubscriberDay,
    Window,
    arpu,
    golden_ratio,
    growth,
    ltv,
    revenue_by_source_series,
    revenue_series,
    revenue_totals,
    subscriber_history,
    top_spenders,
    totals_with_growth,
)
from onyx_core.errors import CurrencyMismatchError, DomainValueError
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ratio import Ratio

CREATOR = CreatorId("c1")
JAN = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


def entry(
    key: str,
    day: int,
    source: str = Source.TIP,
    *,
    gross: int = 100,
    net: int = 80,
    fan: str | None = "f1",
    kind: EntryKind = EntryKind.EARNING,
    currency: str = "USD",
) -> LedgerEntry:
    return LedgerEntry(
        CREATOR,
        key,
        datetime(2026, 1, day, 12, tzinfo=UTC),
        source,
        Money(gross, currency),
        Money(net, currency),
        kind,
        None if fan is None else FanId(fan),
    )


class TestRatio:
    def test_defined(self) -> None:
        ratio = Ratio(3, 4)
        assert ratio.defined
        assert ratio.value == Fraction(3, 4)
        assert ratio.percent() == Decimal("75.0")
        assert ratio.percent(2) == Decimal("75.00")
        assert str(ratio) == "3/4"

    def test_undefined_is_never_zero(self) -> None:
        for ratio in (Ratio(0, 0), Ratio(5, 0), Ratio(-5, 0)):
            assert not ratio.defined
            assert ratio.value is None
            assert ratio.percent() is None
            assert str(ratio) == "undefined"
        assert Ratio(0, 5).value == 0

    def test_percent_rounds_half_to_even_exactly(self) -> None:
        assert Ratio(1, 8).percent(0) == Decimal(12)  # 12.5 -> 12
        assert Ratio(3, 8).percent(0) == Decimal(38)  # 37.5 -> 38
        assert Ratio(2, 3).percent(3) == Decimal("66.667")
        assert Ratio(-1, 3).percent(1) == Decimal("-33.3")
        huge = 10**40 + 1
        assert Ratio(huge, 100).percent(0) == Decimal(huge)
        with pytest.raises(DomainValueError):
            Ratio(1, 2).percent(-1)

    def test_ints_only(self) -> None:
        with pytest.raises(DomainValueError):
            Ratio(True, 2)
        with pytest.raises(DomainValueError):
            Ratio(1, 2.0)  # type: ignore[arg-type]

    def test_of_money(self) -> None:
        assert Ratio.of_money(Money(150), Money(100)).value == Fraction(3, 2)
        with pytest.raises(CurrencyMismatchError):
            Ratio.of_money(Money(1, "USD"), Money(1, "EUR"))


def test_growth() -> None:
    assert growth(Money(150), Money(100)).value == Fraction(1, 2)
    assert growth(Money(50), Money(100)).value == Fraction(-1, 2)
    assert not growth(Money(50), Money(0)).defined
    assert not growth(Money(0), Money(0)).defined
    # After a net-negative period, going up reads as positive growth.
    assert growth(Money(100), Money(-100)).value == 2


def test_other_currency_is_refused_even_outside_the_period() -> None:
    ledger = [entry("a", 5), entry("b", 5, currency="EUR")]
    with pytest.raises(CurrencyMismatchError):
        revenue_totals(ledger, JAN)
    with pytest.raises(CurrencyMismatchError):
        revenue_totals(ledger, Period(JAN.end, JAN.end))
    assert revenue_totals([entry("b", 5, currency="EUR")], JAN, currency="EUR").gross == Money(100, "EUR")
    for call in (
        lambda: arpu(ledger, JAN),
        lambda: ltv(ledger),
        lambda: golden_ratio(ledger, JAN),
        lambda: top_spenders(ledger, JAN),
        lambda: revenue_series(ledger, JAN, Granularity.DAY, "UTC"),
        lambda: totals_with_growth(ledger, JAN.end, "UTC"),
    ):
        with pytest.raises(CurrencyMismatchError):
            call()


def test_series_lists_every_bucket_with_real_zeros() -> None:
    series = revenue_series([entry("a", 3)], JAN, Granularity.DAY, "UTC")
    assert len(series) == 31
    assert [b.label.day for b in series] == list(range(1, 32))
    assert series[2].gross == Money(100)
    assert series[2].transaction_count == 1
    assert all(b.gross == Money(0) and b.transaction_count == 0 for i, b in enumerate(series) if i != 2)
    assert revenue_series([], Period(JAN.start, JAN.start), Granularity.DAY, "UTC") == []


def test_series_edges_are_clipped_to_the_period() -> None:
    period = Period(datetime(2026, 1, 7, 12, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC))
    weeks = revenue_series([entry("a", 7), entry("b", 19)], period, Granularity.WEEK, "UTC")
    # 2026-01-05 and 2026-01-12 and 2026-01-19 are Mondays.
    assert [w.label for w in weeks] == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert weeks[0].period.start == period.start
    assert weeks[-1].period.end == period.end
    assert [w.gross.cents for w in weeks] == [100, 0, 100]


def test_by_source_series() -> None:
    ledger = [entry("a", 1, Source.TIP), entry("b", 1, Source.MESSAGE), entry("c", 3, Source.TIP)]
    series = revenue_by_source_series(ledger, JAN, Granularity.MONTH, "UTC")
    assert len(series) == 1
    assert {s: t.gross.cents for s, t in series[0].by_source.items()} == {"message": 100, "tip": 200}
    days = revenue_by_source_series(ledger, JAN, Granularity.DAY, "UTC")
    assert days[1].by_source == {}


def test_golden_ratio_is_undefined_without_subscriptions() -> None:
    ledger = [entry("a", 1, Source.TIP), entry("b", 2, Source.MESSAGE)]
    assert not golden_ratio(ledger, JAN).defined
    ledger.append(entry("c", 3, Source.RENEWAL, gross=0, net=0))
    assert not golden_ratio(ledger, JAN).defined
    ledger.append(entry("d", 3, Source.SUBSCRIPTION, gross=500, net=400))
    assert golden_ratio(ledger, JAN).value == Fraction(160, 400)
    # Sources outside both sets (referral, refund) change nothing.
    ledger.append(entry("e", 4, Source.REFERRAL, fan=None))
    assert golden_ratio(ledger, JAN).value == Fraction(160, 400)


def test_arpu_counts_paying_fans_only() -> None:
    ledger = [
        entry("a", 1, fan="f1", gross=1000, net=800),
        entry("b", 2, fan="f2", gross=0, net=0, source=Source.GIVEAWAY),  # free: not a paying fan
        entry("c", 3, fan="f3", gross=-500, net=-400, kind=EntryKind.REFUND, source=Source.REFUND),
        entry("d", 4, fan=None, gross=300, net=300, source=Source.REFERRAL),
    ]
    assert arpu(ledger, JAN) == Ratio(400, 1)
    assert not arpu(ledger[1:], JAN).defined


def test_top_spenders_order_and_limit() -> None:
    ledger = [
        entry("a", 1, fan="b", gross=100, net=80),
        entry("b", 2, fan="a", gross=100, net=80),
        entry("c", 3, fan="c", gross=200, net=80),
        entry("d", 4, fan="d", gross=500, net=400),
        entry("e", 5, fan="d", gross=-100, net=-80, kind=EntryKind.CHARGEBACK, source=Source.CHARGEBACK),
        entry("f", 6, fan=None, gross=900, net=900, source=Source.REFERRAL),
    ]
    spenders = top_spenders(ledger, JAN)
    assert [s.fan_id for s in spenders] == ["d", "c", "a", "b"]
    assert spenders[0].net == Money(320)
    assert spenders[0].reversal_count == 1
    assert spenders[0].last_paid_at == datetime(2026, 1, 4, 12, tzinfo=UTC)
    assert [s.fan_id for s in top_spenders(ledger, JAN, limit=2)] == ["d", "c"]
    assert top_spenders(ledger, JAN, limit=0) == []
    with pytest.raises(DomainValueError):
        top_spenders(ledger, JAN, limit=-1)


def test_totals_with_growth_windows() -> None:
    now = datetime(2026, 1, 20, 12, tzinfo=UTC)
    ledger = [entry("a", 19, net=200, gross=250), entry("b", 10, net=100, gross=125), entry("c", 2)]
    result = totals_with_growth(ledger, now, "UTC")
    assert list(result) == [Window.D7, Window.D30, Window.D90, Window.Y1, Window.ALL]
    seven = result[Window.D7]
    assert seven.current.net == Money(200)
    assert seven.previous is not None
    assert seven.previous.net == Money(100)
    assert seven.net_growth == Ratio(100, 100)
    assert seven.gross_growth == Ratio(125, 125)
    everything = result[Window.ALL]
    assert everything.period.start == datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert everything.current.net == Money(380)
    assert (everything.previous, everything.net_growth, everything.previous_period) == (None, None, None)


class TestSubscriberHistory:
    def test_gaps_are_not_zero(self) -> None:
        rows = [
            SubscriberDay(CREATOR, date(2026, 1, 1), new=5, cancelled=1),
            SubscriberDay(CREATOR, date(2026, 1, 2), new=0, cancelled=2),
            SubscriberDay(CREATOR, date(2026, 1, 4), new=3, cancelled=0),
            SubscriberDay(CREATOR, date(2026, 1, 9), new=9, cancelled=9),  # outside: ignored
        ]
        history = subscriber_history(rows, date(2026, 1, 1), date(2026, 1, 5))
        assert [(d.day.day, d.observed, d.net, d.running_net) for d in history] == [
            (1, True, 4, 4),
            (2, True, -2, 2),
            (3, False, None, None),
            (4, True, 3, None),
        ]
        assert history[2].new is None
        assert history[2].cancelled is None
        assert history[3].new == 3
        assert history[3].cancelled == 0

    def test_nothing_observed(self) -> None:
        history = subscriber_history([], date(2026, 1, 1), date(2026, 1, 3))
        assert [d.observed for d in history] == [False, False]
        assert subscriber_history([], date(2026, 1, 1), date(2026, 1, 1)) == []

    def test_refusals(self) -> None:
        row = SubscriberDay(CREATOR, date(2026, 1, 1), 1, 0)
        with pytest.raises(DomainValueError):
            subscriber_history([row, row], date(2026, 1, 1), date(2026, 1, 2))
        other = SubscriberDay(CreatorId("c2"), date(2026, 1, 2), 1, 0)
        with pytest.raises(DomainValueError):
            subscriber_history([row, other], date(2026, 1, 1), date(2026, 1, 3))
        with pytest.raises(DomainValueError):
            subscriber_history([row], date(2026, 1, 2), date(2026, 1, 1))
        with pytest.raises(DomainValueError):
            SubscriberDay(CREATOR, date(2026, 1, 1), -1, 0)
        with pytest.raises(DomainValueError):
            SubscriberDay(CREATOR, datetime(2026, 1, 1, tzinfo=UTC), 1, 0)
        assert row.net == 1
