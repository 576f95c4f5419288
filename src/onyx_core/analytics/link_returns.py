"""Tracking links ranked by what they earned, with the return on what the agency paid for them.

Fanvue reports each link's earnings (gross and net, lifetime); what the link cost is only the agency's to enter
(:class:`~onyx_core.catalog.TrackingLinkCost`). The return is on *net* earnings, what the creator keeps:

    ROI = (net earnings - cost) / cost

kept as an exact :class:`~onyx_core.ratio.Ratio`. It is undefined (never 0) without a cost, with a cost of 0, or
when the cost is in another currency than the earnings; :class:`RoiUndefined` says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from onyx_core.catalog import TrackingLink, TrackingLinkCost
from onyx_core.ids import TrackingLinkId
from onyx_core.money import USD, Money
from onyx_core.ratio import Ratio

__all__ = ["LinkReturn", "RoiUndefined", "link_return", "rank_link_returns"]


class RoiUndefined(StrEnum):
    NO_COST = "no_cost"
    """Nobody entered what the link cost."""
    ZERO_COST = "zero_cost"
    """The link cost nothing: any earnings are an infinite return."""
    CURRENCY_MISMATCH = "currency_mismatch"
    """The cost is in another currency than the earnings (no exchange rate is guessed)."""


@dataclass(frozen=True, slots=True)
class LinkReturn:
    """A link, its cost when entered, and its return. ``revenue_gross``/``revenue_net`` are Fanvue's lifetime
    earnings of the link, 0 when it never earned. Exactly one of ``roi`` and ``roi_undefined`` is set."""

    link: TrackingLink
    cost: TrackingLinkCost | None
    revenue_gross: Money
    revenue_net: Money
    roi: Ratio | None
    roi_undefined: RoiUndefined | None


def link_return(link: TrackingLink, cost: TrackingLinkCost | None) -> LinkReturn:
    """One link's earnings and ROI (see the module)."""
    currency = (link.earnings_net or link.earnings_gross or (cost.cost if cost else None) or Money(0, USD)).currency
    gross = link.earnings_gross or Money(0, currency)  # a link that never earned earned 0
    net = link.earnings_net or Money(0, currency)
    if cost is None:
        return LinkReturn(link, None, gross, net, None, RoiUndefined.NO_COST)
    if cost.cost.currency != net.currency:
        return LinkReturn(link, cost, gross, net, None, RoiUndefined.CURRENCY_MISMATCH)
    if cost.cost.cents == 0:
        return LinkReturn(link, cost, gross, net, None, RoiUndefined.ZERO_COST)
    return LinkReturn(link, cost, gross, net, Ratio(net.cents - cost.cost.cents, cost.cost.cents), None)


def rank_link_returns(
    links: Sequence[TrackingLink], costs: Mapping[TrackingLinkId, TrackingLinkCost]
) -> list[LinkReturn]:
    """Every link with its return, by net earnings, then gross, biggest first; equal links by id."""
    returns = [link_return(link, costs.get(link.id)) for link in links]
    return sorted(returns, key=lambda r: (-r.revenue_net.cents, -r.revenue_gross.cents, r.link.id))
