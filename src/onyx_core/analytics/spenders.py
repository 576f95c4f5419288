"""Top spenders computed from the ledger (rather than trusted from Fanvue's top-spenders endpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from onyx_core.analytics.periods import Period
from onyx_core.analytics.revenue import check_currency, in_period
from onyx_core.errors import DomainValueError
from onyx_core.ids import FanId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import USD, Money

DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class FanSpend:
    """One fan's spending in a period, net of the reversals attributed to that fan.

    ``transaction_count`` counts earnings only; ``last_paid_at`` is the latest earning (``None`` when the fan
    only has reversals in the period).
    """

    fan_id: FanId
    gross: Money
    net: Money
    transaction_count: int
    reversal_count: int
    last_paid_at: datetime | None


def top_spenders(
    entries: Sequence[LedgerEntry],
    period: Period,
    limit: int | None = DEFAULT_LIMIT,
    currency: str = USD,
) -> list[FanSpend]:
    """The fans with entries in ``period``, biggest first, at most ``limit`` of them (``None``: all).

    Order: net descending, then gross descending, then fan id ascending, so ties are deterministic. Entries
    without a fan id (referral, affiliate, giveaway) are not anyone's spending and are left out.
    """
    if limit is not None and limit < 0:
        raise DomainValueError("limit must be >= 0 (or None for all fans)")
    check_currency(entries, currency)
    gross: dict[FanId, int] = {}
    net: dict[FanId, int] = {}
    count: dict[FanId, int] = {}
    reversals: dict[FanId, int] = {}
    last: dict[FanId, datetime | None] = {}
    for entry in in_period(entries, period):
        fan = entry.fan_id
        if fan is None:
            continue
        gross[fan] = gross.get(fan, 0) + entry.gross.cents
        net[fan] = net.get(fan, 0) + entry.net.cents
        last.setdefault(fan, None)
        if entry.kind is EntryKind.EARNING:
            count[fan] = count.get(fan, 0) + 1
            previous = last[fan]
            if previous is None or entry.occurred_at > previous:
                last[fan] = entry.occurred_at
        else:
            reversals[fan] = reversals.get(fan, 0) + 1
    ranked = sorted(gross, key=lambda fan: (-net[fan], -gross[fan], fan))
    if limit is not None:
        ranked = ranked[:limit]
    return [
        FanSpend(
            fan,
            Money(gross[fan], currency),
            Money(net[fan], currency),
            count.get(fan, 0),
            reversals.get(fan, 0),
            last[fan],
        )
        for fan in ranked
    ]
