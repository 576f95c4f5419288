"""The earnings ledger: idempotent upserts on (creator_id, key), SQL sums."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from onyx_adapters.sql.repositories._base import Transaction, by_text, changed, chunks, insert
from onyx_adapters.sql.repositories.versions import bump_creators
from onyx_adapters.sql.repositories.webhooks import settle_provisional
from onyx_adapters.sql.schema import ledger_entries
from onyx_adapters.sql.types import UtcDateTime
from onyx_core.analytics import Period
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import USD, Money
from onyx_core.ports import UpsertResult
from onyx_core.reconciliation import DayTotals

__all__ = ["SqlLedgerRepository"]

KEY = ("creator_id", "key")
COLUMNS = tuple(column.name for column in ledger_entries.columns)
CONTENT = (
    "occurred_at",
    "kind",
    "source",
    "gross_cents",
    "net_cents",
    "currency",
    "fan_id",
    "reference",
    "original_currency",
)


def _row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "creator_id": entry.creator_id,
        "key": entry.key,
        "occurred_at": entry.occurred_at,
        "kind": entry.kind.value,
        "source": entry.source,
        "gross_cents": entry.gross.cents,
        "net_cents": entry.net.cents,
        "currency": entry.gross.currency,
        "fan_id": entry.fan_id,
        "reference": entry.reference,
        "original_currency": entry.original_currency,
    }


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        creator_id=CreatorId(row.creator_id),
        key=row.key,
        occurred_at=row.occurred_at,
        source=row.source,
        gross=Money(int(row.gross_cents), row.currency),
        net=Money(int(row.net_cents), row.currency),
        kind=EntryKind(row.kind),
        fan_id=None if row.fan_id is None else FanId(row.fan_id),
        reference=row.reference,
        original_currency=row.original_currency,
    )


_L = ledger_entries.c


def _utc_day(dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of ``occurred_at``: SQLite stores the naive UTC text (``date()`` reads its day);
    PostgreSQL a ``timestamptz``, turned into UTC wall time before taking the date."""
    if dialect == "sqlite":
        return func.date(_L.occurred_at)
    return func.date(func.timezone("UTC", _L.occurred_at))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _rounds(entries: Sequence[LedgerEntry]) -> list[list[tuple[int, LedgerEntry]]]:
    """``entries`` with their input positions, cut wherever a key repeats (one statement may touch a row only
    once, and a repeated key must see its earlier occurrence applied, as sequential upserts would), each round
    sorted by key: concurrent writers then lock rows in the same order and never deadlock."""
    rounds: list[list[tuple[int, LedgerEntry]]] = [[]]
    seen: set[tuple[str, str]] = set()
    for position, entry in enumerate(entries):
        key = (entry.creator_id, entry.key)
        if key in seen:
            rounds.append([])
            seen.clear()
        seen.add(key)
        rounds[-1].append((position, entry))
    return [sorted(r, key=lambda item: (item[1].creator_id, item[1].key)) for r in rounds if r]


def _unnested() -> Any:
    """PostgreSQL's source of rows: one array per column, unnested. The statement then has one parameter per
    column whatever the batch holds, so its SQL text is the same for every batch: psycopg parses and prepares it
    once, and the server plans it once (a multi-row ``VALUES`` of a large batch is thousands of parameters of new
    text each time, which psycopg re-parses: that, not the database, was most of a large batch's cost). Strings
    are cast to ``text[]``: the column's own length check then applies (a cast to ``varchar(n)`` truncates)."""
    arrays = []
    for column in ledger_entries.columns:
        item = column.type if isinstance(column.type, (UtcDateTime, BigInteger)) else Text()
        arrays.append(cast(bindparam(column.name), ARRAY(item)))
    source = func.unnest(*arrays).table_valued(*COLUMNS).render_derived()
    return select(*(source.c[name] for name in COLUMNS))


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """The two upsert statements of a dialect: insert the new rows (returning their keys), then correct the
    existing rows whose content differs (returning theirs). SQLite takes the rows as executemany parameters
    (insertmanyvalues: compiled once, cached); PostgreSQL as column arrays (:func:`_unnested`)."""

    def source() -> Any:
        stmt = insert(dialect, ledger_entries)
        return stmt.from_select(COLUMNS, _unnested()) if dialect == "postgresql" else stmt

    fresh = source().on_conflict_do_nothing(index_elements=KEY)
    stmt = source()
    correct = stmt.on_conflict_do_update(
        index_elements=KEY,
        set_={name: stmt.excluded[name] for name in CONTENT},
        where=changed(ledger_entries, stmt.excluded, CONTENT),
    )
    return (
        fresh.returning(ledger_entries.c.creator_id, ledger_entries.c.key),
        correct.returning(ledger_entries.c.creator_id, ledger_entries.c.key),
    )


@functools.cache
def _binary_sql(dialect: Dialect) -> tuple[str, str]:
    """PostgreSQL's two statements as SQL text whose arrays are sent in psycopg's binary format (``%(name)b``): a
    text array is quoted element by element in Python (a regular-expression search per string), which cost about
    as much as the whole insert; the binary form is written by psycopg's C dumpers."""
    texts = []
    for stmt in _statements("postgresql"):
        sql = str(stmt.compile(dialect=dialect))
        for name in COLUMNS:
            sql = sql.replace(f"%({name})s", f"%({name})b")
        texts.append(sql)
    fresh, correct = texts
    return fresh, correct


async def _execute(conn: AsyncConnection, dialect: str, which: int, rows: list[dict[str, Any]]) -> list[Any]:
    """Run statement ``which`` of :func:`_statements` (0: insert the new rows, 1: correct the changed ones) over
    ``rows``; returns the (creator_id, key) of the rows it wrote."""
    if dialect == "postgresql":
        arrays = {name: [row[name] for row in rows] for name in COLUMNS}
        return list((await conn.exec_driver_sql(_binary_sql(conn.dialect)[which], arrays)).all())
    return list((await conn.execute(_statements(dialect)[which], rows)).all())


class SqlLedgerRepository:
    """Implements :class:`~onyx_core.ports.LedgerRepository`.

    An upsert is two statements per batch, each decided by the database under its own locking, so the report is
    exact even with concurrent writers: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` names the rows inserted,
    then ``INSERT … ON CONFLICT DO UPDATE … WHERE <content differs> RETURNING`` the existing rows that changed
    (a row whose content is equal is neither written nor returned). New rows then settle the provisional entries
    of webhooks they confirm (:func:`~onyx_adapters.sql.repositories.webhooks.settle_provisional`). Last, the
    creators whose rows changed get their data version bumped (:mod:`~onyx_adapters.sql.repositories.versions`):
    an upsert that changes nothing moves no stamp.
    """

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def upsert(self, entries: Sequence[LedgerEntry]) -> UpsertResult:
        inserted: list[tuple[int, LedgerEntry]] = []
        updated = 0
        touched: set[str] = set()
        if not entries:
            return UpsertResult((), 0)
        conn = await self._tx.writer()
        dialect = self._tx.dialect
        for batch in _rounds(entries):
            # PostgreSQL's arrays take a whole round in one statement; SQLite's bound parameters are limited
            for chunk in [batch] if dialect == "postgresql" else chunks(batch):
                rows = [_row(e) for _, e in chunk]
                # Parameters apart from the statement: it is compiled once and cached, not once per page.
                new = {(row.creator_id, row.key) for row in await _execute(conn, dialect, 0, rows)}
                inserted.extend(item for item in chunk if (item[1].creator_id, item[1].key) in new)
                existing = [r for r in rows if (r["creator_id"], r["key"]) not in new]
                if existing:
                    corrected = await _execute(conn, dialect, 1, existing)
                    updated += len(corrected)
                    touched.update(row.creator_id for row in corrected)
        # a polled row that a webhook announced replaces its provisional entry here, in the same transaction
        await settle_provisional(self._tx, [entry for _, entry in inserted])
        # after the settlement's advisory lock (see versions); a settled row's creator is one of the inserted rows'
        touched.update(entry.creator_id for _, entry in inserted)
        await bump_creators(self._tx, touched)
        return UpsertResult(tuple(entry for _, entry in sorted(inserted, key=lambda item: item[0])), updated)

    async def entries(self, creator_id: CreatorId, period: Period | None = None) -> list[LedgerEntry]:
        query = select(ledger_entries).where(ledger_entries.c.creator_id == creator_id)
        if period is not None:
            query = query.where(ledger_entries.c.occurred_at >= period.start, ledger_entries.c.occurred_at < period.end)
        query = query.order_by(ledger_entries.c.occurred_at, by_text(self._tx.dialect, ledger_entries.c.key))
        conn = await self._tx.reader()
        return [_entry(row) for row in await conn.execute(query)]

    async def earnings_by_day(self, creator_id: CreatorId, start: date, end: date) -> dict[date, DayTotals]:
        # One GROUP BY over the (creator_id, occurred_at) index; the day is the UTC calendar day on both engines.
        day = _utc_day(self._tx.dialect)
        query = (
            select(day.label("day"), func.sum(_L.gross_cents), func.sum(_L.net_cents))
            .where(
                _L.creator_id == creator_id,
                _L.kind == EntryKind.EARNING.value,
                _L.currency == USD,
                _L.occurred_at >= _midnight(start),
                _L.occurred_at < _midnight(end),
            )
            .group_by(day)
        )
        conn = await self._tx.reader()
        return {_as_date(d): DayTotals(int(gross), int(net)) for d, gross, net in await conn.execute(query)}

    async def net_total(self, creator_id: CreatorId, currency: str) -> int:
        query = select(func.coalesce(func.sum(ledger_entries.c.net_cents), 0)).where(
            ledger_entries.c.creator_id == creator_id, ledger_entries.c.currency == currency
        )
        conn = await self._tx.reader()
        return int((await conn.execute(query)).scalar_one())
