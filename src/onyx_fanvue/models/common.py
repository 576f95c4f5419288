"""Shapes shared across endpoints: the two user summaries and the paging envelopes (api doc §2.1, §3)."""

from __future__ import annotations

from typing import Generic, TypeVar

from onyx_fanvue._types import FanvueModel, Timestamp

__all__ = ["CursorPage", "DataList", "FanUser", "Page", "PagePagination", "ShortUser"]

T = TypeVar("T")


class ShortUser(FanvueModel):
    """The user summary on earnings, spending, tip and comment rows: no avatar, no registration date."""

    uuid: str
    handle: str
    display_name: str
    nickname: str | None = None
    is_top_spender: bool


class FanUser(ShortUser):
    """A fan (or creator) as listed by ``/subscribers``, ``/followers``, chats and top spenders."""

    avatar_url: str | None = None
    registered_at: Timestamp


class PagePagination(FanvueModel):
    """``pagination`` of a page-style listing. ``size`` is the number of rows returned, not the one asked for."""

    page: int
    size: int
    has_more: bool


class Page(FanvueModel, Generic[T]):
    """A page-style envelope ``{data: [...], pagination: {page, size, hasMore}}``."""

    data: list[T]
    pagination: PagePagination


class CursorPage(FanvueModel, Generic[T]):
    """A cursor-style envelope ``{data: [...], nextCursor}``. The key must be present; ``null`` means last page."""

    data: list[T]
    next_cursor: str | None


class DataList(FanvueModel, Generic[T]):
    """An unpaged ``{data: [...]}`` answer (the chatter leaderboard)."""

    data: list[T]
