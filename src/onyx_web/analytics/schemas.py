"""The analytics routes' bodies: money as ``{cents, currency}``, a ratio as ``{value, numerator, denominator}``
(``value`` a decimal string for display; the two integers are exact), and an undefined ratio as ``null`` next to
a ``..._undefined`` field saying why (never 0)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

import msgspec

from onyx_core.analytics.dashboard import Figure, LinkRevenue
from onyx_core.catalog import Agency
from onyx_core.money import Money
from onyx_core.ratio import Ratio

__all__ = ["AgencyPatch", "AgencyView", "LinkCostBody", "LinkView", "MoneyView", "RatioView"]

VALUE_PLACES = 6
"""Decimals of a ratio's display ``value`` (the integers are exact)."""
_PLACES = Decimal(1).scaleb(-VALUE_PLACES)


class MoneyView(msgspec.Struct, frozen=True):
    cents: int
    """Whole minor units (cents)."""
    currency: str
    """ISO 4217."""

    @classmethod
    def of(cls, money: Money) -> MoneyView:
        return cls(money.cents, money.currency)


class RatioView(msgspec.Struct, frozen=True):
    value: str
    """``numerator / denominator`` as a decimal string, rounded half-to-even to 6 places, for display."""
    numerator: int
    denominator: int

    @classmethod
    def of(cls, ratio: Ratio | None) -> RatioView | None:
        """``None`` for an undefined ratio (its reason goes into the sibling ``..._undefined`` field)."""
        if ratio is None or ratio.value is None:
            return None
        value = ratio.value
        shown = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(_PLACES, rounding=ROUND_HALF_EVEN)
        return cls(format(shown.normalize(), "f"), ratio.numerator, ratio.denominator)

    @classmethod
    def of_figure(cls, figure: Figure) -> tuple[RatioView | None, str | None]:
        """The figure's view and its undefined reason: exactly one of the two is ``None``."""
        return (cls.of(figure.ratio), None) if figure.defined else (None, figure.reason)


class AgencyView(msgspec.Struct, frozen=True):
    id: str
    name: str
    timezone: str
    """The IANA time zone of the agency's analytics (its days, weeks and months)."""

    @classmethod
    def of(cls, agency: Agency) -> AgencyView:
        return cls(str(agency.id), agency.name, agency.timezone)


class AgencyPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What to change; a field left out stays. ``timezone``: an IANA name such as ``Europe/Berlin`` (else 422)."""

    name: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class LinkCostBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the link cost, in whole cents (0 or more: a negative cost is 422)."""

    cents: Annotated[int, msgspec.Meta(ge=-(10**12), le=10**12)]
    currency: Annotated[str, msgspec.Meta(max_length=16)] = "USD"


class LinkView(msgspec.Struct, frozen=True):
    id: str
    creator_id: str
    name: str
    url: str
    platform: str
    clicks: int
    acquired_subscribers: int
    acquired_followers: int
    revenue_gross: MoneyView
    """Fanvue's lifetime earnings of the link (0 when it never earned)."""
    revenue_net: MoneyView
    cost: MoneyView | None
    """What the agency entered (``null``: nobody did)."""
    roi: RatioView | None
    """(net revenue - cost) / cost; ``null`` when undefined (``roi_undefined`` says why)."""
    roi_undefined: str | None
    """Why ``roi`` is ``null`` (no cost entered, or a cost of 0); ``null`` when ``roi`` is set."""

    @classmethod
    def of(cls, r: LinkRevenue) -> LinkView:
        link = r.link
        roi, why = RatioView.of_figure(r.roi)
        return cls(
            str(link.id), str(link.creator_id), link.name, link.url, link.platform, link.clicks,
            link.acquired_subscribers, link.acquired_followers, MoneyView.of(r.gross), MoneyView.of(r.net),
            None if r.cost is None else MoneyView.of(r.cost), roi, why,
        )  # fmt: skip
