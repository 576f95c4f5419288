"""The batched dashboard read equals the core's pure reference (``agency_dashboard``) on SQLite and PostgreSQL.

Each example stores a fresh agency (1-3 creators: ledgers with PPV references, subscriber days, stats events,
headcounts, tracking links) in the session's shared databases and compares the whole :class:`AgencyDashboard`.
The read's own properties (one connection, statements compiled once, the index it scans) are checked below.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert
from sqlalchemy.engine.default import CACHE_HIT
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import (
    agencies,
    creator_stats,
    creators,
    ledger_entries,
    stats_events,
    subscriber_days,
    tracking_links,
)
from onyx_core.analytics import Period, SubscriberDay, Window, local_midnight
from onyx_core.analytics.dashboard import AgencyDashboard, DashboardQuery, Headcount, agency_dashboard
from onyx_core.catalog import TrackingLink
from onyx_core.errors import CurrencyMismatchError
from onyx_core.ids import AgencyId, CreatorId, TrackingLinkId
from onyx_core.ledger import LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.stats.events import EventKind, StatsEvent
from onyx_core.testing import strategies

T = TypeVar("T")

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=400)
# Around Berlin's spring-forward change, so daily buckets of 23 hours are exercised often.
times = st.one_of(
    strategies.instants(START, SPAN),
    strategies.instants(datetime(2026, 3, 27, tzinfo=UTC), timedelta(days=4)),
    st.sampled_from([local_midnight(date(2026, 3, d), z) for d in (28, 29, 30) for z in ZONES]),
)


@st.composite
def ledger(draw: st.DrawFn, creator: CreatorId) -> list[LedgerEntry]:
    entries = draw(strategies.ledgers(creator, times, max_size=25))
    # The shared strategy never sets a reference; half the messages and posts name what they unlocked (PPV).
    refs = draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    return [
        dataclasses.replace(e, reference="item-1") if ref and e.source in (Source.MESSAGE, Source.POST) else e
        for e, ref in zip(entries, refs, strict=True)
    ]


stats_event = st.builds(
    StatsEvent,
    st.sampled_from(["subscribers", "followers", "posts"]),
    st.sampled_from(list(EventKind)),
    times,
    st.just("poll"),
    st.none(),
    st.one_of(st.none(), st.integers(0, 5000)),
)


@dataclass
class Agency:
    ledgers: dict[CreatorId, list[LedgerEntry]]
    days: dict[CreatorId, list[SubscriberDay]]
    events: dict[CreatorId, list[StatsEvent]]
    headcounts: dict[CreatorId, Headcount]
    links: list[TrackingLink]


@st.composite
def agency_data(draw: st.DrawFn) -> Agency:
    suffix = uuid.uuid4().hex
    ids = [CreatorId(f"c{i}-{suffix}") for i in range(draw(st.integers(1, 3)))]
    ledgers = {c: draw(ledger(c)) for c in ids}
    days = {
        c: [
            SubscriberDay(c, d, new, cancelled)
            for d, new, cancelled in draw(
                st.lists(
                    st.tuples(
                        st.integers(0, 400).map(lambda n: START.date() + timedelta(days=n)),
                        st.integers(0, 50),
                        st.integers(0, 50),
                    ),
                    max_size=15,
                    unique_by=lambda r: r[0],
                )
            )
        ]
        for c in ids
    }
    events = {c: draw(st.lists(stats_event, max_size=12)) for c in ids}
    heads = {
        c: Headcount(draw(st.one_of(st.none(), st.integers(0, 99))), draw(st.one_of(st.none(), st.integers(0, 99))))
        for c in ids
    }
    links = []
    for n in range(draw(st.integers(0, 4))):
        earned = draw(st.one_of(st.none(), st.integers(0, 10_000)))
        links.append(
            TrackingLink(
                TrackingLinkId(f"l{n}-{suffix}"),
                draw(st.sampled_from(ids)),
                f"link {n}",
                f"https://fanvue.com/x?l={n}",
                "instagram",
                START,
                draw(st.integers(0, 100)),
                draw(st.integers(0, 10)),
                draw(st.integers(0, 10)),
                None if earned is None else Money(earned),
                None if earned is None else Money(earned * 4 // 5),
            )
        )
    return Agency(ledgers, days, events, heads, links)


@st.composite
def queries(draw: st.DrawFn, data: Agency) -> DashboardQuery:
    if draw(st.booleans()):
        chosen: Window | Period = draw(st.sampled_from(list(Window)))
    else:
        a = draw(times)
        b = draw(st.one_of(times, st.integers(0, 40 * 86_400).map(lambda s: a + timedelta(seconds=s))))
        chosen = Period(min(a, b), max(a, b))
    ids = sorted(data.ledgers)
    subset = draw(st.one_of(st.none(), st.sets(st.sampled_from([*ids, CreatorId("not-ours")]))))
    costs = {link.id: Money(draw(st.integers(0, 5000))) for link in data.links if draw(st.booleans())}
    return DashboardQuery(
        chosen,
        draw(st.sampled_from(ZONES)),
        top_spenders_limit=draw(st.sampled_from([0, 1, 2, 50])),
        creator_ids=None if subset is None else frozenset(subset),
        link_costs=costs,
    )


@dataclass
class Db:
    runner: asyncio.Runner
    engine: AsyncEngine
    reader: SqlDashboardReader

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def store(self, data: Agency) -> AgencyId:
        return self.run(self._store(data))

    async def _store(self, data: Agency) -> AgencyId:
        agency = AgencyId(f"a-{uuid.uuid4().hex}")
        async with self.engine.begin() as conn:
            await conn.execute(insert(agencies).values(id=agency, name="Agency"))
            for c in data.ledgers:
                await conn.execute(
                    insert(creators).values(id=c, agency_id=agency, handle="h", display_name="H", imported_at=START)
                )
            rows = [_ledger_row(e) for entries in data.ledgers.values() for e in entries]
            if rows:
                await conn.execute(insert(ledger_entries), rows)
            days = [
                {"creator_id": d.creator_id, "day": d.day, "new": d.new, "cancelled": d.cancelled}
                for ds in data.days.values()
                for d in ds
            ]
            if days:
                await conn.execute(insert(subscriber_days), days)
            for c, evs in data.events.items():
                for ev in evs:  # one statement each: ids in the events' order, as SqlStatsRepository.save does
                    await conn.execute(
                        insert(stats_events).values(
                            creator_id=c,
                            metric=ev.metric,
                            kind=ev.kind.value,
                            at=ev.at,
                            source=ev.source,
                            old_value=ev.old_value,
                            new_value=ev.new_value,
                            detail="",
                            recorded_at=START,
                        )
                    )
            for c, head in data.headcounts.items():
                for metric, value in (("subscribers", head.subscribers), ("followers", head.followers)):
                    if value is not None:
                        await conn.execute(
                            insert(creator_stats).values(
                                creator_id=c, metric=metric, value=value, record="{}", recorded_at=START
                            )
                        )
            for link in data.links:
                await conn.execute(insert(tracking_links).values(**_link_row(link)))
        return agency


def _ledger_row(e: LedgerEntry) -> dict[str, Any]:
    return {
        "creator_id": e.creator_id,
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


def _link_row(link: TrackingLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "creator_id": link.creator_id,
        "name": link.name,
        "url": link.url,
        "platform": link.platform,
        "created_at": link.created_at,
        "clicks": link.clicks,
        "acquired_subscribers": link.acquired_subscribers,
        "acquired_followers": link.acquired_followers,
        "earnings_gross_cents": None if link.earnings_gross is None else link.earnings_gross.cents,
        "earnings_net_cents": None if link.earnings_net is None else link.earnings_net.cents,
        "earnings_currency": None if link.earnings_gross is None else link.earnings_gross.currency,
    }


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    with asyncio.Runner() as runner:
        engine = create_engine(database_url)
        yield Db(runner, engine, SqlDashboardReader(engine))
        runner.run(engine.dispose())


def reference(agency: AgencyId, data: Agency, query: DashboardQuery, now: datetime) -> AgencyDashboard:
    return agency_dashboard(
        agency,
        data.ledgers,
        query,
        now,
        subscriber_days=data.days,
        stats_events=data.events,
        headcounts=data.headcounts,
        tracking_links=data.links,
    )


def _differences(got: AgencyDashboard, want: AgencyDashboard) -> Mapping[str, Any]:
    """The first differing fields, to make a failure readable."""
    out: dict[str, Any] = {}
    for scope, mine, theirs in [("agency", got.agency, want.agency)] + [
        (c, got.creators.get(c), want.creators[c]) for c in want.creators
    ]:
        if mine is None:
            out[scope] = "missing"
            continue
        for f in dataclasses.fields(theirs):
            if getattr(mine, f.name) != getattr(theirs, f.name):
                out[f"{scope}.{f.name}"] = (getattr(mine, f.name), getattr(theirs, f.name))
    return out


# ----------------------------------------------------------------------------- equal to the reference


@EXAMPLES
@given(data=st.data(), agency=agency_data(), now=times)
def test_the_read_equals_the_reference(db: Db, data: st.DataObject, agency: Agency, now: datetime) -> None:
    query = data.draw(queries(agency))
    agency_id = db.store(agency)
    got = db.run(db.reader.read(agency_id, query, now))
    want = reference(agency_id, agency, query, now)
    assert got == want, _differences(got, want)


def test_an_agency_without_creators_or_entries(db: Db) -> None:
    empty = Agency({}, {}, {}, {}, [])
    agency_id = db.store(empty)
    now = datetime(2026, 3, 30, tzinfo=UTC)
    for chosen in [Window.D30, Window.ALL]:
        query = DashboardQuery(chosen, "Europe/Berlin")
        assert db.run(db.reader.read(agency_id, query, now)) == reference(agency_id, empty, query, now)
    lonely = Agency({CreatorId(f"c-{uuid.uuid4().hex}"): []}, {}, {}, {}, [])
    agency_id = db.store(lonely)
    got = db.run(db.reader.read(agency_id, DashboardQuery(Window.D7, "UTC"), now))
    assert got == reference(agency_id, lonely, DashboardQuery(Window.D7, "UTC"), now)
    assert not got.agency.arpu.defined
    assert got.agency.arpu.reason == "no fan paid in the period"


def test_a_ledger_in_another_currency_is_refused(db: Db) -> None:
    c = CreatorId(f"c-{uuid.uuid4().hex}")
    at = datetime(2026, 2, 1, tzinfo=UTC)
    euros = LedgerEntry(c, "eur", at, Source.TIP, Money(100, "EUR"), Money(80, "EUR"))
    agency_id = db.store(Agency({c: [euros]}, {}, {}, {}, []))
    later = Period(at + timedelta(days=1), at + timedelta(days=2))
    with pytest.raises(CurrencyMismatchError):
        db.run(db.reader.read(agency_id, DashboardQuery(later, "UTC"), at))
    assert db.run(db.reader.read(agency_id, DashboardQuery(later, "UTC", "EUR"), at)).agency.totals.gross.cents == 0


def test_another_agencys_creators_are_not_read(db: Db) -> None:
    mine, theirs = CreatorId(f"c-{uuid.uuid4().hex}"), CreatorId(f"c-{uuid.uuid4().hex}")
    at = datetime(2026, 2, 1, tzinfo=UTC)
    tip = LedgerEntry(theirs, "t", at, Source.TIP, Money(100), Money(80))
    agency_id = db.store(Agency({mine: []}, {}, {}, {}, []))
    db.store(Agency({theirs: [tip]}, {}, {}, {}, []))
    board = db.run(db.reader.read(agency_id, DashboardQuery(Window.ALL, "UTC", creator_ids=frozenset({theirs})), at))
    assert board.creators == {}
    assert board.agency.totals.gross.cents == 0


# ----------------------------------------------------------------------------- one connection, compiled once


def test_one_connection_and_statements_compiled_once(db: Db) -> None:
    c = CreatorId(f"c-{uuid.uuid4().hex}")
    at = datetime(2026, 3, 29, 12, tzinfo=UTC)
    entries = [LedgerEntry(c, f"k{i}", at - timedelta(days=i), Source.TIP, Money(100), Money(80)) for i in range(40)]
    agency_id = db.store(Agency({c: entries}, {}, {}, {}, []))
    checkouts: list[object] = []
    executed: list[tuple[str, object]] = []
    sync_engine = db.engine.sync_engine

    def checkout(*args: object) -> None:
        checkouts.append(args)

    def seen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, executemany: bool) -> None:
        executed.append((sql, context.cache_hit))

    event.listen(sync_engine.pool, "checkout", checkout)
    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        db.run(db.reader.read(agency_id, DashboardQuery(Window.D30, "Europe/Berlin"), at))  # compiles each once
        checkouts.clear()
        executed.clear()
        db.run(db.reader.read(agency_id, DashboardQuery(Window.D7, "Europe/Berlin", top_spenders_limit=3), at))
        db.run(db.reader.read(agency_id, DashboardQuery(Window.D90, "UTC"), at + timedelta(days=1)))
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
        event.remove(sync_engine.pool, "checkout", checkout)
    assert len(checkouts) == 2  # one connection per read
    statements = [sql for sql, _ in executed if not sql.lstrip().upper().startswith(("BEGIN", "SET", "SELECT PG_"))]
    # Other windows, zones, limits and numbers of buckets: every statement came from the compiled cache.
    misses = [sql for sql, hit in executed if hit is not CACHE_HIT and sql in statements]
    assert misses == []
    assert len(statements) >= 2 * 14
    assert not any("2026-" in sql for sql in statements)  # instants are bound, never literals


def test_audience_values_at_bucket_edges(db: Db) -> None:
    """An event exactly at a bucket's end belongs to the next bucket, one at the range's end to none."""
    c = CreatorId(f"c-{uuid.uuid4().hex}")
    days = Period(
        local_midnight(date(2026, 3, 28), "Europe/Berlin"), local_midnight(date(2026, 3, 30), "Europe/Berlin")
    )
    edge = local_midnight(date(2026, 3, 29), "Europe/Berlin")

    def ev(at: datetime, value: int, kind: EventKind = EventKind.APPLIED) -> StatsEvent:
        return StatsEvent("subscribers", kind, at, "poll", None, value)

    events = [
        ev(days.start - timedelta(days=3), 5),
        ev(days.start, 6, EventKind.CLIFF_HELD),  # held: never shown
        ev(edge - timedelta(microseconds=1), 7),
        ev(edge, 8),
        ev(edge, 9),  # same instant, recorded later: wins
        ev(days.end, 10),  # at the range's end: after it
    ]
    data = Agency({c: []}, {}, {c: events}, {}, [])
    agency_id = db.store(data)
    query = DashboardQuery(days, "Europe/Berlin")
    got = db.run(db.reader.read(agency_id, query, days.end))
    assert got == reference(agency_id, data, query, days.end)
    assert [p.subscribers for p in got.creators[c].audience] == [7, 9]


# ----------------------------------------------------------------------------- indexes (PostgreSQL plans)

SEED = [
    "INSERT INTO agencies (id, name) VALUES (%(agency)s, 'Agency')",
    "INSERT INTO creators (id, agency_id, handle, display_name, imported_at) "
    "SELECT %(agency)s || '-' || n, %(agency)s, 'h', 'H', now() FROM generate_series(1, 20) AS n",
    "INSERT INTO ledger_entries (creator_id, key, occurred_at, kind, source, gross_cents, net_cents, currency, fan_id) "
    "SELECT %(agency)s || '-' || (1 + i %% 20), 'k' || i, timestamptz '2025-03-01' + i * interval '1 hour', 'earning', "
    "(ARRAY['subscription', 'renewal', 'message', 'post', 'tip', 'referral'])[1 + i %% 6], "
    "1000, 800, 'USD', 'fan' || (i %% 300) FROM generate_series(1, 20000) AS i",
    "ANALYZE ledger_entries",
]


@pytest.fixture(scope="module")
def busy_agency(postgresql_database: str) -> AgencyId:
    import psycopg  # noqa: PLC0415 - PostgreSQL only

    from onyx_adapters.sql.engine import sync_url  # noqa: PLC0415

    agency = AgencyId(f"a-{uuid.uuid4().hex}")
    dsn = sync_url(postgresql_database).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SEED:
            conn.execute(statement, {"agency": agency})
    return agency


@pytest.mark.parametrize("name", ["sources", "series", "fans", "top", "agency_top"])
async def test_a_month_is_read_through_the_time_index(
    postgresql_database: str, busy_agency: AgencyId, name: str
) -> None:
    """The period's statements range-scan ``(creator_id, occurred_at)`` for the agency's creators."""
    from onyx_adapters.sql.dashboard import dashboard_statements  # noqa: PLC0415

    june = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    params: dict[str, Any] = {
        "creator_ids": [f"{busy_agency}-{n}" for n in range(1, 21)],
        "p_start": june.start,
        "p_end": june.end,
        "q_start": june.previous().start,
        "limit": 50,
        "edges": [june.start + timedelta(days=d) for d in range(30)],
    }
    engine = create_engine(postgresql_database)

    def explain(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> Any:
        return ("EXPLAIN " + sql if sql.lstrip().upper().startswith(("SELECT", "WITH")) else sql), parameters

    event.listen(engine.sync_engine, "before_cursor_execute", explain, retval=True)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as in test_indexes.py
            rows = (await conn.execute(getattr(dashboard_statements("postgresql"), name), params)).all()
    finally:
        await engine.dispose()
    plan = "\n".join(str(row[0]) for row in rows)
    assert "ix_ledger_entries_creator_id_occurred_at" in plan, plan
