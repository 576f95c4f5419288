"""The SQL unit of work: one database transaction over all nine repositories.

Leaving the ``async with`` without :meth:`SqlUnitOfWork.commit` rolls back; after a commit or a rollback the
unit can be used again, as a new transaction (like the in-memory fake).

The transaction opens lazily. On PostgreSQL it opens at the first statement (READ COMMITTED; locks only where a
repository asks: ``FOR UPDATE`` / ``FOR NO KEY UPDATE``). On SQLite the engine starts every transaction with
``BEGIN IMMEDIATE``, which takes the database's single write lock, so the transaction opens at the first write or
``get_for_update``; plain reads before that run on a second connection in a deferred transaction, outside any
write lock (WAL lets them read while another unit writes). Otherwise a unit that only reads would wait for a writer
that waits for it. Once the transaction is open, every read goes through it, so a unit reads its own writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.live import CHANNEL, Committed, publish_committed
from onyx_adapters.sql.engine import READ_ONLY, require_onyx_engine, sqlite_file
from onyx_adapters.sql.repositories import (
    SqlAgencyRepository,
    SqlChatterDayRepository,
    SqlConnectionRepository,
    SqlCreatorRepository,
    SqlLedgerRepository,
    SqlStatsRepository,
    SqlSubscriberHistoryRepository,
    SqlSyncCursorRepository,
    SqlTopSpenderRepository,
    SqlTrackingLinkCostRepository,
    SqlTrackingLinkRepository,
)
from onyx_core.live import DataChange, encode_changes
from onyx_core.ports import (
    AgencyRepository,
    ChatterDayRepository,
    Cipher,
    ConnectionRepository,
    CreatorRepository,
    LedgerRepository,
    StatsRepository,
    SubscriberHistoryRepository,
    SyncCursorRepository,
    TopSpenderRepository,
    TrackingLinkCostRepository,
    TrackingLinkRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = ["SqlUnitOfWork", "sql_unit_of_work_factory"]


class SqlUnitOfWork:
    """Implements :class:`~onyx_core.ports.UnitOfWork` on an async SQLAlchemy engine (SQLite or PostgreSQL).

    ``cipher`` encrypts the connections' token sets at rest (see :class:`SqlConnectionRepository`).
    """

    def __init__(self, engine: AsyncEngine, cipher: Cipher) -> None:
        require_onyx_engine(engine)
        self._engine = engine
        # SQLite file: plain reads before the first write run in a deferred transaction (no write lock); in-memory
        # SQLite has one database per connection, and PostgreSQL needs no such split
        url = engine.url.render_as_string(hide_password=False)
        self._url = url
        self._lock_free_reads = engine.dialect.name == "sqlite" and sqlite_file(url) is not None
        self._dialect = engine.dialect.name
        self._conn: AsyncConnection | None = None
        self._read_conn: AsyncConnection | None = None
        self._announced: list[Committed] = []
        """SQLite: the changes to publish in this process once the transaction commits."""

        self.agencies: AgencyRepository = SqlAgencyRepository(self)
        self.creators: CreatorRepository = SqlCreatorRepository(self)
        self.connections: ConnectionRepository = SqlConnectionRepository(self, cipher)
        self.stats: StatsRepository = SqlStatsRepository(self)
        self.ledger: LedgerRepository = SqlLedgerRepository(self)
        self.history: SubscriberHistoryRepository = SqlSubscriberHistoryRepository(self)
        self.top_spenders: TopSpenderRepository = SqlTopSpenderRepository(self)
        self.tracking_links: TrackingLinkRepository = SqlTrackingLinkRepository(self)
        self.link_costs: TrackingLinkCostRepository = SqlTrackingLinkCostRepository(self)
        self.chatter_days: ChatterDayRepository = SqlChatterDayRepository(self)
        self.cursors: SyncCursorRepository = SqlSyncCursorRepository(self)

    # ------------------------------------------------------------------ Transaction (for the repositories)

    @property
    def dialect(self) -> str:
        return self._dialect

    async def reader(self) -> AsyncConnection:
        if self._conn is not None or not self._lock_free_reads:
            return await self.writer()
        if self._read_conn is None:
            conn = await self._engine.connect()
            await conn.execution_options(**READ_ONLY)
            self._read_conn = conn
        return self._read_conn

    async def writer(self) -> AsyncConnection:
        if self._conn is None:
            await self._close_reader()
            conn = await self._engine.connect()
            try:
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def announce(
        self, change: DataChange, creator_versions: Mapping[str, int], agency_version: int | None = None
    ) -> None:
        if change.empty:
            return
        if self._dialect == "postgresql":
            conn = await self.writer()  # sent by PostgreSQL at commit, to every listener, or never
            for payload in encode_changes(change):
                await conn.execute(select(func.pg_notify(CHANNEL, payload)))
        else:
            self._announced.append(Committed(change, dict(creator_versions), agency_version))

    # ------------------------------------------------------------------ UnitOfWork

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        """Commit everything written since the transaction opened; a failed commit rolls back and raises."""
        conn, self._conn = self._conn, None
        announced, self._announced = self._announced, []
        try:
            if conn is not None:
                try:
                    await conn.commit()
                finally:
                    await conn.close()
        finally:
            await self._close_reader()
        if announced:  # committed: this process's live dashboards on the same SQLite file hear of it now
            publish_committed(self._url, announced)

    async def rollback(self) -> None:
        """Discard everything written since the transaction opened and release its locks."""
        conn, self._conn = self._conn, None
        self._announced = []
        try:
            if conn is not None:
                await conn.close()  # closing returns the connection with its transaction rolled back
        finally:
            await self._close_reader()

    async def _close_reader(self) -> None:
        conn, self._read_conn = self._read_conn, None
        if conn is not None:
            await conn.close()


def sql_unit_of_work_factory(engine: AsyncEngine, cipher: Cipher) -> UnitOfWorkFactory:
    """Each call a fresh :class:`SqlUnitOfWork` on ``engine`` (a new transaction)."""

    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine, cipher)

    return make


if TYPE_CHECKING:  # never runs: makes mypy prove the unit of work implements its port

    def _implements_port(engine: AsyncEngine, cipher: Cipher) -> UnitOfWork:
        return SqlUnitOfWork(engine, cipher)
