"""Audience shapes: smart and custom lists, their members, online subscribers (api doc §1.3)."""

from __future__ import annotations

from typing import Final

from onyx_fanvue._types import FanvueModel, Timestamp

__all__ = ["CustomList", "ListMember", "OnlineSubscriber", "OnlineSubscribers", "SmartList", "SmartListId"]


class SmartListId:
    """Documented smart-list ids (the set grows: ``MUTED`` is only in the newer snapshot)."""

    SUBSCRIBERS: Final = "subscribers"
    AUTO_RENEWING: Final = "auto_renewing"
    NON_RENEWING: Final = "non_renewing"
    FOLLOWERS: Final = "followers"
    FREE_TRIAL_SUBSCRIBERS: Final = "free_trial_subscribers"
    EXPIRED_SUBSCRIBERS: Final = "expired_subscribers"
    SPENT_MORE_THAN_50: Final = "spent_more_than_50"
    MUTED: Final = "muted"


class SmartList(FanvueModel):
    """A smart list with its current member count; ``uuid`` is the list id (see ``SmartListId``)."""

    uuid: str
    name: str
    count: int


class CustomList(FanvueModel):
    """A creator-made list of fans."""

    uuid: str
    name: str
    members_count: int
    created_at: Timestamp


class ListMember(FanvueModel):
    """A member of a smart or custom list.

    Fanvue does not document this shape; it is modelled as a fan user in which only ``uuid`` is required.
    """

    uuid: str
    handle: str | None = None
    display_name: str | None = None
    nickname: str | None = None
    is_top_spender: bool | None = None
    avatar_url: str | None = None
    registered_at: Timestamp | None = None


class OnlineSubscriber(FanvueModel):
    """An online subscriber; ``last_seen_at`` is ``None`` when unknown."""

    uuid: str
    last_seen_at: Timestamp | None = None


class OnlineSubscribers(FanvueModel):
    """``/creators/{uuid}/subscribers/online``: how many are online, and who."""

    count: int
    data: list[OnlineSubscriber]
