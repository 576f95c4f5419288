"""On SQLite, dashboard reads and a unit's plain reads never queue behind a writer holding the write lock (a token
refresh can hold it for a whole HTTP call)."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_adapters.sql.engine import create_engine, sqlite_file
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.testing.fakes import ReversibleCipher

PATIENCE = 5.0  # far below SQLite's 30 s busy timeout: a read that waited for the writer would fail


async def test_reads_go_on_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}"
    upgrade(url)
    path = sqlite_file(url)
    assert path is not None
    engine = create_engine(url)
    analytics = SqlAnalytics(engine)
    creator = CreatorId("creator-1")
    with closing(sqlite3.connect(path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # a refresh in flight
        try:
            async with asyncio.timeout(PATIENCE):
                assert await analytics.paying_fans(creator) == frozenset()
                history = await analytics.subscriber_history(creator, date(2026, 1, 1), date(2026, 1, 3))
                assert len(history) == 2
                await analytics.ltv(creator)
                async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
                    assert await uow.agencies.get(AgencyId("nobody")) is None
                    assert await uow.stats.get(creator) == {}
        finally:
            writer.execute("ROLLBACK")
    await engine.dispose()
