"""Revenue from the ledger: totals, by source, over time, and growth between windows.

"Gross" is what fans paid, "net" the creator's cut after Fanvue's fees; both figures are *net of reversals*:
refunds and chargebacks are ledger entries with non-positive amounts, so they are simply summed in, on the
instant they happened (not on the date of the payment they reverse).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

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
    window_period,
)
from onyx_core.errors import CurrencyMismatchError
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import USD, Money
from onyx_core.ratio import Ratio


def check_currency(entries: Iterable[LedgerEntry], currency: str) -> None:
    """Raise :class:`CurrencyMismatchError` if any entry is not in ``currency`` (all entries, in period or not).

    Checking every entry given, not just those in the period, makes the outcome independent of the period:
    a ledger in two currencies is refused, never partly summed.
    """
    for entry in entries:
        if entry.gross.currency != currency:
            raise CurrencyMismatchError(
                f"ledger entry {entry.key!r} is in {entry.gross.currency}, expected {currency}; convert first"
            )


def in_period(entries: Iterable[LedgerEntry], period: Period) -> list[LedgerEntry]:
    """The entries whose ``occurred_at`` is in ``period``."""
    return [entry for entry in entries if period.start <= entry.occurred_at < period.end]


@dataclass(frozen=True, slots=True)
class RevenueTotals:
    """Sums over a set of ledger entries.

    ``gross`` and ``net`` include reversals (they are net of refunds and chargebacks). ``transaction_count``
    counts earnings only; reversals are counted and summed separately in ``reversal_*``
    (``reversal_gross``/``reversal_net`` are <= 0).
    """

    gross: Money
    net: Money
    transaction_count: int
    reversal_count: int
    reversal_gross: Money
    reversal_net: Money

    @classmethod
    def zero(cls, currency: str = USD) -> RevenueTotals:
        """No entries: zero money, zero counts (a real zero, not "unknown")."""
        nothing = Money.zero(currency)
        return cls(nothing, nothing, 0, 0, nothing, nothing)

    @property
    def currency(self) -> str:
        """The currency of every amount."""
        return self.gross.currency

    @property
    def earnings_gross(self) -> Money:
        """Gross of the earnings alone, before reversals (>= 0)."""
        return self.gross - self.reversal_gross

    @property
    def earnings_net(self) -> Money:
        """Net of the earnings alone, before reversals (>= 0)."""
        return self.net - self.reversal_net


def _sum(entries: Iterable[LedgerEntry], currency: str) -> RevenueTotals:
    # Accumulate ints and build Money once: same result, no per-entry allocation.
    gross = net = rev_gross = rev_net = 0
    count = rev_count = 0
    for entry in entries:
        gross += entry.gross.cents
        net += entry.net.cents
        if entry.kind is EntryKind.EARNING:
            count += 1
        else:
            rev_count += 1
            rev_gross += entry.gross.cents
            rev_net += entry.net.cents
    return RevenueTotals(
        Money(gross, currency),
        Money(net, currency),
        count,
        rev_count,
        Money(rev_gross, currency),
        Money(rev_net, currency),
    )


def revenue_totals(entries: Sequence[LedgerEntry], period: Period, currency: str = USD) -> RevenueTotals:
    """Totals of the entries in ``period``."""
    check_currency(entries, currency)
    return _sum(in_period(entries, period), currency)


def revenue_by_source(entries: Sequence[LedgerEntry], period: Period, currency: str = USD) -> dict[str, RevenueTotals]:
    """Totals per ``source`` of the entries in ``period``, keys sorted; only sources that occur are present.

    Reversals keep the source Fanvue gives them (``refund``/``chargeback``), so they form their own keys with
    non-positive amounts and the values add up to :func:`revenue_totals`.
    """
    check_currency(entries, currency)
    groups: dict[str, list[LedgerEntry]] = {}
    for entry in in_period(entries, period):
        groups.setdefault(entry.source, []).append(entry)
    return {source: _sum(groups[source], currency) for source in sorted(groups)}


@dataclass(frozen=True, slots=True)
class RevenueBucket:
    """One calendar bucket of a series.

    ``label`` is the local date that starts the bucket (day, ISO Monday or 1st of month); ``period`` is the
    part of the bucket inside the queried period (the first and last buckets may be partial).
    """

    label: date
    period: Period
    totals: RevenueTotals

    @property
    def gross(self) -> Money:
        """The bucket's gross, net of reversals."""
        return self.totals.gross

    @property
    def net(self) -> Money:
        """The bucket's net, net of reversals."""
        return self.totals.net

    @property
    def transaction_count(self) -> int:
        """Earnings in the bucket."""
        return self.totals.transaction_count


def _group_by_bucket(
    entries: Sequence[LedgerEntry], period: Period, granularity: Granularity, tz: TimeZone
) -> tuple[list[tuple[date, Period]], dict[date, list[LedgerEntry]]]:
    labels = [
        (label, bucket_bounds(label, granularity, tz).intersection(period))
        for label in bucket_labels(period, granularity, tz)
    ]
    groups: dict[date, list[LedgerEntry]] = {label: [] for label, _ in labels}
    for entry in in_period(entries, period):
        # An entry in the period always has its bucket among the labels (local dates are monotonic in time).
        groups[bucket_label(entry.occurred_at, granularity, tz)].append(entry)
    return labels, groups


def revenue_series(
    entries: Sequence[LedgerEntry],
    period: Period,
    granularity: Granularity,
    tz: TimeZone,
    currency: str = USD,
) -> list[RevenueBucket]:
    """Every bucket overlapping ``period``, in order, with the totals of the entries in the period inside it.

    A bucket with no entries is present with zero money and count 0: over a period where we hold the ledger,
    no entries means no revenue. Buckets are calendar units in ``tz``; their sum is :func:`revenue_totals`.
    """
    check_currency(entries, currency)
    labels, groups = _group_by_bucket(entries, period, granularity, tz)
    return [RevenueBucket(label, part, _sum(groups[label], currency)) for label, part in labels]


@dataclass(frozen=True, slots=True)
class SourceBucket:
    """One calendar bucket of :func:`revenue_by_source_series`: totals per source (only those that occur)."""

    label: date
    period: Period
    by_source: dict[str, RevenueTotals] = field(hash=False)


def revenue_by_source_series(
    entries: Sequence[LedgerEntry],
    period: Period,
    granularity: Granularity,
    tz: TimeZone,
    currency: str = USD,
) -> list[SourceBucket]:
    """:func:`revenue_series` split by source; every bucket present, an empty one with an empty mapping."""
    check_currency(entries, currency)
    labels, groups = _group_by_bucket(entries, period, granularity, tz)
    result = []
    for label, part in labels:
        per_source: dict[str, list[LedgerEntry]] = {}
        for entry in groups[label]:
            per_source.setdefault(entry.source, []).append(entry)
        by_source = {source: _sum(per_source[source], currency) for source in sorted(per_source)}
        result.append(SourceBucket(label, part, by_source))
    return result


def growth(current: Money, previous: Money) -> Ratio:
    """``(current - previous) / |previous|``; undefined when ``previous`` is 0.

    The denominator is the magnitude of ``previous`` so that the sign always says the direction of change,
    also after a refund-heavy period with a negative net (for a positive ``previous`` it is the usual formula).
    """
    change = current - previous
    return Ratio(change.cents, abs(previous.cents))


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """A window's totals and, except for ``all``, the previous same-length period's and the growth."""

    window: Window
    period: Period
    current: RevenueTotals
    previous_period: Period | None
    previous: RevenueTotals | None
    net_growth: Ratio | None
    gross_growth: Ratio | None


def totals_with_growth(
    entries: Sequence[LedgerEntry], now: datetime, tz: TimeZone, currency: str = USD
) -> dict[Window, WindowTotals]:
    """Totals for 7d, 30d, 90d, 1y (with growth against :meth:`Period.previous`) and ``all`` (no growth).

    Windows are as :func:`~onyx_core.analytics.periods.window_period` defines them at ``now`` in ``tz``;
    ``all`` starts at the earliest entry given.
    """
    check_currency(entries, currency)
    result: dict[Window, WindowTotals] = {}
    for window in GROWTH_WINDOWS:
        period = window_period(window, now, tz)
        before = period.previous()
        current = _sum(in_period(entries, period), currency)
        previous = _sum(in_period(entries, before), currency)
        result[window] = WindowTotals(
            window,
            period,
            current,
            before,
            previous,
            growth(current.net, previous.net),
            growth(current.gross, previous.gross),
        )
    everything = window_period(Window.ALL, now, tz, earliest=earliest_instant(e.occurred_at for e in entries))
    result[Window.ALL] = WindowTotals(
        Window.ALL, everything, _sum(in_period(entries, everything), currency), None, None, None, None
    )
    return result
