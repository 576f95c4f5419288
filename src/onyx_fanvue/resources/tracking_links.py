"""Tracking links: list (cursor paging with ``limit``), their users, create and delete."""

from __future__ import annotations

from datetime import date, datetime

from onyx_fanvue.models.common import CursorPage
from onyx_fanvue.models.tracking_links import TrackingLink, TrackingLinkUser
from onyx_fanvue.pagination import DEFAULT_MAX_PAGES, AsyncCursorIterator, CursorIterator
from onyx_fanvue.resources._call import Call, iso, no_content, parse_as, parse_page, scoped, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource

When = datetime | date | str | None


def _list(
    creator_uuid: str | None, cursor: str | None, limit: int | None, created_after: When, created_before: When
) -> Call[CursorPage[TrackingLink]]:
    params = {
        "cursor": cursor,
        "limit": limit,
        "createdAfter": iso(created_after),
        "createdBefore": iso(created_before),
    }
    return Call("GET", scoped(creator_uuid, "/tracking-links"), parse_page(CursorPage, TrackingLink), params)


def _users(
    link_uuid: str, creator_uuid: str | None, cursor: str | None, limit: int | None
) -> Call[CursorPage[TrackingLinkUser]]:
    path = scoped(creator_uuid, f"/tracking-links/{segment(link_uuid)}/users")
    return Call("GET", path, parse_page(CursorPage, TrackingLinkUser), {"cursor": cursor, "limit": limit})


def _create(creator_uuid: str | None, name: str, platform: str) -> Call[TrackingLink]:
    if not name:
        raise ValueError("a tracking link needs a name")
    body = {"name": name, "externalSocialPlatform": platform}
    return Call("POST", scoped(creator_uuid, "/tracking-links"), parse_as(TrackingLink), json=body)


def _delete(creator_uuid: str | None, link_uuid: str) -> Call[None]:
    return Call("DELETE", scoped(creator_uuid, f"/tracking-links/{segment(link_uuid)}"), no_content)


class TrackingLinks(SyncResource):
    def list(
        self,
        *,
        creator_uuid: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        created_after: When = None,
        created_before: When = None,
    ) -> CursorPage[TrackingLink]:
        """One page of links with clicks, engagement and earnings (``earnings`` is None on a fresh link)."""
        return self._client._run(_list(creator_uuid, cursor, limit, created_after, created_before))

    def iter_list(
        self,
        *,
        creator_uuid: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        created_after: When = None,
        created_before: When = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> CursorIterator[TrackingLink]:
        return CursorIterator(
            lambda c: self.list(
                creator_uuid=creator_uuid,
                cursor=c,
                limit=limit,
                created_after=created_after,
                created_before=created_before,
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    def users(
        self, link_uuid: str, *, creator_uuid: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> CursorPage[TrackingLinkUser]:
        """Fans who came through the link, with their current status."""
        return self._client._run(_users(link_uuid, creator_uuid, cursor, limit))

    def create(self, *, name: str, platform: str, creator_uuid: str | None = None) -> TrackingLink:
        """Create a link (``platform``: facebook, instagram, reddit, snapchat, tiktok, twitter, youtube, other)."""
        return self._client._run(_create(creator_uuid, name, platform))

    def delete(self, link_uuid: str, *, creator_uuid: str | None = None) -> None:
        self._client._run(_delete(creator_uuid, link_uuid))


class AsyncTrackingLinks(AsyncResource):
    async def list(
        self,
        *,
        creator_uuid: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        created_after: When = None,
        created_before: When = None,
    ) -> CursorPage[TrackingLink]:
        """One page of links with clicks, engagement and earnings (``earnings`` is None on a fresh link)."""
        return await self._client._run(_list(creator_uuid, cursor, limit, created_after, created_before))

    def iter_list(
        self,
        *,
        creator_uuid: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        created_after: When = None,
        created_before: When = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncCursorIterator[TrackingLink]:
        return AsyncCursorIterator(
            lambda c: self.list(
                creator_uuid=creator_uuid,
                cursor=c,
                limit=limit,
                created_after=created_after,
                created_before=created_before,
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    async def users(
        self, link_uuid: str, *, creator_uuid: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> CursorPage[TrackingLinkUser]:
        """Fans who came through the link, with their current status."""
        return await self._client._run(_users(link_uuid, creator_uuid, cursor, limit))

    async def create(self, *, name: str, platform: str, creator_uuid: str | None = None) -> TrackingLink:
        """Create a link (``platform``: facebook, instagram, reddit, snapchat, tiktok, twitter, youtube, other)."""
        return await self._client._run(_create(creator_uuid, name, platform))

    async def delete(self, link_uuid: str, *, creator_uuid: str | None = None) -> None:
        await self._client._run(_delete(creator_uuid, link_uuid))
