"""The dashboard's answer, serialised from the core's :class:`~onyx_core.analytics.dashboard.AgencyDashboard`.

Money is ``{cents, currency}``; a ratio ``{value, numerator, denominator}`` (``value`` a decimal string for
display; the integers exact); an undefined ratio is ``null`` and its sibling ``<name>_undefined`` says why (never
0). The figures' definitions are in ``docs/analytics.md``."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from onyx_core.accounts.usecases.analytics import AnalyticsAnswer
from onyx_core.analytics.audience import SubscriberHistoryDay
from onyx_core.analytics.dashboard import AudiencePoint, DashboardFigures, Figure
from onyx_core.analytics.periods import Period, Window
from onyx_core.analytics.revenue import RevenueTotals
from onyx_core.analytics.spenders import FanSpend
from onyx_web.analytics.schemas import LinkView, MoneyView, RatioView

__all__ = ["AnalyticsView", "analytics_view"]


class PeriodView(msgspec.Struct, frozen=True):
    start: datetime
    end: datetime
    """Excluded: the period is ``[start, end)``."""


class TotalsView(msgspec.Struct, frozen=True):
    gross: MoneyView
    net: MoneyView
    transactions: int
    reversals: int
    reversal_gross: MoneyView
    reversal_net: MoneyView


class SourceView(msgspec.Struct, frozen=True):
    source: str
    gross: MoneyView
    net: MoneyView
    transactions: int
    reversals: int
    gross_share: RatioView | None
    gross_share_undefined: str | None
    net_share: RatioView | None
    net_share_undefined: str | None


class SourceAmounts(msgspec.Struct, frozen=True):
    gross: MoneyView
    net: MoneyView
    transactions: int


class BucketView(msgspec.Struct, frozen=True):
    label: date
    """The local date that starts the bucket (the day, the ISO week's Monday, the month's 1st)."""
    start: datetime
    end: datetime
    gross: MoneyView
    net: MoneyView
    transactions: int
    by_source: dict[str, SourceAmounts]


class PurchaseView(msgspec.Struct, frozen=True):
    count: int
    buyers: int


class SpenderView(msgspec.Struct, frozen=True):
    fan_id: str
    gross: MoneyView
    net: MoneyView
    transactions: int
    reversals: int
    last_paid_at: datetime | None


class AudienceView(msgspec.Struct, frozen=True):
    label: date
    subscribers: int | None
    """At the bucket's end; ``null``: never recorded by then (unknown, not 0)."""
    followers: int | None


class SubscriberDayView(msgspec.Struct, frozen=True):
    day: date
    observed: bool
    new: int | None
    cancelled: int | None
    net: int | None
    running_net: int | None


class FiguresView(msgspec.Struct, frozen=True):
    revenue: TotalsView
    previous_revenue: TotalsView | None
    gross_growth: RatioView | None
    gross_growth_undefined: str | None
    net_growth: RatioView | None
    net_growth_undefined: str | None
    by_source: list[SourceView]
    series: list[BucketView]
    tip_average: RatioView | None
    tip_average_undefined: str | None
    arpu: RatioView | None
    arpu_undefined: str | None
    ltv: RatioView | None
    ltv_undefined: str | None
    golden_ratio: RatioView | None
    golden_ratio_undefined: str | None
    legacy_arpu_per_audience: RatioView | None
    legacy_arpu_per_audience_undefined: str | None
    legacy_ltv_per_paying_subscriber: RatioView | None
    legacy_ltv_per_paying_subscriber_undefined: str | None
    legacy_golden_ratio_gross: RatioView | None
    legacy_golden_ratio_gross_undefined: str | None
    paying_fans: int
    paying_subscribers: int
    new_fans: int
    purchases: dict[str, PurchaseView]
    message_purchase_rate: RatioView | None
    message_purchase_rate_undefined: str | None
    ppv_purchase_rate: RatioView | None
    ppv_purchase_rate_undefined: str | None
    top_spenders: list[SpenderView]
    tracking_links: list[LinkView]
    audience: list[AudienceView]
    subscriber_history: list[SubscriberDayView]


class CreatorFiguresView(msgspec.Struct, frozen=True):
    id: str
    handle: str
    display_name: str
    figures: FiguresView


class AnalyticsView(msgspec.Struct, frozen=True):
    agency_id: str
    timezone: str
    """The IANA zone of the days, weeks and months (the agency's, unless ``tz=`` asked for another)."""
    range: str | None
    """``7d``, ``30d``, ``90d``, ``1y``, ``all``; ``null`` for a custom ``start``/``end``."""
    as_of: datetime
    period: PeriodView
    previous_period: PeriodView | None
    """What growth compares with (``null`` for ``all``)."""
    granularity: str
    """``day`` (up to 30 local days), ``week`` (up to 180), else ``month``."""
    agency: FiguresView
    """The agency's figures: of every creator, or of a scoped member's creators only."""
    creators: list[CreatorFiguresView]
    unlock_rate: RatioView | None
    """PPVs unlocked / sent (Fanvue's chatter leaderboard, agency-wide, UTC days)."""
    unlock_rate_undefined: str | None


def _totals(t: RevenueTotals) -> TotalsView:
    return TotalsView(
        MoneyView.of(t.gross), MoneyView.of(t.net), t.transaction_count, t.reversal_count,
        MoneyView.of(t.reversal_gross), MoneyView.of(t.reversal_net),
    )  # fmt: skip


def _period(p: Period) -> PeriodView:
    return PeriodView(p.start, p.end)


def _fig(f: Figure) -> tuple[RatioView | None, str | None]:
    return RatioView.of_figure(f)


def _spender(s: FanSpend) -> SpenderView:
    return SpenderView(
        str(s.fan_id), MoneyView.of(s.gross), MoneyView.of(s.net), s.transaction_count, s.reversal_count, s.last_paid_at
    )


def _audience(p: AudiencePoint) -> AudienceView:
    return AudienceView(p.label, p.subscribers, p.followers)


def _day(d: SubscriberHistoryDay) -> SubscriberDayView:
    return SubscriberDayView(d.day, d.observed, d.new, d.cancelled, d.net, d.running_net)


def figures_view(f: DashboardFigures) -> FiguresView:
    sources = []
    for source, totals in sorted(f.by_source.items()):
        gross_share, gross_why = _fig(f.gross_share[source])
        net_share, net_why = _fig(f.net_share[source])
        sources.append(
            SourceView(
                source,
                MoneyView.of(totals.gross),
                MoneyView.of(totals.net),
                totals.transaction_count,
                totals.reversal_count,
                gross_share,
                gross_why,
                net_share,
                net_why,
            )
        )
    series = [
        BucketView(
            bucket.label,
            bucket.period.start,
            bucket.period.end,
            MoneyView.of(bucket.totals.gross),
            MoneyView.of(bucket.totals.net),
            bucket.totals.transaction_count,
            {
                s: SourceAmounts(MoneyView.of(t.gross), MoneyView.of(t.net), t.transaction_count)
                for s, t in sorted(by_source.by_source.items())
            },
        )
        for bucket, by_source in zip(f.series, f.series_by_source, strict=True)
    ]
    gross_growth, gross_growth_why = _fig(f.gross_growth)
    net_growth, net_growth_why = _fig(f.net_growth)
    tip, tip_why = _fig(f.tip_average)
    arpu, arpu_why = _fig(f.arpu)
    ltv, ltv_why = _fig(f.ltv)
    golden, golden_why = _fig(f.golden_ratio)
    l_arpu, l_arpu_why = _fig(f.legacy_arpu_per_audience)
    l_ltv, l_ltv_why = _fig(f.legacy_ltv_per_paying_subscriber)
    l_golden, l_golden_why = _fig(f.legacy_golden_ratio_gross)
    message_rate, message_rate_why = _fig(f.message_purchase_rate)
    ppv_rate, ppv_rate_why = _fig(f.ppv_purchase_rate)
    return FiguresView(
        revenue=_totals(f.totals),
        previous_revenue=None if f.previous_totals is None else _totals(f.previous_totals),
        gross_growth=gross_growth, gross_growth_undefined=gross_growth_why,
        net_growth=net_growth, net_growth_undefined=net_growth_why,
        by_source=sources,
        series=series,
        tip_average=tip, tip_average_undefined=tip_why,
        arpu=arpu, arpu_undefined=arpu_why,
        ltv=ltv, ltv_undefined=ltv_why,
        golden_ratio=golden, golden_ratio_undefined=golden_why,
        legacy_arpu_per_audience=l_arpu, legacy_arpu_per_audience_undefined=l_arpu_why,
        legacy_ltv_per_paying_subscriber=l_ltv, legacy_ltv_per_paying_subscriber_undefined=l_ltv_why,
        legacy_golden_ratio_gross=l_golden, legacy_golden_ratio_gross_undefined=l_golden_why,
        paying_fans=f.paying_fans,
        paying_subscribers=f.paying_subscribers,
        new_fans=f.new_fans,
        purchases={kind.value: PurchaseView(p.count, p.buyers) for kind, p in f.purchases.items()},
        message_purchase_rate=message_rate, message_purchase_rate_undefined=message_rate_why,
        ppv_purchase_rate=ppv_rate, ppv_purchase_rate_undefined=ppv_rate_why,
        top_spenders=[_spender(s) for s in f.top_spenders],
        tracking_links=[LinkView.of(link) for link in f.tracking_links],
        audience=[_audience(p) for p in f.audience],
        subscriber_history=[_day(d) for d in f.subscriber_history],
    )  # fmt: skip


def analytics_view(answer: AnalyticsAnswer) -> AnalyticsView:
    d = answer.dashboard
    unlock, unlock_why = _fig(answer.unlock_rate)
    creators = []
    for creator_id, figures in sorted(d.creators.items()):
        handle, name = answer.creator_names.get(creator_id, ("", ""))
        creators.append(CreatorFiguresView(str(creator_id), handle, name, figures_view(figures)))
    return AnalyticsView(
        agency_id=str(d.agency_id),
        timezone=answer.timezone,
        range=d.query.range.value if isinstance(d.query.range, Window) else None,
        as_of=d.now,
        period=_period(d.period),
        previous_period=None if d.previous_period is None else _period(d.previous_period),
        granularity=d.granularity.value,
        agency=figures_view(d.agency),
        creators=creators,
        unlock_rate=unlock,
        unlock_rate_undefined=unlock_why,
    )
