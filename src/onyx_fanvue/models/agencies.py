"""Agency-level shapes: team members, per-creator daily aggregates, subscribers, chatters, invites (§2.5, §2.12)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import model_validator

from onyx_fanvue._types import Cents, FanvueModel, Money, Timestamp, to_cents
from onyx_fanvue.models.common import FanUser

__all__ = [
    "AgencyEarningDay",
    "AgencySubscriber",
    "AgencySubscriberDay",
    "ChatterRow",
    "CreatorAccess",
    "InviteResult",
    "TeamMember",
    "TeamRole",
]


class TeamRole:
    """Documented values of ``creatorAccess[].role`` (an open set: the field is a plain ``str``)."""

    ADMIN: Final = "ADMIN"
    CHATTER: Final = "CHATTER"


class CreatorAccess(FanvueModel):
    """One creator a team member may work on, and in which role (see ``TeamRole``)."""

    uuid: str
    role: str


class TeamMember(FanvueModel):
    """A member of the agency team (``GET /agencies/team-members``)."""

    uuid: str
    is_admin: bool
    nickname: str | None = None
    email: str
    display_name: str
    creator_access: list[CreatorAccess]


class AgencyEarningDay(FanvueModel):
    """One creator's paid earnings on one UTC day (``GET /agencies/earnings``), in minor units.

    Fanvue does not say whether these amounts are converted to USD (its example shows a EUR row), so ``gross``
    and ``net`` carry the row's ``currency`` when it is given, and USD otherwise.
    """

    creator_uuid: str
    date: Timestamp
    gross: Cents
    net: Cents
    currency: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _money_in_row_currency(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        currency = data.get("currency")
        if not isinstance(currency, str) or not currency:
            return data
        tagged = dict(data)
        for key in ("gross", "net"):
            if key in tagged:
                amount = to_cents(tagged[key])
                if isinstance(amount, Money):
                    tagged[key] = amount.model_copy(update={"currency": currency})
        return tagged


class AgencySubscriberDay(FanvueModel):
    """One creator's subscriber movement on one UTC day (``GET /agencies/subscribers-history``).

    ``total`` is the running net change since the start of the range (it can be negative), not a headcount.
    """

    creator_uuid: str
    date: Timestamp
    new_subscribers_count: int
    cancelled_subscribers_count: int
    total: int


class AgencySubscriber(FanUser):
    """An active subscriber of one of the agency's creators (``GET /agencies/subscribers``)."""

    creator_uuid: str
    subscribed_at: Timestamp
    expires_at: Timestamp | None = None


class ChatterRow(FanvueModel):
    """One chatter on the leaderboard (daily aggregate, UTC days; lags up to a day).

    ``revenue`` is PPV unlock revenue in cents. ``eph`` (earnings per active hour) is a rate in cents per hour
    and may be fractional, so it is a ``float`` rather than ``Money``; ratios and hours are floats too.
    """

    chatter_uuid: str
    chatter_name: str
    avatar_url: str | None = None
    messages: int
    ppvs_sent: int
    ppvs_unlocked: int
    revenue: Cents
    golden_ratio: float
    unlock_ratio: float
    active_hours: float
    eph: float
    avg_response_ms: float | None = None


class InviteResult(FanvueModel):
    """The answer to an agency invite; ``invite_uuid`` only comes back for team-member invites."""

    success: bool
    message: str | None = None
    invite_uuid: str | None = None
