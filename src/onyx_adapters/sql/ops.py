"""What operators read of the database itself: its health (engine, reachable, latency, schema revision, an agency's
row counts) and the figures ``/metrics`` exports (sync lag per job, Fanvue failures by reason, token health).

Read-only, a handful of aggregate queries whatever the number of creators. Nothing here returns a connection URL,
a token or any other secret: the engine's name, counts, times and reasons only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Select, Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql.migrate import head
from onyx_adapters.sql.schema import (
    audit_log,
    connections,
    creator_stats,
    creators,
    ledger_entries,
    members,
    stats_events,
    subscriber_days,
    sync_cursors,
    tracking_links,
)
from onyx_core.ids import AgencyId
from onyx_core.schedule import SyncJob
from onyx_core.stats import EventKind
from onyx_core.sync import Stream

__all__ = ["JOB_STREAMS", "DatabaseHealth", "OpsFigures", "database_health", "ops_figures"]

JOB_STREAMS: Mapping[SyncJob, Stream] = {
    SyncJob.LEDGER: Stream.EARNINGS,
    SyncJob.RECONCILE: Stream.LEDGER_RECONCILIATION,
    SyncJob.HISTORY: Stream.SUBSCRIBER_HISTORY,
    SyncJob.TOP_SPENDERS: Stream.TOP_SPENDERS,
    SyncJob.LINKS: Stream.TRACKING_LINKS,
}
"""The cursor whose ``synced_through`` says when each job last completed (as
:func:`~onyx_core.usecases.creator_freshness` reads it); stats are dated by their rows."""


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    engine: str
    """``sqlite`` or ``postgresql``."""
    reachable: bool
    latency_ms: float | None
    """The time of a trivial query (``SELECT 1``), round trip included."""
    revision: str | None
    """The schema revision the database is at (``None``: no Onyx schema, or unreachable)."""
    head: str
    """The revision this Onyx needs."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows of the agency's in each main table."""

    @property
    def migrated(self) -> bool:
        return self.revision == self.head


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _agency_counts(agency_id: AgencyId) -> dict[str, Select[Any]]:
    """One count per main table, each limited to the agency (its own rows, or its creators')."""
    mine = select(creators.c.id).where(creators.c.agency_id == agency_id).scalar_subquery()

    def of_creators(table: Table) -> Select[Any]:
        return select(func.count()).select_from(table).where(table.c.creator_id.in_(mine))

    def of_agency(table: Table) -> Select[Any]:
        return select(func.count()).select_from(table).where(table.c.agency_id == agency_id)

    return {
        "members": of_agency(members),
        "creators": of_agency(creators),
        "connections": of_agency(connections),
        "creator_stats": of_creators(creator_stats),
        "stats_events": of_creators(stats_events),
        "ledger_entries": of_creators(ledger_entries),
        "subscriber_days": of_creators(subscriber_days),
        "tracking_links": of_creators(tracking_links),
        "sync_cursors": of_creators(sync_cursors),
        "audit_log": of_agency(audit_log),
    }


async def database_health(engine: AsyncEngine, agency_id: AgencyId) -> DatabaseHealth:
    """Probe ``engine``: a trivial query's latency, the schema revision, and ``agency_id``'s row counts. An
    unreachable database is ``reachable=False`` (why goes to the caller's log, not into the answer)."""
    name = engine.dialect.name
    try:
        async with engine.connect() as conn:
            started = time.perf_counter()
            await conn.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            revision = await conn.run_sync(_revision)
            rows = {} if revision is None else await _counts(conn, agency_id)
    except SQLAlchemyError:
        return DatabaseHealth(name, reachable=False, latency_ms=None, revision=None, head=head())
    return DatabaseHealth(name, reachable=True, latency_ms=round(latency, 3), revision=revision, head=head(), rows=rows)


async def _counts(conn: AsyncConnection, agency_id: AgencyId) -> dict[str, int]:
    return {table: int((await conn.execute(query)).scalar_one()) for table, query in _agency_counts(agency_id).items()}


@dataclass(frozen=True, slots=True)
class OpsFigures:
    """What ``/metrics`` reads from the database at a scrape (every agency: the scraper is the deployment's)."""

    creators: int
    oldest_sync: dict[SyncJob, datetime]
    """Per job, the oldest last completion among creators for whom it ever completed."""
    never_synced: dict[SyncJob, int]
    """Per job, the creators for whom it never completed."""
    failures: dict[str, int]
    """Stats observations that failed, by reason (``marked_stale`` events: one per metric going stale)."""
    stale_metrics: int
    """Metrics whose stored value is stale now."""
    connections: dict[tuple[str, str], int]
    """Connections by (kind, stored status)."""
    earliest_expiry: dict[str, datetime]
    """Per connection kind, the earliest access-token expiry among active connections."""


async def ops_figures(engine: AsyncEngine) -> OpsFigures:
    async with engine.connect() as conn:
        count = int((await conn.execute(select(func.count()).select_from(creators))).scalar_one())
        oldest, done = await _sync_lag(conn)
        failures = await conn.execute(
            select(stats_events.c.detail, func.count())
            .where(stats_events.c.kind == EventKind.MARKED_STALE.value)
            .group_by(stats_events.c.detail)
        )
        stale = await conn.execute(
            select(func.count()).select_from(creator_stats).where(creator_stats.c.stale_since.is_not(None))
        )
        by_status = await conn.execute(
            select(connections.c.kind, connections.c.status, func.count()).group_by(
                connections.c.kind, connections.c.status
            )
        )
        expiry = await conn.execute(
            select(connections.c.kind, func.min(connections.c.expires_at))
            .where(connections.c.status == "active", connections.c.expires_at.is_not(None))
            .group_by(connections.c.kind)
        )
        return OpsFigures(
            creators=count,
            oldest_sync=oldest,
            never_synced={job: count - done.get(job, 0) for job in SyncJob},
            failures={str(reason): int(n) for reason, n in failures.all()},
            stale_metrics=int(stale.scalar_one()),
            connections={(str(kind), str(status)): int(n) for kind, status, n in by_status.all()},
            earliest_expiry={str(kind): at for kind, at in expiry.all() if at is not None},
        )


async def _sync_lag(conn: AsyncConnection) -> tuple[dict[SyncJob, datetime], dict[SyncJob, int]]:
    """Per job: the oldest last completion, and how many creators completed it at least once."""
    oldest: dict[SyncJob, datetime] = {}
    done: dict[SyncJob, int] = {}
    # stats: a creator's stats last ran when her newest row was recorded
    latest = (
        select(creator_stats.c.creator_id, func.max(creator_stats.c.recorded_at).label("at"))
        .group_by(creator_stats.c.creator_id)
        .subquery()
    )
    row = (await conn.execute(select(func.min(latest.c.at), func.count()).select_from(latest))).one()
    if row[0] is not None:
        oldest[SyncJob.STATS] = row[0]
    done[SyncJob.STATS] = int(row[1])
    streams = {stream.value: job for job, stream in JOB_STREAMS.items()}
    rows = await conn.execute(
        select(sync_cursors.c.stream, func.min(sync_cursors.c.synced_through), func.count())
        .where(sync_cursors.c.synced_through.is_not(None), sync_cursors.c.stream.in_(list(streams)))
        .group_by(sync_cursors.c.stream)
    )
    for stream, at, n in rows.all():
        job = streams[str(stream)]
        if at is not None:
            oldest[job] = at
        done[job] = int(n)
    return oldest, done
