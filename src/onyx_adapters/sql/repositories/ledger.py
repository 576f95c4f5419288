"""The earnings ledger: idempotent upserts on (creator_id, key), SQL sums."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from onyx_adapters.sql.repositories._base import Transaction, by_text, changed, insert
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
def _statements() -> tuple[Any, Any]:
    """PostgreSQL's two upsert statements, each over the rows as column arrays (:func:`_unnested`): insert the new
    rows (returning their keys), then correct the existing rows whose content differs (returning theirs)."""
    fresh = (
        insert("postgresql", ledger_entries)
        .from_select(COLUMNS, _unnested())
        .on_conflict_do_nothing(index_elements=KEY)
    )
    stmt = insert("postgresql", ledger_entries).from_select(COLUMNS, _unnested())
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
    for stmt in _statements():
        sql = str(stmt.compile(dialect=dialect))
        for name in COLUMNS:
            sql = sql.replace(f"%({name})s", f"%({name})b")
        texts.append(sql)
    fresh, correct = texts
    return fresh, correct


async def _execute(conn: AsyncConnection, which: int, rows: list[dict[str, Any]]) -> list[Any]:
    """Run PostgreSQL's statement ``which`` of :func:`_statements` (0: insert the new rows, 1: correct the changed
    ones) over ``rows``; returns the (creator_id, key) of the rows it wrote."""
    arrays = {name: [row[name] for row in rows] for name in COLUMNS}
    return list((await conn.exec_driver_sql(_binary_sql(conn.dialect)[which], arrays)).all())


_SQLITE_STORED = (
    f"SELECT key, {', '.join(CONTENT)} FROM ledger_entries "  # noqa: S608 - column names, no input
    "WHERE creator_id = ? AND key IN (SELECT value FROM json_each(?))"
)
_SQLITE_INSERT = (
    f"INSERT INTO ledger_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "  # noqa: S608
    "ON CONFLICT (creator_id, key) DO NOTHING"
)
_SQLITE_UPDATE = (
    f"UPDATE ledger_entries SET {', '.join(f'{name} = ?' for name in CONTENT)} "  # noqa: S608
    "WHERE creator_id = ? AND key = ?"
)


@functools.cache
def _sqlite_values(dialect: Dialect) -> Any:
    """A function giving an entry's ``ledger_entries`` row as SQLite's driver takes it (the columns' own bind
    processing, the dialect's included: the instant as the naive UTC text the ORM writes), in :data:`COLUMNS` order."""
    at = ledger_entries.c.occurred_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert at is not None  # noqa: S101 - UtcDateTime always processes

    def values(entry: LedgerEntry) -> tuple[Any, ...]:
        return (
            entry.creator_id,
            entry.key,
            at(entry.occurred_at),
            entry.kind.value,
            entry.source,
            entry.gross.cents,
            entry.net.cents,
            entry.gross.currency,
            entry.fan_id,
            entry.reference,
            entry.original_currency,
        )

    return values


async def _sqlite_round(conn: AsyncConnection, entries: Sequence[LedgerEntry]) -> tuple[set[int], list[str]]:
    """Upsert one round (no key twice) on SQLite; returns the positions in ``entries`` inserted and the creators
    of the rows corrected. The unit of work holds SQLite's write lock from its first statement (``BEGIN
    IMMEDIATE``), so the stored rows read first stay as read until commit: what is new, what differs and what is
    equal is decided exactly in Python, then only the new rows are inserted and the changed ones updated, each as
    one plain ``executemany`` (an equal row, a whole re-ingest, writes nothing). This replaces an ``INSERT …
    RETURNING`` and an ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` over every row: SQLite's driver cannot
    ``executemany`` a statement returning rows, so those went through SQLAlchemy's per-row parameter building and
    multi-row ``VALUES``, most of the upsert's time."""
    values = _sqlite_values(conn.dialect)
    rows = [values(entry) for entry in entries]
    keys: dict[str, list[str]] = {}
    for row in rows:
        keys.setdefault(row[0], []).append(row[1])
    stored: dict[tuple[str, str], tuple[Any, ...]] = {}
    for creator_id, creator_keys in keys.items():
        result = await conn.exec_driver_sql(_SQLITE_STORED, (creator_id, json.dumps(creator_keys)))
        stored.update(((creator_id, found[0]), tuple(found[1:])) for found in result)
    new: set[int] = set()
    fresh: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    for position, row in enumerate(rows):
        content = stored.get((row[0], row[1]))
        if content is None:
            new.add(position)
            fresh.append(row)
        elif content != row[2:]:
            changes.append((*row[2:], row[0], row[1]))
    if fresh:
        await conn.exec_driver_sql(_SQLITE_INSERT, fresh)
    if changes:
        await conn.exec_driver_sql(_SQLITE_UPDATE, changes)
    return new, [change[-2] for change in changes]


class SqlLedgerRepository:
    """Implements :class:`~onyx_core.ports.LedgerRepository`.

    The report is exact even with concurrent writers. On PostgreSQL an upsert is two statements per batch, each
    decided by the database under its own locking: ``INSERT … ON CONFLICT DO NOTHING RETURNING`` names the rows
    inserted, then ``INSERT … ON CONFLICT DO UPDATE … WHERE <content differs> RETURNING`` the existing rows that
    changed (a row whose content is equal is neither written nor returned). On SQLite the unit of work holds the
    database's write lock, so the stored rows are read first and compared in Python (:func:`_sqlite_round`).
    New rows then settle the provisional entries of webhooks they confirm
    (:func:`~onyx_adapters.sql.repositories.webhooks.settle_provisional`). Last, the creators whose rows changed
    get their data version bumped (:mod:`~onyx_adapters.sql.repositories.versions`): an upsert that changes
    nothing moves no stamp.
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
            if dialect == "sqlite":
                positions, corrected_by = await _sqlite_round(conn, [e for _, e in batch])
                inserted.extend(batch[i] for i in sorted(positions))
                updated += len(corrected_by)
                touched.update(corrected_by)
                continue
            # PostgreSQL's arrays take a whole round in one statement, whose parameters are apart from the
            # statement: it is compiled once and cached, not once per page.
            rows = [_row(e) for _, e in batch]
            new = {(row.creator_id, row.key) for row in await _execute(conn, 0, rows)}
            inserted.extend(item for item in batch if (item[1].creator_id, item[1].key) in new)
            existing = [r for r in rows if (r["creator_id"], r["key"]) not in new]
            if existing:
                corrected = await _execute(conn, 1, existing)
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
