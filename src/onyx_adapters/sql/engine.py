"""Async engines for the two supported databases, configured for Onyx's concurrency rules.

SQLite: WAL (readers never wait for the writer), foreign keys on, a 30 s busy timeout, and transactions start with
``BEGIN IMMEDIATE``, so a writing unit of work holds the write lock from its first statement: two units can never
read the same row and both write it (the SQLite half of "no lost update"). A connection with the execution option
:data:`READ_ONLY` starts a plain deferred ``BEGIN`` instead (a reader that never queues behind a writer).
An async SQLite engine keeps a small pool of connections (:data:`SQLITE_POOL_SIZE`, PRAGMAs set once per
connection) and queues its own write transactions in process, first come first served, before they ask SQLite
for the write lock (:class:`_WriteGate`): a writer that found the lock taken would otherwise sleep in SQLite's
busy handler (1, 2, 5 … 100 ms steps) long after the lock was free. Other processes still meet at the file's lock.
PostgreSQL: ``READ COMMITTED`` with explicit row locks (``SELECT … FOR UPDATE``) where a read decides a write.

Every URL goes through :func:`parse_database_url` first: ``sqlite://…`` and ``postgresql://…`` (or ``postgres://``)
with any driver name; the driver is chosen here. Anything else is a :class:`DatabaseUrlError`, raised before a
driver is loaded or a connection tried.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as sqlalchemy_create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, NullPool
from sqlalchemy.util import await_only

from onyx_adapters.settings import ConfigurationError

__all__ = [
    "READ_ONLY",
    "SQLITE_BEGIN_OPTION",
    "URL_FORMS",
    "DatabaseUrlError",
    "async_url",
    "create_engine",
    "create_sync_engine",
    "is_in_memory",
    "is_sqlite",
    "parse_database_url",
    "require_onyx_engine",
    "require_persistent",
    "shown_url",
    "sqlite_file",
    "sync_url",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 8
"""Idle connections an async SQLite engine keeps open (each with its thread and PRAGMAs): enough for a refresh's
readers at a concurrency of 4 to 8; more open when needed (never a wait for a free one) and close when returned."""

URL_FORMS = "sqlite:///path/to/onyx.db or postgresql://user:password@host:5432/database"
_BACKENDS = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}
_DRIVERS = {"sqlite": ("sqlite", "sqlite+aiosqlite"), "postgresql": ("postgresql+psycopg", "postgresql+psycopg")}


class DatabaseUrlError(ConfigurationError):
    """The database URL is not one Onyx can use. The message never quotes the URL (it may hold a password)."""


def parse_database_url(url: str | URL) -> URL:
    """``url`` checked and parsed, with ``postgres`` (as hosted PostgreSQL services write it) read as
    ``postgresql``. :class:`DatabaseUrlError` for garbage, a port that is not a number, or another database."""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseUrlError(f"the database URL is not a database URL; use {URL_FORMS}") from None
        except ValueError:  # SQLAlchemy reads the port with int(); its message would not say which part is wrong
            raise DatabaseUrlError(f"the database URL's port is not a number; use {URL_FORMS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    canonical = _BACKENDS.get(backend.lower())
    if canonical is None:
        raise DatabaseUrlError(f"Onyx stores its data in SQLite or PostgreSQL, not {backend[:40]!r}; use {URL_FORMS}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise DatabaseUrlError(f"the database URL's port {parsed.port} is not a TCP port (1-65535)")
    return parsed.set(drivername=f"{canonical}+{driver}" if driver else canonical)


def shown_url(url: str | URL) -> str:
    """``url`` as it may be printed: the password masked, an unusable URL not echoed at all."""
    try:
        return parse_database_url(url).render_as_string(hide_password=True)
    except DatabaseUrlError:
        return "(an unusable database URL)"


def is_sqlite(url: str) -> bool:
    return parse_database_url(url).get_backend_name() == "sqlite"


def _with_driver(url: str, *, asynchronous: bool) -> str:
    parsed = parse_database_url(url)
    parsed = parsed.set(drivername=_DRIVERS[parsed.get_backend_name()][asynchronous])
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database for a synchronous driver (Alembic runs migrations synchronously): the standard library's
    sqlite3, psycopg 3 for PostgreSQL whatever driver ``url`` names."""
    return _with_driver(url, asynchronous=False)


def async_url(url: str) -> str:
    """The async driver for ``url``: aiosqlite for SQLite, psycopg 3 for PostgreSQL."""
    return _with_driver(url, asynchronous=True)


def is_in_memory(url: str) -> bool:
    """Whether ``url`` is an in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``, ``mode=memory``),
    which vanishes with the last connection to it."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:") or parsed.query.get("mode") == "memory"


def require_persistent(url: str) -> None:
    """Refuse an in-memory SQLite URL where the data must outlive the process (commands, workers)."""
    if is_in_memory(url):
        raise DatabaseUrlError(
            "an in-memory SQLite database vanishes when the command exits, with all it stored; "
            "name a file instead, e.g. sqlite:///path/to/onyx.db"
        )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for in-memory SQLite and for other engines)."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "sqlite" or is_in_memory(url) or not parsed.database:
        return None
    if parsed.query.get("uri") == "true" and parsed.database.startswith("file:"):  # SQLite's URI filenames
        return Path(urlsplit(parsed.database).path)
    return Path(parsed.database)


def _prepared_sqlite_file(url: str) -> Path | None:
    """The SQLite file of ``url`` with its folder created (``None`` for in-memory SQLite)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


SQLITE_BEGIN_OPTION = "onyx_sqlite_begin"
"""Execution option: ``{SQLITE_BEGIN_OPTION: "DEFERRED"}`` on a connection makes its SQLite transactions start with
a plain ``BEGIN`` (a reader that never queues behind a writer). Everything else starts with ``BEGIN IMMEDIATE``."""
READ_ONLY = {SQLITE_BEGIN_OPTION: "DEFERRED"}


_CONFIGURED: weakref.WeakSet[Engine] = weakref.WeakSet()


def require_onyx_engine(engine: Engine | AsyncEngine) -> None:
    """Refuse a SQLite engine not made by :func:`create_engine` / :func:`create_sync_engine`: without their
    ``BEGIN IMMEDIATE`` a "lock" takes no lock, and two refreshers could both spend one refresh token."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if sync_engine.dialect.name == "sqlite" and sync_engine not in _CONFIGURED:
        raise ValueError("use onyx_adapters.sql.engine.create_engine (or create_sync_engine) for SQLite engines")


_GATE_HELD = "onyx_write_gate"
"""Key, in a pooled connection's ``info``, of the in-process write lock its open write transaction holds."""


class _WriteGate:
    """One async SQLite engine's write transactions, queued in process (an :class:`asyncio.Lock` per event loop,
    FIFO): the first ``BEGIN IMMEDIATE`` of the queue always finds this process's writers done. It only orders;
    the file's lock still decides, so a writer that waited the whole busy timeout here goes on to SQLite unqueued
    (and meets SQLite's own timeout), rather than wait twice as long or fail differently."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def enter(self, connection: Connection) -> None:
        """Take this process's write turn for ``connection``'s transaction."""
        lock = self._lock()
        if await_only(_acquire(lock, SQLITE_BUSY_TIMEOUT_MS / 1000)):
            connection.info[_GATE_HELD] = lock


async def _acquire(lock: asyncio.Lock, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await lock.acquire()
    except TimeoutError:
        return False
    return True


def _leave(info: dict[Any, Any]) -> None:
    """Give the write turn held by the connection of ``info`` (if any) to the next writer."""
    lock = info.pop(_GATE_HELD, None)
    if lock is not None:
        lock.release()


def _configure_sqlite(sync_engine: Engine, path: Path | None, gate: _WriteGate | None = None) -> None:
    _CONFIGURED.add(sync_engine)

    @event.listens_for(sync_engine, "connect")
    def _configure(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if path is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(SQLITE_BEGIN_OPTION) == "DEFERRED":
            connection.exec_driver_sql("BEGIN")
            return
        if gate is not None:
            gate.enter(connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _leave(connection.info)
            raise

    if gate is None:
        return

    # SQLAlchemy's "commit" and "rollback" events come before the driver's COMMIT / ROLLBACK: end the transaction
    # here, then hand the turn on, so the next writer's BEGIN IMMEDIATE never finds the file still locked by us.
    # (SQLAlchemy's own call that follows finds no transaction open and does nothing.)
    @event.listens_for(sync_engine, "commit")
    def _commit(connection: Connection) -> None:
        if _GATE_HELD not in connection.info:
            return
        try:
            connection.connection.dbapi_connection.commit()  # type: ignore[union-attr]
        except Exception:  # noqa: S110 - SQLAlchemy's commit, next, tries again and reports the failure as usual
            pass
        finally:
            _leave(connection.info)

    @event.listens_for(sync_engine, "rollback")
    def _rollback(connection: Connection) -> None:
        if _GATE_HELD not in connection.info:
            return
        try:
            if not connection.invalidated:
                connection.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        except Exception:  # noqa: S110 - as for a commit: SQLAlchemy's rollback follows and reports
            pass
        finally:
            _leave(connection.info)

    # A connection returned, invalidated or closed with a write turn still held (a task cancelled mid-write)
    # gives the turn back, or every later writer of the process would queue forever.
    def _returned(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, *_: Any) -> None:
        _leave(record.info)

    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(sync_engine.pool, name, _returned)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for ``url`` (any SQLite or PostgreSQL URL; the driver is chosen here)."""
    url = async_url(url)
    if not is_sqlite(url):
        options.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **options)
    path = _prepared_sqlite_file(url)
    if path is None:  # in memory: a database per connection, as ever (a shared one would need one connection)
        options.setdefault("poolclass", NullPool)
        if options["poolclass"] is NullPool:  # nothing kept: pool sizes (from the settings) do not apply
            options.pop("pool_size", None)
            options.pop("max_overflow", None)
    elif "poolclass" not in options:
        # A pooled connection keeps its thread and PRAGMAs, and in WAL an idle one holds no lock. Overflow is
        # unbounded: a writer holding the write turn never waits for a connection that a queued writer holds.
        options.setdefault("pool_size", SQLITE_POOL_SIZE)
        options.setdefault("max_overflow", -1)
        options["poolclass"] = AsyncAdaptedQueuePool
    engine = create_async_engine(url, **options)
    _configure_sqlite(engine.sync_engine, path, _WriteGate())
    return engine


def create_sync_engine(url: str, **options: Any) -> Engine:
    """A synchronous engine with the same rules (the SDK's sync token store and Alembic-free scripts use it)."""
    url = sync_url(url)
    if not is_sqlite(url):
        options.setdefault("pool_pre_ping", True)
        return sqlalchemy_create_engine(url, **options)
    path = _prepared_sqlite_file(url)
    engine = sqlalchemy_create_engine(url, **options)
    _configure_sqlite(engine, path)
    return engine
