"""Agencies, their creators, and what Fanvue reports about them beyond the ledger (links, top spenders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
