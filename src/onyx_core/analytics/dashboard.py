"""The agency dashboard: every figure of the agency and of each of its creators over one range, in one value.

:func:`agency_dashboard` is the reference: it is built from the pure functions of :mod:`onyx_core.analytics` over
the creators' ledgers, stats history and tracking links, and anything that computes the dashboard another way (the
batched SQL read, :class:`DashboardReader`) must return an equal :class:`AgencyDashboard`. The definitions of the
figures this module adds (purchase types and rates, new fans, the old system's variants of ARPU, LTV and golden
ratio, the audience headcount series, link ROI, the granularity rule) are in ``docs/analytics.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Protocol, TypeAlias

from onyx_core.analytics.audience import SubscriberDay, SubscriberHistoryDay, subscriber_history
from onyx_core.analytics.kpis import Basis, arpu, golden_ratio, ltv, paying_fans, tip_average
from onyx_core.analytics.periods import (
    Granularity,
    Period,
    Window,
    bucket_bounds,
    bucket_labels,
    earliest_instant,
    local_date,
    window_period,
    zone,
)
from onyx_core.analytics.revenue import (
    RevenueBucket,
    RevenueTotals,
    SourceBucket,
    check_currency,
    growth,
    in_period,
    revenue_by_source,
    revenue_by_source_series,
    revenue_series,
    revenue_totals,
)
from onyx_core.analytics.spenders import DEFAULT_LIMIT, FanSpend, top_spenders
from onyx_core.catalog import TrackingLink
from onyx_core.errors import CurrencyMismatchError, DomainValueError
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import USD, Money
from onyx_core.ratio import Ratio
from onyx_core.stats.events import EventKind, StatsEvent
from onyx_core.stats.metrics import Metric

__all__ = [
    "AUDIENCE_METRICS",
    "DAILY_MAX_DAYS",
    "VALUE_SETTING_EVENTS",
    "WEEKLY_MAX_DAYS",
    "AgencyDashboard",
    "AudiencePoint",
    "DashboardFigures",
    "DashboardQuery",
    "DashboardRange",
    "DashboardReader",
    "Figure",
    "Headcount",
    "LinkRevenue",
    "PurchaseStats",
    "PurchaseType",
    "agency_dashboard",
    "audience_series",
    "combine_audience",
    "combine_subscriber_histories",
    "dashboard_period",
    "granularity_for",
    "growth_figure",
    "is_paying",
    "legacy_arpu_figure",
    "local_days",
    "purchase_types",
    "rank_links",
    "share_figures",
    "subscriber_days_of",
]

DashboardRange: TypeAlias = Window | Period
"""A named window (``7d``, ``30d``, ``90d``, ``1y``, ``all``) or a custom half-open ``[start, end)``."""

DAILY_MAX_DAYS = 30
"""A range touching at most this many local days is shown per day."""
WEEKLY_MAX_DAYS = 180
"""A range touching more than :data:`DAILY_MAX_DAYS` and at most this many local days is shown per ISO week."""


# ----------------------------------------------------------------------------- undefined with a reason


@dataclass(frozen=True, slots=True)
class Figure:
    """A :class:`Ratio` that may be undefined; when it is, ``reason`` says why (shown as null + reason, never 0).

    ``ratio`` is ``None`` when there is nothing to divide at all (the growth of ``all``), else the two integers.
    ``reason`` is set exactly when the figure is undefined.
    """

    ratio: Ratio | None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.defined == (self.reason is not None):
            raise DomainValueError("a Figure carries a reason exactly when it is undefined")

    @classmethod
    def of(cls, ratio: Ratio, reason_if_undefined: str) -> Figure:
        """``ratio``, with ``reason_if_undefined`` attached when its denominator is 0."""
        return cls(ratio, None if ratio.defined else reason_if_undefined)

    @classmethod
    def undefined(cls, reason: str) -> Figure:
        """No ratio at all, for ``reason``."""
        return cls(None, reason)

    @property
    def defined(self) -> bool:
        """Whether the figure has a value."""
        return self.ratio is not None and self.ratio.defined

    @property
    def value(self) -> Fraction | None:
        """The exact value, ``None`` when undefined."""
        return None if self.ratio is None else self.ratio.value

    def percent(self, places: int = 1) -> float | None:
        """The value in % rounded to ``places`` (half to even, exactly), ``None`` when undefined."""
        if self.ratio is None:
            return None
        pct = self.ratio.percent(places)
        return None if pct is None else float(pct)


# ----------------------------------------------------------------------------- the query


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """What dashboard to compute.

    ``range`` is a named window (resolved at ``now`` in ``tz``; ``all`` starts at the selected creators' earliest
    ledger entry) or a custom :class:`Period`. ``creator_ids`` limits the dashboard to those of the agency's
    creators (``None``: all; ids that are not the agency's are ignored). ``link_costs`` maps a tracking link to what
    the agency paid for it (the ROI's cost); a link without a cost has an undefined ROI.
    """

    range: DashboardRange
    tz: str
    currency: str = USD
    top_spenders_limit: int = DEFAULT_LIMIT
    creator_ids: frozenset[CreatorId] | None = None
    link_costs: Mapping[TrackingLinkId, Money] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        zone(self.tz)  # an unknown zone is refused here, not when the first bucket is computed
        if not isinstance(self.range, Window | Period):
            raise DomainValueError(f"a dashboard range is a window or a period, got {type(self.range).__name__}")
        if type(self.top_spenders_limit) is not int or self.top_spenders_limit < 0:
            raise DomainValueError("top_spenders_limit must be an int >= 0")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise DomainValueError(f"currency must be a 3-letter ISO code, got {self.currency!r}")
        if self.creator_ids is not None:
            object.__setattr__(self, "creator_ids", frozenset(self.creator_ids))
        for link_id, cost in self.link_costs.items():
            if cost.currency != self.currency:
                raise CurrencyMismatchError(f"link {link_id!r} costs {cost.currency}, expected {self.currency}")
            if cost.cents < 0:
                raise DomainValueError(f"link {link_id!r} has a negative cost")
        object.__setattr__(self, "link_costs", MappingProxyType(dict(self.link_costs)))

    def selects(self, creator_id: CreatorId) -> bool:
        """Whether the creator is in the query's subset (every creator when there is none)."""
        return self.creator_ids is None or creator_id in self.creator_ids


def dashboard_period(query_range: DashboardRange, now: datetime, tz: str, earliest: datetime | None) -> Period:
    """The period the range covers at ``now`` (``earliest``: the first ledger entry, for ``all``)."""
    if isinstance(query_range, Period):
        return query_range
    return window_period(query_range, now, tz, earliest=earliest)


def local_days(period: Period, tz: str) -> tuple[date, date]:
    """The local days ``period`` touches, as ``[first, end)`` (an empty period touches none: ``first == end``)."""
    first = local_date(period.start, tz)
    if period.empty:
        return first, first
    return first, local_date(period.end - timedelta(microseconds=1), tz) + timedelta(days=1)


def granularity_for(period: Period, tz: str) -> Granularity:
    """The series' bucket size: daily when the range touches at most 30 local days, weekly up to 180, else monthly.

    Counting local calendar days (not hours) keeps the ``30d`` window, and a custom month across a DST change,
    daily: they touch 30 days even when they last 30 days and an hour.
    """
    first, end = local_days(period, tz)
    days = (end - first).days
    if days <= DAILY_MAX_DAYS:
        return Granularity.DAY
    if days <= WEEKLY_MAX_DAYS:
        return Granularity.WEEK
    return Granularity.MONTH


# ----------------------------------------------------------------------------- purchases


class PurchaseType(StrEnum):
    """What a fan bought. ``ppv`` cuts across ``message`` and ``post``: a purchase of either that names the
    message or post it unlocked (a pay-to-view unlock); a tip never is one."""

    MESSAGE = "message"
    PPV = "ppv"
    POST = "post"
    TIP = "tip"


def purchase_types(entry: LedgerEntry) -> frozenset[PurchaseType]:
    """The purchase types an earning counts as (none for a reversal or another source)."""
    if entry.kind is not EntryKind.EARNING:
        return frozenset()
    if entry.source == Source.TIP:
        return frozenset({PurchaseType.TIP})
    if entry.source in (Source.MESSAGE, Source.POST):
        kind = PurchaseType.MESSAGE if entry.source == Source.MESSAGE else PurchaseType.POST
        return frozenset({kind, PurchaseType.PPV}) if entry.reference is not None else frozenset({kind})
    return frozenset()


def is_paying(entry: LedgerEntry) -> bool:
    """An earning of more than $0 by a known fan: what makes a fan a paying fan (as :func:`paying_fans`)."""
    return entry.fan_id is not None and entry.kind is EntryKind.EARNING and entry.gross.cents > 0


@dataclass(frozen=True, slots=True)
class PurchaseStats:
    """Purchases of one type in the period: earnings counted (free ones too) and fans who paid more than $0."""

    count: int
    buyers: int


# ----------------------------------------------------------------------------- audience


AUDIENCE_METRICS: tuple[str, str] = (Metric.SUBSCRIBERS.value, Metric.FOLLOWERS.value)

VALUE_SETTING_EVENTS: frozenset[EventKind] = frozenset(
    {
        EventKind.APPLIED,
        EventKind.CLIFF_CONFIRMED,
        EventKind.ADJUSTED,
        EventKind.DECREASE_CONFIRMED,
        EventKind.FLOOR_RAISED,
    }
)
"""The stats events whose ``new_value`` became the metric's shown value (a held or rejected value did not)."""


@dataclass(frozen=True, slots=True)
class Headcount:
    """A creator's current subscribers and followers (``creator_stats``); ``None``: never observed."""

    subscribers: int | None
    followers: int | None

    @property
    def audience(self) -> int | None:
        """Subscribers + followers, ``None`` when either is unknown."""
        if self.subscribers is None or self.followers is None:
            return None
        return self.subscribers + self.followers


@dataclass(frozen=True, slots=True)
class AudiencePoint:
    """Subscribers and followers at the end of one bucket: the value recorded last before ``period.end``.

    ``None`` when no value had been recorded by then (unknown, not 0).
    """

    label: date
    period: Period
    subscribers: int | None
    followers: int | None


def audience_series(events: Sequence[StatsEvent], buckets: Sequence[tuple[date, Period]]) -> list[AudiencePoint]:
    """For each bucket, each audience metric's value at the bucket's end.

    The value at instant ``t`` is the ``new_value`` of the last :data:`VALUE_SETTING_EVENTS` event of that metric
    with ``at < t``, "last" by ``at`` and then by the order given (the order they were recorded in).
    """
    setting = [
        (event.at, position, event.metric, event.new_value)
        for position, event in enumerate(events)
        if event.kind in VALUE_SETTING_EVENTS and event.metric in AUDIENCE_METRICS and event.new_value is not None
    ]
    setting.sort(key=lambda item: (item[0], item[1]))
    points: list[AudiencePoint] = []
    current: dict[str, int] = {}
    i = 0
    for label, part in buckets:
        while i < len(setting) and setting[i][0] < part.end:
            _, _, metric, value = setting[i]
            current[metric] = value
            i += 1
        points.append(
            AudiencePoint(label, part, current.get(Metric.SUBSCRIBERS.value), current.get(Metric.FOLLOWERS.value))
        )
    return points


def _sum_known(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def combine_audience(series: Sequence[Sequence[AudiencePoint]]) -> list[AudiencePoint]:
    """The agency's series from its creators' (same buckets): a sum, unknown when any creator's value is."""
    if not series:
        return []
    return [
        AudiencePoint(
            points[0].label,
            points[0].period,
            _sum_known(p.subscribers for p in points),
            _sum_known(p.followers for p in points),
        )
        for points in zip(*series, strict=True)
    ]


def combine_subscriber_histories(histories: Sequence[Sequence[SubscriberHistoryDay]]) -> list[SubscriberHistoryDay]:
    """The agency's subscriber history from its creators' (same days): a day is observed only when every creator's
    is; then new, cancelled and net are sums, and the running net is the sum of the creators' running nets."""
    if not histories:
        return []
    result = []
    for days in zip(*histories, strict=True):
        if all(day.observed for day in days):
            result.append(
                SubscriberHistoryDay(
                    days[0].day,
                    observed=True,
                    new=_sum_known(d.new for d in days),
                    cancelled=_sum_known(d.cancelled for d in days),
                    net=_sum_known(d.net for d in days),
                    running_net=_sum_known(d.running_net for d in days),
                )
            )
        else:
            result.append(
                SubscriberHistoryDay(days[0].day, observed=False, new=None, cancelled=None, net=None, running_net=None)
            )
    return result


def subscriber_days_of(period: Period, tz: str) -> tuple[date, date]:
    """The days of the subscriber history for ``period``: the local days it touches (Fanvue's per-day rows are
    matched on their date)."""
    return local_days(period, tz)


# ----------------------------------------------------------------------------- tracking links


@dataclass(frozen=True, slots=True)
class LinkRevenue:
    """A tracking link with its revenue (Fanvue's lifetime counters of the link, zero for a link that never
    earned), the cost the agency entered, and ``roi = (net revenue - cost) / cost``."""

    link: TrackingLink
    gross: Money
    net: Money
    cost: Money | None
    roi: Figure


def rank_links(
    links: Iterable[TrackingLink], costs: Mapping[TrackingLinkId, Money], currency: str
) -> list[LinkRevenue]:
    """Links by net revenue, then gross, biggest first, then by id; ROI undefined without a cost or with cost 0."""
    ranked = []
    for link in links:
        gross = link.earnings_gross if link.earnings_gross is not None else Money.zero(currency)
        net = link.earnings_net if link.earnings_net is not None else Money.zero(currency)
        if gross.currency != currency or net.currency != currency:
            raise CurrencyMismatchError(f"tracking link {link.id!r} earned {gross.currency}, expected {currency}")
        cost = costs.get(link.id)
        if cost is None:
            roi = Figure.undefined("no cost entered for this link")
        else:
            roi = Figure.of(Ratio.of_money(net - cost, cost), "the link's cost is 0")
        ranked.append(LinkRevenue(link, gross, net, cost, roi))
    ranked.sort(key=lambda r: (-r.net.cents, -r.gross.cents, r.link.id))
    return ranked


# ----------------------------------------------------------------------------- the figures


@dataclass(frozen=True, slots=True)
class DashboardFigures:
    """Every figure of one scope (the agency, or one creator) over the dashboard's period.

    Onyx's definitions: ``arpu``, ``ltv``, ``golden_ratio`` (on net, :mod:`onyx_core.analytics.kpis`). The old
    system's, under their own names: ``legacy_arpu_per_audience`` (gross ÷ (subscribers + followers) now),
    ``legacy_ltv_per_paying_subscriber`` (period gross ÷ fans who paid a subscription or renewal in the period),
    ``legacy_golden_ratio_gross`` (gross of message + post + tip ÷ gross of subscription + renewal; undefined, where
    the old system showed 0, without subscription revenue).
    """

    totals: RevenueTotals
    previous_totals: RevenueTotals | None
    gross_growth: Figure
    net_growth: Figure
    by_source: Mapping[str, RevenueTotals] = field(hash=False)
    gross_share: Mapping[str, Figure] = field(hash=False)
    net_share: Mapping[str, Figure] = field(hash=False)
    series: Sequence[RevenueBucket] = field(hash=False)
    series_by_source: Sequence[SourceBucket] = field(hash=False)
    tip_average: Figure
    arpu: Figure
    ltv: Figure
    golden_ratio: Figure
    legacy_arpu_per_audience: Figure
    legacy_ltv_per_paying_subscriber: Figure
    legacy_golden_ratio_gross: Figure
    paying_fans: int
    paying_subscribers: int
    new_fans: int
    purchases: Mapping[PurchaseType, PurchaseStats] = field(hash=False)
    message_purchase_rate: Figure
    ppv_purchase_rate: Figure
    top_spenders: Sequence[FanSpend] = field(hash=False)
    tracking_links: Sequence[LinkRevenue] = field(hash=False)
    audience: Sequence[AudiencePoint] = field(hash=False)
    subscriber_history: Sequence[SubscriberHistoryDay] = field(hash=False)

    @property
    def transaction_count(self) -> int:
        """Earnings in the period (reversals are not transactions)."""
        return self.totals.transaction_count


@dataclass(frozen=True, slots=True)
class AgencyDashboard:
    """The dashboard: the agency's figures, and each selected creator's (by id, in id order)."""

    agency_id: AgencyId
    query: DashboardQuery
    now: datetime
    period: Period
    previous_period: Period | None
    granularity: Granularity
    buckets: Sequence[tuple[date, Period]] = field(hash=False)
    agency: DashboardFigures
    creators: Mapping[CreatorId, DashboardFigures] = field(hash=False)


class DashboardReader(Protocol):
    """Computes :func:`agency_dashboard` from storage in one read (one snapshot, one currency check)."""

    async def read(self, agency_id: AgencyId, query: DashboardQuery, now: datetime) -> AgencyDashboard:
        """The agency's dashboard at ``now``; :class:`CurrencyMismatchError` if a selected creator's ledger holds
        another currency than ``query.currency``."""
        ...


# ----------------------------------------------------------------------------- the reference

_NO_PREVIOUS = "the range 'all' has no previous period"
_PREVIOUS_ZERO = "the previous period's revenue is 0"
_TOTAL_ZERO = "the total revenue is 0"
_NO_PAYING_FAN = "no fan paid in the period"
_NO_FAN_EVER = "no fan ever paid"
_NO_TIP = "no tips in the period"
_NO_SUBSCRIPTION = "no subscription revenue in the period"
_NO_HEADCOUNT = "subscribers or followers were never recorded"
_NO_AUDIENCE = "no subscribers and no followers"
_NO_PAYING_SUBSCRIBER = "no fan paid a subscription or renewal in the period"


def growth_figure(current: Money, previous: Money | None) -> Figure:
    """:func:`~onyx_core.analytics.growth`, undefined with a reason (no previous period, or a zero one)."""
    if previous is None:
        return Figure.undefined(_NO_PREVIOUS)
    return Figure.of(growth(current, previous), _PREVIOUS_ZERO)


def share_figures(
    by_source: Mapping[str, RevenueTotals], totals: RevenueTotals
) -> tuple[dict[str, Figure], dict[str, Figure]]:
    """Each source's share of the gross and of the net (a reversal source's share is negative)."""
    gross = {s: Figure.of(Ratio.of_money(t.gross, totals.gross), _TOTAL_ZERO) for s, t in by_source.items()}
    net = {s: Figure.of(Ratio.of_money(t.net, totals.net), _TOTAL_ZERO) for s, t in by_source.items()}
    return gross, net


def legacy_arpu_figure(gross: Money, headcounts: Sequence[Headcount]) -> Figure:
    """The old system's ARPU: gross revenue ÷ (subscribers + followers) of the creators' current headcounts."""
    audience = _sum_known(h.audience for h in headcounts)
    if audience is None:
        return Figure.undefined(_NO_HEADCOUNT)
    return Figure.of(Ratio(gross.cents, audience), _NO_AUDIENCE)


def _figures(
    entries: Sequence[LedgerEntry],
    query: DashboardQuery,
    period: Period,
    previous: Period | None,
    granularity: Granularity,
    headcounts: Sequence[Headcount],
    links: Sequence[TrackingLink],
    audience: list[AudiencePoint],
    history: list[SubscriberHistoryDay],
) -> DashboardFigures:
    currency, tz = query.currency, query.tz
    totals = revenue_totals(entries, period, currency)
    previous_totals = None if previous is None else revenue_totals(entries, previous, currency)
    by_source = revenue_by_source(entries, period, currency)
    gross_share, net_share = share_figures(by_source, totals)
    current = in_period(entries, period)
    fans = paying_fans(current)
    subscribers = {e.fan_id for e in current if is_paying(e) and e.source in Source.SUBSCRIPTION_LIKE}
    purchases: dict[PurchaseType, PurchaseStats] = {}
    for kind in PurchaseType:
        bought = [e for e in current if kind in purchase_types(e)]
        purchases[kind] = PurchaseStats(len(bought), len({e.fan_id for e in bought if is_paying(e)}))
    first_paid: dict[FanId, datetime] = {}
    for entry in entries:
        if is_paying(entry) and entry.fan_id is not None:
            seen = first_paid.get(entry.fan_id)
            first_paid[entry.fan_id] = entry.occurred_at if seen is None else min(seen, entry.occurred_at)
    return DashboardFigures(
        totals=totals,
        previous_totals=previous_totals,
        gross_growth=growth_figure(totals.gross, None if previous_totals is None else previous_totals.gross),
        net_growth=growth_figure(totals.net, None if previous_totals is None else previous_totals.net),
        by_source=by_source,
        gross_share=gross_share,
        net_share=net_share,
        series=revenue_series(entries, period, granularity, tz, currency),
        series_by_source=revenue_by_source_series(entries, period, granularity, tz, currency),
        tip_average=Figure.of(tip_average(entries, period, currency), _NO_TIP),
        arpu=Figure.of(arpu(entries, period, currency), _NO_PAYING_FAN),
        ltv=Figure.of(ltv(entries, currency), _NO_FAN_EVER),
        golden_ratio=Figure.of(golden_ratio(entries, period, currency), _NO_SUBSCRIPTION),
        legacy_arpu_per_audience=legacy_arpu_figure(totals.gross, headcounts),
        legacy_ltv_per_paying_subscriber=Figure.of(Ratio(totals.gross.cents, len(subscribers)), _NO_PAYING_SUBSCRIBER),
        legacy_golden_ratio_gross=Figure.of(
            golden_ratio(entries, period, currency, basis=Basis.GROSS), _NO_SUBSCRIPTION
        ),
        paying_fans=len(fans),
        paying_subscribers=len(subscribers),
        new_fans=sum(1 for at in first_paid.values() if at in period),
        purchases=purchases,
        message_purchase_rate=Figure.of(Ratio(purchases[PurchaseType.MESSAGE].buyers, len(fans)), _NO_PAYING_FAN),
        ppv_purchase_rate=Figure.of(Ratio(purchases[PurchaseType.PPV].buyers, len(fans)), _NO_PAYING_FAN),
        top_spenders=top_spenders(entries, period, query.top_spenders_limit, currency),
        tracking_links=rank_links(links, query.link_costs, currency),
        audience=audience,
        subscriber_history=history,
    )


def agency_dashboard(
    agency_id: AgencyId,
    entries_by_creator: Mapping[CreatorId, Sequence[LedgerEntry]],
    query: DashboardQuery,
    now: datetime,
    *,
    subscriber_days: Mapping[CreatorId, Sequence[SubscriberDay]] | None = None,
    stats_events: Mapping[CreatorId, Sequence[StatsEvent]] | None = None,
    headcounts: Mapping[CreatorId, Headcount] | None = None,
    tracking_links: Sequence[TrackingLink] = (),
) -> AgencyDashboard:
    """The reference dashboard of the agency whose creators are the keys of ``entries_by_creator`` (each creator's
    whole ledger), narrowed to ``query.creator_ids``.

    ``subscriber_days`` / ``stats_events``: each creator's Fanvue subscriber days and stats events (in recorded
    order); ``headcounts``: each creator's current subscribers and followers; ``tracking_links``: the creators'
    links. Missing creators have none. Raises :class:`CurrencyMismatchError` if any selected creator's ledger has an
    entry in another currency (whatever its date).
    """
    creators = sorted(c for c in entries_by_creator if query.selects(c))
    everything = [entry for c in creators for entry in entries_by_creator[c]]
    check_currency(everything, query.currency)
    earliest = earliest_instant(entry.occurred_at for entry in everything)
    period = dashboard_period(query.range, now, query.tz, earliest)
    previous = None if query.range is Window.ALL else period.previous()
    granularity = granularity_for(period, query.tz)
    buckets = [
        (label, bucket_bounds(label, granularity, query.tz).intersection(period))
        for label in bucket_labels(period, granularity, query.tz)
    ]
    first_day, end_day = subscriber_days_of(period, query.tz)
    heads = headcounts or {}
    days = subscriber_days or {}
    events = stats_events or {}
    per_creator: dict[CreatorId, DashboardFigures] = {}
    for creator in creators:
        per_creator[creator] = _figures(
            entries_by_creator[creator],
            query,
            period,
            previous,
            granularity,
            [heads.get(creator, Headcount(None, None))],
            [link for link in tracking_links if link.creator_id == creator],
            audience_series(events.get(creator, ()), buckets),
            subscriber_history(days.get(creator, ()), first_day, end_day),
        )
    agency = _figures(
        everything,
        query,
        period,
        previous,
        granularity,
        [heads.get(creator, Headcount(None, None)) for creator in creators],
        [link for link in tracking_links if link.creator_id in per_creator],
        combine_audience([per_creator[c].audience for c in creators]),
        combine_subscriber_histories([per_creator[c].subscriber_history for c in creators]),
    )
    return AgencyDashboard(agency_id, query, now, period, previous, granularity, buckets, agency, per_creator)
