"""``RefreshingAuth``: an ``httpx.Auth`` that refreshes rotating refresh tokens late, once, and safely.

The access token is unwrapped only to set the ``Authorization`` header, inline; the refresh token goes to the OAuth
client as the :class:`~onyx_fanvue.redaction.Secret` it is."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, cast

import httpx
from pydantic import SecretStr

from onyx_fanvue.errors import InvalidGrantError, MissingTokenError
from onyx_fanvue.oauth._common import utcnow as _utcnow
from onyx_fanvue.oauth.client import AsyncOAuthClient, OAuthClient, _OAuthCore
from onyx_fanvue.oauth.stores import AsyncTokenStore, TokenStore, TokenStoreGeneration
from onyx_fanvue.oauth.tokens import DEFAULT_LEEWAY, OAuthToken

__all__ = ["DEFAULT_REVALIDATE_AFTER", "RefreshEvent", "RefreshingAuth"]

DEFAULT_REVALIDATE_AFTER = timedelta(seconds=60)
"""How long :class:`RefreshingAuth` uses a token it holds in memory before loading it again (see there)."""

RefreshReason = Literal["expiring", "unauthorized"]
RefreshOutcome = Literal["refreshed", "invalid_grant", "failed"]


@dataclass(frozen=True, slots=True)
class RefreshEvent:
    """What ``on_refresh`` sees of one token request made by :class:`RefreshingAuth`. No token values."""

    reason: RefreshReason
    """``expiring``: ``leeway`` or less was left; ``unauthorized``: the API answered 401."""
    outcome: RefreshOutcome
    remaining_seconds: float
    """Life the old access token had left when the refresh started (negative if expired)."""
    error: str | None = None
    """The exception's class name when the refresh failed."""


@dataclass(frozen=True, slots=True)
class _Held:
    """The token last loaded, with the store's generation before that load and when the load began."""

    token: OAuthToken
    generation: int
    read_at: datetime


SyncRefresher = Callable[[OAuthToken], OAuthToken]
AsyncRefresher = Callable[[OAuthToken], Awaitable[OAuthToken]]


def _fingerprint(value: SecretStr) -> str:
    # Remember refused refresh tokens by digest, so this object never holds more secrets than it must.
    return hashlib.sha256(value.get_secret_value().encode()).hexdigest()


def _not_sync(what: str) -> TypeError:
    return TypeError(f"{what} is async: use this RefreshingAuth with httpx.AsyncClient")


def _not_async(what: str) -> TypeError:
    return TypeError(f"{what} is sync: use this RefreshingAuth with httpx.Client, or an async {what}")


class RefreshingAuth(httpx.Auth):
    """``httpx.Auth`` that sends ``Authorization: Bearer`` from a token store and refreshes safely.

    - Refreshes only when ``leeway`` (default 300 s) or less of life is left, or once after a 401.
    - Single-flight: refreshes run under ``store.lock()`` and re-load first, so concurrent requests that all
      found the token expiring make exactly one token request and then use the token it produced. Async
      requests of one process queue on an in-process lock first, so only one of them takes ``store.lock()``.
    - Saves the new token (compare-and-set) BEFORE the new access token is sent anywhere.
    - A response without a refresh token keeps the old one.
    - 401: one forced refresh and one retry; a second 401 is returned as is (the caller raises
      ``AuthenticationError``). Never loops.
    - ``invalid_grant`` raises :class:`InvalidGrantError`, and that refresh token is never sent again by this
      object (until :meth:`reset`, or until the store holds another refresh token, e.g. after reconnecting).
    - When the store has the optional :class:`~onyx_fanvue.oauth.TokenStoreGeneration` capability, the token is
      kept in memory and the store is loaded only: on the first request; when the token is inside ``leeway``;
      after a 401; when ``store.generation()`` moved (a write made in this process); and when the token in memory
      was loaded ``revalidate_after`` (default 60 s, by ``clock``) or longer ago (writes by other processes).
      Async requests that find nothing usable in memory queue on the in-process lock, so one of them loads.
      ``revalidate_after=timedelta(0)`` loads before every request; so does any store without the capability.

    ``refresher`` is an :class:`OAuthClient` (use with ``httpx.Client`` and a :class:`TokenStore`), an
    :class:`AsyncOAuthClient` (``httpx.AsyncClient``, :class:`AsyncTokenStore`), or a callable taking the current
    token and returning (or, async, awaiting to) the new one. ``on_refresh`` gets a :class:`RefreshEvent` per
    token request; its exceptions are ignored."""

    requires_request_body = True  # so that the one retry after a 401 can resend the body

    def __init__(
        self,
        refresher: OAuthClient | AsyncOAuthClient | SyncRefresher | AsyncRefresher,
        store: TokenStore | AsyncTokenStore,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], datetime] | None = None,
        on_refresh: Callable[[RefreshEvent], None] | None = None,
        revalidate_after: timedelta = DEFAULT_REVALIDATE_AFTER,
    ) -> None:
        if leeway < timedelta(0):
            raise ValueError("leeway cannot be negative")
        if revalidate_after < timedelta(0):
            raise ValueError("revalidate_after cannot be negative")
        self._refresher = refresher
        self._store = store
        self.leeway = leeway
        if clock is None:
            clock = refresher.clock if isinstance(refresher, _OAuthCore) else _utcnow
        self._clock = clock
        self._on_refresh = on_refresh
        self._refused: set[str] = set()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self.revalidate_after = revalidate_after
        self._generation = _generation_of(store) if revalidate_after > timedelta(0) else None
        self._held: _Held | None = None

    def _gate(self) -> asyncio.Lock:
        """This process's queue in front of ``store.lock()`` (one per event loop: an asyncio lock belongs to one)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Lock()
        return gate

    @property
    def needs_reauth(self) -> bool:
        """Whether a refresh was refused with ``invalid_grant`` (the user must connect again)."""
        return bool(self._refused)

    def reset(self) -> None:
        """Forget refused refresh tokens, allowing token requests with them again, and the token in memory."""
        self._refused.clear()
        self._held = None

    # -- the token in memory

    def _in_memory(self) -> OAuthToken | None:
        """The token held in memory if it may be used without loading: see the class docstring."""
        held, generation = self._held, self._generation
        if held is None or generation is None or generation() != held.generation:
            return None
        now = self._clock()
        if not timedelta(0) <= now - held.read_at < self.revalidate_after:
            return None  # re-validate (a clock stepping back counts too)
        if held.token.needs_refresh(now, self.leeway):
            return None  # the leeway path: the store, its lock, the single flight
        return held.token

    def _before_load(self) -> tuple[int, datetime] | None:
        # The generation is read BEFORE the load: a write that lands in between makes the held token look stale.
        return None if self._generation is None else (self._generation(), self._clock())

    def _loaded(self, mark: tuple[int, datetime] | None, token: OAuthToken | None) -> OAuthToken:
        if mark is not None:
            self._held = None if token is None else _Held(token, *mark)
        return self._present(token)

    def _forget(self) -> None:
        self._held = None

    # -- shared decisions

    def _wants_refresh(self, token: OAuthToken, stale: OAuthToken | None) -> bool:
        if token.refresh_token is None:
            return False  # nothing to refresh with: send what we have and let the API decide
        if stale is not None:
            # After a 401: refresh only if nobody replaced the rejected token yet.
            return token.access_token == stale.access_token
        return token.needs_refresh(self._clock(), self.leeway)

    @staticmethod
    def _present(token: OAuthToken | None) -> OAuthToken:
        if token is None:
            raise MissingTokenError("the token store is empty: connect the account first")
        return token

    def _check_not_refused(self, token: OAuthToken) -> str:
        assert token.refresh_token is not None  # noqa: S101 - _wants_refresh guarantees it
        fingerprint = _fingerprint(token.refresh_token)
        if fingerprint in self._refused:
            raise InvalidGrantError(
                "this refresh token was already refused (invalid_grant): the user must connect again",
                error="invalid_grant",
            )
        return fingerprint

    def _emit(self, reason: RefreshReason, outcome: RefreshOutcome, remaining: float, error: str | None) -> None:
        if self._on_refresh is None:
            return
        # A metrics hook must never break authentication.
        with contextlib.suppress(Exception):
            self._on_refresh(RefreshEvent(reason, outcome, remaining, error))

    @staticmethod
    def _keep_refresh_token(new: OAuthToken, old: OAuthToken) -> OAuthToken:
        return new if new.refresh_token is not None else replace(new, refresh_token=old.refresh_token)

    # -- sync

    def _sync_store(self) -> TokenStore:
        store = self._store
        if inspect.iscoroutinefunction(store.load):
            raise _not_sync("the token store")
        return cast("TokenStore", store)

    def _call_sync_refresher(self, token: OAuthToken) -> OAuthToken:
        refresher = self._refresher
        if isinstance(refresher, AsyncOAuthClient):
            raise _not_sync("the OAuth client")
        if isinstance(refresher, OAuthClient):
            assert token.refresh_token is not None  # noqa: S101 - checked by the caller
            return refresher.refresh(token.refresh_token, previous=token)
        result = refresher(token)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise _not_sync("the refresh callable")
        return result

    def _load_sync(self, store: TokenStore) -> OAuthToken:
        mark = self._before_load()
        return self._loaded(mark, store.load())

    def _token_sync(self, stale: OAuthToken | None) -> tuple[OAuthToken, bool]:
        store = self._sync_store()
        if stale is None and (held := self._in_memory()) is not None:
            return held, False
        token = self._load_sync(store)
        if not self._wants_refresh(token, stale):
            return token, False
        with store.lock():
            token = self._load_sync(store)  # whoever held the lock before us may have refreshed already
            if not self._wants_refresh(token, stale):
                return token, False
            reason: RefreshReason = "expiring" if stale is None else "unauthorized"
            fingerprint = self._check_not_refused(token)
            remaining = token.remaining(self._clock()).total_seconds()
            try:
                new = self._keep_refresh_token(self._call_sync_refresher(token), token)
            except InvalidGrantError as error:
                self._forget()
                self._refused.add(fingerprint)
                self._emit(reason, "invalid_grant", remaining, type(error).__name__)
                raise
            except Exception as error:
                self._forget()
                self._emit(reason, "failed", remaining, type(error).__name__)
                raise
            store.save(new, expected=token)  # committed before the new access token leaves this process
            self._forget()  # the next request loads what was saved (and, with it, the store's new generation)
            self._emit(reason, "refreshed", remaining, None)
            return new, True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize ``request``; refresh first if needed; refresh once and retry once after a 401."""
        token, refreshed = self._token_sync(None)
        request.headers["Authorization"] = f"Bearer {token.access_token.get_secret_value()}"
        response = yield request
        # A token this flow just obtained that is rejected will not be fixed by yet another rotation.
        if response.status_code != 401 or refreshed:
            return
        new, _ = self._token_sync(token)
        if new.access_token == token.access_token:
            return
        request.headers["Authorization"] = f"Bearer {new.access_token.get_secret_value()}"
        yield request

    # -- async

    def _async_store(self) -> AsyncTokenStore:
        store = self._store
        if not inspect.iscoroutinefunction(store.load):
            raise _not_async("token store")
        return cast("AsyncTokenStore", store)

    async def _call_async_refresher(self, token: OAuthToken) -> OAuthToken:
        refresher = self._refresher
        if isinstance(refresher, OAuthClient):
            raise _not_async("OAuth client")
        if isinstance(refresher, AsyncOAuthClient):
            assert token.refresh_token is not None  # noqa: S101 - checked by the caller
            return await refresher.refresh(token.refresh_token, previous=token)
        result = refresher(token)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _load_async(self, store: AsyncTokenStore) -> OAuthToken:
        mark = self._before_load()
        return self._loaded(mark, await store.load())

    async def _token_async(self, stale: OAuthToken | None) -> tuple[OAuthToken, bool]:
        store = self._async_store()
        if stale is None and self._generation is not None:
            if (held := self._in_memory()) is not None:
                return held, False
            return await self._reload_async(store)
        token = await self._load_async(store)
        if not self._wants_refresh(token, stale):
            return token, False
        # Callers of this process queue here first: the one that refreshes goes on to the store's lock (which may
        # span processes, and costs a database round trip); the rest re-read and find its new token.
        async with self._gate():
            token = await self._load_async(store)
            if not self._wants_refresh(token, stale):
                return token, False
            return await self._refresh_async(store, token, stale)

    async def _reload_async(self, store: AsyncTokenStore) -> tuple[OAuthToken, bool]:
        """Nothing usable in memory: one caller of this process loads (and refreshes if it must); the others queue
        on the in-process lock and then find what it loaded."""
        async with self._gate():
            if (held := self._in_memory()) is not None:
                return held, False
            token = await self._load_async(store)
            if not self._wants_refresh(token, None):
                return token, False
            return await self._refresh_async(store, token, None)

    async def _refresh_async(
        self, store: AsyncTokenStore, token: OAuthToken, stale: OAuthToken | None
    ) -> tuple[OAuthToken, bool]:
        async with store.lock():
            token = await self._load_async(store)  # whoever held the lock before us may have refreshed
            if not self._wants_refresh(token, stale):
                return token, False
            reason: RefreshReason = "expiring" if stale is None else "unauthorized"
            fingerprint = self._check_not_refused(token)
            remaining = token.remaining(self._clock()).total_seconds()
            try:
                new = self._keep_refresh_token(await self._call_async_refresher(token), token)
            except InvalidGrantError as error:
                self._forget()
                self._refused.add(fingerprint)
                self._emit(reason, "invalid_grant", remaining, type(error).__name__)
                raise
            except Exception as error:
                self._forget()
                self._emit(reason, "failed", remaining, type(error).__name__)
                raise
            await store.save(new, expected=token)  # committed before the new access token is sent
            self._forget()  # the next request loads what was saved (and, with it, the store's new generation)
            self._emit(reason, "refreshed", remaining, None)
            return new, True

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorize ``request``; refresh first if needed; refresh once and retry once after a 401."""
        token, refreshed = await self._token_async(None)
        request.headers["Authorization"] = f"Bearer {token.access_token.get_secret_value()}"
        response = yield request
        if response.status_code != 401 or refreshed:
            return
        new, _ = await self._token_async(token)
        if new.access_token == token.access_token:
            return
        request.headers["Authorization"] = f"Bearer {new.access_token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return f"RefreshingAuth(leeway={self.leeway.total_seconds():g}s, needs_reauth={self.needs_reauth})"


def _generation_of(store: TokenStore | AsyncTokenStore) -> Callable[[], int] | None:
    """The store's :class:`~onyx_fanvue.oauth.TokenStoreGeneration` check, or ``None`` if it has none."""
    if not isinstance(store, TokenStoreGeneration):
        return None
    if inspect.iscoroutinefunction(store.generation):
        raise TypeError("the token store's generation() must be synchronous: it is checked before every request")
    return store.generation
