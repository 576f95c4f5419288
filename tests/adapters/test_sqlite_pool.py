"""The async SQLite engine's pool: connections (their thread and PRAGMAs) are kept and reused, readers share the
pool and run side by side, this process's writers queue in process and ask SQLite for the write lock one at a
time (none sleeps in SQLite's busy handler, none fails "database is locked"), a write turn is given back
however the transaction ends, and dispose closes every connection. PostgreSQL's pool is SQLAlchemy's own; the
concurrent-writer rules on both engines are in test_sql_concurrency.py."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from onyx_adapters.sql.engine import READ_ONLY, SQLITE_POOL_SIZE, create_engine

WRITERS = 40
PATIENCE = 10.0  # far below the 30 s busy timeout: a writer left waiting for a lost write turn would hit it


def _workers() -> int:
    return sum(1 for t in threading.enumerate() if "_connection_worker_thread" in t.name)  # aiosqlite's threads


async def _engine(tmp_path: Path, name: str = "onyx.db") -> AsyncEngine:
    engine = create_engine(f"sqlite:///{tmp_path / name}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS log (n INTEGER NOT NULL, by TEXT NOT NULL)"))
        await conn.execute(text("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER)"))
        await conn.execute(text("INSERT OR IGNORE INTO counter VALUES (1, 0)"))
    return engine


async def test_connections_are_kept_and_their_pragmas_set_once(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda dbapi, _: opened.append(dbapi))
    for _ in range(10):
        async with engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 30_000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE counter SET value = value + 1"))
    assert opened == [], "every unit of work found a pooled connection"
    await engine.dispose()


async def test_readers_run_side_by_side_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    readers = SQLITE_POOL_SIZE + 4  # past the kept connections: more open, none waits for a free one
    inside = 0
    most = 0
    all_in = asyncio.Event()

    async def read() -> int:
        nonlocal inside, most
        async with engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            value = (await conn.execute(text("SELECT value FROM counter"))).scalar_one()
            inside += 1
            most = max(most, inside)
            if inside == readers:
                all_in.set()
            await all_in.wait()  # each holds its connection and snapshot until all are in
            inside -= 1
            return int(value)

    async with asyncio.timeout(PATIENCE), engine.begin() as writer:
        await writer.execute(text("UPDATE counter SET value = 99"))
        values = await asyncio.gather(*(read() for _ in range(readers)))
    assert most == readers
    assert values == [0] * readers  # the writer's change is not committed yet: WAL readers see the last commit
    await engine.dispose()


async def test_writers_ask_sqlite_one_at_a_time_and_none_finds_the_database_locked(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    asking = 0
    most = 0

    def began(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        nonlocal asking, most
        if sql == "BEGIN IMMEDIATE":  # a writer asking SQLite for the lock: it would sleep in the busy handler
            asking += 1
            most = max(most, asking)

    def ended(_conn: Any) -> None:
        nonlocal asking
        asking -= 1

    event.listen(engine.sync_engine, "before_cursor_execute", began)
    event.listen(engine.sync_engine, "commit", ended)

    async def write(n: int) -> None:
        async with engine.begin() as conn:
            value = (await conn.execute(text("SELECT value FROM counter"))).scalar_one()
            await asyncio.sleep(0.002)  # a read-decides-write held across an await: the lost-update window
            await conn.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})
            await conn.execute(text("INSERT INTO log VALUES (:n, 'pool')"), {"n": n})

    try:
        async with asyncio.timeout(PATIENCE):
            await asyncio.gather(*(write(n) for n in range(WRITERS)))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", began)
        event.remove(engine.sync_engine, "commit", ended)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT value FROM counter"))).scalar_one() == WRITERS
    await engine.dispose()
    assert most == 1, f"{most} writers of one process asked SQLite for the write lock at once"


async def test_two_engines_on_one_file_both_write_without_locked_errors(tmp_path: Path) -> None:
    """Another engine (another process, in production) meets this one at the file's lock and its busy timeout."""
    first, second = await _engine(tmp_path), await _engine(tmp_path)

    async def write(engine: AsyncEngine, n: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE counter SET value = value + 1"))
            await asyncio.sleep(0.001)
            await conn.execute(text("INSERT INTO log VALUES (:n, 'two')"), {"n": n})

    async with asyncio.timeout(PATIENCE * 3):
        await asyncio.gather(*(write(first if n % 2 else second, n) for n in range(WRITERS)))
    async with first.connect() as conn:
        assert (await conn.execute(text("SELECT value FROM counter"))).scalar_one() == WRITERS
    await first.dispose()
    await second.dispose()


@pytest.mark.parametrize("ending", ["rollback", "error", "cancelled", "commit-then-reuse"])
async def test_a_write_turn_is_given_back_however_the_transaction_ends(tmp_path: Path, ending: str) -> None:
    engine = await _engine(tmp_path)
    started = asyncio.Event()

    async def first() -> None:
        async with engine.connect() as conn:
            await conn.begin()
            await conn.execute(text("UPDATE counter SET value = value + 1"))
            started.set()
            if ending == "rollback":
                await conn.rollback()
            elif ending == "error":
                await conn.execute(text("INSERT INTO nowhere VALUES (1)"))
            elif ending == "cancelled":
                await asyncio.Event().wait()
            else:  # committed, then the same connection writes again: a second turn, given back again
                await conn.commit()
                await conn.execute(text("UPDATE counter SET value = value + 1"))
                await conn.commit()

    task = asyncio.create_task(first())
    await started.wait()
    if ending == "cancelled":
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE counter SET value = value + 10"))
            await asyncio.sleep(0)

    async with asyncio.timeout(PATIENCE):  # several at once, so some write on another connection than the first
        await asyncio.gather(*(write() for _ in range(3)))
    async with engine.connect() as conn:
        value = (await conn.execute(text("SELECT value FROM counter"))).scalar_one()
    assert value == (32 if ending == "commit-then-reuse" else 30)
    await engine.dispose()


async def test_dispose_closes_every_connection(tmp_path: Path) -> None:
    before = _workers()
    engine = await _engine(tmp_path)

    async def hold() -> None:
        async with engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)

    await asyncio.gather(*(hold() for _ in range(SQLITE_POOL_SIZE)))
    assert _workers() - before == SQLITE_POOL_SIZE  # kept, each with its thread
    await engine.dispose()
    # aiosqlite's close() returns once the thread has closed the connection; the thread itself ends a moment later
    # (seen alive on a loaded machine), so give it a few seconds to go
    async with asyncio.timeout(PATIENCE):
        while _workers() != before:
            await asyncio.sleep(0.01)


async def test_in_memory_sqlite_still_opens_a_database_per_connection(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    assert isinstance(engine.pool, NullPool)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert (await conn.execute(text("SELECT n FROM t"))).scalar_one() == 1
    await engine.dispose()
