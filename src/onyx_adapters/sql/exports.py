"""The export datasets read from SQL in chunks, with constant memory whatever the number of rows.

:class:`SqlExports` implements :class:`~onyx_core.exports.ExportSource`. ``open(scope)`` starts one read-only
snapshot (REPEATABLE READ on PostgreSQL; a deferred transaction on SQLite, which under WAL reads one snapshot and
never blocks the sync's writes), counts the rows, and then streams them: SQLAlchemy's ``stream()`` with
``yield_per`` is a server-side cursor on PostgreSQL (psycopg's named cursor) and a stepped cursor on SQLite
(aiosqlite's ``fetchmany``), so at most one chunk of rows is in Python at a time.

Every query is limited to the scope's creators (``creator_id IN …``), which the core decided from the member's
agency and creator scope; no query reads another agency's rows.

Local days without time zones in SQLite: the daily revenue groups on ``date(occurred_at + offset)``, where the
offset is that of the export's time zone during the span of the instant (:func:`onyx_core.exports.offset_spans`,
a few spans a year: a ``CASE`` over the span ends). The same expression runs on PostgreSQL, so both engines give
the same days as Python's ``zoneinfo``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import BigInteger, ColumnElement, Date, Select, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql.engine import READ_ONLY, require_onyx_engine
from onyx_adapters.sql.repositories._base import by_text
from onyx_adapters.sql.schema import ledger_entries, stats_events, top_spenders
from onyx_core.exports import COLUMNS, Dataset, ExportScope, offset_spans
from onyx_core.ledger import EntryKind

__all__ = ["CHUNK_ROWS", "SqlExports", "export_query"]

CHUNK_ROWS = 1000
"""Rows per chunk read from the database (and written to the response at once)."""

Query: TypeAlias = "Select[*tuple[Any, ...]]"
Row: TypeAlias = tuple[Any, ...]

_L = ledger_entries.c
_S = stats_events.c
_T = top_spenders.c
_EARNING = EntryKind.EARNING.value


def _total(expr: ColumnElement[Any]) -> ColumnElement[int]:
    """``SUM`` as an int on both engines (PostgreSQL's sum of bigint is numeric)."""
    return cast(func.coalesce(func.sum(expr), 0), BigInteger)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return _total(case((condition, 1), else_=0))


def _in_range(column: Any, scope: ExportScope) -> list[ColumnElement[bool]]:
    filters = scope.filters
    where: list[ColumnElement[bool]] = []
    if filters.start is not None:
        where.append(column >= filters.start)
    if filters.end is not None:
        where.append(column < filters.end)
    return where


def _ledger_where(scope: ExportScope) -> list[ColumnElement[bool]]:
    return [_L.creator_id.in_(scope.creator_ids), *_in_range(_L.occurred_at, scope)]


def _ledger(scope: ExportScope, dialect: str) -> Query:
    columns = [getattr(_L, name) for name in COLUMNS[Dataset.LEDGER]]
    return (
        select(*columns)
        .where(*_ledger_where(scope))
        .order_by(by_text(dialect, _L.creator_id), _L.occurred_at, by_text(dialect, _L.key))
    )


def _local_date(offset: timedelta, dialect: str) -> ColumnElement[Any]:
    """The calendar date of ``occurred_at + offset``: SQLite stores naive UTC text, PostgreSQL a timestamptz
    (made UTC wall time first)."""
    if dialect == "sqlite":
        return func.date(_L.occurred_at, literal(f"{int(offset.total_seconds()):+d} seconds"))
    return cast(func.timezone("UTC", _L.occurred_at) + literal(offset), Date)


def _daily_revenue(scope: ExportScope, dialect: str, bounds: tuple[datetime, datetime] | None) -> Query:
    """Sums per local day, creator, source and currency. ``bounds``: the range the day expression must cover
    (the scope's first and last entry in the filter's range); ``None`` when there is no entry."""
    if bounds is None:
        day: ColumnElement[Any] = literal("1970-01-01")  # no entry: the query returns no row anyway
    else:
        spans = offset_spans(scope.filters.zone, *bounds)
        if len(spans) <= 1:
            day = _local_date(spans[0].offset if spans else timedelta(0), dialect)
        else:
            day = case(
                *[(_L.occurred_at < span.end, _local_date(span.offset, dialect)) for span in spans[:-1]],
                else_=_local_date(spans[-1].offset, dialect),
            )
    earning = _L.kind == _EARNING
    # the day in a subquery, grouped outside: PostgreSQL does not see two copies of a CASE with bound
    # parameters as the same expression
    rows = (
        select(
            day.label("day"),
            _L.creator_id,
            _L.source,
            _L.currency,
            _L.gross_cents,
            _L.net_cents,
            case((earning, 1), else_=0).label("earning"),
            case((earning, 0), else_=1).label("reversal"),
        )
        .where(*_ledger_where(scope))
        .subquery("entries")
    )
    keys = [rows.c.day, rows.c.creator_id, rows.c.source, rows.c.currency]
    return (
        select(
            *keys,
            _total(rows.c.gross_cents).label("gross_cents"),
            _total(rows.c.net_cents).label("net_cents"),
            _total(rows.c.earning).label("transactions"),
            _total(rows.c.reversal).label("reversals"),
        )
        .group_by(*keys)
        .order_by(rows.c.day, by_text(dialect, rows.c.creator_id), by_text(dialect, rows.c.source), rows.c.currency)
    )


def _stats_history(scope: ExportScope, dialect: str) -> Query:
    where = [_S.creator_id.in_(scope.creator_ids), *_in_range(_S.at, scope)]
    if scope.filters.metric is not None:
        where.append(_S.metric == scope.filters.metric)
    columns = [getattr(_S, name) for name in COLUMNS[Dataset.STATS_HISTORY]]
    return select(*columns).where(*where).order_by(by_text(dialect, _S.creator_id), _S.id)


def _top_spenders(scope: ExportScope, dialect: str) -> Query:
    """Every fan's sums per creator and currency in the range, ranked as the core's ``top_spenders`` ranks (net,
    then gross, descending; then fan id by code point); handle and display name from the creator's stored
    Fanvue top-spenders list when the fan is in it (``NULL`` otherwise)."""
    earning = _L.kind == _EARNING
    per_fan = (
        select(
            _L.creator_id,
            _L.fan_id,
            _L.currency,
            _total(_L.gross_cents).label("gross_cents"),
            _total(_L.net_cents).label("net_cents"),
            _count_if(earning).label("transactions"),
            _count_if(~earning).label("reversals"),
            func.max(case((earning, _L.occurred_at))).label("last_paid_at"),
        )
        .where(*_ledger_where(scope), _L.fan_id.is_not(None))
        .group_by(_L.creator_id, _L.fan_id, _L.currency)
        .subquery("per_fan")
    )
    rank = func.row_number().over(
        partition_by=(per_fan.c.creator_id, per_fan.c.currency),
        order_by=(per_fan.c.net_cents.desc(), per_fan.c.gross_cents.desc(), by_text(dialect, per_fan.c.fan_id)),
    )
    ranked = select(*per_fan.c, rank.label("rank")).subquery("ranked")

    def known(column: Any) -> Any:
        return (
            select(column)
            .where(_T.scope == ranked.c.creator_id, _T.fan_id == ranked.c.fan_id)
            .order_by(_T.rank)
            .limit(1)
            .scalar_subquery()
        )

    query = select(
        ranked.c.creator_id,
        ranked.c.rank,
        ranked.c.fan_id,
        known(_T.handle).label("handle"),
        known(_T.display_name).label("display_name"),
        ranked.c.currency,
        ranked.c.gross_cents,
        ranked.c.net_cents,
        ranked.c.transactions,
        ranked.c.reversals,
        ranked.c.last_paid_at,
    )
    if scope.filters.limit is not None:
        query = query.where(ranked.c.rank <= scope.filters.limit)
    return query.order_by(by_text(dialect, ranked.c.creator_id), ranked.c.currency, ranked.c.rank)


def export_query(scope: ExportScope, dialect: str, bounds: tuple[datetime, datetime] | None = None) -> Query:
    """The SELECT of ``scope``'s rows, columns in :data:`~onyx_core.exports.COLUMNS` order (public for tests and
    EXPLAIN). ``bounds`` matter to the daily revenue only (see :func:`_daily_revenue`)."""
    if scope.dataset is Dataset.LEDGER:
        return _ledger(scope, dialect)
    if scope.dataset is Dataset.DAILY_REVENUE:
        return _daily_revenue(scope, dialect, bounds)
    if scope.dataset is Dataset.STATS_HISTORY:
        return _stats_history(scope, dialect)
    return _top_spenders(scope, dialect)


def _day_as_text(row: Any) -> Row:
    """A daily-revenue row with its day as ``YYYY-MM-DD`` on both engines (SQLite's ``date()`` gives text,
    PostgreSQL a ``date``)."""
    day = row[0]
    return (day.isoformat() if isinstance(day, date) else day, *row[1:])


class _Cursor:
    def __init__(self, conn: AsyncConnection, query: Query, count: int, convert: Callable[[Any], Row] | None) -> None:
        self._conn = conn
        self._query = query
        self._count = count
        self._convert = convert

    @property
    def count(self) -> int:
        return self._count

    async def chunks(self) -> AsyncIterator[Sequence[Row]]:
        result = await self._conn.stream(self._query.execution_options(yield_per=CHUNK_ROWS))
        try:
            async for partition in result.partitions(CHUNK_ROWS):
                # rows as SQLAlchemy gives them (tuples) unless a column needs converting
                yield partition if self._convert is None else [self._convert(row) for row in partition]
        finally:
            await result.close()


class SqlExports:
    """Implements :class:`~onyx_core.exports.ExportSource` on SQLite and PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        require_onyx_engine(engine)
        self._engine = engine

    @asynccontextmanager
    async def open(self, scope: ExportScope) -> AsyncIterator[_Cursor]:
        async with self._engine.connect() as conn:
            dialect = conn.dialect.name
            if dialect == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                await conn.execution_options(**READ_ONLY)
            async with conn.begin():
                bounds = await self._bounds(conn, scope) if scope.dataset is Dataset.DAILY_REVENUE else None
                query = export_query(scope, dialect, bounds)
                count = (
                    await conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))
                ).scalar_one()
                convert = _day_as_text if scope.dataset is Dataset.DAILY_REVENUE else None
                yield _Cursor(conn, query, int(count), convert)
                # read-only: leaving the block without commit rolls the snapshot back

    @staticmethod
    async def _bounds(conn: AsyncConnection, scope: ExportScope) -> tuple[datetime, datetime] | None:
        """The range the daily revenue's day expression must cover: from the scope's first entry in the filter's
        range to just after its last (never the filter's own ends: a range of ten thousand years would make
        :func:`offset_spans` walk every one of its days). ``None`` when no entry is in range."""
        first, last = (
            await conn.execute(select(func.min(_L.occurred_at), func.max(_L.occurred_at)).where(*_ledger_where(scope)))
        ).one()
        if first is None:
            return None
        return first, last + timedelta(microseconds=1)
