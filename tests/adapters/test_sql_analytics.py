"""The SQL analytics equal the core's pure reference on generated ledgers, on SQLite and PostgreSQL.

Each example stores a ledger under a fresh creator (the databases are shared by the session) and compares every SQL
figure with the core's function over the same entries, in UTC and in zones with DST. The EXPLAIN tests show each
analytics index of ``ledger_entries`` is used by the query it exists for.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql import analytics as sql
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_adapters.sql.engine import create_engine, sync_url
from onyx_adapters.sql.schema import agencies, creators, ledger_entries, subscriber_days
from onyx_core import analytics as core
from onyx_core.analytics import Basis, Granularity, Period, SubscriberDay, Window, local_midnight
from onyx_core.errors import CurrencyMismatchError
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.testing import strategies

T = TypeVar("T")

EXAMPLES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
# 2026 DST changes: Berlin 03-29 and 10-25 at 01:00 UTC, New York 03-08 07:00 and 11-01 06:00 UTC.
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
# Bucket edges themselves (local midnights around the changes, and the first of months), one second either side.
EDGES = sorted(
    {
        local_midnight(day, zone) + timedelta(seconds=shift)
        for zone in ZONES
        for change in CHANGES
        for day in (change.date() - timedelta(days=1), change.date(), change.date() + timedelta(days=1))
        for shift in (-1, 0, 1)
    }
    | {local_midnight(date(2026, month, 1), zone) for zone in ZONES for month in (3, 4, 10, 11)}
)
times = st.one_of(
    strategies.instants(span=timedelta(days=400)),
    *(strategies.instants(change - timedelta(days=2), timedelta(days=4)) for change in CHANGES),
    st.sampled_from(EDGES),
)
ledgers = strategies.ledgers(times=times)


@st.composite
def periods(draw: st.DrawFn, max_days: int | None = None) -> Period:
    start = draw(times)
    if max_days is None:
        end = draw(times)
        return Period(min(start, end), max(start, end))
    return Period(start, start + timedelta(seconds=draw(st.integers(0, max_days * 86_400))))


@dataclass
class Db:
    """An engine and its analytics, driven from synchronous hypothesis tests by one event loop."""

    runner: asyncio.Runner
    engine: AsyncEngine
    analytics: SqlAnalytics

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def creator_with(self, entries: Sequence[LedgerEntry] = (), days: Sequence[SubscriberDay] = ()) -> CreatorId:
        """A fresh agency and creator holding ``entries`` and subscriber ``days`` (their creator ids replaced)."""
        return self.run(self._store(entries, days))

    async def _store(self, entries: Sequence[LedgerEntry], days: Sequence[SubscriberDay]) -> CreatorId:
        creator = CreatorId(f"c-{uuid.uuid4().hex}")
        agency = f"a-{uuid.uuid4().hex}"
        async with self.engine.begin() as conn:
            await conn.execute(insert(agencies).values(id=agency, name="Agency"))
            await conn.execute(
                insert(creators).values(
                    id=creator, agency_id=agency, handle="h", display_name="H", imported_at=datetime.now(UTC)
                )
            )
            if entries:
                await conn.execute(
                    insert(ledger_entries),
                    [
                        {
                            "creator_id": creator,
                            "key": e.key,
                            "occurred_at": e.occurred_at,
                            "kind": e.kind.value,
                            "source": e.source,
                            "gross_cents": e.gross.cents,
                            "net_cents": e.net.cents,
                            "currency": e.gross.currency,
                            "fan_id": e.fan_id,
                            "reference": e.reference,
                            "original_currency": e.original_currency,
                        }
                        for e in entries
                    ],
                )
            if days:
                await conn.execute(
                    insert(subscriber_days),
                    [{"creator_id": creator, "day": d.day, "new": d.new, "cancelled": d.cancelled} for d in days],
                )
        return creator


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    with asyncio.Runner() as runner:
        engine = create_engine(database_url)
        yield Db(runner, engine, SqlAnalytics(engine))
        runner.run(engine.dispose())


# ----------------------------------------------------------------------------- equal to the core


@EXAMPLES
@given(
    entries=ledgers,
    period=periods(),
    basis=st.sampled_from(list(Basis)),
    limit=st.sampled_from([None, 0, 1, 2, 50]),
)
@example(entries=[], period=Period(CHANGES[0], CHANGES[1]), basis=Basis.NET, limit=50)
def test_period_figures_equal_the_core(
    db: Db, entries: list[LedgerEntry], period: Period, basis: Basis, limit: int | None
) -> None:
    creator = db.creator_with(entries)
    a = db.analytics
    assert db.run(a.revenue_totals(creator, period)) == core.revenue_totals(entries, period)
    by_source = db.run(a.revenue_by_source(creator, period))
    assert by_source == core.revenue_by_source(entries, period)
    assert list(by_source) == sorted(by_source)
    assert db.run(a.transaction_count(creator, period)) == core.transaction_count(entries, period)
    assert db.run(a.arpu(creator, period, basis=basis)) == core.arpu(entries, period, basis=basis)
    assert db.run(a.ltv(creator, basis=basis)) == core.ltv(entries, basis=basis)
    assert db.run(a.tip_average(creator, period)) == core.tip_average(entries, period)
    assert db.run(a.golden_ratio(creator, period, basis=basis)) == core.golden_ratio(entries, period, basis=basis)
    assert db.run(a.top_spenders(creator, period, limit)) == core.top_spenders(entries, period, limit)
    assert db.run(a.paying_fans(creator)) == core.paying_fans(entries)
    for fan in strategies.FANS:
        if fan is not None:
            assert db.run(a.fan_spend(creator, fan, period)) == _line(core.top_spenders(entries, period, None), fan)
            assert db.run(a.fan_spend(creator, fan)) == _line(core.top_spenders(entries, ALL_TIME, None), fan)


ALL_TIME = Period(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _line(spenders: list[core.FanSpend], fan: FanId) -> core.FanSpend | None:
    return next((spend for spend in spenders if spend.fan_id == fan), None)


@EXAMPLES
@given(
    entries=ledgers,
    tz=st.sampled_from(ZONES),
    granularity_and_period=st.sampled_from(list(Granularity)).flatmap(
        lambda g: st.tuples(st.just(g), periods(max_days=60 if g is Granularity.DAY else 400))
    ),
)
def test_series_in_a_time_zone_equal_the_core(
    db: Db, entries: list[LedgerEntry], tz: str, granularity_and_period: tuple[Granularity, Period]
) -> None:
    granularity, period = granularity_and_period
    creator = db.creator_with(entries)
    series = db.run(db.analytics.revenue_series(creator, period, granularity, tz))
    assert series == core.revenue_series(entries, period, granularity, tz)
    by_source = db.run(db.analytics.revenue_by_source_series(creator, period, granularity, tz))
    assert by_source == core.revenue_by_source_series(entries, period, granularity, tz)


@EXAMPLES
@given(entries=ledgers, tz=st.sampled_from(ZONES), now=times)
def test_totals_with_growth_equal_the_core(db: Db, entries: list[LedgerEntry], tz: str, now: datetime) -> None:
    creator = db.creator_with(entries)
    assert db.run(db.analytics.totals_with_growth(creator, now, tz)) == core.totals_with_growth(entries, now, tz)


FIRST_DAY = date(2026, 3, 1)
days_in_range = st.integers(0, 40).map(lambda n: FIRST_DAY + timedelta(days=n))


@EXAMPLES
@given(
    rows=st.lists(
        st.tuples(days_in_range, st.integers(0, 500), st.integers(0, 500)), max_size=30, unique_by=lambda r: r[0]
    ),
    start=days_in_range,
    length=st.integers(0, 45),
)
def test_subscriber_history_equals_the_core(
    db: Db, rows: list[tuple[date, int, int]], start: date, length: int
) -> None:
    days = [SubscriberDay(CreatorId("creator"), day, new, cancelled) for day, new, cancelled in rows]
    creator = db.creator_with(days=days)
    end = start + timedelta(days=length)
    assert db.run(db.analytics.subscriber_history(creator, start, end)) == core.subscriber_history(days, start, end)


# ----------------------------------------------------------------------------- edge cases


def test_an_empty_ledger_sums_to_zero_and_its_ratios_are_undefined(db: Db) -> None:
    creator = db.creator_with()
    a = db.analytics
    period = Period(CHANGES[0], CHANGES[1])
    ratios = [
        db.run(a.arpu(creator, period)),
        db.run(a.ltv(creator)),
        db.run(a.tip_average(creator, period)),
        db.run(a.golden_ratio(creator, period)),
    ]
    assert all(not r.defined and r.value is None for r in ratios)
    assert db.run(a.revenue_totals(creator, period)) == core.RevenueTotals.zero()
    growth = db.run(a.totals_with_growth(creator, CHANGES[1], "Europe/Berlin"))
    week_growth = growth[Window.D7].net_growth
    assert week_growth is not None
    assert not week_growth.defined
    assert growth[Window.ALL].period.empty
    series = db.run(a.revenue_series(creator, period, Granularity.MONTH, "Europe/Berlin"))
    assert [b.label.month for b in series] == list(range(3, 11))
    assert all(b.totals == core.RevenueTotals.zero() for b in series)


def test_the_worked_example_of_the_docs(db: Db) -> None:
    """docs/analytics.md: Berlin across the spring-forward day, a refund, a fan-less referral."""

    def entry(n: int, at: datetime, source: str, fan: str | None, gross: int, net: int) -> LedgerEntry:
        kind = EntryKind.REFUND if source == Source.REFUND else EntryKind.EARNING
        return LedgerEntry(
            CreatorId("x"), f"k{n}", at, source, Money(gross), Money(net), kind, FanId(fan) if fan else None
        )

    entries = [
        entry(1, datetime(2026, 3, 28, 9, tzinfo=UTC), Source.SUBSCRIPTION, "A", 1000, 800),
        entry(2, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), Source.TIP, "A", 500, 400),
        entry(3, datetime(2026, 3, 29, 1, 30, tzinfo=UTC), Source.MESSAGE, "B", 2000, 1600),
        entry(4, datetime(2026, 3, 29, 12, tzinfo=UTC), Source.REFUND, "B", -2000, -1600),
        entry(5, datetime(2026, 3, 29, 15, tzinfo=UTC), Source.RENEWAL, "C", 1000, 800),
        entry(6, datetime(2026, 3, 29, 16, tzinfo=UTC), Source.REFERRAL, None, 300, 240),
        entry(7, datetime(2026, 3, 29, 21, 30, tzinfo=UTC), Source.TIP, "C", 300, 240),
        entry(8, datetime(2026, 3, 29, 22, 30, tzinfo=UTC), Source.POST, "A", 1700, 1360),
    ]
    creator = db.creator_with(entries)
    a = db.analytics
    two_days = Period(
        local_midnight(date(2026, 3, 28), "Europe/Berlin"), local_midnight(date(2026, 3, 30), "Europe/Berlin")
    )
    days = db.run(a.revenue_series(creator, two_days, Granularity.DAY, "Europe/Berlin"))
    assert [(d.label.day, d.gross.cents, d.net.cents, d.transaction_count) for d in days] == [
        (28, 1000, 800, 1),
        (29, 2100, 1680, 5),
    ]
    assert days[1].period.duration == timedelta(hours=23)
    assert db.run(a.golden_ratio(creator, two_days)) == core.Ratio(2240, 1600)
    assert db.run(a.arpu(creator, two_days)) == core.Ratio(2240, 3)
    assert db.run(a.ltv(creator)) == core.Ratio(3600, 3)
    assert db.run(a.tip_average(creator, two_days)) == core.Ratio(800, 2)
    spenders = db.run(a.top_spenders(creator, two_days))
    assert [(s.fan_id, s.net.cents, s.reversal_count) for s in spenders] == [
        ("A", 1200, 0),
        ("C", 1040, 0),
        ("B", 0, 1),
    ]
    week = db.run(a.totals_with_growth(creator, datetime(2026, 3, 30, 10, tzinfo=UTC), "Europe/Berlin"))[Window.D7]
    assert week.current.net.cents == 3840
    assert week.net_growth is not None
    assert not week.net_growth.defined


def test_a_ledger_in_two_currencies_is_refused(db: Db) -> None:
    at = datetime(2026, 2, 1, tzinfo=UTC)
    euros = LedgerEntry(CreatorId("x"), "eur", at, Source.TIP, Money(100, "EUR"), Money(80, "EUR"))
    creator = db.creator_with([euros])
    elsewhere = Period(at + timedelta(days=1), at + timedelta(days=2))  # the core refuses whatever the period
    with pytest.raises(CurrencyMismatchError):
        db.run(db.analytics.revenue_totals(creator, elsewhere))
    with pytest.raises(CurrencyMismatchError):
        db.run(db.analytics.revenue_series(creator, Period(at, at), Granularity.DAY, "UTC"))
    assert db.run(db.analytics.revenue_totals(creator, elsewhere, "EUR")) == core.RevenueTotals.zero("EUR")


# ----------------------------------------------------------------------------- indexes (PostgreSQL plans)

# A creator with a year of entries (8 sources, 200 fans), analysed, so the planner costs the choice between the
# ledger's indexes as in production rather than breaking a tie on an empty table.
SEED = [
    "INSERT INTO agencies (id, name) VALUES (%(agency)s, 'Agency')",
    "INSERT INTO creators (id, agency_id, handle, display_name, imported_at) "
    "VALUES (%(creator)s, %(agency)s, 'h', 'H', now())",
    "INSERT INTO ledger_entries (creator_id, key, occurred_at, kind, source, gross_cents, net_cents, currency, fan_id) "
    "SELECT %(creator)s, 'k' || i, timestamptz '2026-03-01' + i * interval '3 hours', 'earning', "
    "(ARRAY['subscription', 'renewal', 'message', 'post', 'tip', 'referral', 'affiliate', 'giveaway'])[1 + i %% 8], "
    "1000, 800, 'USD', 'fan' || (i %% 200) FROM generate_series(1, 3000) AS i",
    "ANALYZE ledger_entries",
]
JUNE = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
WEEKS = [Period(JUNE.start + timedelta(days=7 * i), JUNE.start + timedelta(days=7 * (i + 1))) for i in range(4)]
INDEX_QUERIES: dict[str, tuple[str, Callable[[CreatorId], sql.Query]]] = {
    "revenue totals": ("ix_ledger_entries_creator_id_occurred_at", lambda c: sql.revenue_totals_query(c, JUNE)),
    "revenue series": ("ix_ledger_entries_creator_id_occurred_at", lambda c: sql.ranged_totals_query(c, WEEKS)),
    "tip average": ("ix_ledger_entries_creator_id_source_occurred_at", lambda c: sql.tip_average_query(c, JUNE)),
    "fan spend": ("ix_ledger_entries_creator_id_fan_id", lambda c: sql.fan_spend_query(c, FanId("fan7"))),
}


@pytest.fixture(scope="module")
def busy_creator(postgresql_database: str) -> str:
    creator = CreatorId(f"c-{uuid.uuid4().hex}")
    dsn = sync_url(postgresql_database).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        ids = {"agency": f"a-{uuid.uuid4().hex}", "creator": creator}
        for statement in SEED:
            conn.execute(statement, ids)
    return creator


@pytest.mark.parametrize("figure", sorted(INDEX_QUERIES))
async def test_the_analytics_query_uses_its_index(
    postgresql_database: str, busy_creator: CreatorId, figure: str
) -> None:
    index, build = INDEX_QUERIES[figure]
    engine = create_engine(postgresql_database)
    try:
        async with engine.connect() as conn:
            compiled = build(CreatorId(busy_creator)).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as in test_indexes.py
            rows = (await conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)).all()
    finally:
        await engine.dispose()
    plan = "\n".join(str(row[0]) for row in rows)
    assert index in plan, plan
