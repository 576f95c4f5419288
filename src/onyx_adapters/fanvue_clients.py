"""SDK clients for stored connections: each authenticated from its ``connections`` row, refreshing safely.

:class:`ConnectionClients` is the gateway's ``client_for`` in production and in the sandbox demo alike. For each
connection it keeps one :class:`~onyx_fanvue.AsyncFanvueClient` whose auth is
:class:`~onyx_fanvue.oauth.RefreshingAuth` over an :class:`~onyx_adapters.sql.token_store.AsyncSqlTokenStore` on
that row: the token is kept in memory and read from the database only on a connection's first request, within the
leeway, after a 401, after any write of the row's tokens made in this process (a refresh, connect, reconnect or
disconnect: the store's generation) and at least every ``revalidate_after`` (for other processes' writes); refreshed
only within the leeway, single-flight across processes, and the new refresh token is committed before the new
access token is used. All clients share
one :class:`~onyx_fanvue.ratelimit.RateBudget` (one OAuth app, Fanvue's per-user and per-creator buckets).

It is also the :class:`~onyx_core.ports.GrantRefresher` of the maintenance job, refreshing through the same
store and lock. The tokens pass through it as :class:`~onyx_fanvue.redaction.Secret` values, and a failed
refresh's detail (stored as the connection's ``last_error``, logged by the workers) is scrubbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.gateway import reason_for
from onyx_adapters.sql.token_store import AsyncSqlTokenStore
from onyx_core.connections import Connection
from onyx_core.ids import ConnectionId
from onyx_core.ports import Cipher, GrantRefusedError, SourceUnavailableError
from onyx_core.stats import MissingReason
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue.errors import FanvueError, InvalidGrantError, TokenStoreConflict
from onyx_fanvue.oauth import DEFAULT_LEEWAY, DEFAULT_REVALIDATE_AFTER, AsyncOAuthClient, RefreshingAuth
from onyx_fanvue.ratelimit import RateBudget
from onyx_fanvue.redaction import scrub

__all__ = ["ConnectionClients"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConnectionClients:
    """``client_for`` (one SDK client per connection) and :class:`~onyx_core.ports.GrantRefresher`.

    ``oauth`` refreshes tokens (it belongs to the caller, who closes it); ``client_options`` go to every
    :class:`~onyx_fanvue.AsyncFanvueClient` (``base_url``, ``transport``, ``timeout``, ``retry``...);
    ``rate_budget`` is shared by all of them (default: a fresh one at Fanvue's 200 / 60 s); ``clock`` is the
    time tokens expire by (the sandbox's in tests); ``revalidate_after``: how long a token held in memory is used
    before it is read again (see :class:`~onyx_fanvue.oauth.RefreshingAuth`; ``timedelta(0)``: on every request).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        cipher: Cipher,
        oauth: AsyncOAuthClient,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        revalidate_after: timedelta = DEFAULT_REVALIDATE_AFTER,
        rate_budget: RateBudget | None = None,
        clock: Callable[[], datetime] = _utcnow,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._oauth = oauth
        self._leeway = leeway
        self._revalidate_after = revalidate_after
        self._clock = clock
        self.rate_budget = rate_budget or RateBudget()
        self._options = dict(client_options or {})
        self._stores: dict[ConnectionId, AsyncSqlTokenStore] = {}
        self._clients: dict[ConnectionId, AsyncFanvueClient] = {}

    def store(self, connection_id: ConnectionId) -> AsyncSqlTokenStore:
        """The token store on ``connection_id``'s row (one per connection, so its in-process lock is shared)."""
        store = self._stores.get(connection_id)
        if store is None:
            store = AsyncSqlTokenStore(self._engine, connection_id, self._cipher, clock=self._clock)
            self._stores[connection_id] = store
        return store

    def __call__(self, connection: Connection) -> AsyncFanvueClient:
        client = self._clients.get(connection.id)
        if client is None:
            auth = RefreshingAuth(
                self._oauth,
                self.store(connection.id),
                leeway=self._leeway,
                clock=self._clock,
                revalidate_after=self._revalidate_after,
            )
            client = AsyncFanvueClient(
                auth=auth, rate_budget=self.rate_budget, user_uuid=connection.fanvue_user_uuid, **self._options
            )
            self._clients[connection.id] = client
        return client

    async def refresh(self, connection: Connection) -> bool:
        """Refresh ``connection``'s tokens now under the same lock as every API call's refresh (see
        :class:`~onyx_core.ports.GrantRefresher`)."""
        store = self.store(connection.id)
        try:
            async with store.lock():
                if await store.version() != connection.token_version:
                    return False  # refreshed or reconnected since the caller read it
                token = await store.load()
                if token is None or token.refresh_token is None:
                    detail = f"connection {connection.id} has no refresh token"
                    raise SourceUnavailableError(MissingReason.NO_CONNECTION, detail)
                # a response without a refresh token keeps the stored one (the SDK does that, byte for byte)
                new = await self._oauth.refresh(token.refresh_token, previous=token)
                await store.save(new, expected=token)  # committed before anything uses the new access token
        except InvalidGrantError as error:
            raise GrantRefusedError(scrub(f"{type(error).__name__}: {error}")) from error
        except TokenStoreConflict:
            return False
        except (FanvueError, TimeoutError) as error:
            raise SourceUnavailableError(reason_for(error), scrub(f"{type(error).__name__}: {error}")) from error
        return True

    async def aclose(self) -> None:
        """Close every client this object made (not ``oauth``, not the engine)."""
        clients, self._clients = list(self._clients.values()), {}
        self._stores = {}
        await asyncio.gather(*(client.aclose() for client in clients))

    def __repr__(self) -> str:
        return f"ConnectionClients(connections={len(self._clients)})"
