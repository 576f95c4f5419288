"""``/users/me`` and the account endpoints (api doc §2.2, §2.3)."""

from __future__ import annotations

from typing import Final

from onyx_fanvue._types import Cents, FanvueModel, Timestamp

__all__ = [
    "Account",
    "AccountEarnings",
    "AccountFans",
    "AccountInfo",
    "AccountStatus",
    "ContentCounts",
    "FanCounts",
    "User",
    "UserProfile",
]


class AccountStatus:
    """Documented values of ``account.status`` (an open set: the field is a plain ``str``)."""

    ACTIVE: Final = "active"
    SUSPENDED: Final = "suspended"


class FanCounts(FanvueModel):
    """``fanCounts`` of a creator: current followers and subscribers."""

    followers_count: int
    subscribers_count: int


class ContentCounts(FanvueModel):
    """``contentCounts`` of a creator: how much content they have published."""

    image_count: int
    video_count: int
    audio_count: int
    post_count: int
    pay_to_view_post_count: int


class UserProfile(FanvueModel):
    """The profile fields shared by ``/users/me`` and the account endpoints."""

    uuid: str
    email: str
    handle: str
    bio: str | None = None
    display_name: str
    is_creator: bool
    created_at: Timestamp
    updated_at: Timestamp | None = None
    avatar_url: str | None = None
    banner_url: str | None = None


class User(UserProfile):
    """``GET /users/me``. The creator stats are ``None`` when Fanvue leaves them out (e.g. an agency admin)."""

    likes_count: int | None = None
    fan_counts: FanCounts | None = None
    content_counts: ContentCounts | None = None


class AccountEarnings(FanvueModel):
    """``account.earnings``: lifetime total and payable balance, in cents."""

    total: Cents
    available_balance: Cents
    last_payout_at: Timestamp | None = None


class AccountFans(FanvueModel):
    """``account.fans``: current follower and subscriber counts."""

    followers: int
    subscribers: int


class AccountInfo(FanvueModel):
    """The ``account`` block: status (see ``AccountStatus``), earnings and fan counts."""

    status: str
    earnings: AccountEarnings
    fans: AccountFans


class Account(UserProfile):
    """``GET /users/account`` or ``/creators/{uuid}/account``: the profile plus the ``account`` block."""

    account: AccountInfo
