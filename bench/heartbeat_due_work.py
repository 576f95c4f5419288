"""How long the heartbeat's read of what is due (``due_work``) takes for N creators on PostgreSQL (issue 16).

Run on demand (not a bench/run case): ``python -m bench.heartbeat_due_work 400 4000``. Each size gets a fresh
database, migrated, with N creators in agencies of 100, each with the 7 default metrics (records holding a
30-minute window of 2-minute refreshes, as a running deployment stores) and the 5 cursors due_work reads. It prints
the median of 5 timed calls (after one warm-up) and the statements run per call.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event, insert
from sqlalchemy.engine import make_url

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.schema import agencies, creator_stats, creators, sync_cursors
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.schedule import Schedule
from onyx_core.stats import MergePolicy, Metric, Ok, encode_record, merge_all
from onyx_core.sync import Stream
from onyx_core.testing.fakes import ManualClock, ReversibleCipher
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.usecases import due_work
from onyx_core.usecases.context import Context

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PER_AGENCY = 100
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
STREAMS = (
    Stream.EARNINGS,
    Stream.LEDGER_RECONCILIATION,
    Stream.SUBSCRIBER_HISTORY,
    Stream.TOP_SPENDERS,
    Stream.TRACKING_LINKS,
)


def _records() -> list[tuple[str, str, datetime | None]]:
    """(metric, encoded record, its latest_at) of one creator refreshed every 2 minutes for the last 30."""
    times = [NOW - timedelta(minutes=2 * k) for k in range(15, -1, -1)]
    observations = [Ok(m, 100 + i, at, "bench") for i, at in enumerate(times) for m in Metric]
    records, _ = merge_all({}, observations, MergePolicy(), NOW)
    return [(metric, encode_record(record), record.latest_at) for metric, record in records.items()]


async def _seed(url: str, n: int) -> None:
    engine = create_engine(url)
    encoded = _records()
    try:
        async with engine.begin() as conn:
            ids = [f"creator-{k:06d}" for k in range(n)]
            agency_ids = sorted({f"agency-{k // PER_AGENCY:04d}" for k in range(n)})
            await conn.execute(insert(agencies), [{"id": a, "name": a} for a in agency_ids])
            rows: list[dict[str, Any]] = [
                {"id": c, "agency_id": f"agency-{k // PER_AGENCY:04d}", "handle": c, "display_name": c,
                 "imported_at": NOW}
                for k, c in enumerate(ids)
            ]  # fmt: skip
            await conn.execute(insert(creators), rows)
            stats = [
                {"creator_id": c, "metric": m, "record": r, "recorded_at": NOW, "latest_at": at}
                for c in ids
                for m, r, at in encoded
            ]
            for start in range(0, len(stats), 5000):
                await conn.execute(insert(creator_stats), stats[start : start + 5000])
            cursors = [
                {"creator_id": c, "stream": s.value, "synced_through": NOW, "backfilled": True}
                for c in ids
                for s in STREAMS
            ]
            for start in range(0, len(cursors), 5000):
                await conn.execute(insert(sync_cursors), cursors[start : start + 5000])
    finally:
        await engine.dispose()


async def _time(url: str) -> tuple[float, int, int]:
    engine = create_engine(url)
    ctx = Context(
        uow=sql_unit_of_work_factory(engine, ReversibleCipher()),
        fanvue=FakeFanvue(),
        clock=ManualClock(NOW + timedelta(minutes=1)),
    )
    statements: list[str] = []

    def seen(*event_args: Any) -> None:  # (conn, cursor, statement, parameters, context, executemany)
        statements.append(event_args[2])

    try:
        work = await due_work(ctx, Schedule())  # warm-up: pool, compiled cache
        timings = []
        event.listen(engine.sync_engine, "before_cursor_execute", seen)
        for _ in range(5):
            statements.clear()
            start = time.perf_counter()
            work = await due_work(ctx, Schedule())
            timings.append(time.perf_counter() - start)
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    finally:
        await engine.dispose()
    return statistics.median(timings), len(statements), len(work)


def main(sizes: list[int]) -> None:
    for n in sizes:
        name = f"onyx_bench_due_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
        try:
            upgrade(url)
            asyncio.run(_seed(url, n))
            seconds, count, due = asyncio.run(_time(url))
            print(f"{n} creators: due_work {seconds * 1000:.1f} ms median, {count} statements, {due} due")
        finally:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [400, 4000])
