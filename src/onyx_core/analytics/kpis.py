"""Per-fan and mix ratios: ARPU, LTV, tip average, golden ratio, and the transaction count.

Every division returns a :class:`~onyx_core.ratio.Ratio`, undefined when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from onyx_core.analytics.periods import Period
from onyx_core.analytics.revenue import check_currency, in_period
from onyx_core.ids import FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import USD
from onyx_core.ratio import Ratio


class Basis(StrEnum):
    """Which amount a ratio is computed on: what fans paid (gross) or the creator's cut (net)."""

    GROSS = "gross"
    NET = "net"


def _cents(entry: LedgerEntry, basis: Basis) -> int:
    return entry.gross.cents if basis is Basis.GROSS else entry.net.cents


def paying_fans(entries: Sequence[LedgerEntry]) -> frozenset[FanId]:
    """Fans with at least one earning of a positive gross amount among ``entries``.

    A fan with only a free (0) earning or only a reversal did not pay.
    """
    return frozenset(
        entry.fan_id
        for entry in entries
        if entry.fan_id is not None and entry.kind is EntryKind.EARNING and entry.gross.cents > 0
    )


def _fan_revenue_per_paying_fan(entries: Sequence[LedgerEntry], basis: Basis) -> Ratio:
    attributed = sum(_cents(entry, basis) for entry in entries if entry.fan_id is not None)
    return Ratio(attributed, len(paying_fans(entries)))


def arpu(entries: Sequence[LedgerEntry], period: Period, currency: str = USD, *, basis: Basis = Basis.NET) -> Ratio:
    """Average revenue per paying fan in ``period``: cents per fan.

    Numerator: the net (or gross) of the period's entries that carry a fan id, reversals included.
    Denominator: the fans with a paid earning in the period (:func:`paying_fans`). Revenue without a fan
    (referral, affiliate, giveaway) is not fan revenue and is left out. Undefined with no paying fan.
    """
    check_currency(entries, currency)
    return _fan_revenue_per_paying_fan(in_period(entries, period), basis)


def ltv(entries: Sequence[LedgerEntry], currency: str = USD, *, basis: Basis = Basis.NET) -> Ratio:
    """Lifetime value: :func:`arpu` over every entry given (all time), in cents per fan who ever paid."""
    check_currency(entries, currency)
    return _fan_revenue_per_paying_fan(entries, basis)


def tip_average(entries: Sequence[LedgerEntry], period: Period, currency: str = USD) -> Ratio:
    """The average tip: gross of the ``tip`` earnings in ``period`` / their number (cents per tip).

    It describes the size of a tip as paid, so reversals are not in it. Undefined with no tip.
    """
    check_currency(entries, currency)
    tips = [
        entry for entry in in_period(entries, period) if entry.source == Source.TIP and entry.kind is EntryKind.EARNING
    ]
    return Ratio(sum(entry.gross.cents for entry in tips), len(tips))


def transaction_count(entries: Sequence[LedgerEntry], period: Period, currency: str = USD) -> int:
    """The number of earnings (not reversals) in ``period``."""
    check_currency(entries, currency)
    return sum(1 for entry in in_period(entries, period) if entry.kind is EntryKind.EARNING)


def golden_ratio(
    entries: Sequence[LedgerEntry], period: Period, currency: str = USD, *, basis: Basis = Basis.NET
) -> Ratio:
    """Engagement revenue over subscription revenue in ``period``.

    Numerator: sources in :attr:`Source.ENGAGEMENT` (message, post (PPV), tip); denominator: sources in
    :attr:`Source.SUBSCRIPTION_LIKE` (subscription, renewal); on net by default. Reversals carrying
    ``refund``/``chargeback`` as source are in neither. Undefined, not 0, without subscription revenue.
    """
    check_currency(entries, currency)
    engagement = subscription = 0
    for entry in in_period(entries, period):
        if entry.source in Source.ENGAGEMENT:
            engagement += _cents(entry, basis)
        elif entry.source in Source.SUBSCRIPTION_LIKE:
            subscription += _cents(entry, basis)
    return Ratio(engagement, subscription)
