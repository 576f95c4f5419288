"""Workers sharing one connection row, each built as a separate Onyx process builds it, for T10 and T11.

A :class:`Worker` is what one process holds in production: its own engine (its own database sessions), its own
:class:`~onyx_adapters.fanvue_clients.ConnectionClients` (an SDK client whose ``RefreshingAuth`` sits on an
``AsyncSqlTokenStore`` of the row), its own OAuth client, and its own clock: the sandbox's clock plus an offset, the
machine's skew. Nothing in memory is shared between workers, so only the store's database lock keeps them apart:
on PostgreSQL a session-level ``pg_advisory_lock`` plus ``SELECT … FOR UPDATE``, on SQLite the write lock of a
``BEGIN IMMEDIATE`` transaction, both held by a database session of the worker's own engine, exactly as they would
be across processes.

All traffic goes through one :class:`Wire` into the in-process sandbox, which records what a test must count.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from rows import new_connection

from onyx_adapters.fanvue_clients import ConnectionClients
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.token_store import SqlTokenStore
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue.oauth import AsyncOAuthClient, OAuthToken
from onyx_fanvue.ratelimit import RateBudget
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

CIPHER = ReversibleCipher()

_CALL: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("token_workers_call", default=None)
_BEARERS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("token_workers_bearers", default=None)


@contextmanager
def one_call() -> Iterator[list[int]]:
    """Collect the HTTP status of every API request the current task sends inside the block (one SDK call: its
    first attempt, then any retry)."""
    statuses: list[int] = []
    marker = _CALL.set(statuses)
    try:
        yield statuses
    finally:
        _CALL.reset(marker)


@dataclass
class Wire(httpx.AsyncBaseTransport):
    """The network between the workers and the sandbox. Records API statuses (per call, see :func:`one_call`) and
    token-endpoint answers; ``fail_token_requests`` makes that many next token requests fail before the server
    sees them (``"503"``: a gateway answers 503; ``"connect"``: the connection is refused), so nothing is rotated."""

    inner: httpx.AsyncBaseTransport
    token_requests: int = 0
    rotations: int = 0
    """Token responses 200 to a refresh: each rotated the refresh token once."""
    invalid_grants: int = 0
    unauthorized: int = 0
    """API answers 401."""
    fail_token_requests: int = 0
    failure: str = "503"
    failed_token_requests: int = 0
    token_errors: list[str] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/oauth2/token"):
            bearers = _BEARERS.get()
            if bearers is not None:
                bearers.append(request.headers.get("Authorization", "").removeprefix("Bearer "))
            response = await self.inner.handle_async_request(request)
            statuses = _CALL.get()
            if statuses is not None:
                statuses.append(response.status_code)
            if response.status_code == 401:
                self.unauthorized += 1
            return response
        self.token_requests += 1
        if self.fail_token_requests > 0:
            self.fail_token_requests -= 1
            self.failed_token_requests += 1
            if self.failure == "connect":
                raise httpx.ConnectError("connection refused (test fault)", request=request)
            return httpx.Response(503, text="<html>Service Unavailable</html>", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        body = json.loads(response.content or b"{}")
        if response.status_code == 200 and b"grant_type=refresh_token" in request.content:
            self.rotations += 1
        elif response.status_code != 200:
            self.token_errors.append(str(body.get("error")))
            if body.get("error") == "invalid_grant":
                self.invalid_grants += 1
        return response


class SkewedClock:
    """The sandbox's clock (true time) plus ``offset``: one machine's clock. ``offset`` may be changed (an NTP step)."""

    def __init__(self, sandbox: FanvueSandbox, offset: timedelta = timedelta(0)) -> None:
        self._sandbox = sandbox
        self.offset = offset

    def __call__(self) -> datetime:
        return self._sandbox.clock.now() + self.offset


async def _no_wait(_: float) -> None:
    """Backoff waits take no time: the tests move the sandbox clock themselves."""


@dataclass
class Shared:
    """What every worker of one test reaches: the sandbox, the network to it, the database and the row."""

    sandbox: FanvueSandbox
    wire: Wire
    database_url: str
    connection: Connection
    leeway: timedelta = timedelta(seconds=300)

    @classmethod
    def open(cls, sandbox: FanvueSandbox, database_url: str, leeway: timedelta = timedelta(seconds=300)) -> Shared:
        """A fresh connection row holding a token the connect flow obtained on a machine whose clock is right (the
        sandbox's): its ``expires_at`` is in true time."""
        row = new_connection(database_url)
        connection = Connection(
            id=ConnectionId(row),
            kind=ConnectionKind.AGENCY,
            agency_id=AgencyId("agency"),
            creator_id=None,
            fanvue_user_uuid=sandbox.admin,
            status=ConnectionStatus.ACTIVE,
            tokens=None,
        )
        store = SqlTokenStore(database_url, row, CIPHER)
        try:
            store.save(OAuthToken.from_response(sandbox.tokens(), sandbox.clock.now()), expected=None)
        finally:
            store.close()
        return cls(sandbox, Wire(sandbox.transport()), database_url, connection, leeway)

    def reader(self) -> SqlTokenStore:
        """A store on the row that only reads (an observer's own connection: sees only what is committed)."""
        return SqlTokenStore(self.database_url, self.connection.id, CIPHER)


class Worker:
    """One process's Fanvue wiring (see the module docstring). :meth:`close` is the process exiting."""

    def __init__(self, shared: Shared, offset: timedelta = timedelta(0)) -> None:
        sandbox = shared.sandbox
        self.shared = shared
        self.clock = SkewedClock(sandbox, offset)
        self.engine = create_engine(shared.database_url)
        self._token_http = httpx.AsyncClient(transport=shared.wire)
        self.oauth = AsyncOAuthClient(
            sandbox.client_id,
            sandbox.client_secret,
            sandbox.redirect_uris[0],
            http_client=self._token_http,
            clock=self.clock,
            sleep=_no_wait,
        )
        budget = RateBudget(
            capacity=sandbox.limiter.limit,
            period=sandbox.limiter.window.total_seconds(),
            clock=sandbox.clock.timestamp,
            wall_clock=sandbox.clock.timestamp,
            async_sleep=_no_wait,
        )
        self.clients = ConnectionClients(
            self.engine,
            CIPHER,
            self.oauth,
            leeway=shared.leeway,
            rate_budget=budget,
            clock=self.clock,
            client_options={"transport": shared.wire, "sleep": _no_wait},
        )
        self.sent: list[str] = []
        """The bearer token of every API request this worker sent (tests clear it when they like)."""

    @property
    def client(self) -> AsyncFanvueClient:
        return self.clients(self.shared.connection)

    async def me(self) -> list[int]:
        """One API call (``users.me``); returns the statuses of the requests it sent. Raises what the SDK raises."""
        marker = _BEARERS.set(self.sent)
        try:
            with one_call() as statuses:
                me = await self.client.users.me()
        finally:
            _BEARERS.reset(marker)
        assert me.uuid == self.shared.sandbox.admin
        return statuses

    async def close(self) -> None:
        await self.clients.aclose()
        await self.oauth.aclose()
        await self._token_http.aclose()
        await self.engine.dispose()
