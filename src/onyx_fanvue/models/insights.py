"""Insights shapes: earnings and spending rows, the earnings summary, subscriber trend, top spenders, fan insights
and the earnings percentile (api doc §2.6-§2.11). All money is USD cents."""

from __future__ import annotations

from typing import Final

from onyx_fanvue._types import Cents, FanvueModel, Timestamp
from onyx_fanvue.models.common import FanUser, ShortUser

__all__ = [
    "EarningRow",
    "EarningSource",
    "EarningsByType",
    "EarningsPercentile",
    "EarningsSummary",
    "FanInsight",
    "FanInsightError",
    "FanInsightErrorCode",
    "FanInsightsResult",
    "FanMoney",
    "FanSpending",
    "FanStatus",
    "FanSubscription",
    "GrossNet",
    "MonthTotals",
    "OverTimePoint",
    "SourceBreakdown",
    "SpendingRow",
    "SpendingSource",
    "SubscriberTrendRow",
    "SummaryPeriod",
    "SummaryTotals",
    "TopSpenderRow",
    "TransactionOrderStatus",
]


class EarningSource:
    """Documented values of an earnings row's ``source``. The set grows, so ``source`` is a plain ``str``.

    ``ALL`` is a filter value for ``?source=`` only; no row carries it.
    """

    AFFILIATE: Final = "affiliate"
    APP_STORE: Final = "appStore"
    CHECKOUT_LINK: Final = "checkoutLink"
    MEDIA_LINK: Final = "mediaLink"
    MESSAGE: Final = "message"
    POST: Final = "post"
    REFERRAL: Final = "referral"
    RENEWAL: Final = "renewal"
    SUBSCRIPTION: Final = "subscription"
    TIP: Final = "tip"
    GIVEAWAY: Final = "giveaway"
    ALL: Final = "all"


class SpendingSource:
    """Documented values of a spending row's ``source`` (``ALL`` is a filter value only)."""

    REFUND: Final = "refund"
    CHARGEBACK: Final = "chargeback"
    ALL: Final = "all"


class TransactionOrderStatus:
    """Documented values of ``transactionOrderStatus`` on earnings rows."""

    AVAILABLE_FOR_PAYOUT: Final = "availableForPayout"
    PENDING_BALANCE: Final = "pendingBalance"


class FanStatus:
    """Documented values of a fan insight's ``status``."""

    SUBSCRIBER: Final = "subscriber"
    EXPIRED: Final = "expired"
    FOLLOWER: Final = "follower"
    NOT_CONTACTABLE: Final = "not_contactable"


class FanInsightErrorCode:
    """Documented values of ``errors[].code`` in ``GET /insights/fans``."""

    NOT_FOUND: Final = "NOT_FOUND"
    INTERNAL: Final = "INTERNAL"


class EarningRow(FanvueModel):
    """One payment to the creator (``/insights/earnings``). ``gross`` is what the fan paid, ``net`` the creator's
    cut, both already converted to USD cents; ``currency`` is the fan's original currency, informational only.

    ``transaction_order_*`` and ``message_uuid``/``post_uuid`` are missing from older API snapshots, hence optional.
    ``user`` is ``None`` for referral, affiliate and giveaway rows.
    """

    date: Timestamp
    gross: Cents
    net: Cents
    currency: str | None = None
    source: str
    transaction_order_id: str | None = None
    transaction_order_status: str | None = None
    message_uuid: str | None = None
    post_uuid: str | None = None
    reversed_transaction_order_id: str | None = None
    user: ShortUser | None = None


class SpendingRow(FanvueModel):
    """A refund or chargeback (``/insights/spending``), see ``SpendingSource``."""

    date: Timestamp
    gross: Cents
    net: Cents
    currency: str | None = None
    source: str
    message_uuid: str | None = None
    post_uuid: str | None = None
    user: ShortUser | None = None


class GrossNet(FanvueModel):
    """A ``{gross, net}`` pair in USD cents."""

    gross: Cents
    net: Cents


class MonthTotals(GrossNet):
    """``totals.thisMonth``; the change percentages are ``None`` when the previous month had nothing."""

    previous_month_gross: Cents
    previous_month_net: Cents
    gross_change_percentage: float | None = None
    net_change_percentage: float | None = None


class SummaryTotals(FanvueModel):
    """``totals``: all time and this month."""

    all_time: GrossNet
    this_month: MonthTotals


class SourceBreakdown(FanvueModel):
    """``breakdownBySource``; a bucket Fanvue leaves out is ``None`` (new buckets land in ``model_extra``)."""

    subs: GrossNet | None = None
    messages: GrossNet | None = None
    posts: GrossNet | None = None
    tips: GrossNet | None = None
    referrals: GrossNet | None = None
    renewals: GrossNet | None = None
    other: GrossNet | None = None


class EarningsByType(FanvueModel):
    """``earningsByType``; a bucket Fanvue leaves out is ``None``."""

    subs: GrossNet | None = None
    messages: GrossNet | None = None
    tips: GrossNet | None = None
    renewals: GrossNet | None = None


class OverTimePoint(FanvueModel):
    """One bucket of ``overTime``. ``period_start`` is the bucket's start instant in UTC (Fanvue sends it with
    the offset of the requested ``timezone``; see ``SummaryPeriod.timezone`` for the local calendar)."""

    period_start: Timestamp
    gross: Cents
    net: Cents


class SummaryPeriod(FanvueModel):
    """``period``: the range, granularity (``day``/``week``) and IANA timezone the summary was computed for."""

    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    granularity: str
    timezone: str


class EarningsSummary(FanvueModel):
    """``/insights/earnings/summary``.

    ``average_by_day_of_week`` is keyed ``"1"``..``"7"`` (ISO weekday, 1 = Monday) and ``average_by_hour_of_day``
    ``"0"``..``"23"`` (in the requested timezone); the values are average gross in USD cents, kept as floats
    because an average need not be a whole number of cents.
    """

    totals: SummaryTotals
    breakdown_by_source: SourceBreakdown
    earnings_by_type: EarningsByType
    over_time: list[OverTimePoint]
    average_by_day_of_week: dict[str, float]
    average_by_hour_of_day: dict[str, float]
    period: SummaryPeriod


class SubscriberTrendRow(FanvueModel):
    """One day of ``/insights/subscribers``: a delta series, not a headcount.

    ``date`` is midnight of the requested offset, in UTC; ``total`` is the running net change since the start of
    the range and can be negative.
    """

    date: Timestamp
    new_subscribers_count: int
    cancelled_subscribers_count: int
    total: int


class TopSpenderRow(FanvueModel):
    """A fan ranked by spend: ``gross`` paid, ``net`` to the creator (USD cents), ``messages`` exchanged."""

    gross: Cents
    net: Cents
    messages: int
    user: FanUser


class FanMoney(FanvueModel):
    """A fan-insight amount: ``gross`` and ``total`` (net of refunds and chargebacks). Older snapshots had only
    ``gross``, so ``total`` is ``None`` when absent."""

    gross: Cents
    total: Cents | None = None


class FanSpending(FanvueModel):
    """What a fan has spent: total, largest single payment, and per-source amounts keyed by source name."""

    last_purchase_at: Timestamp | None = None
    total: FanMoney
    max_single_payment: FanMoney
    sources: dict[str, FanMoney]


class FanSubscription(FanvueModel):
    """A fan's subscription: start, next renewal (``None`` when there is none) and auto-renewal."""

    created_at: Timestamp | None = None
    renews_at: Timestamp | None = None
    auto_renewal_enabled: bool


class FanInsight(FanvueModel):
    """``/insights/fans/{uuid}``: a fan's status (see ``FanStatus``), spending and subscription."""

    status: str
    spending: FanSpending
    subscription: FanSubscription


class FanInsightError(FanvueModel):
    """A per-fan failure in ``GET /insights/fans`` (see ``FanInsightErrorCode``)."""

    fan_uuid: str
    code: str
    message: str | None = None


class FanInsightsResult(FanvueModel):
    """``GET /insights/fans``: insights by fan uuid (``None`` for a fan that failed) and the per-fan errors."""

    results: dict[str, FanInsight | None]
    errors: list[FanInsightError]


class EarningsPercentile(FanvueModel):
    """``/insights/earnings/percentile``: lower is better (0.01 = top 0.01 %, 99.50 near the bottom). Fanvue's spec
    types it as a required number; ``None`` is still accepted, as a reading of "not ranked" that costs nothing."""

    percentile: float | None
