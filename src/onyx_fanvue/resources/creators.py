"""``GET /creators``: the creators of the authenticated agency user's organisation."""

from __future__ import annotations

from onyx_fanvue.models.common import Page
from onyx_fanvue.models.creators import CreatorRow
from onyx_fanvue.pagination import DEFAULT_MAX_PAGES, AsyncPageIterator, PageIterator
from onyx_fanvue.resources._call import Call, parse_page
from onyx_fanvue.resources._resource import AsyncResource, SyncResource


def _list(page: int | None, size: int | None) -> Call[Page[CreatorRow]]:
    return Call("GET", "/creators", parse_page(Page, CreatorRow), {"page": page, "size": size})


class Creators(SyncResource):
    def list(self, *, page: int | None = None, size: int | None = None) -> Page[CreatorRow]:
        """One page of creators (Fanvue: size 1-50, default 15). An empty page may mean missing permission."""
        return self._client._run(_list(page, size))

    def iter_list(
        self, *, size: int = 50, start_page: int = 1, max_pages: int = DEFAULT_MAX_PAGES
    ) -> PageIterator[CreatorRow]:
        """Every creator, paging for you."""
        return PageIterator(lambda p: self.list(page=p, size=size), start_page=start_page, max_pages=max_pages)


class AsyncCreators(AsyncResource):
    async def list(self, *, page: int | None = None, size: int | None = None) -> Page[CreatorRow]:
        """One page of creators (Fanvue: size 1-50, default 15). An empty page may mean missing permission."""
        return await self._client._run(_list(page, size))

    def iter_list(
        self, *, size: int = 50, start_page: int = 1, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncPageIterator[CreatorRow]:
        """Every creator, paging for you."""
        return AsyncPageIterator(lambda p: self.list(page=p, size=size), start_page=start_page, max_pages=max_pages)
