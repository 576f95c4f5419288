"""The core's analytics computed by aggregate queries over ``ledger_entries`` and ``subscriber_days``.

Every method returns exactly what the pure function of the same name in :mod:`onyx_core.analytics` returns for the
creator's ledger, without loading ledger rows into Python: the database sums, Python only builds the result types.

Time zones: SQLite has none, so calendar buckets and windows are computed in Python with the core's own functions
(:func:`~onyx_core.analytics.bucket_bounds`, :func:`~onyx_core.analytics.window_period`) as UTC instants, and the
query joins the ledger onto a CTE of those ``(idx, range_start, range_end)`` rows: one query for both engines, DST
handled once, by the core. Indexes used (checked with EXPLAIN in ``tests/adapters/test_sql_analytics.py``):
``(creator_id, occurred_at)`` for everything over a period, ``(creator_id, source, occurred_at)`` for the figures of
one source (tip average), ``(creator_id, fan_id)`` for one fan's figures (:meth:`SqlAnalytics.fan_spend`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    case,
    cast,
    collate,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.selectable import CTE

from onyx_adapters.sql.engine import READ_ONLY, require_onyx_engine
from onyx_adapters.sql.schema import ledger_entries, subscriber_days
from onyx_adapters.sql.types import UtcDateTime
from onyx_core.analytics import (
    GROWTH_WINDOWS,
    Basis,
    FanSpend,
    Granularity,
    Period,
    Ratio,
    RevenueBucket,
    RevenueTotals,
    SourceBucket,
    SubscriberHistoryDay,
    TimeZone,
    Window,
    WindowTotals,
    bucket_bounds,
    bucket_labels,
    growth,
    window_period,
)
from onyx_core.analytics.spenders import DEFAULT_LIMIT
from onyx_core.errors import CurrencyMismatchError, DomainValueError
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, Source
from onyx_core.money import USD, Money

__all__ = [
    "SqlAnalytics",
    "arpu_query",
    "fan_spend_query",
    "golden_ratio_query",
    "ltv_query",
    "ranged_totals_query",
    "revenue_totals_query",
    "tip_average_query",
    "top_spenders_query",
]

Query: TypeAlias = "Select[*tuple[Any, ...]]"
"""Any SELECT (SQLAlchemy 2.1 types a Select by its column types)."""

_E = ledger_entries.c
_D = subscriber_days.c
_EARNING = EntryKind.EARNING.value


# ----------------------------------------------------------------------------- expressions


def _total(expr: ColumnElement[Any]) -> ColumnElement[int]:
    """``SUM`` as an int on both engines (PostgreSQL's sum of bigint is numeric) and 0, not NULL, over no rows."""
    return cast(func.coalesce(func.sum(expr), 0), BigInteger)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return _total(case((condition, 1), else_=0))


def _amount(basis: Basis) -> ColumnElement[int]:
    return _E.gross_cents if basis is Basis.GROSS else _E.net_cents


def _totals_columns() -> list[ColumnElement[Any]]:
    """The six sums of :class:`RevenueTotals`, in its field order."""
    reversal = _E.kind != _EARNING
    return [
        _total(_E.gross_cents).label("gross"),
        _total(_E.net_cents).label("net"),
        _count_if(_E.kind == _EARNING).label("transactions"),
        _count_if(reversal).label("reversals"),
        _total(case((reversal, _E.gross_cents), else_=0)).label("reversal_gross"),
        _total(case((reversal, _E.net_cents), else_=0)).label("reversal_net"),
    ]


def _totals(row: Any, currency: str) -> RevenueTotals:
    return RevenueTotals(
        Money(int(row.gross), currency),
        Money(int(row.net), currency),
        int(row.transactions),
        int(row.reversals),
        Money(int(row.reversal_gross), currency),
        Money(int(row.reversal_net), currency),
    )


def _in_period(creator_id: CreatorId, period: Period) -> ColumnElement[bool]:
    return and_(_E.creator_id == creator_id, _E.occurred_at >= period.start, _E.occurred_at < period.end)


def _ranges(periods: Sequence[Period]) -> CTE:
    """``(idx, range_start, range_end)`` rows, one per period, as a CTE both engines accept (no VALUES aliasing)."""
    rows = [
        select(
            literal_column(str(index), Integer).label("idx"),
            literal(period.start, UtcDateTime()).label("range_start"),
            literal(period.end, UtcDateTime()).label("range_end"),
        )
        for index, period in enumerate(periods)
    ]
    table: Query | CompoundSelect[*tuple[Any, ...]] = rows[0] if len(rows) == 1 else union_all(*rows)
    return table.cte("ranges")


# ----------------------------------------------------------------------------- queries (public for EXPLAIN tests)


def revenue_totals_query(creator_id: CreatorId, period: Period, *, by_source: bool = False) -> Query:
    """Totals of the creator's entries in ``period`` (per source with ``by_source``)."""
    columns = [_E.source, *_totals_columns()] if by_source else _totals_columns()
    query = select(*columns).where(_in_period(creator_id, period))
    return query.group_by(_E.source) if by_source else query


def ranged_totals_query(creator_id: CreatorId, periods: Sequence[Period], *, by_source: bool = False) -> Query:
    """Totals per period of ``periods`` (``idx`` is its position), for buckets and windows alike.

    Periods may overlap (windows do) or be empty; a period without entries has no row. The outer bounds in the
    WHERE clause let the planner use the ``(creator_id, occurred_at)`` index range for the whole scan.
    """
    if not periods:
        raise DomainValueError("ranged_totals_query needs at least one period")
    ranges = _ranges(periods)
    outer = Period(min(p.start for p in periods), max(p.end for p in periods))
    keys: list[ColumnElement[Any]] = [ranges.c.idx, _E.source] if by_source else [ranges.c.idx]
    joined = ledger_entries.join(
        ranges, and_(_E.occurred_at >= ranges.c.range_start, _E.occurred_at < ranges.c.range_end)
    )
    return select(*keys, *_totals_columns()).select_from(joined).where(_in_period(creator_id, outer)).group_by(*keys)


def _fan_ratio_query(where: ColumnElement[bool], basis: Basis) -> Query:
    """Per fan first (grouped by ``fan_id``), then the fans' revenue summed and the fans who paid counted."""
    paying = and_(_E.kind == _EARNING, _E.gross_cents > 0)
    per_fan = (
        select(
            _total(_amount(basis)).label("amount"),
            func.max(case((paying, 1), else_=0)).label("paid"),
        )
        .where(where, _E.fan_id.is_not(None))
        .group_by(_E.fan_id)
        .subquery("per_fan")
    )
    return select(
        _total(per_fan.c.amount).label("numerator"),
        _count_if(per_fan.c.paid == 1).label("denominator"),
    )


def arpu_query(creator_id: CreatorId, period: Period, basis: Basis = Basis.NET) -> Query:
    """Fan revenue in ``period`` and the number of fans who paid in it."""
    return _fan_ratio_query(_in_period(creator_id, period), basis)


def ltv_query(creator_id: CreatorId, basis: Basis = Basis.NET) -> Query:
    """All-time fan revenue and the number of fans who ever paid."""
    return _fan_ratio_query(_E.creator_id == creator_id, basis)


def tip_average_query(creator_id: CreatorId, period: Period) -> Query:
    """Gross and number of the tips in ``period`` (the ``(creator_id, source, occurred_at)`` index)."""
    return select(_total(_E.gross_cents).label("numerator"), func.count().label("denominator")).where(
        _in_period(creator_id, period), _E.source == Source.TIP, _E.kind == _EARNING
    )


def golden_ratio_query(creator_id: CreatorId, period: Period, basis: Basis = Basis.NET) -> Query:
    """Engagement and subscription revenue in ``period`` (five sources of a few: the planner may prefer the time
    index)."""
    amount = _amount(basis)
    engagement = sorted(Source.ENGAGEMENT)
    subscription = sorted(Source.SUBSCRIPTION_LIKE)
    return select(
        _total(case((_E.source.in_(engagement), amount), else_=0)).label("numerator"),
        _total(case((_E.source.in_(subscription), amount), else_=0)).label("denominator"),
    ).where(_in_period(creator_id, period), _E.source.in_(engagement + subscription))


def _fan_spend_query(where: ColumnElement[bool]) -> Query:
    """:class:`FanSpend` columns per fan among the rows matching ``where``."""
    earning = _E.kind == _EARNING
    return (
        select(
            _E.fan_id,
            _total(_E.gross_cents).label("gross"),
            _total(_E.net_cents).label("net"),
            _count_if(earning).label("transactions"),
            _count_if(~earning).label("reversals"),
            func.max(case((earning, _E.occurred_at))).label("last_paid_at"),
        )
        .where(where, _E.fan_id.is_not(None))
        .group_by(_E.fan_id)
    )


def top_spenders_query(creator_id: CreatorId, period: Period, limit: int | None, *, dialect: str) -> Query:
    """Per-fan sums in ``period``, biggest first; fan ids compare by code point on both engines (as in Python)."""
    query = _fan_spend_query(_in_period(creator_id, period))
    fan_order = collate(_E.fan_id, "C" if dialect == "postgresql" else "BINARY")
    query = query.order_by(literal_column("net").desc(), literal_column("gross").desc(), fan_order)
    return query if limit is None else query.limit(limit)


def fan_spend_query(creator_id: CreatorId, fan_id: FanId, period: Period | None = None) -> Query:
    """One fan's sums (all time by default): the ``(creator_id, fan_id)`` index finds just that fan's rows."""
    where = and_(_E.creator_id == creator_id, _E.fan_id == fan_id)
    if period is not None:
        where = and_(where, _E.occurred_at >= period.start, _E.occurred_at < period.end)
    return _fan_spend_query(where)


def _fan_spend(row: Any, currency: str) -> FanSpend:
    return FanSpend(
        FanId(str(row.fan_id)),
        Money(int(row.gross), currency),
        Money(int(row.net), currency),
        int(row.transactions),
        int(row.reversals),
        row.last_paid_at,
    )


# ----------------------------------------------------------------------------- the adapter


class SqlAnalytics:
    """The core's analytics for one creator at a time, computed in the database (SQLite or PostgreSQL).

    Each method mirrors the pure function of the same name, with the creator id in place of the entries. As the
    core does with the entries it is given, every method first refuses a ledger holding another currency
    (:class:`~onyx_core.errors.CurrencyMismatchError`), whatever the period.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        require_onyx_engine(engine)
        self._engine = engine

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that never wait for a writer (a deferred transaction on SQLite)."""
        async with self._engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                await conn.execution_options(**READ_ONLY)
            yield conn

    @asynccontextmanager
    async def _read(self, creator_id: CreatorId, currency: str) -> AsyncIterator[AsyncConnection]:
        """One snapshot for the currency check and the figures (REPEATABLE READ on PostgreSQL; on SQLite a deferred
        transaction, which reads one consistent snapshot under WAL)."""
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:  # a plain BEGIN: a dashboard read never queues behind a sync's write lock
                await conn.execution_options(**READ_ONLY)
            other = (
                await conn.execute(
                    select(_E.key, _E.currency).where(_E.creator_id == creator_id, _E.currency != currency).limit(1)
                )
            ).first()
            if other is not None:
                raise CurrencyMismatchError(
                    f"ledger entry {other.key!r} is in {other.currency}, expected {currency}; convert first"
                )
            yield conn

    # --------------------------------------------------------------- revenue

    async def revenue_totals(self, creator_id: CreatorId, period: Period, currency: str = USD) -> RevenueTotals:
        """:func:`onyx_core.analytics.revenue_totals`."""
        async with self._read(creator_id, currency) as conn:
            row = (await conn.execute(revenue_totals_query(creator_id, period))).one()
        return _totals(row, currency)

    async def revenue_by_source(
        self, creator_id: CreatorId, period: Period, currency: str = USD
    ) -> dict[str, RevenueTotals]:
        """:func:`onyx_core.analytics.revenue_by_source`: keys sorted, only sources that occur."""
        async with self._read(creator_id, currency) as conn:
            rows = (await conn.execute(revenue_totals_query(creator_id, period, by_source=True))).all()
        found = {str(row.source): _totals(row, currency) for row in rows}
        return {source: found[source] for source in sorted(found)}

    @staticmethod
    def _buckets(period: Period, granularity: Granularity, tz: TimeZone) -> list[tuple[date, Period]]:
        # The core's own bucket edges, clipped to the period: contiguous, so each entry lands in exactly one.
        return [
            (label, bucket_bounds(label, granularity, tz).intersection(period))
            for label in bucket_labels(period, granularity, tz)
        ]

    async def revenue_series(
        self,
        creator_id: CreatorId,
        period: Period,
        granularity: Granularity,
        tz: TimeZone,
        currency: str = USD,
    ) -> list[RevenueBucket]:
        """:func:`onyx_core.analytics.revenue_series`: every bucket, empty ones as a real zero."""
        buckets = self._buckets(period, granularity, tz)
        async with self._read(creator_id, currency) as conn:
            if not buckets:
                return []
            query = ranged_totals_query(creator_id, [part for _, part in buckets])
            found = {int(row.idx): _totals(row, currency) for row in (await conn.execute(query)).all()}
        zero = RevenueTotals.zero(currency)
        return [RevenueBucket(label, part, found.get(i, zero)) for i, (label, part) in enumerate(buckets)]

    async def revenue_by_source_series(
        self,
        creator_id: CreatorId,
        period: Period,
        granularity: Granularity,
        tz: TimeZone,
        currency: str = USD,
    ) -> list[SourceBucket]:
        """:func:`onyx_core.analytics.revenue_by_source_series`: revenue by source and local calendar bucket."""
        buckets = self._buckets(period, granularity, tz)
        async with self._read(creator_id, currency) as conn:
            if not buckets:
                return []
            query = ranged_totals_query(creator_id, [part for _, part in buckets], by_source=True)
            rows = (await conn.execute(query)).all()
        found: dict[int, dict[str, RevenueTotals]] = {}
        for row in rows:
            found.setdefault(int(row.idx), {})[str(row.source)] = _totals(row, currency)
        result = []
        for i, (label, part) in enumerate(buckets):
            per_source = found.get(i, {})
            result.append(SourceBucket(label, part, {source: per_source[source] for source in sorted(per_source)}))
        return result

    async def totals_with_growth(
        self, creator_id: CreatorId, now: datetime, tz: TimeZone, currency: str = USD
    ) -> dict[Window, WindowTotals]:
        """:func:`onyx_core.analytics.totals_with_growth`: nine periods summed in one query."""
        async with self._read(creator_id, currency) as conn:
            earliest = (
                await conn.execute(select(func.min(_E.occurred_at)).where(_E.creator_id == creator_id))
            ).scalar()
            periods: list[Period] = []
            for window in GROWTH_WINDOWS:
                current = window_period(window, now, tz)
                periods += [current, current.previous()]
            periods.append(window_period(Window.ALL, now, tz, earliest=earliest))
            rows = (await conn.execute(ranged_totals_query(creator_id, periods))).all()
        found = {int(row.idx): _totals(row, currency) for row in rows}
        zero = RevenueTotals.zero(currency)
        sums = [found.get(i, zero) for i in range(len(periods))]
        result: dict[Window, WindowTotals] = {}
        for n, window in enumerate(GROWTH_WINDOWS):
            now_totals, before = sums[2 * n], sums[2 * n + 1]
            result[window] = WindowTotals(
                window,
                periods[2 * n],
                now_totals,
                periods[2 * n + 1],
                before,
                growth(now_totals.net, before.net),
                growth(now_totals.gross, before.gross),
            )
        result[Window.ALL] = WindowTotals(Window.ALL, periods[-1], sums[-1], None, None, None, None)
        return result

    # --------------------------------------------------------------- per-fan figures and ratios

    async def _ratio(self, creator_id: CreatorId, currency: str, query: Query) -> Ratio:
        async with self._read(creator_id, currency) as conn:
            row = (await conn.execute(query)).one()
        return Ratio(int(row.numerator), int(row.denominator))

    async def arpu(
        self, creator_id: CreatorId, period: Period, currency: str = USD, *, basis: Basis = Basis.NET
    ) -> Ratio:
        """:func:`onyx_core.analytics.arpu`: undefined with no paying fan."""
        return await self._ratio(creator_id, currency, arpu_query(creator_id, period, basis))

    async def ltv(self, creator_id: CreatorId, currency: str = USD, *, basis: Basis = Basis.NET) -> Ratio:
        """:func:`onyx_core.analytics.ltv`: undefined when no fan ever paid."""
        return await self._ratio(creator_id, currency, ltv_query(creator_id, basis))

    async def tip_average(self, creator_id: CreatorId, period: Period, currency: str = USD) -> Ratio:
        """:func:`onyx_core.analytics.tip_average`: undefined with no tip."""
        return await self._ratio(creator_id, currency, tip_average_query(creator_id, period))

    async def golden_ratio(
        self, creator_id: CreatorId, period: Period, currency: str = USD, *, basis: Basis = Basis.NET
    ) -> Ratio:
        """:func:`onyx_core.analytics.golden_ratio`: undefined without subscription revenue."""
        return await self._ratio(creator_id, currency, golden_ratio_query(creator_id, period, basis))

    async def transaction_count(self, creator_id: CreatorId, period: Period, currency: str = USD) -> int:
        """:func:`onyx_core.analytics.transaction_count`: earnings, not reversals."""
        query = select(func.count()).where(_in_period(creator_id, period), _E.kind == _EARNING)
        async with self._read(creator_id, currency) as conn:
            return int((await conn.execute(query)).scalar_one())

    async def paying_fans(self, creator_id: CreatorId, period: Period | None = None) -> frozenset[FanId]:
        """:func:`onyx_core.analytics.paying_fans` of the creator's entries in ``period`` (all time by default)."""
        where = _E.creator_id == creator_id if period is None else _in_period(creator_id, period)
        query = (
            select(_E.fan_id).where(where, _E.fan_id.is_not(None), _E.kind == _EARNING, _E.gross_cents > 0).distinct()
        )
        async with self._reader() as conn:
            return frozenset(FanId(str(fan)) for fan in (await conn.execute(query)).scalars())

    async def top_spenders(
        self,
        creator_id: CreatorId,
        period: Period,
        limit: int | None = DEFAULT_LIMIT,
        currency: str = USD,
    ) -> list[FanSpend]:
        """:func:`onyx_core.analytics.top_spenders`: net, then gross, descending; then fan id."""
        if limit is not None and limit < 0:
            raise DomainValueError("limit must be >= 0 (or None for all fans)")
        async with self._read(creator_id, currency) as conn:
            query = top_spenders_query(creator_id, period, limit, dialect=conn.dialect.name)
            rows = (await conn.execute(query)).all()
        return [_fan_spend(row, currency) for row in rows]

    async def fan_spend(
        self, creator_id: CreatorId, fan_id: FanId, period: Period | None = None, currency: str = USD
    ) -> FanSpend | None:
        """One fan's line of :func:`onyx_core.analytics.top_spenders` (all time by default), ``None`` when the fan
        has no entry: the fan's page without ranking every fan."""
        async with self._read(creator_id, currency) as conn:
            row = (await conn.execute(fan_spend_query(creator_id, fan_id, period))).first()
        return None if row is None else _fan_spend(row, currency)

    # --------------------------------------------------------------- audience

    async def subscriber_history(
        self, creator_id: CreatorId, start_day: date, end_day: date
    ) -> list[SubscriberHistoryDay]:
        """:func:`onyx_core.analytics.subscriber_history`: the running net is a window sum in SQL; Python only
        lays the observed days out on the calendar, with unobserved days as gaps (``None``, never 0)."""
        if start_day > end_day:
            raise DomainValueError(f"start_day {start_day} is after end_day {end_day}")
        running = func.sum(_D.new - _D.cancelled).over(order_by=_D.day)
        query = (
            select(_D.day, _D.new, _D.cancelled, running.label("running"))
            .where(_D.creator_id == creator_id, _D.day >= start_day, _D.day < end_day)
            .order_by(_D.day)
        )
        async with self._reader() as conn:
            observed = {row.day: row for row in (await conn.execute(query)).all()}
        result: list[SubscriberHistoryDay] = []
        gap = False
        day = start_day
        while day < end_day:
            row = observed.get(day)
            if row is None:
                gap = True
                result.append(
                    SubscriberHistoryDay(day, observed=False, new=None, cancelled=None, net=None, running_net=None)
                )
            else:
                new, cancelled = int(row.new), int(row.cancelled)
                result.append(
                    SubscriberHistoryDay(
                        day,
                        observed=True,
                        new=new,
                        cancelled=cancelled,
                        net=new - cancelled,
                        running_net=None if gap else int(row.running),
                    )
                )
            day += timedelta(days=1)
        return result
