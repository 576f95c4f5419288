"""Tokens from memory on the SQL token store, on SQLite and PostgreSQL: the stores' ``generation()`` (the SDK's
optional ``TokenStoreGeneration``) moves on every write of a connection's tokens made through the engine in this
process, including the connection repository's (at the write and again when its transaction ends); the runtime's
``ConnectionClients`` then reads the row once for many calls, and a disconnect or a reconnect made in this process
takes effect on the very next call. Another process's write is seen after ``revalidate_after`` or a 401."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rows import new_connection

from onyx_adapters.connect import token_set
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.sql.engine import create_engine, is_sqlite
from onyx_adapters.sql.token_store import AsyncSqlTokenStore, SqlTokenStore, token_generation
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.connections import Connection
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue.oauth import MissingTokenError, OAuthToken, TokenStoreGeneration
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

CIPHER = ReversibleCipher()
AGENCY = AgencyId("memory-agency")
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def token() -> OAuthToken:
    return OAuthToken(
        access_token="ory_at_" + secrets.token_urlsafe(16),
        refresh_token="ory_rt_" + secrets.token_urlsafe(16),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


async def test_generation_moves_on_every_write_made_through_the_engine(database_url: str) -> None:
    connection_id = new_connection(database_url)
    engine, elsewhere = create_engine(database_url), create_engine(database_url)
    store = AsyncSqlTokenStore(engine, connection_id, CIPHER)
    other_process = AsyncSqlTokenStore(elsewhere, connection_id, CIPHER)
    sync_store = SqlTokenStore(database_url, connection_id, CIPHER)
    try:
        assert isinstance(store, TokenStoreGeneration)
        assert isinstance(sync_store, TokenStoreGeneration)
        g0 = store.generation()
        await store.save(token(), expected=None)
        g1 = store.generation()
        assert g1 != g0
        async with store.lock():  # the refresh path: a save by the lock's holder
            await store.save(token(), expected=await store.load())
        g2 = store.generation()
        assert g2 != g1

        # the connection repository (connect, reconnect, disconnect): at the write, and again at the commit
        async with SqlUnitOfWork(engine, CIPHER) as uow:
            current = await uow.connections.get_for_update(ConnectionId(connection_id))
            assert current is not None
            await uow.connections.save(current.marked_revoked("disconnected"), expected_version=current.token_version)
            g3 = store.generation()
            assert g3 != g2
            await uow.commit()
        g4 = store.generation()
        assert g4 != g3
        assert await store.load() is None
        async with SqlUnitOfWork(engine, CIPHER) as uow:  # a write rolled back moves it too (harmless re-read)
            current = await uow.connections.get_for_update(ConnectionId(connection_id))
            assert current is not None
            await uow.connections.save(current, expected_version=current.token_version)
            await uow.rollback()
        g5 = store.generation()
        assert g5 not in {g3, g4}

        # another engine is another process: its writes do not move this one's, nor the sync store's own engine
        before, sync_before = store.generation(), sync_store.generation()
        await other_process.save(token(), expected=None)
        assert store.generation() == before
        assert other_process.generation() == token_generation(elsewhere, connection_id) != 0
        sync_store.save(token(), expected=sync_store.load())
        assert sync_store.generation() != sync_before
        assert store.generation() == before
    finally:
        sync_store.close()
        await engine.dispose()
        await elsewhere.dispose()


# ---------------------------------------------------------------------------------------------------- runtime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, remembering (digests of) the bearer token of every API request and its status."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer:
            self.sent.append((_digest(bearer), response.status_code))
        return response


@dataclass
class World:
    sandbox: FanvueSandbox
    runtime: Runtime
    wire: Recording
    connection: Connection
    loads: Callable[[], int]

    async def me(self) -> None:
        me = await self.runtime.clients(self.connection).users.me()
        assert me.uuid == self.sandbox.admin

    async def stored(self) -> OAuthToken:
        stored = await self.runtime.clients.store(self.connection.id).load()
        assert stored is not None
        return stored


@asynccontextmanager
async def world(database_url: str, seed: int) -> AsyncIterator[World]:
    """A sandbox world (``seed``: its own admin, so its own connection row in the session's database) connected
    through the runtime, counting the loads of the connection's token store."""
    sandbox = FanvueSandbox(spec=WorldSpec(seed=seed, creators=1, days=1), clock=SandboxClock(T0), rate_limit=100_000)
    wire = Recording(sandbox.transport())
    cipher = FernetCipher([FernetCipher.generate_key()])
    async with sandbox_runtime(sandbox, database_url, cipher, client_options={"transport": wire}) as runtime:
        grant = await connect_agency(runtime, sandbox, AGENCY, "Memory Agency")
        store = runtime.clients.store(grant.connection.id)
        load = store.load
        count = 0

        async def counted() -> OAuthToken | None:
            nonlocal count
            count += 1
            return await load()

        store.load = counted  # type: ignore[method-assign]
        yield World(sandbox, runtime, wire, grant.connection, lambda: count)


async def test_many_calls_read_the_row_once_and_an_in_process_reconnect_or_disconnect_applies_at_once(
    database_url: str,
) -> None:
    async with world(database_url, 101) as w:
        for _ in range(20):
            await w.me()
        assert w.loads() == 1
        first = await w.stored()
        assert {status for _, status in w.wire.sent} == {200}

        # reconnect through the connect flow (the connection repository), in this process
        await connect_agency(w.runtime, w.sandbox, AGENCY, "Memory Agency")
        reconnected = await w.stored()
        assert reconnected.access_token != first.access_token
        sent = len(w.wire.sent)
        await w.me()
        await w.me()
        assert w.wire.sent[sent:] == [(_digest(reconnected.access_token.get_secret_value()), 200)] * 2

        # disconnect in this process: the next call sends nothing
        async with w.runtime.ctx.uow() as uow:
            current = await uow.connections.get_for_update(w.connection.id)
            assert current is not None
            await uow.connections.save(current.marked_revoked("disconnected"), expected_version=current.token_version)
            await uow.commit()
        sent = len(w.wire.sent)
        with pytest.raises(MissingTokenError):
            await w.me()
        assert len(w.wire.sent) == sent


async def test_another_process_s_write_is_seen_after_revalidate_after_or_at_a_401(database_url: str) -> None:
    async with world(database_url, 102) as w:
        await w.me()
        engine = create_engine(database_url)  # another process: its own engine, nothing shared in memory
        try:
            elsewhere = AsyncSqlTokenStore(engine, w.connection.id, w.runtime.cipher)

            # another process stores a new grant; ours (still valid at Fanvue) is used until the age is reached
            current = await elsewhere.load()
            fresh = OAuthToken.from_response(w.sandbox.tokens(), w.sandbox.clock.now())
            await elsewhere.save(fresh, expected=current)
            sent = len(w.wire.sent)
            await w.me()
            assert current is not None
            assert w.wire.sent[sent:] == [(_digest(current.access_token.get_secret_value()), 200)]
            w.sandbox.advance(60)  # the default revalidate_after
            await w.me()
            assert w.wire.sent[-1] == (_digest(fresh.access_token.get_secret_value()), 200)

            # another process refreshes: Fanvue retires the access token in our memory; one 401, one re-read, retry
            async with elsewhere.lock():
                held = await elsewhere.load()
                assert held is not None
                assert held.refresh_token is not None
                renewed = await w.runtime.oauth.refresh(held.refresh_token, previous=held)
                await elsewhere.save(renewed, expected=held)
            sent, loads, hits = len(w.wire.sent), w.loads(), w.sandbox.token_endpoint_hits
            await w.me()
            renewed_digest = _digest(renewed.access_token.get_secret_value())
            assert w.wire.sent[sent:] == [(_digest(fresh.access_token.get_secret_value()), 401), (renewed_digest, 200)]
            assert w.loads() == loads + 1
            assert w.sandbox.token_endpoint_hits == hits  # nothing refreshed: the stored token was newer
            await w.me()
            assert w.wire.sent[-1] == (renewed_digest, 200)
            assert w.loads() == loads + 1
        finally:
            await engine.dispose()


async def test_a_call_between_a_reconnect_s_write_and_its_commit_does_not_keep_the_old_token(
    database_url: str,
) -> None:
    """PostgreSQL (READ COMMITTED) lets a call read the row while a reconnect's transaction has written it but not
    committed: the call gets the old token, under the generation the write already moved. The commit moves it
    again, so the call after it reads the new token. (SQLite: the call's read waits for the writer's lock.)"""
    async with world(database_url, 103) as w:
        await w.me()
        fresh = OAuthToken.from_response(w.sandbox.tokens(), w.sandbox.clock.now())
        async with w.runtime.ctx.uow() as uow:
            current = await uow.connections.get_for_update(w.connection.id)
            assert current is not None
            reconnected = current.with_tokens(token_set(fresh), w.sandbox.clock.now())
            await uow.connections.save(reconnected, expected_version=current.token_version)
            between = asyncio.create_task(w.me())
            done, _ = await asyncio.wait({between}, timeout=5)
            if not is_sqlite(database_url):
                assert done, "the read did not wait for the writer on PostgreSQL"
            await uow.commit()
        await between
        sent = len(w.wire.sent)
        await w.me()
        assert w.wire.sent[sent:] == [(_digest(fresh.access_token.get_secret_value()), 200)]
