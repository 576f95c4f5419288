"""The SQL token store: compare-and-set saves fenced by ``token_version``, encryption at rest, and a refresh lock
that excludes other connections (threads, tasks, processes) and that the holder can save through."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from rows import new_connection
from sqlalchemy import select

from onyx_adapters.sql.engine import create_sync_engine, is_sqlite, sqlite_file
from onyx_adapters.sql.schema import connections
from onyx_adapters.sql.token_store import (
    AsyncSqlTokenStore,
    SqlTokenStore,
    decode_token,
    encode_token,
)
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue.errors import MissingTokenError, TokenStoreConflict
from onyx_fanvue.oauth import OAuthToken

CIPHER = ReversibleCipher()


def raw_row(url: str, connection_id: str) -> dict[str, object]:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as db:
            row = db.execute(select(connections).where(connections.c.id == connection_id)).one()
        return dict(row._mapping)
    finally:
        engine.dispose()


def plain(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def token(seconds: float = 3600, *, refresh: bool = True) -> OAuthToken:
    return OAuthToken(
        access_token="ory_at_" + secrets.token_urlsafe(32),
        refresh_token="ory_rt_" + secrets.token_urlsafe(32) if refresh else None,
        expires_at=datetime.now(UTC).replace(microsecond=123456) + timedelta(seconds=seconds),
        scope=frozenset({"openid", "offline_access", "read:self"}),
    )


# ---------------------------------------------------------------------------------------------------- codec


def test_the_codec_round_trips_exactly() -> None:
    original = token()
    with_id = OAuthToken(access_token="a", expires_at=original.expires_at, id_token="jwt", token_type="Bearer")
    for value in (original, token(refresh=False), with_id):
        assert decode_token(encode_token(value)) == value
    assert b"scopes" in encode_token(original)  # the core's TokenSet field name


# ---------------------------------------------------------------------------------------------------- sync


def test_save_then_load_round_trips_and_bumps_the_version(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, CIPHER)
    try:
        assert store.load() is None
        assert store.version() == 0
        first = token()
        store.save(first, expected=None)
        assert store.load() == first
        second = token()
        store.save(second, expected=first)
        assert store.load() == second
        assert store.version() == 2
        row = raw_row(database_url, connection_id)
        assert row["expires_at"] == second.expires_at
        assert row["status"] == "active"
        assert isinstance(row["last_refreshed_at"], datetime)
    finally:
        store.close()


def test_a_stale_expected_token_is_a_conflict_and_changes_nothing(database_url: str) -> None:
    connection_id = new_connection(database_url)
    mine = SqlTokenStore(database_url, connection_id, CIPHER)
    theirs = SqlTokenStore(database_url, connection_id, CIPHER)
    try:
        old = token()
        mine.save(old, expected=None)
        loaded = mine.load()
        theirs.save(token(), expected=old)  # another process refreshed first
        winner = theirs.load()
        with pytest.raises(TokenStoreConflict):
            mine.save(token(), expected=loaded)
        with pytest.raises(TokenStoreConflict):
            mine.save(token(), expected=None)
        assert mine.load() == winner
        assert mine.version() == 2
    finally:
        mine.close()
        theirs.close()


def test_no_token_is_stored_in_clear(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, CIPHER)
    try:
        value = token()
        store.save(value, expected=None)
        stored = raw_row(database_url, connection_id)["tokens"]
        assert isinstance(stored, bytes)
        assert value.access_token.get_secret_value().encode() not in stored
        assert value.refresh_token is not None
        assert value.refresh_token.get_secret_value().encode() not in stored
        assert b"ory_" not in stored
        path = sqlite_file(database_url)
        if path is not None:  # SQLite: not in the database file nor its write-ahead log either
            for file in (path, path.with_name(path.name + "-wal")):
                if file.exists():
                    content = file.read_bytes()
                    assert value.access_token.get_secret_value().encode() not in content
                    assert value.refresh_token.get_secret_value().encode() not in content
    finally:
        store.close()


def test_a_missing_connection_has_no_token_and_cannot_be_locked_or_saved(database_url: str) -> None:
    store = SqlTokenStore(database_url, f"cn-missing-{uuid.uuid4().hex[:8]}", CIPHER)
    try:
        assert store.load() is None
        with pytest.raises(MissingTokenError), store.lock():
            pass
        with pytest.raises(MissingTokenError):
            store.save(token(), expected=None)
    finally:
        store.close()


def test_save_inside_the_lock_commits_at_once_and_does_not_deadlock(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, CIPHER)
    observer = SqlTokenStore(database_url, connection_id, CIPHER)  # another "process"
    try:
        old, new = token(30), token()
        store.save(old, expected=None)
        started = time.monotonic()
        with store.lock():
            assert store.load() == old  # the holder reads through its own connection
            with store.lock():  # re-entrant in the holding thread
                store.save(new, expected=old)
            assert observer.load() == new  # committed before save returned, while the lock is still held
            assert observer.version() == 2
            with pytest.raises(TokenStoreConflict):
                store.save(token(), expected=old)
            assert store.load() == new
        assert time.monotonic() - started < 5
    finally:
        store.close()
        observer.close()


def test_the_lock_excludes_other_connections_until_the_holder_saved(database_url: str) -> None:
    connection_id = new_connection(database_url)
    holder = SqlTokenStore(database_url, connection_id, CIPHER)
    waiter = SqlTokenStore(database_url, connection_id, CIPHER)  # its own engine: like another process
    holder.save(token(), expected=None)
    seen: list[OAuthToken | None] = []
    entered = threading.Event()

    def wait_for_lock() -> None:
        entered.wait()
        with waiter.lock():
            current = waiter.load()
            seen.append(current)
            waiter.save(token(), expected=current)

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    try:
        with holder.lock():
            entered.set()
            time.sleep(0.6)
            assert not seen
            current = holder.load()
            saved = token()
            holder.save(saved, expected=current)
            if not is_sqlite(database_url):
                time.sleep(0.3)
                assert not seen  # PostgreSQL: the advisory lock spans the save's commit
            # SQLite takes its write lock again at once; another process may get it first and sees the saved token.
        thread.join(10)
        assert seen == [saved]
        assert holder.version() == 3
    finally:
        thread.join(10)
        holder.close()
        waiter.close()


def test_a_save_by_another_thread_waits_for_the_lock_holder(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, CIPHER)
    first = token()
    store.save(first, expected=None)
    outcome: list[BaseException | None] = []

    def stale_save() -> None:
        try:
            store.save(token(), expected=first)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    try:
        with store.lock():
            thread = threading.Thread(target=stale_save)
            thread.start()
            time.sleep(0.4)
            assert not outcome  # blocked behind the held lock (row lock / write lock)
            store.save(token(), expected=first)
        thread.join(10)
        assert isinstance(outcome[0], TokenStoreConflict)
        assert store.version() == 2
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------- async


async def test_async_round_trip_conflict_and_version(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = AsyncSqlTokenStore(database_url, connection_id, CIPHER)
    try:
        assert await store.load() is None
        first, second = token(), token()
        await store.save(first, expected=None)
        assert await store.load() == first
        with pytest.raises(TokenStoreConflict):
            await store.save(second, expected=None)
        await store.save(second, expected=first)
        assert await store.load() == second
        assert await store.version() == 2
        stored = raw_row(database_url, connection_id)["tokens"]
        assert isinstance(stored, bytes)
        assert second.access_token.get_secret_value().encode() not in stored
    finally:
        await store.aclose()


async def test_async_save_inside_the_lock_commits_at_once(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = AsyncSqlTokenStore(database_url, connection_id, CIPHER)
    observer = SqlTokenStore(database_url, connection_id, CIPHER)
    try:
        old, new = token(30), token()
        await store.save(old, expected=None)
        async with asyncio.timeout(10), store.lock():
            assert await store.load() == old
            async with store.lock():
                await store.save(new, expected=old)
            assert await asyncio.to_thread(observer.load) == new
            assert await store.version() == 2
        assert await store.load() == new
    finally:
        await store.aclose()
        observer.close()


async def test_async_lock_serialises_tasks_and_other_stores(database_url: str) -> None:
    connection_id = new_connection(database_url)
    stores = [AsyncSqlTokenStore(database_url, connection_id, CIPHER) for _ in range(2)]
    await stores[0].save(token(30), expected=None)
    inside = 0
    most = 0
    refreshes = 0

    async def refresh_once(store: AsyncSqlTokenStore) -> None:
        nonlocal inside, most, refreshes
        async with store.lock():
            inside += 1
            most = max(most, inside)
            current = await store.load()
            assert current is not None
            if current.remaining(datetime.now(UTC)) < timedelta(minutes=5):
                await asyncio.sleep(0.05)
                await store.save(token(), expected=current)
                refreshes += 1
            inside -= 1

    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(refresh_once(stores[i % 2]) for i in range(10)))
        # SQLite cannot keep its write lock across the save's commit: another store may enter while the holder
        # re-takes it (harmless: it reads the token just saved). PostgreSQL's advisory lock spans the commit.
        assert most == 1 if not is_sqlite(database_url) else most <= 2
        assert refreshes == 1
        assert await stores[1].version() == 2
    finally:
        for store in stores:
            await store.aclose()


async def test_a_task_spawned_inside_the_lock_does_not_share_it(database_url: str) -> None:
    connection_id = new_connection(database_url)
    store = AsyncSqlTokenStore(database_url, connection_id, CIPHER)
    await store.save(token(), expected=None)
    entered = asyncio.Event()

    async def child() -> None:
        async with store.lock():  # copies the holder's context, but is another task: it must wait
            entered.set()

    try:
        async with asyncio.timeout(10):
            async with store.lock():
                task = asyncio.create_task(child())
                await asyncio.sleep(0.3)
                assert not entered.is_set()
            await task
        assert entered.is_set()
    finally:
        await store.aclose()


# ------------------------------------------------------------------------------------------- one row, two views


async def test_the_token_store_and_the_connection_repository_read_each_others_tokens(database_url: str) -> None:
    """The SDK's token store and the core's connection repository share the ``connections`` row: each reads what
    the other wrote, and a refresh through the store moves the repository's ``token_version``."""
    from onyx_adapters.sql.engine import create_engine  # noqa: PLC0415
    from onyx_adapters.sql.uow import SqlUnitOfWork  # noqa: PLC0415
    from onyx_core.ids import ConnectionId  # noqa: PLC0415

    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, CIPHER)
    engine = create_engine(database_url)
    try:
        first = token()
        store.save(first, expected=None)
        async with SqlUnitOfWork(engine, CIPHER) as uow:
            seen = await uow.connections.get(ConnectionId(connection_id))
        assert seen is not None
        assert seen.tokens is not None
        assert (seen.tokens.access_token, seen.tokens.refresh_token) == (
            plain(first.access_token),
            plain(first.refresh_token),
        )
        assert seen.tokens.expires_at == first.expires_at
        assert seen.tokens.scopes == first.scope
        assert seen.token_version == 1

        async with SqlUnitOfWork(engine, CIPHER) as uow:
            current = await uow.connections.get_for_update(ConnectionId(connection_id))
            assert current is not None
            renewed = token()
            tokens = type(seen.tokens)(
                plain(renewed.access_token),
                plain(renewed.refresh_token),
                renewed.expires_at,
                renewed.scope,
                renewed.token_type,
            )
            await uow.connections.save(current.with_tokens(tokens, datetime.now(UTC)), expected_version=1)
            await uow.commit()
        loaded = store.load()
    finally:
        await engine.dispose()
        store.close()
    assert loaded is not None
    assert (loaded.access_token, loaded.refresh_token, loaded.expires_at) == (
        renewed.access_token,
        renewed.refresh_token,
        renewed.expires_at,
    )


def test_a_sqlite_engine_without_onyx_locking_is_refused(tmp_path: Path) -> None:
    """A plain SQLite engine issues a deferred BEGIN: its "lock" would take no lock and two refreshers could spend
    one refresh token. Every SQL adapter refuses it."""
    from sqlalchemy import create_engine as plain_engine  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from onyx_adapters.sql.analytics import SqlAnalytics  # noqa: PLC0415
    from onyx_adapters.sql.uow import SqlUnitOfWork  # noqa: PLC0415

    sync_plain = plain_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async_plain = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match="create_engine"):
        SqlTokenStore(sync_plain, "cn-1", CIPHER)
    with pytest.raises(ValueError, match="create_engine"):
        AsyncSqlTokenStore(async_plain, "cn-1", CIPHER)
    with pytest.raises(ValueError, match="create_engine"):
        SqlUnitOfWork(async_plain, CIPHER)
    with pytest.raises(ValueError, match="create_engine"):
        SqlAnalytics(async_plain)
    sync_plain.dispose()
    SqlTokenStore(create_sync_engine(f"sqlite:///{tmp_path / 'x.db'}"), "cn-1", CIPHER).close()
