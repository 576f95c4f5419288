"""The SDK's token store on the ``connections`` row, with a refresh lock that spans processes.

Fanvue rotates refresh tokens and a reused one kills the grant, so every process of an agency must refresh a
connection one at a time and must never use a new access token before the new refresh token is durable.
:class:`SqlTokenStore` (sync, for ``httpx.Client``) and :class:`AsyncSqlTokenStore` (asyncio) give
:class:`~onyx_fanvue.oauth.RefreshingAuth` exactly that:

- ``lock()`` is a database lock held for the whole refresh. PostgreSQL: a session-level
  ``pg_advisory_lock`` keyed by the connection id, plus ``SELECT … FOR UPDATE`` on the row in a transaction kept
  open (so lock-less writers of the row wait too). SQLite: the write lock of a ``BEGIN IMMEDIATE`` transaction kept
  open. A wait gives up after ``lock_timeout`` seconds on PostgreSQL (``lock_timeout``) and after the engine's
  30 s busy timeout on SQLite. An in-process lock in front keeps this store's other threads/tasks off the
  database while they wait.
- ``save(new, expected=old)`` is a compare-and-set fenced by ``token_version`` and COMMITTED before it returns.
  Called by the lock's holder (same thread, same task), it runs on the lock's own connection (a second connection
  would wait for the lock its own caller holds: a deadlock), commits and takes the row lock again. On PostgreSQL the
  advisory lock spans that commit, so the lock is continuous; SQLite cannot keep its write lock across a commit,
  so another process may take the lock between the commit and the re-take, which is harmless: it re-reads and
  finds the token just saved. ``load()`` by the holder also reads through the lock's connection.
- The token is stored as ``cipher.encrypt(JSON)`` (see :func:`encode_token`); ``expires_at`` is kept in clear
  beside it so maintenance can find expiring connections without decrypting. Decrypted, the JSON goes straight
  into :class:`~onyx_fanvue.redaction.Secret` values (see :mod:`~onyx_adapters.sql.token_json`).

The store never creates the connection row: the connect flow (the connection repository) does.

Both stores have the SDK's optional :class:`~onyx_fanvue.oauth.TokenStoreGeneration` capability, so that
:class:`~onyx_fanvue.oauth.RefreshingAuth` keeps the token in memory: ``generation()`` is a counter in this process,
per engine and connection id, raised after every ``save`` of either store on that engine and, through
:func:`note_token_write`, by the connection repository's writes (connect, reconnect, disconnect, needs-reauth) both
when they are made and when their transaction ends. Free to check (a dict read, no I/O). Writes by other processes
do not move it: the auth re-reads after its ``revalidate_after`` and after a 401 for those.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretBytes
from sqlalchemy import Connection, Engine, Select, event, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql import token_json
from onyx_adapters.sql.engine import (
    READ_ONLY,
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    create_sync_engine,
    require_onyx_engine,
)
from onyx_adapters.sql.schema import connections
from onyx_core.ports import Cipher
from onyx_fanvue.errors import MissingTokenError, TokenStoreConflict
from onyx_fanvue.oauth import OAuthToken

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "AsyncSqlTokenStore",
    "SqlTokenStore",
    "decode_token",
    "encode_token",
    "note_token_write",
    "token_generation",
]

DEFAULT_LOCK_TIMEOUT = SQLITE_BUSY_TIMEOUT_MS / 1000
"""Seconds a lock (or a save behind someone else's lock) waits before failing: the same on both engines."""

_ACTIVE = "active"


# ---------------------------------------------------------------------------------------------------- codec


def encode_token(token: OAuthToken) -> bytes:
    """The token in the stored JSON format (to encrypt); the connection repository reads the same format."""
    return token_json.dump(
        token_json.StoredToken(
            token.access_token, token.refresh_token, token.expires_at, token.scope, token.token_type, token.id_token
        )
    )


def decode_token(data: bytes | SecretBytes) -> OAuthToken:
    """The inverse of :func:`encode_token` (exact: a decoded token compares equal to the one encoded). Pass the
    decrypted plaintext as a :class:`~pydantic.SecretBytes` to keep it out of every frame's locals."""
    stored = token_json.load(data)
    return OAuthToken(
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        token_type=stored.token_type,
        expires_at=stored.expires_at,
        scope=stored.scopes,
        id_token=stored.id_token,
    )


# ---------------------------------------------------------------------------------------------------- engines


def _url_of(engine: Engine | AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


# ---------------------------------------------------------------------------------------------------- generations

# Per engine (its sync core: an AsyncEngine's sync_engine), per connection id: writes of the tokens in this process.
_GENERATIONS: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()
_GENERATIONS_LOCK = threading.Lock()
_LISTENING: weakref.WeakSet[Engine] = weakref.WeakSet()
_PENDING = "onyx_token_writes"
"""Key in a DBAPI connection's ``info``: the connection ids whose tokens its open transaction wrote."""


def _bump(engine: Engine, connection_id: str) -> None:
    with _GENERATIONS_LOCK:
        counters = _GENERATIONS.setdefault(engine, {})
        counters[connection_id] = counters.get(connection_id, 0) + 1


def token_generation(engine: Engine | AsyncEngine, connection_id: str) -> int:
    """How many writes of ``connection_id``'s tokens were made through ``engine`` in this process (see the module
    docstring): what the stores' ``generation()`` returns."""
    core = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    counters = _GENERATIONS.get(core)
    return 0 if counters is None else counters.get(connection_id, 0)


def _transaction_ended(connection: Connection) -> None:
    for connection_id in connection.info.pop(_PENDING, ()):
        _bump(connection.engine, connection_id)


def note_token_write(connection: Connection | AsyncConnection, connection_id: str) -> None:
    """Tell the token stores of this process that ``connection``'s transaction wrote ``connection_id``'s tokens.

    The generation moves now and again when that transaction commits or rolls back: a token store load that ran
    in between (PostgreSQL's READ COMMITTED still shows the old row) is then seen as outdated."""
    sync = connection.sync_connection if isinstance(connection, AsyncConnection) else connection
    assert sync is not None  # noqa: S101 - a connection in a transaction is open
    engine = sync.engine
    with _GENERATIONS_LOCK:
        if engine not in _LISTENING:
            _LISTENING.add(engine)
            event.listen(engine, "commit", _transaction_ended)
            event.listen(engine, "rollback", _transaction_ended)
    sync.info.setdefault(_PENDING, set()).add(connection_id)
    _bump(engine, connection_id)


# ---------------------------------------------------------------------------------------------------- SQL


def _row(connection_id: str, *, for_update: bool) -> Select[Any]:
    query = select(connections.c.tokens, connections.c.token_version).where(connections.c.id == connection_id)
    # FOR UPDATE is the PostgreSQL lock; SQLite renders nothing (its lock is the BEGIN IMMEDIATE transaction)
    return query.with_for_update() if for_update else query


def _advisory_key(connection_id: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (the same in every process)."""
    digest = hashlib.sha256(b"onyx:token-lock:" + connection_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_ADVISORY_LOCK = text("SELECT pg_advisory_lock(:key)")
_ADVISORY_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def _lock_timeout_sql(seconds: float) -> str:
    return f"SET LOCAL lock_timeout = {max(1, int(seconds * 1000))}"  # an int: nothing to inject


class _Codec:
    """Encryption and the compare-and-set decision, shared by the sync and async stores."""

    def __init__(self, connection_id: str, cipher: Cipher, clock: Callable[[], datetime]) -> None:
        self.connection_id = connection_id
        self.cipher = cipher
        self.clock = clock

    def token_of(self, tokens: bytes | None) -> OAuthToken | None:
        # the plaintext is wrapped as it comes out of the cipher: no frame below holds it in clear
        return None if tokens is None else decode_token(SecretBytes(self.cipher.decrypt(tokens)))

    def missing(self) -> MissingTokenError:
        return MissingTokenError(f"no connection {self.connection_id!r}: connect the account first")

    def cas_update(self, row: Any, token: OAuthToken, expected: OAuthToken | None) -> Any:
        """The fenced UPDATE, or raise :class:`TokenStoreConflict` if the stored token is not ``expected``."""
        if row is None:
            raise self.missing()
        if self.token_of(row.tokens) != expected:
            raise TokenStoreConflict("the stored token changed since it was loaded")
        return (
            update(connections)
            .where(connections.c.id == self.connection_id, connections.c.token_version == row.token_version)
            .values(
                tokens=self.cipher.encrypt(encode_token(token)),
                expires_at=token.expires_at,
                token_version=connections.c.token_version + 1,
                last_refreshed_at=self.clock(),
                status=_ACTIVE,  # as Connection.with_tokens: a token that works makes the connection usable
                last_error=None,
            )
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------------- sync


class _HeldSync:
    """The lock's connection and its open transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection


class SqlTokenStore:
    """:class:`~onyx_fanvue.oauth.TokenStore` on the ``connections`` row ``connection_id``, for threads and
    processes sharing one database. ``engine_or_url``: a URL, an async engine (its URL is reused with a sync
    driver) or a sync engine from :func:`create_sync_engine`. ``cipher``: any object with ``encrypt``/``decrypt``
    of bytes (the core's ``Cipher`` port). Thread-safe."""

    def __init__(
        self,
        engine_or_url: str | Engine | AsyncEngine,
        connection_id: str,
        cipher: Cipher,
        *,
        clock: Callable[[], datetime] = _utcnow,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if isinstance(engine_or_url, Engine):
            require_onyx_engine(engine_or_url)
            self._engine, self._owns_engine = engine_or_url, False
        else:
            url = engine_or_url if isinstance(engine_or_url, str) else _url_of(engine_or_url)
            self._engine, self._owns_engine = create_sync_engine(url), True
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._codec = _Codec(connection_id, cipher, clock)
        self._key = _advisory_key(connection_id)
        self._lock_timeout = lock_timeout
        self._local = threading.Lock()  # one waiter per process at the database lock
        self._held = threading.local()

    @property
    def connection_id(self) -> str:
        return self._codec.connection_id

    def _holder(self) -> _HeldSync | None:
        held: _HeldSync | None = getattr(self._held, "value", None)
        return held

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        held = self._holder()
        if held is not None:
            yield held.connection
            return
        with self._engine.connect() as connection:
            if self._sqlite:
                connection.execution_options(**READ_ONLY)  # WAL: never waits for a writer
            with connection.begin():
                yield connection

    def load(self) -> OAuthToken | None:
        """The stored token (``None`` if the connection has none or does not exist)."""
        with self._reader() as connection:
            row = connection.execute(_row(self.connection_id, for_update=False)).one_or_none()
        return None if row is None else self._codec.token_of(row.tokens)

    def version(self) -> int | None:
        """The row's ``token_version`` (``None`` if there is no such connection): the fence, for monitoring."""
        with self._reader() as connection:
            row = connection.execute(_row(self.connection_id, for_update=False)).one_or_none()
        return None if row is None else int(row.token_version)

    def _cas(self, connection: Connection, token: OAuthToken, expected: OAuthToken | None) -> None:
        row = connection.execute(_row(self.connection_id, for_update=True)).one_or_none()
        result = connection.execute(self._codec.cas_update(row, token, expected))
        if result.rowcount != 1:  # pragma: no cover - the row is locked, so only a bug could get here
            raise TokenStoreConflict("the stored token changed since it was loaded")

    def _begin_locked(self, connection: Connection, *, first: bool = False) -> None:
        """Begin a transaction that holds the database lock on this connection row."""
        connection.begin()  # SQLite: BEGIN IMMEDIATE, the write lock (waits up to the busy timeout)
        if not self._sqlite:
            connection.exec_driver_sql(_lock_timeout_sql(self._lock_timeout))
            if first:
                connection.execute(_ADVISORY_LOCK, {"key": self._key})
        if connection.execute(_row(self.connection_id, for_update=True)).one_or_none() is None:
            raise self._codec.missing()

    def _release(self, connection: Connection, *, advisory: bool) -> None:
        try:
            if connection.in_transaction():
                connection.rollback()  # the lock only ever read: saves committed themselves
            if advisory:
                connection.execute(_ADVISORY_UNLOCK, {"key": self._key})
                connection.rollback()
        except BaseException:
            connection.invalidate()  # closing the session is what surely frees a session-level advisory lock
            raise

    def generation(self) -> int:
        """Writes of this connection's tokens made through this engine in this process (no I/O): the SDK's
        :class:`~onyx_fanvue.oauth.TokenStoreGeneration` capability."""
        return token_generation(self._engine, self.connection_id)

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set ``expected`` -> ``token``, ``token_version`` + 1, committed before returning.

        Raises :class:`TokenStoreConflict` if another writer got there first."""
        held = self._holder()
        try:
            if held is not None:
                connection = held.connection
                try:
                    self._cas(connection, token, expected)
                    connection.commit()  # durable now; this also ends the lock's transaction...
                finally:
                    if connection.in_transaction():
                        connection.rollback()
                    self._begin_locked(connection)  # ...so take the lock again for the rest of the block
                return
            with self._engine.connect() as connection:
                connection.begin()
                if not self._sqlite:
                    connection.exec_driver_sql(_lock_timeout_sql(self._lock_timeout))
                self._cas(connection, token, expected)
                connection.commit()
        finally:
            _bump(self._engine, self.connection_id)  # after the commit (or failure): a reload sees what is stored

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the connection's refresh lock (all threads and processes) until the block ends. Re-entrant."""
        if self._holder() is not None:
            yield
            return
        if not self._local.acquire(timeout=self._lock_timeout):
            raise TimeoutError("the token refresh lock was not released in time")
        try:
            with self._engine.connect() as connection:
                try:
                    self._begin_locked(connection, first=True)
                    self._held.value = _HeldSync(connection)
                    yield
                finally:
                    self._held.value = None
                    self._release(connection, advisory=not self._sqlite)
        finally:
            self._local.release()

    def close(self) -> None:
        """Dispose of the engine if this store created it."""
        if self._owns_engine:
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"SqlTokenStore(connection_id={self.connection_id!r}, dialect={self._engine.dialect.name!r})"


# ---------------------------------------------------------------------------------------------------- async


@dataclass(frozen=True, slots=True)
class _HeldAsync:
    connection: AsyncConnection
    task: asyncio.Task[Any] | None


class AsyncSqlTokenStore:
    """:class:`~onyx_fanvue.oauth.AsyncTokenStore` on the ``connections`` row ``connection_id``: the asyncio twin
    of :class:`SqlTokenStore`, on an engine from :func:`onyx_adapters.sql.engine.create_engine` (or a URL).

    On SQLite every transaction of that engine begins ``IMMEDIATE``, so ``load()`` by another task waits while a
    refresh holds the lock (up to the busy timeout) and then sees the refreshed token."""

    def __init__(
        self,
        engine_or_url: str | AsyncEngine,
        connection_id: str,
        cipher: Cipher,
        *,
        clock: Callable[[], datetime] = _utcnow,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if isinstance(engine_or_url, AsyncEngine):
            require_onyx_engine(engine_or_url)
            self._engine, self._owns_engine = engine_or_url, False
        else:
            self._engine, self._owns_engine = create_engine(engine_or_url), True
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._codec = _Codec(connection_id, cipher, clock)
        self._key = _advisory_key(connection_id)
        self._lock_timeout = lock_timeout
        # who holds the lock: the task, not just the context (tasks spawned inside copy the context)
        self._held: contextvars.ContextVar[_HeldAsync | None] = contextvars.ContextVar(
            f"onyx_token_lock_{connection_id}", default=None
        )
        self._local: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @property
    def connection_id(self) -> str:
        return self._codec.connection_id

    def _holder(self) -> _HeldAsync | None:
        held = self._held.get()
        if held is None or held.task is not asyncio.current_task():
            return None
        return held

    def _local_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._local is None or self._local[0] is not loop:  # an asyncio.Lock belongs to one loop
            self._local = (loop, asyncio.Lock())
        return self._local[1]

    async def _read(self) -> Any:
        held = self._holder()
        if held is not None:
            return (await held.connection.execute(_row(self.connection_id, for_update=False))).one_or_none()
        async with self._engine.connect() as connection, connection.begin():
            return (await connection.execute(_row(self.connection_id, for_update=False))).one_or_none()

    async def load(self) -> OAuthToken | None:
        """The stored token (``None`` if the connection has none or does not exist)."""
        row = await self._read()
        return None if row is None else self._codec.token_of(row.tokens)

    async def version(self) -> int | None:
        """The row's ``token_version`` (``None`` if there is no such connection)."""
        row = await self._read()
        return None if row is None else int(row.token_version)

    async def _cas(self, connection: AsyncConnection, token: OAuthToken, expected: OAuthToken | None) -> None:
        row = (await connection.execute(_row(self.connection_id, for_update=True))).one_or_none()
        result = await connection.execute(self._codec.cas_update(row, token, expected))
        if result.rowcount != 1:  # pragma: no cover - the row is locked, so only a bug could get here
            raise TokenStoreConflict("the stored token changed since it was loaded")

    async def _begin_locked(self, connection: AsyncConnection, *, first: bool = False) -> None:
        await connection.begin()
        if not self._sqlite:
            await connection.exec_driver_sql(_lock_timeout_sql(self._lock_timeout))
            if first:
                await connection.execute(_ADVISORY_LOCK, {"key": self._key})
        if (await connection.execute(_row(self.connection_id, for_update=True))).one_or_none() is None:
            raise self._codec.missing()

    async def _release(self, connection: AsyncConnection, *, advisory: bool) -> None:
        try:
            if connection.in_transaction():
                await connection.rollback()
            if advisory:
                await connection.execute(_ADVISORY_UNLOCK, {"key": self._key})
                await connection.rollback()
        except BaseException:
            await connection.invalidate()
            raise

    def generation(self) -> int:
        """Writes of this connection's tokens made through this engine in this process (no I/O): the SDK's
        :class:`~onyx_fanvue.oauth.TokenStoreGeneration` capability (synchronous, as it requires)."""
        return token_generation(self._engine, self.connection_id)

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set ``expected`` -> ``token``, ``token_version`` + 1, committed before returning."""
        held = self._holder()
        try:
            if held is not None:
                connection = held.connection
                try:
                    await self._cas(connection, token, expected)
                    await connection.commit()
                finally:
                    if connection.in_transaction():
                        await connection.rollback()
                    await self._begin_locked(connection)
                return
            async with self._engine.connect() as connection:
                await connection.begin()
                if not self._sqlite:
                    await connection.exec_driver_sql(_lock_timeout_sql(self._lock_timeout))
                await self._cas(connection, token, expected)
                await connection.commit()
        finally:
            _bump(self._engine.sync_engine, self.connection_id)  # after the commit: a reload sees what is stored

    @asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Hold the connection's refresh lock (all tasks and processes) until the block ends. Re-entrant."""
        if self._holder() is not None:
            yield
            return
        local = self._local_lock()
        try:
            async with asyncio.timeout(self._lock_timeout):
                await local.acquire()
        except TimeoutError:
            raise TimeoutError("the token refresh lock was not released in time") from None
        try:
            async with self._engine.connect() as connection:
                marker: contextvars.Token[_HeldAsync | None] | None = None
                try:
                    await self._begin_locked(connection, first=True)
                    marker = self._held.set(_HeldAsync(connection, asyncio.current_task()))
                    yield
                finally:
                    if marker is not None:
                        self._held.reset(marker)
                    await self._release(connection, advisory=not self._sqlite)
        finally:
            local.release()

    def __repr__(self) -> str:
        return f"AsyncSqlTokenStore(connection_id={self.connection_id!r}, dialect={self._engine.dialect.name!r})"

    async def aclose(self) -> None:
        """Dispose of the engine if this store created it."""
        if self._owns_engine:
            await self._engine.dispose()
