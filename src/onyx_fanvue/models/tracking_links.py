"""Tracking-link shapes (api doc §2.17)."""

from __future__ import annotations

from typing import Final

from onyx_fanvue._types import Cents, FanvueModel, Timestamp
from onyx_fanvue.models.common import FanUser

__all__ = [
    "Engagement",
    "LinkEarnings",
    "SocialPlatform",
    "TrackingLink",
    "TrackingLinkMetadata",
    "TrackingLinkUser",
    "TrackingLinkUserStatus",
]


class SocialPlatform:
    """Documented values of ``externalSocialPlatform``."""

    FACEBOOK: Final = "facebook"
    INSTAGRAM: Final = "instagram"
    OTHER: Final = "other"
    REDDIT: Final = "reddit"
    SNAPCHAT: Final = "snapchat"
    TIKTOK: Final = "tiktok"
    TWITTER: Final = "twitter"
    YOUTUBE: Final = "youtube"


class TrackingLinkUserStatus:
    """Documented values of a tracking-link user's ``status``."""

    SUBSCRIBER: Final = "subscriber"
    FOLLOWER: Final = "follower"
    EXPIRED: Final = "expired"
    DELETED: Final = "deleted"


class Engagement(FanvueModel):
    """Who a link brought: ``acquired_*`` by first click, ``total_*`` clickers currently following/subscribed."""

    acquired_subscribers: int
    acquired_followers: int
    total_subscribers: int
    total_followers: int


class LinkEarnings(FanvueModel):
    """What a link's fans paid, in cents (Fanvue does not state the unit; its examples are cents)."""

    total_gross: Cents
    total_net: Cents


class TrackingLink(FanvueModel):
    """A tracking link. ``engagement`` is missing from older snapshots and ``earnings`` is ``None`` on fresh links;
    both stay ``None`` when absent rather than becoming zeros."""

    uuid: str
    name: str
    link_url: str
    external_social_platform: str
    created_at: Timestamp
    clicks: int
    engagement: Engagement | None = None
    earnings: LinkEarnings | None = None


class TrackingLinkUser(FanUser):
    """A fan who came through a tracking link, with their current ``status`` (see ``TrackingLinkUserStatus``)."""

    status: str | None = None


class TrackingLinkMetadata(FanvueModel):
    """The metadata of a fan's last impression on a link (``None`` when there is none)."""

    metadata: dict[str, str] | None = None
