"""Iterators that page for you, in both of Fanvue's styles, sync and async.

- page style: ``?page=N&size=M`` answered with ``pagination {page, size, hasMore}``;
- cursor style: ``?cursor=C&size=M`` (or ``limit``) answered with ``nextCursor`` (``null`` on the last page).

Each iterator stops at the last page, refuses to run past ``max_pages`` (a server that never stops paging is a
bug, not a reason to loop forever), and can be resumed: page iterators from ``next_page``, cursor iterators from
``cursor`` (the cursor of the first page not yet fetched).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from onyx_fanvue.errors import FanvueError
from onyx_fanvue.models.common import CursorPage, Page

T = TypeVar("T")

DEFAULT_MAX_PAGES = 10_000


class PaginationError(FanvueError):
    """The server kept paging past ``max_pages``, or repeated a cursor (which would loop forever)."""


class _PageState:
    def __init__(self, start_page: int, max_pages: int) -> None:
        if start_page < 1:
            raise ValueError("pages start at 1")
        self.next_page: int | None = start_page
        self.pages_fetched = 0
        self.max_pages = max_pages

    def check(self) -> None:
        """Called before fetching another page."""
        if self.pages_fetched >= self.max_pages:
            raise PaginationError(f"still more after {self.max_pages} pages; resume from page {self.next_page}")

    def advance(self, *, has_more: bool, count: int) -> None:
        self.pages_fetched += 1
        # An empty page ends the listing even if hasMore says otherwise: it cannot make progress.
        if not has_more or count == 0 or self.next_page is None:
            self.next_page = None
        else:
            self.next_page += 1


class _CursorState:
    def __init__(self, cursor: str | None, max_pages: int) -> None:
        self.cursor = cursor
        self.done = False
        self.pages_fetched = 0
        self.max_pages = max_pages
        self._seen: set[str] = set()

    def check(self) -> None:
        """Called before fetching another page."""
        if self.pages_fetched >= self.max_pages:
            raise PaginationError(f"still more after {self.max_pages} pages; resume from cursor {self.cursor!r}")

    def advance(self, next_cursor: str | None) -> None:
        self.pages_fetched += 1
        if next_cursor is None:
            self.done = True
            return
        if next_cursor in self._seen or next_cursor == self.cursor:
            raise PaginationError("the server repeated a cursor")
        self._seen.add(next_cursor)
        self.cursor = next_cursor


class PageIterator(Generic[T]):
    """Iterate every item of a page-style listing: ``for row in client.creators.iter_list(): ...``."""

    def __init__(
        self, fetch: Callable[[int], Page[T]], *, start_page: int = 1, max_pages: int = DEFAULT_MAX_PAGES
    ) -> None:
        self._fetch = fetch
        self._state = _PageState(start_page, max_pages)

    @property
    def next_page(self) -> int | None:
        """The page a new iterator should start from to resume, or ``None`` when the listing is exhausted."""
        return self._state.next_page

    def pages(self) -> Iterator[Page[T]]:
        while self._state.next_page is not None:
            self._state.check()
            page = self._fetch(self._state.next_page)
            self._state.advance(has_more=page.pagination.has_more, count=len(page.data))
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.data


class AsyncPageIterator(Generic[T]):
    """``async for row in client.creators.iter_list(): ...``."""

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[Page[T]]],
        *,
        start_page: int = 1,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self._state = _PageState(start_page, max_pages)

    @property
    def next_page(self) -> int | None:
        return self._state.next_page

    async def pages(self) -> AsyncIterator[Page[T]]:
        while self._state.next_page is not None:
            self._state.check()
            page = await self._fetch(self._state.next_page)
            self._state.advance(has_more=page.pagination.has_more, count=len(page.data))
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.data:
                yield item


class CursorIterator(Generic[T]):
    """Iterate every item of a cursor-style listing; ``cursor`` resumes where it stopped."""

    def __init__(
        self,
        fetch: Callable[[str | None], CursorPage[T]],
        *,
        cursor: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self._state = _CursorState(cursor, max_pages)

    @property
    def cursor(self) -> str | None:
        """The cursor of the next page to fetch (``None`` before the first page or after the last)."""
        return None if self._state.done else self._state.cursor

    @property
    def done(self) -> bool:
        return self._state.done

    def pages(self) -> Iterator[CursorPage[T]]:
        while not self._state.done:
            self._state.check()
            page = self._fetch(self._state.cursor)
            self._state.advance(page.next_cursor)
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.data


class AsyncCursorIterator(Generic[T]):
    """``async for row in client.insights.iter_earnings(...): ...``; ``cursor`` resumes where it stopped."""

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[CursorPage[T]]],
        *,
        cursor: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self._state = _CursorState(cursor, max_pages)

    @property
    def cursor(self) -> str | None:
        return None if self._state.done else self._state.cursor

    @property
    def done(self) -> bool:
        return self._state.done

    async def pages(self) -> AsyncIterator[CursorPage[T]]:
        while not self._state.done:
            self._state.check()
            page = await self._fetch(self._state.cursor)
            self._state.advance(page.next_cursor)
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.data:
                yield item
