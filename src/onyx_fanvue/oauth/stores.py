"""Where a connection's token lives: the store protocols :class:`RefreshingAuth` needs, and in-memory stores."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from typing import Protocol, runtime_checkable

from onyx_fanvue.errors import TokenStoreConflict
from onyx_fanvue.oauth.tokens import OAuthToken

__all__ = ["AsyncMemoryTokenStore", "AsyncTokenStore", "MemoryTokenStore", "TokenStore", "TokenStoreGeneration"]


@runtime_checkable
class TokenStore(Protocol):
    """Where one connection's token lives (sync).

    ``save`` is an atomic compare-and-set against the token that was loaded (``expected``; ``None`` = the store
    was empty) and raises :class:`TokenStoreConflict` if someone else saved meanwhile. ``lock()`` serialises
    refreshes across everything sharing the store (threads here; processes for a SQL store)."""

    def load(self) -> OAuthToken | None:
        """The current token, or ``None`` when there is none."""
        ...

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Replace ``expected`` with ``token`` atomically, or raise :class:`TokenStoreConflict`."""
        ...

    def lock(self) -> AbstractContextManager[object]:
        """A context manager held while one refresh runs."""
        ...


@runtime_checkable
class AsyncTokenStore(Protocol):
    """:class:`TokenStore` for asyncio: awaitable ``load``/``save``, and ``lock()`` is an async context manager."""

    async def load(self) -> OAuthToken | None:
        """The current token, or ``None`` when there is none."""
        ...

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Replace ``expected`` with ``token`` atomically, or raise :class:`TokenStoreConflict`."""
        ...

    def lock(self) -> AbstractAsyncContextManager[object]:
        """An async context manager held while one refresh runs."""
        ...


@runtime_checkable
class TokenStoreGeneration(Protocol):
    """An optional capability of a :class:`TokenStore` or :class:`AsyncTokenStore`: a free check of whether the
    stored token may have changed, so that :class:`~onyx_fanvue.oauth.RefreshingAuth` can keep the token in memory
    instead of loading it for every request.

    ``generation()`` is synchronous (also on an async store) and does no I/O. Its value must change after every
    write of the token made in this process (through this store or any other path to the same token), once that
    write is visible to ``load()``. :class:`~onyx_fanvue.oauth.RefreshingAuth` reads it before each ``load()`` and
    keeps using the loaded token while the value stays the same. Writes by other processes need not change it: the
    auth also re-reads after ``revalidate_after`` and after a 401. A store without this method is loaded before
    every request."""

    def generation(self) -> int:
        """A value that changes after each write of the token made in this process."""
        ...


class MemoryTokenStore:
    """A :class:`TokenStore` in memory, shared by the threads of one process."""

    def __init__(self, token: OAuthToken | None = None) -> None:
        self._token = token
        self._data = threading.Lock()  # makes save's compare-and-set atomic
        self._refresh = threading.Lock()  # what lock() hands out; held for a whole refresh

    def load(self) -> OAuthToken | None:
        """The current token."""
        with self._data:
            return self._token

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set: raise :class:`TokenStoreConflict` unless the stored token is still ``expected``."""
        with self._data:
            if self._token != expected:
                raise TokenStoreConflict("the stored token changed since it was loaded")
            self._token = token

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise refreshes among the threads sharing this store."""
        with self._refresh:
            yield

    def __repr__(self) -> str:
        return f"MemoryTokenStore({self._token!r})"


class AsyncMemoryTokenStore:
    """An :class:`AsyncTokenStore` in memory, for the tasks of ONE event loop (its lock is an ``asyncio.Lock``).

    A separate class from :class:`MemoryTokenStore` because one object cannot have both a sync and an async
    ``load``."""

    def __init__(self, token: OAuthToken | None = None) -> None:
        self._token = token
        self._refresh = asyncio.Lock()

    async def load(self) -> OAuthToken | None:
        """The current token."""
        return self._token

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set: raise :class:`TokenStoreConflict` unless the stored token is still ``expected``."""
        # No await between compare and set: atomic within the event loop.
        if self._token != expected:
            raise TokenStoreConflict("the stored token changed since it was loaded")
        self._token = token

    @asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Serialise refreshes among the tasks sharing this store."""
        async with self._refresh:
            yield

    def __repr__(self) -> str:
        return f"AsyncMemoryTokenStore({self._token!r})"
