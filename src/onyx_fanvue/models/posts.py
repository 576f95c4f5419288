"""Post shapes (api doc §2.18)."""

from __future__ import annotations

from typing import Final

from onyx_fanvue._types import Cents, FanvueModel, Timestamp
from onyx_fanvue.models.common import ShortUser

__all__ = ["Collection", "Post", "PostAudience", "PostTipRow", "PostTips"]


class PostAudience:
    """Documented values of a post's ``audience``."""

    SUBSCRIBERS: Final = "subscribers"
    FOLLOWERS_AND_SUBSCRIBERS: Final = "followers-and-subscribers"


class PostTips(FanvueModel):
    """Tips on a post: how many, and their gross and net in cents."""

    count: int
    total_gross: Cents
    total_net: Cents


class Collection(FanvueModel):
    """A collection a post belongs to."""

    uuid: str
    label: str


class Post(FanvueModel):
    """A post (``price`` in cents, ``None`` for a free post; ``audience``: see ``PostAudience``)."""

    uuid: str
    created_at: Timestamp
    text: str | None = None
    price: Cents | None = None
    media_preview_uuid: str | None = None
    audience: str
    publish_at: Timestamp | None = None
    published_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    media_uuids: list[str]
    is_pinned: bool
    likes_count: int
    comments_count: int
    tips: PostTips
    collections: list[Collection]


class PostTipRow(FanvueModel):
    """One tip on a post (``/posts/{uuid}/tips``)."""

    user: ShortUser | None = None
    created_at: Timestamp | None = None
    gross: Cents
    net: Cents
