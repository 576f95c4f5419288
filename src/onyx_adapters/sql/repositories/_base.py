"""What every repository shares: the unit of work's connections, the dialect's upsert, ordering and chunking."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from onyx_core.live import DataChange

__all__ = ["Transaction", "by_text", "changed", "chunks", "insert", "upsert"]

T = TypeVar("T")

ROWS_PER_STATEMENT = 500
"""Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bound-parameter limits for every table."""


class Transaction(Protocol):
    """The unit of work as repositories see it: its dialect and the connections to run statements on."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    async def reader(self) -> AsyncConnection:
        """A connection for a plain read: the unit's transaction once it is open (so the unit reads its own
        writes), else one that takes no lock (SQLite: outside ``BEGIN IMMEDIATE``, so readers never queue
        behind a writer)."""
        ...

    async def writer(self) -> AsyncConnection:
        """The unit's transaction, opened now if needed (on SQLite this takes the write lock)."""
        ...

    async def announce(
        self, change: DataChange, creator_versions: Mapping[str, int], agency_version: int | None = None
    ) -> None:
        """Tell live dashboards of ``change`` if, and once, this transaction commits (PostgreSQL: a ``NOTIFY``
        in the transaction, heard by every process; SQLite: published in this process after the commit, with the
        counters the bump left, so the check for other processes' writes does not announce it again)."""
        ...


def insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT construct, the one with ``ON CONFLICT``."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def upsert(
    dialect: str, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], *, counter: str | None = None
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET <every other column> = excluded.<column>``: the idempotent
    write on a natural key. ``rows`` must not repeat a key (PostgreSQL refuses to update a row twice). A
    ``counter`` column (a data version) is never reset to its default: an update adds one to it."""
    stmt = insert(dialect, table).values(list(rows))
    others: dict[str, Any] = {
        c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys and c.name != counter
    }
    if counter is not None:
        others[counter] = table.c[counter] + 1
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=others)


def changed(table: Table, excluded: Any, columns: Sequence[str]) -> ColumnElement[bool]:
    """True where any of ``columns`` differs between the stored row and the proposed one (NULL-safe)."""
    return or_(*(table.c[name].is_distinct_from(excluded[name]) for name in columns))


def by_text(dialect: str, column: ColumnElement[str]) -> ColumnElement[str]:
    """Order text by code point on every engine, as Python sorts strings (PostgreSQL's default collation may
    not). SQLite's default BINARY collation already does."""
    return column.collate("C") if dialect == "postgresql" else column


def chunks(items: Sequence[T], size: int = ROWS_PER_STATEMENT) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
