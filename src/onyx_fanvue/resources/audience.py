"""Subscribers, followers and smart-list counts (the documented way to read current audience size)."""

from __future__ import annotations

from onyx_fanvue.models.audience import SmartList
from onyx_fanvue.models.common import FanUser, Page
from onyx_fanvue.pagination import DEFAULT_MAX_PAGES, AsyncPageIterator, PageIterator
from onyx_fanvue.resources._call import Call, parse_as, parse_page, scoped
from onyx_fanvue.resources._resource import AsyncResource, SyncResource


def _fans(kind: str, creator_uuid: str | None, page: int | None, size: int | None) -> Call[Page[FanUser]]:
    return Call("GET", scoped(creator_uuid, f"/{kind}"), parse_page(Page, FanUser), {"page": page, "size": size})


def _smart_lists(creator_uuid: str | None) -> Call[list[SmartList]]:
    return Call("GET", scoped(creator_uuid, "/chats/lists/smart"), parse_as(list[SmartList]))


class Audience(SyncResource):
    def subscribers(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[FanUser]:
        """One page of active subscribers."""
        return self._client._run(_fans("subscribers", creator_uuid, page, size))

    def iter_subscribers(
        self, *, creator_uuid: str | None = None, size: int = 50, max_pages: int = DEFAULT_MAX_PAGES
    ) -> PageIterator[FanUser]:
        return PageIterator(
            lambda p: self.subscribers(creator_uuid=creator_uuid, page=p, size=size), max_pages=max_pages
        )

    def followers(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[FanUser]:
        """One page of followers (Fanvue excludes active subscribers: the two lists are disjoint)."""
        return self._client._run(_fans("followers", creator_uuid, page, size))

    def iter_followers(
        self, *, creator_uuid: str | None = None, size: int = 50, max_pages: int = DEFAULT_MAX_PAGES
    ) -> PageIterator[FanUser]:
        return PageIterator(lambda p: self.followers(creator_uuid=creator_uuid, page=p, size=size), max_pages=max_pages)

    def smart_lists(self, *, creator_uuid: str | None = None) -> list[SmartList]:
        """Smart lists with their member counts (``subscribers``, ``followers``, ``auto_renewing``...)."""
        return self._client._run(_smart_lists(creator_uuid))


class AsyncAudience(AsyncResource):
    async def subscribers(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[FanUser]:
        """One page of active subscribers."""
        return await self._client._run(_fans("subscribers", creator_uuid, page, size))

    def iter_subscribers(
        self, *, creator_uuid: str | None = None, size: int = 50, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncPageIterator[FanUser]:
        return AsyncPageIterator(
            lambda p: self.subscribers(creator_uuid=creator_uuid, page=p, size=size), max_pages=max_pages
        )

    async def followers(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[FanUser]:
        """One page of followers (Fanvue excludes active subscribers: the two lists are disjoint)."""
        return await self._client._run(_fans("followers", creator_uuid, page, size))

    def iter_followers(
        self, *, creator_uuid: str | None = None, size: int = 50, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncPageIterator[FanUser]:
        return AsyncPageIterator(
            lambda p: self.followers(creator_uuid=creator_uuid, page=p, size=size), max_pages=max_pages
        )

    async def smart_lists(self, *, creator_uuid: str | None = None) -> list[SmartList]:
        """Smart lists with their member counts (``subscribers``, ``followers``, ``auto_renewing``...)."""
        return await self._client._run(_smart_lists(creator_uuid))
