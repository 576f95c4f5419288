"""The pure agency dashboard: the worked example of docs/analytics.md extended to two creators, number for number."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from onyx_core.analytics import Granularity, Period, Window, local_midnight, subscriber_history
from onyx_core.analytics.audience import SubscriberDay
from onyx_core.analytics.dashboard import (
    DashboardQuery,
    Figure,
    Headcount,
    PurchaseType,
    agency_dashboard,
    granularity_for,
)
from onyx_core.catalog import TrackingLink
from onyx_core.errors import CurrencyMismatchError, DomainValueError
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ratio import Ratio
from onyx_core.stats.events import EventKind, StatsEvent

BERLIN = "Europe/Berlin"
AGENCY = AgencyId("agency")
ONE, TWO = CreatorId("c1"), CreatorId("c2")
A, B, C = FanId("A"), FanId("B"), FanId("C")
TWO_DAYS = Period(local_midnight(date(2026, 3, 28), BERLIN), local_midnight(date(2026, 3, 30), BERLIN))
NOW = datetime(2026, 3, 30, 10, tzinfo=UTC)


def _e(
    creator: CreatorId,
    n: int,
    at: datetime,
    source: str,
    fan: FanId | None,
    gross: int,
    net: int,
    kind: EntryKind = EntryKind.EARNING,
    reference: str | None = None,
) -> LedgerEntry:
    return LedgerEntry(creator, f"e{n}", at, source, Money(gross), Money(net), kind, fan, reference)


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# docs/analytics.md's worked example is creator one's ledger; creator two shares fan A and has no subscriptions.
LEDGER_ONE = [
    _e(ONE, 1, _t(28, 9), Source.SUBSCRIPTION, A, 1000, 800),
    _e(ONE, 2, _t(28, 23, 30), Source.TIP, A, 500, 400),
    _e(ONE, 3, _t(29, 1, 30), Source.MESSAGE, B, 2000, 1600, reference="ppv-1"),
    _e(ONE, 4, _t(29, 12), Source.REFUND, B, -2000, -1600, EntryKind.REFUND),
    _e(ONE, 5, _t(29, 15), Source.RENEWAL, C, 1000, 800),
    _e(ONE, 6, _t(29, 16), Source.REFERRAL, None, 300, 240),
    _e(ONE, 7, _t(29, 21, 30), Source.TIP, C, 300, 240),
    _e(ONE, 8, _t(29, 22, 30), Source.POST, A, 1700, 1360),
]
LEDGER_TWO = [
    _e(TWO, 1, _t(20, 12), Source.MESSAGE, A, 100, 80),  # A's first payment ever: before the range
    _e(TWO, 2, _t(29, 10), Source.MESSAGE, A, 400, 320),  # a message without a reference: not a PPV
]
LEDGERS = {ONE: LEDGER_ONE, TWO: LEDGER_TWO}


def _query(**kwargs: object) -> DashboardQuery:
    return DashboardQuery(range=kwargs.pop("range", TWO_DAYS), tz=BERLIN, **kwargs)  # type: ignore[arg-type]


def test_granularity_counts_local_days() -> None:
    start = local_midnight(date(2026, 3, 1), BERLIN)
    thirty = Period(start, local_midnight(date(2026, 3, 31), BERLIN))  # 30 days and, across DST, one hour less
    assert granularity_for(thirty, BERLIN) is Granularity.DAY
    assert granularity_for(Period(start, thirty.end + timedelta(minutes=1)), BERLIN) is Granularity.WEEK
    day_180 = local_midnight(date(2026, 3, 1) + timedelta(days=180), BERLIN)
    assert granularity_for(Period(start, day_180), BERLIN) is Granularity.WEEK
    assert granularity_for(Period(start, day_180 + timedelta(hours=1)), BERLIN) is Granularity.MONTH
    assert granularity_for(Period(start, start), BERLIN) is Granularity.DAY


def test_the_worked_example_as_a_dashboard() -> None:
    board = agency_dashboard(AGENCY, LEDGERS, _query(), NOW)
    one = board.creators[ONE]
    assert (one.totals.gross, one.totals.net, one.transaction_count) == (Money(3100), Money(2480), 6)
    assert one.golden_ratio.value == Fraction(7, 5)
    assert one.arpu.value == Fraction(2240, 3)
    assert one.tip_average.value == 400
    # legacy golden ratio on gross: (2000 + 500 + 300) / (1000 + 1000)
    assert one.legacy_golden_ratio_gross.ratio == Ratio(2800, 2000)
    # legacy LTV: period gross over fans who paid a subscription or renewal (A and C)
    assert one.legacy_ltv_per_paying_subscriber.ratio == Ratio(3100, 2)
    assert one.paying_subscribers == 2
    assert one.purchases[PurchaseType.MESSAGE].count == 1
    assert one.purchases[PurchaseType.PPV].buyers == 1
    assert one.purchases[PurchaseType.TIP].count == 2
    assert one.purchases[PurchaseType.TIP].buyers == 2
    assert one.message_purchase_rate.ratio == Ratio(1, 3)
    assert one.new_fans == 3
    assert board.granularity is Granularity.DAY
    assert [b.label for b in one.series] == [date(2026, 3, 28), date(2026, 3, 29)]
    assert one.net_share[Source.REFUND].ratio == Ratio(-1600, 2480)


def test_the_agency_counts_a_fan_once_across_creators() -> None:
    board = agency_dashboard(AGENCY, LEDGERS, _query(), NOW)
    agency, two = board.agency, board.creators[TWO]
    assert agency.totals.gross == Money(3500)
    assert agency.paying_fans == 3  # A paid both creators
    assert agency.arpu.ratio == Ratio(2240 + 320, 3)
    assert agency.purchases[PurchaseType.MESSAGE] == agency.purchases[PurchaseType.MESSAGE].__class__(2, 2)
    assert agency.purchases[PurchaseType.PPV].buyers == 1
    assert two.new_fans == 0
    assert agency.new_fans == 2
    assert [(s.fan_id, s.net) for s in agency.top_spenders][:2] == [(A, Money(1520)), (C, Money(1040))]
    # creator two has no subscription revenue: undefined with a reason, where the old system showed 0
    assert not two.legacy_golden_ratio_gross.defined
    assert two.legacy_golden_ratio_gross.reason == "no subscription revenue in the period"
    assert two.legacy_ltv_per_paying_subscriber.reason is not None


def test_growth_and_all() -> None:
    board = agency_dashboard(AGENCY, LEDGERS, _query(range=Window.D7), NOW)
    assert board.previous_period == board.period.previous()
    assert board.agency.net_growth.ratio == Ratio(4160 - 80, 80)  # creator two's first message is before
    assert board.creators[ONE].net_growth.reason == "the previous period's revenue is 0"
    everything = agency_dashboard(AGENCY, LEDGERS, _query(range=Window.ALL), NOW)
    assert everything.period.start == _t(20, 12)
    assert everything.previous_period is None
    assert everything.agency.previous_totals is None
    assert everything.agency.gross_growth == Figure.undefined("the range 'all' has no previous period")
    later = agency_dashboard(AGENCY, LEDGERS, _query(range=Period(TWO_DAYS.end, TWO_DAYS.end + TWO_DAYS.duration)), NOW)
    assert later.agency.net_growth.ratio == Ratio(1360 - 2800, 2800)  # entry 8 is on the Berlin 30th


def test_creator_subset_and_currency() -> None:
    board = agency_dashboard(AGENCY, LEDGERS, _query(creator_ids=frozenset({TWO, CreatorId("foreign")})), NOW)
    assert list(board.creators) == [TWO]
    assert board.agency.totals.gross == Money(400)
    euro = {
        **LEDGERS,
        TWO: [*LEDGER_TWO, LedgerEntry(TWO, "eur", _t(1, 1), Source.TIP, Money(5, "EUR"), Money(4, "EUR"))],
    }
    with pytest.raises(CurrencyMismatchError):
        agency_dashboard(AGENCY, euro, _query(), NOW)
    assert agency_dashboard(AGENCY, euro, _query(creator_ids=frozenset({ONE})), NOW).agency.totals.gross == Money(3100)


def test_legacy_arpu_uses_current_headcounts() -> None:
    heads = {ONE: Headcount(10, 30), TWO: Headcount(2, 0)}
    board = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, headcounts=heads)
    assert board.creators[ONE].legacy_arpu_per_audience.ratio == Ratio(3100, 40)
    assert board.agency.legacy_arpu_per_audience.ratio == Ratio(3500, 42)
    unknown = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, headcounts={ONE: Headcount(10, None)})
    assert unknown.creators[ONE].legacy_arpu_per_audience.reason == "subscribers or followers were never recorded"
    assert unknown.agency.legacy_arpu_per_audience.value is None
    nobody = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, headcounts={ONE: Headcount(0, 0), TWO: Headcount(0, 0)})
    assert nobody.agency.legacy_arpu_per_audience.reason == "no subscribers and no followers"


def test_audience_is_the_value_recorded_last_before_each_bucket_end() -> None:
    def ev(metric: str, kind: EventKind, at: datetime, new: int) -> StatsEvent:
        return StatsEvent(metric, kind, at, "poll", None, new)

    events = {
        ONE: [
            ev("subscribers", EventKind.APPLIED, _t(27, 8), 10),
            ev("followers", EventKind.APPLIED, _t(28, 8), 50),
            ev("subscribers", EventKind.CLIFF_HELD, _t(28, 9), 1),  # held: not the shown value
            ev("subscribers", EventKind.APPLIED, _t(29, 21, 59), 12),  # 23:59 Berlin: still the 29th
            ev("subscribers", EventKind.APPLIED, _t(29, 22), 99),  # the 30th in Berlin: after the range
        ],
        TWO: [ev("subscribers", EventKind.APPLIED, _t(28, 12), 5), ev("followers", EventKind.APPLIED, _t(28, 12), 7)],
    }
    board = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, stats_events=events)
    one = board.creators[ONE].audience
    assert [(p.subscribers, p.followers) for p in one] == [(10, 50), (12, 50)]
    assert [(p.subscribers, p.followers) for p in board.agency.audience] == [(15, 57), (17, 57)]
    alone = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, stats_events={ONE: events[ONE]})
    assert [p.followers for p in alone.agency.audience] == [None, None]  # creator two's never recorded


def test_subscriber_history_per_creator_and_for_the_agency() -> None:
    days = {
        ONE: [SubscriberDay(ONE, date(2026, 3, 28), 3, 1), SubscriberDay(ONE, date(2026, 3, 29), 1, 2)],
        TWO: [SubscriberDay(TWO, date(2026, 3, 29), 4, 0)],
    }
    board = agency_dashboard(AGENCY, LEDGERS, _query(), NOW, subscriber_days=days)
    assert board.creators[ONE].subscriber_history == subscriber_history(days[ONE], date(2026, 3, 28), date(2026, 3, 30))
    agency = board.agency.subscriber_history
    assert [d.observed for d in agency] == [False, True]
    assert (agency[1].new, agency[1].cancelled, agency[1].running_net) == (5, 2, None)


def test_tracking_links_ranked_with_roi() -> None:
    def link(n: str, creator: CreatorId, net: int | None) -> TrackingLink:
        earned = None if net is None else Money(net)
        return TrackingLink(TrackingLinkId(n), creator, n, f"https://x/{n}", "x", _t(1, 1), 0, 0, 0, earned, earned)

    links = [link("l1", ONE, 500), link("l2", ONE, 2000), link("l3", TWO, None), link("l4", ONE, 100)]
    costs = {TrackingLinkId("l2"): Money(1000), TrackingLinkId("l4"): Money(0)}
    board = agency_dashboard(AGENCY, LEDGERS, _query(link_costs=costs), NOW, tracking_links=links)
    ranked = board.creators[ONE].tracking_links
    assert [r.link.id for r in ranked] == ["l2", "l1", "l4"]
    assert ranked[0].roi.value == 1
    assert ranked[1].roi.reason == "no cost entered for this link"
    assert ranked[2].roi.reason == "the link's cost is 0"
    assert [r.link.id for r in board.agency.tracking_links] == ["l2", "l1", "l4", "l3"]
    assert board.agency.tracking_links[3].net == Money(0)


def test_a_figure_has_a_reason_exactly_when_undefined() -> None:
    with pytest.raises(DomainValueError):
        Figure(Ratio(1, 0))
    with pytest.raises(DomainValueError):
        Figure(Ratio(1, 2), "why")
    assert Figure.of(Ratio(1, 0), "why").percent() is None
    assert Figure.of(Ratio(1, 8), "why").percent() == 12.5


def test_bad_queries_are_refused() -> None:
    with pytest.raises(DomainValueError):
        DashboardQuery(Window.D7, "Mars/Olympus")
    with pytest.raises(DomainValueError):
        DashboardQuery(Window.D7, BERLIN, top_spenders_limit=-1)
    with pytest.raises(CurrencyMismatchError):
        DashboardQuery(Window.D7, BERLIN, link_costs={TrackingLinkId("l"): Money(5, "EUR")})
