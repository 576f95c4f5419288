"""Posts (reading): pinned first, then newest."""

from __future__ import annotations

from onyx_fanvue.models.common import Page
from onyx_fanvue.models.posts import Post
from onyx_fanvue.pagination import DEFAULT_MAX_PAGES, AsyncPageIterator, PageIterator
from onyx_fanvue.resources._call import Call, parse_as, parse_page, scoped, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource


def _list(
    creator_uuid: str | None, page: int | None, size: int | None, *, include_unpublished: bool | None
) -> Call[Page[Post]]:
    params = {"page": page, "size": size, "includeUnpublished": include_unpublished}
    return Call("GET", scoped(creator_uuid, "/posts"), parse_page(Page, Post), params)


def _get(post_uuid: str) -> Call[Post]:
    return Call("GET", f"/posts/{segment(post_uuid)}", parse_as(Post))


class Posts(SyncResource):
    def list(
        self,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        include_unpublished: bool | None = None,
    ) -> Page[Post]:
        """One page of posts with likes, comments and tips."""
        return self._client._run(_list(creator_uuid, page, size, include_unpublished=include_unpublished))

    def iter_list(
        self,
        *,
        creator_uuid: str | None = None,
        size: int = 50,
        include_unpublished: bool | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> PageIterator[Post]:
        return PageIterator(
            lambda p: self.list(creator_uuid=creator_uuid, page=p, size=size, include_unpublished=include_unpublished),
            max_pages=max_pages,
        )

    def get(self, post_uuid: str) -> Post:
        return self._client._run(_get(post_uuid))


class AsyncPosts(AsyncResource):
    async def list(
        self,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        include_unpublished: bool | None = None,
    ) -> Page[Post]:
        """One page of posts with likes, comments and tips."""
        return await self._client._run(_list(creator_uuid, page, size, include_unpublished=include_unpublished))

    def iter_list(
        self,
        *,
        creator_uuid: str | None = None,
        size: int = 50,
        include_unpublished: bool | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncPageIterator[Post]:
        return AsyncPageIterator(
            lambda p: self.list(creator_uuid=creator_uuid, page=p, size=size, include_unpublished=include_unpublished),
            max_pages=max_pages,
        )

    async def get(self, post_uuid: str) -> Post:
        return await self._client._run(_get(post_uuid))
