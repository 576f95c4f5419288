"""T12 and W10, extended: a full connect + sync + refresh + failure scenario on each engine, with every secret
planted so a scan can recognise it, leaves no secret in the database files, the token column, the logs, or any
error an SDK call raised (``str``, ``repr``, attributes, and the traceback formatted with every frame's locals).

The sandbox issues its tokens and codes with a marker inside, and its client secret carries the marker too. A
proxy in front of it can turn hostile the way a real server might: a 401 that repeats the token it was sent
(without the word "Bearer"), an ``invalid_grant`` whose description repeats the refresh token and the client
secret, and a 2xx token response with fresh tokens but an unusable ``expires_in``. Every logger runs at DEBUG.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
import psycopg
import pytest
from harness import SyncWorld, synced_world
from sqlalchemy.engine import make_url

import onyx_adapters.gateway
from onyx_adapters.scheduler import Scheduler
from onyx_core.connections import Connection, ConnectionStatus
from onyx_core.usecases import maintain_tokens, refresh_creator_stats, sync_agency, sync_creator
from onyx_fanvue.sandbox import oauth_server
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

MARKER = "PLANTED"
EXPIRES_IN = 3600


class Hostile(httpx.AsyncBaseTransport):
    """The sandbox's transport, behind a proxy that answers like a hostile server while ``mode`` is set."""

    mode: str | None = None

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token_endpoint = request.url.path.endswith("/oauth2/token")
        if Hostile.mode == "echo_401" and not request.url.path.startswith("/oauth2"):
            sent = request.headers.get("authorization", "").partition(" ")[2]
            return httpx.Response(401, json={"error": "Unauthorized", "message": f"token {sent} is not valid"})
        if Hostile.mode == "echo_invalid_grant" and token_endpoint:
            form = parse_qs(request.content.decode())
            said = f"refresh token {form['refresh_token'][0]} of client {request.headers['authorization']} is spent"
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": said})
        if Hostile.mode == "unusable" and token_endpoint:
            fresh = {
                "access_token": f"ory_at_{MARKER}{secrets.token_urlsafe(32)}",
                "refresh_token": f"ory_rt_{MARKER}{secrets.token_urlsafe(32)}",
                "expires_in": "soon",
            }
            return httpx.Response(200, json=fresh)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sandbox issues marked tokens and codes, and every sandbox transport goes through :class:`Hostile`."""

    def marked(nbytes: int) -> str:
        return MARKER + secrets.token_urlsafe(nbytes)

    monkeypatch.setattr(oauth_server, "secrets", SimpleNamespace(token_urlsafe=marked))
    plain = FanvueSandbox.transport
    monkeypatch.setattr(FanvueSandbox, "transport", lambda sandbox: Hostile(plain(sandbox)))
    Hostile.mode = None
    yield
    Hostile.mode = None


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


class Errors(list[BaseException]):
    """Every error the scenario saw: the gateway's (recorded as it turns them into details) and direct calls'."""

    async def raised(self, call: Awaitable[object]) -> BaseException:
        try:
            await call
        except Exception as error:
            self.append(error)
            return error
        raise AssertionError("expected the call to fail")


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> Errors:
    seen = Errors()
    detail = onyx_adapters.gateway._detail

    def recording(error: BaseException) -> str:
        seen.append(error)
        return detail(error)

    monkeypatch.setattr(onyx_adapters.gateway, "_detail", recording)
    return seen


@asynccontextmanager
async def hostile(mode: str) -> AsyncIterator[None]:
    Hostile.mode = mode
    try:
        yield
    finally:
        Hostile.mode = None


def exposures(error: BaseException) -> str:
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "\n".join([str(error), repr(error), repr(vars(error)), "".join(shown.format())])


def database_bytes(url: str) -> Iterator[tuple[str, bytes]]:
    """The raw bytes of the SQLite file and its -wal/-shm, or every value of every PostgreSQL table (``bytea``
    columns such as ``connections.tokens`` as their raw bytes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(f"{parsed.database}{suffix}")
            if path.exists():
                yield str(path), path.read_bytes()
        return
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as db:
        tables = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
        for (table,) in tables:
            for row in db.execute(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608 - names from the catalog
                for value in row:
                    yield table, value if isinstance(value, bytes) else str(value).encode()


async def _connection(world: SyncWorld, *, own: bool) -> Connection:
    async with world.ctx.uow() as uow:
        if own:
            found = await uow.connections.for_creator(world.own[0])
        else:
            found = await uow.connections.for_agency(world.agency)
    assert found is not None
    return found


async def _scenario(world: SyncWorld, errors: Errors, snapshot: Callable[[], None]) -> None:
    """Connect, sync, refresh (on use and by maintenance), then each hostile answer in turn; ``snapshot`` after
    each step, since a later failure overwrites an earlier one's stored detail."""
    sandbox, ctx, runtime = world.sandbox, world.ctx, world.runtime
    assert not (await sync_agency(ctx, world.agency)).partial  # connected (marked tokens stored) and synced

    sandbox.advance(timedelta(seconds=EXPIRES_IN - 60))  # within the leeway: the next calls refresh first
    hits = sandbox.token_endpoint_hits
    assert not (await sync_agency(ctx, world.agency)).partial
    assert sandbox.token_endpoint_hits > hits

    sandbox.advance(timedelta(seconds=EXPIRES_IN - 10 * 60))  # the proactive window: maintenance refreshes
    assert (await maintain_tokens(ctx, runtime.clients)).results
    snapshot()

    agency = await _connection(world, own=False)
    async with hostile("echo_401"):  # 401 echo, the one forced refresh (marked tokens), 401 echo again
        await refresh_creator_stats(ctx, world.creators[-1])
        await errors.raised(runtime.clients(agency).users.me())
        await Scheduler(runtime).run(ticks=1)  # its own logging of whatever failed
    snapshot()

    sandbox.advance(timedelta(seconds=EXPIRES_IN - 60))
    async with hostile("unusable"):  # fresh marked tokens in an unusable answer
        await sync_creator(ctx, world.creators[-1])
        await errors.raised(runtime.clients(agency).users.me())
        await errors.raised(runtime.clients.refresh(await _connection(world, own=False)))
    snapshot()

    async with hostile("echo_invalid_grant"):
        own = await _connection(world, own=True)
        await errors.raised(runtime.clients.refresh(own))
        await errors.raised(runtime.clients(own).users.me())
        await maintain_tokens(ctx, runtime.clients)  # marks both connections needs-reauth, storing why
    async with world.ctx.uow() as uow:
        marked = await uow.connections.get(agency.id)
    assert marked is not None
    assert marked.status is ConnectionStatus.NEEDS_REAUTH
    assert marked.last_error
    snapshot()


def _assert_unmarked(where: str, content: bytes | str) -> None:
    text = content if isinstance(content, str) else content.decode("latin-1")
    assert MARKER not in text, f"a planted secret in {where}: …{text[max(0, text.find(MARKER) - 80) :][:200]}…"


async def test_connect_sync_refresh_and_failures_leave_no_secret_anywhere(
    sync_database_url: str, planted: None, every_logger_at_debug: pytest.LogCaptureFixture, errors: Errors
) -> None:
    client_secret = f"{MARKER}-client-secret-{secrets.token_urlsafe(16)}"
    async with synced_world(
        sync_database_url, creators=2, own=1, days=10, expires_in=EXPIRES_IN, client_secret=client_secret
    ) as world:
        del client_secret  # this frame is part of the tracebacks below: only what the code under test holds counts
        stored: list[tuple[str, bytes]] = []
        await _scenario(world, errors, lambda: stored.extend(database_bytes(sync_database_url)))
    stored += database_bytes(sync_database_url)  # closed: SQLite has checkpointed its WAL into the file
    for where, content in stored:
        _assert_unmarked(where, content)
    # not vacuous: the echoes were stored, as the server's words with the secrets taken out
    assert any(b"is not valid" in content and b"[redacted]" in content for _, content in stored)
    assert any(b"is spent" in content and b"[redacted]" in content for _, content in stored)
    assert len(errors) >= 6
    for error in errors:
        _assert_unmarked(f"{type(error).__name__}", exposures(error))
    assert {"httpx", "sqlalchemy.engine.Engine"} <= {record.name for record in every_logger_at_debug.records}
    _assert_unmarked("the captured logs", every_logger_at_debug.text)
    for record in every_logger_at_debug.records:
        _assert_unmarked(f"a log record of {record.name}", record.getMessage())
