"""A scriptable in-memory Fanvue behind :class:`~onyx_core.ports.FanvuePort`, for use-case tests.

It holds a small world (creators, true stat values, ledger rows, subscriber days, top spenders, links) and
injects failures per operation and creator, the way the real gateway reports them: a ``Missing`` observation
for stats, :class:`~onyx_core.ports.SourceUnavailableError` for everything else. It is not the Fanvue sandbox (that
speaks HTTP and lives in ``onyx_fanvue.sandbox``); it is the port's contract, in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import ChatterDay, Creator, CreatorProfile, RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.ids import ConnectionId, CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.ports import LedgerPage, SourceUnavailableError
from onyx_core.reconciliation import ZERO, DayTotals, EarningsDays
from onyx_core.stats import Metric, Missing, MissingReason, Observation, Ok
from onyx_core.sync import Stream

SOURCE = "fake-fanvue"


@dataclass
class _Fault:
    reason: MissingReason
    remaining: int | None
    """How many more calls fail; None: until healed."""


@dataclass
class FakeFanvue:
    """Implements :class:`~onyx_core.ports.FanvuePort`. Mutate its fields to change the world under a test."""

    creators: dict[ConnectionId, list[CreatorProfile]] = field(default_factory=dict)
    """What ``list_creators`` answers per (agency) connection."""
    stats: dict[CreatorId, dict[str, int]] = field(default_factory=dict)
    """True current values per creator; a metric absent here is answered as ``Missing(EMPTY)``."""
    ledger: dict[tuple[CreatorId, Stream], list[LedgerEntry]] = field(default_factory=dict)
    subscriber_days: dict[CreatorId, list[SubscriberDay]] = field(default_factory=dict)
    top_spenders: dict[CreatorId, list[RankedSpender]] = field(default_factory=dict)
    """Per creator; the key ``None`` is the agency-wide list."""
    links: dict[CreatorId, list[TrackingLink]] = field(default_factory=dict)
    chatter_days: dict[date, list[ChatterDay]] = field(default_factory=dict)
    """The chatter leaderboard per UTC day (answered to agency connections only, as Fanvue does)."""
    unassigned: set[tuple[ConnectionId, CreatorId]] = field(default_factory=set)
    """(agency connection, creator) pairs answered with "not assigned to team member"."""
    page_size: int = 2
    cut_short: int = 0
    """How many of the next ledger pages asked with a cursor answer empty, claiming the end (a faulty page)."""
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    """(operation, connection id, creator id or "") of every call, in order."""
    _faults: dict[tuple[str, CreatorId | None], _Fault] = field(default_factory=dict)

    # ------------------------------------------------------------------ fault injection

    def fail(
        self, operation: str, reason: MissingReason, creator: CreatorId | None = None, times: int | None = None
    ) -> None:
        """Make ``operation`` (a FanvuePort method name, or ``"*"``) fail for ``creator`` (None: every creator)."""
        self._faults[(operation, creator)] = _Fault(reason, times)

    def heal(self) -> None:
        self._faults.clear()

    def _fault(self, operation: str, creator: CreatorId | None) -> MissingReason | None:
        for key in ((operation, creator), (operation, None), ("*", creator), ("*", None)):
            fault = self._faults.get(key)
            if fault is None:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[key]
            return fault.reason
        return None

    def _enter(self, operation: str, connection: Connection, creator: Creator | None) -> None:
        self.calls.append((operation, str(connection.id), "" if creator is None else str(creator.id)))
        agency = connection.kind is ConnectionKind.AGENCY
        if creator is not None and agency and (connection.id, creator.id) in self.unassigned:
            raise SourceUnavailableError(MissingReason.NOT_ASSIGNED, "Creator not found or not assigned to team member")
        reason = self._fault(operation, None if creator is None else creator.id)
        if reason is not None:
            raise SourceUnavailableError(reason, f"injected {reason.value}")

    # ------------------------------------------------------------------ the port

    async def list_creators(self, connection: Connection) -> list[CreatorProfile]:
        self._enter("list_creators", connection, None)
        return list(self.creators.get(connection.id, []))

    async def fetch_stats(
        self, connection: Connection, creator: Creator, at: datetime, metrics: frozenset[str] | None = None
    ) -> list[Observation]:
        wanted = [m for m in Metric if metrics is None or m in metrics]
        try:
            self._enter("fetch_stats", connection, creator)
        except SourceUnavailableError as failure:
            return [Missing(m, failure.reason, at, SOURCE, failure.detail) for m in wanted]
        values = self.stats.get(creator.id, {})
        observations: list[Observation] = []
        for metric in wanted:
            reason = self._fault(f"fetch_stats:{metric.value}", creator.id)
            if reason is not None:
                observations.append(Missing(metric, reason, at, SOURCE, "injected"))
            elif metric in values:
                observations.append(Ok(metric, values[metric], at, SOURCE))
            else:
                observations.append(Missing(metric, MissingReason.EMPTY, at, SOURCE, "no value"))
        return observations

    async def fetch_ledger_page(
        self,
        connection: Connection,
        creator: Creator,
        stream: Stream,
        start: datetime,
        end: datetime,
        cursor: str | None,
    ) -> LedgerPage:
        self._enter("fetch_ledger_page", connection, creator)
        rows = sorted(
            (e for e in self.ledger.get((creator.id, stream), []) if start <= e.occurred_at < end),
            key=lambda e: (e.occurred_at, e.key),
        )
        if cursor is not None and self.cut_short > 0:
            self.cut_short -= 1
            return LedgerPage((), None)
        offset = int(cursor) if cursor else 0
        chunk = rows[offset : offset + self.page_size]
        more = offset + self.page_size < len(rows)
        return LedgerPage(tuple(chunk), str(offset + self.page_size) if more else None)

    async def fetch_earnings_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> EarningsDays:
        """The summary of the earnings rows ``fetch_ledger_page`` lists (Fanvue's summary sums the same rows)."""
        self._enter("fetch_earnings_days", connection, creator)
        days: dict[date, DayTotals] = {}
        all_time = ZERO
        for entry in self.ledger.get((creator.id, Stream.EARNINGS), []):
            totals = DayTotals(entry.gross.cents, entry.net.cents)
            all_time += totals
            day = entry.occurred_at.astimezone(UTC).date()
            if start <= day < end:
                days[day] = days.get(day, ZERO) + totals
        if all_time == ZERO:
            raise SourceUnavailableError(MissingReason.EMPTY, "an all-zero summary: no earnings, or no permission")
        return EarningsDays(start, end, days, all_time)

    async def fetch_subscriber_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> list[SubscriberDay]:
        self._enter("fetch_subscriber_days", connection, creator)
        return [d for d in self.subscriber_days.get(creator.id, []) if start <= d.day < end]

    async def fetch_top_spenders(self, connection: Connection, creator: Creator) -> list[RankedSpender]:
        self._enter("fetch_top_spenders", connection, creator)
        return list(self.top_spenders.get(creator.id, []))

    async def fetch_tracking_links(self, connection: Connection, creator: Creator) -> list[TrackingLink]:
        self._enter("fetch_tracking_links", connection, creator)
        return list(self.links.get(creator.id, []))

    async def fetch_chatter_days(self, connection: Connection, day: date) -> list[ChatterDay]:
        self._enter("fetch_chatter_days", connection, None)
        if connection.kind is not ConnectionKind.AGENCY:
            raise SourceUnavailableError(MissingReason.PERMISSION, "the chatter leaderboard is the agency's")
        return [row for row in self.chatter_days.get(day, []) if row.agency_id == connection.agency_id]

    async def count_chatter_messages(self, connection: Connection, start: date, end: date) -> int:
        self._enter("count_chatter_messages", connection, None)
        if connection.kind is not ConnectionKind.AGENCY:
            raise SourceUnavailableError(MissingReason.PERMISSION, "the chatter leaderboard is the agency's")
        return sum(
            row.messages
            for day, rows in self.chatter_days.items()
            if start <= day < end
            for row in rows
            if row.agency_id == connection.agency_id
        )
