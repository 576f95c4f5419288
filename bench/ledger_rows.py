"""Deterministic ledger rows for the ledger benchmarks, and the databases to put them in.

Rows look like the sync's: ``earning:<transactionOrderId>`` keys (a uuid, as Fanvue sends), uuid creator and fan
ids, Fanvue's sources in a plausible mix, USD cents, instants with microseconds spread over three years before
:data:`NOW`. A seeded :class:`random.Random` makes the same rows every run.

The loaders here are the engines' bulk ceilings (PostgreSQL ``COPY``, SQLite ``executemany`` in one transaction):
case 2 measures them against the repository, case 3 uses them to fill a database fast.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from sqlalchemy.engine import make_url

from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.schema import ledger_entries
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import USD, Money

Engine = Literal["postgresql", "sqlite"]

POSTGRES_URL = os.environ.get(
    "ONYX_BENCH_POSTGRES_URL", os.environ.get("ONYX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
"""The dashboard's "now"; every row is before it."""
DATA_START = datetime(2023, 6, 1, tzinfo=UTC)
"""The first instant a row may have (a month start, so the ``all`` period's buckets start clean)."""
AGENCY_ID = "agency-bench"

COLUMNS = tuple(column.name for column in ledger_entries.columns)
"""``ledger_entries``' columns, in the order :func:`as_tuple` gives them."""

# (source, weight, has a fan, gross range in cents); reversals are added on top
_SOURCES = (
    (Source.SUBSCRIPTION, 20, True, (499, 2999)),
    (Source.RENEWAL, 25, True, (499, 2999)),
    (Source.MESSAGE, 25, True, (300, 10000)),
    (Source.POST, 10, True, (300, 5000)),
    (Source.TIP, 15, True, (100, 20000)),
    (Source.REFERRAL, 3, False, (100, 2000)),
    (Source.AFFILIATE, 2, False, (100, 2000)),
)
_SPAN_US = int((NOW - DATA_START).total_seconds() * 1_000_000)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def creator_ids(count: int, seed: int = 7) -> list[CreatorId]:
    """``count`` creator ids (uuids, as Fanvue's), the same for the same seed."""
    rng = random.Random(seed)
    return [CreatorId(_uuid(rng)) for _ in range(count)]


def entries(
    creators: Sequence[CreatorId],
    count: int,
    *,
    seed: int = 1,
    reversal_share: float = 0.0,
    fans_per_creator: int = 500,
) -> list[LedgerEntry]:
    """``count`` ledger entries spread round-robin over ``creators``, in time order per creator (as pages come).

    ``reversal_share`` of the rows are refunds/chargebacks (case 3 wants them in the sums; the earnings stream of
    case 2 has none).
    """
    rng = random.Random(seed)
    fans = {c: [FanId(_uuid(rng)) for _ in range(fans_per_creator)] for c in creators}
    population = [s for s, *_ in _SOURCES]
    weights = [w for _, w, *_ in _SOURCES]
    details = {s: (has_fan, span) for s, _, has_fan, span in _SOURCES}
    chosen = rng.choices(population, weights, k=count)
    instants = sorted(rng.randrange(_SPAN_US) for _ in range(count))
    result: list[LedgerEntry] = []
    for index, (picked, offset) in enumerate(zip(chosen, instants, strict=True)):
        source = picked
        creator = creators[index % len(creators)]
        has_fan, (low, high) = details[source]
        occurred_at = DATA_START + timedelta(microseconds=offset)
        fan = rng.choice(fans[creator]) if has_fan else None
        gross = rng.randint(low, high)
        net = gross * 80 // 100
        kind = EntryKind.EARNING
        if reversal_share and rng.random() < reversal_share:
            kind = EntryKind.REFUND if rng.random() < 0.8 else EntryKind.CHARGEBACK
            source, gross, net = kind.value, -gross, -net
        reference = _uuid(rng) if source in (Source.MESSAGE, Source.POST) else None
        result.append(
            LedgerEntry(
                creator_id=creator,
                key=f"{kind.value}:{_uuid(rng)}",
                occurred_at=occurred_at,
                source=source,
                gross=Money(gross, USD),
                net=Money(net, USD),
                kind=kind,
                fan_id=fan,
                reference=reference,
                original_currency=None if rng.random() < 0.9 else "EUR",
            )
        )
    return result


def pages(rows: Sequence[LedgerEntry], size: int) -> list[Sequence[LedgerEntry]]:
    """``rows`` cut into pages of ``size`` (the sync commits one page per unit of work)."""
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def sqlite_instant(moment: datetime) -> str:
    """How SQLAlchemy's SQLite DATETIME stores a naive UTC instant (so raw rows compare like the ORM's)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def as_tuple(entry: LedgerEntry, engine: Engine) -> tuple[Any, ...]:
    """The entry as a ``ledger_entries`` row in :data:`COLUMNS` order, as ``engine`` stores it."""
    occurred_at: Any = entry.occurred_at if engine == "postgresql" else sqlite_instant(entry.occurred_at)
    return (
        entry.creator_id,
        entry.key,
        occurred_at,
        entry.kind.value,
        entry.source,
        entry.gross.cents,
        entry.net.cents,
        entry.gross.currency,
        entry.fan_id,
        entry.reference,
        entry.original_currency,
    )


# ----------------------------------------------------------------------------- databases


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@dataclass(frozen=True)
class BenchDatabase:
    """A migrated scratch database: ``url`` for Onyx (any driver), ``connect()`` for raw DB-API access."""

    engine: Engine
    url: str

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A raw DB-API connection (psycopg 3 / sqlite3), autocommit off, closed on exit."""
        if self.engine == "postgresql":
            with psycopg.connect(self.url) as conn:
                yield conn
        else:
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA foreign_keys = ON")
                yield conn
            finally:
                conn.close()


@contextmanager
def scratch_database(engine: Engine) -> Iterator[BenchDatabase]:
    """A fresh database migrated to the newest schema, dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="onyx_bench_") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield BenchDatabase("sqlite", url)
        return
    name = f"onyx_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(POSTGRES_URL).set(drivername="postgresql", database=name)
        dsn = url.render_as_string(hide_password=False)
        upgrade(dsn)
        yield BenchDatabase("postgresql", dsn)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_agency(db: BenchDatabase, creators: Sequence[CreatorId]) -> None:
    """The agency and its creators (the ledger's foreign key needs them)."""
    mark = "%s" if db.engine == "postgresql" else "?"
    imported = NOW if db.engine == "postgresql" else sqlite_instant(NOW)
    agency = f"INSERT INTO agencies (id, name) VALUES ({mark}, {mark})"  # noqa: S608 - placeholders only
    creator = (
        "INSERT INTO creators (id, agency_id, handle, display_name, imported_at) "  # noqa: S608 - placeholders only
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})"
    )
    with db.connect() as conn:
        if db.engine == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
        cur = conn.cursor()
        cur.execute(agency, (AGENCY_ID, "Bench agency"))
        cur.executemany(
            creator, [(c, AGENCY_ID, f"creator{i}", f"Creator {i}", imported) for i, c in enumerate(creators)]
        )
        if db.engine == "sqlite":
            conn.execute("COMMIT")
        else:
            conn.commit()


def clear_ledger(db: BenchDatabase) -> None:
    """No ledger rows and no sync cursors (a sync then backfills again)."""
    with db.connect() as conn:
        if db.engine == "postgresql":
            conn.execute("TRUNCATE ledger_entries")
            conn.execute("DELETE FROM sync_cursors")
            conn.commit()
        else:
            conn.execute("DELETE FROM ledger_entries")
            conn.execute("DELETE FROM sync_cursors")


def clear_cursors(db: BenchDatabase) -> None:
    """No sync cursors, the rows kept: the next sync walks every page again."""
    with db.connect() as conn:
        conn.execute("DELETE FROM sync_cursors")
        if db.engine == "postgresql":
            conn.commit()


def ledger_count(db: BenchDatabase) -> int:
    with db.connect() as conn:
        return int(conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0])


def bulk_load(db: BenchDatabase, rows: Sequence[tuple[Any, ...]]) -> float:
    """Write ``rows`` (:func:`as_tuple` tuples) the fastest way the engine has; returns the seconds it took
    (connecting excluded). PostgreSQL: one ``COPY``; SQLite: ``executemany`` in one transaction."""
    with db.connect() as conn:
        start = time.perf_counter()
        if db.engine == "postgresql":
            with conn.cursor() as cur, cur.copy(f"COPY ledger_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            conn.execute("BEGIN IMMEDIATE")
            sql = f"INSERT INTO ledger_entries ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constants
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        return time.perf_counter() - start


def analyze(db: BenchDatabase) -> None:
    """Fresh planner statistics after a bulk load (what autovacuum / ``ANALYZE`` would give production)."""
    with db.connect() as conn:
        if db.engine == "postgresql":
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE ledger_entries")
        else:
            conn.execute("ANALYZE")
