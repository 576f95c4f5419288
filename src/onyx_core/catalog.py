"""Agencies, their creators, and what Fanvue reports about them beyond the ledger (links, top spenders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from onyx_core.errors import DomainValueError
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.money import Money
from onyx_core.timeutil import optional_utc, require_utc


@dataclass(frozen=True, slots=True)
class Agency:
    """A talent agency using Onyx."""

    id: AgencyId
    name: str
    fanvue_user_uuid: str | None = None
    """The Fanvue user (agency admin) whose connection the agency uses."""
    timezone: str = "UTC"
    """The agency's IANA time zone (``Europe/Berlin``): its analytics' days, weeks and months are local to it."""

    def __post_init__(self) -> None:
        require_time_zone(self.timezone)


_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
"""Files of the zone database that are not IANA zone names (the host's zone, a template, a placeholder)."""


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def require_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone name the zone database knows (``Europe/Berlin``, ``UTC``); anything
    else (``CET+1``, a path, ``""``) is a :class:`DomainValueError`, never a guess."""
    if name not in _zone_names():
        raise DomainValueError("not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainValueError("not an IANA time zone name") from exc
    return name


@dataclass(frozen=True, slots=True)
class CreatorProfile:
    """A creator as Fanvue lists it (``GET /creators``)."""

    fanvue_uuid: str
    handle: str
    display_name: str

    def __post_init__(self) -> None:
        if not self.fanvue_uuid:
            raise DomainValueError("a creator needs its Fanvue uuid")


@dataclass(frozen=True, slots=True)
class Creator:
    """A creator managed by an agency in Onyx. ``id`` is the creator's Fanvue uuid (stable)."""

    id: CreatorId
    agency_id: AgencyId
    handle: str
    display_name: str
    imported_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "imported_at", require_utc(self.imported_at, "Creator.imported_at"))

    @classmethod
    def from_profile(cls, profile: CreatorProfile, agency_id: AgencyId, imported_at: datetime) -> Creator:
        return cls(CreatorId(profile.fanvue_uuid), agency_id, profile.handle, profile.display_name, imported_at)

    def same_profile(self, profile: CreatorProfile) -> bool:
        return (self.handle, self.display_name) == (profile.handle, profile.display_name)


@dataclass(frozen=True, slots=True)
class TrackingLink:
    """A creator's tracking link with its counters; ``earnings`` is ``None`` on a link that never earned."""

    id: TrackingLinkId
    creator_id: CreatorId
    name: str
    url: str
    platform: str
    created_at: datetime
    clicks: int
    acquired_subscribers: int
    acquired_followers: int
    earnings_gross: Money | None = None
    earnings_net: Money | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_utc(self.created_at, "TrackingLink.created_at"))
        if min(self.clicks, self.acquired_subscribers, self.acquired_followers) < 0:
            raise DomainValueError("tracking link counters are non-negative")


@dataclass(frozen=True, slots=True)
class TrackingLinkCost:
    """What the agency paid for a tracking link (entered by hand: Fanvue does not know it). Kept apart from the
    synced :class:`TrackingLink`, which every sync rewrites."""

    link_id: TrackingLinkId
    cost: Money
    set_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "set_at", require_utc(self.set_at, "TrackingLinkCost.set_at"))
        if self.cost.cents < 0:
            raise DomainValueError("a link's cost is not negative")


@dataclass(frozen=True, slots=True)
class ChatterDay:
    """One chatter's UTC day on Fanvue's chatter leaderboard: agency-wide (across the agency's creators, not split
    by creator), readable only with the agency's own grant (``read:agency``). ``ppvs_unlocked`` of the
    ``ppvs_sent`` that day; ``revenue`` is their PPV unlock revenue."""

    agency_id: AgencyId
    day: date
    chatter_id: str
    chatter_name: str
    messages: int
    ppvs_sent: int
    ppvs_unlocked: int
    revenue: Money

    def __post_init__(self) -> None:
        if min(self.messages, self.ppvs_sent, self.ppvs_unlocked) < 0:
            raise DomainValueError("chatter counters are non-negative")


@dataclass(frozen=True, slots=True)
class RankedSpender:
    """One row of Fanvue's top-spenders list for a creator (or agency-wide when ``creator_id`` is None)."""

    rank: int
    fan_id: FanId
    handle: str
    display_name: str
    gross: Money
    net: Money
    messages: int
    creator_id: CreatorId | None = None
    last_seen_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise DomainValueError("ranks start at 1")
        object.__setattr__(self, "last_seen_at", optional_utc(self.last_seen_at, "RankedSpender.last_seen_at"))
