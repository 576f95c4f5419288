"""Deliberately broken storage: the in-memory unit of work with one rule broken each.

The kit's own tests run every contract and the stats machine against each of these, to prove that every check
can fail, and fails with the message of the rule that broke. Each breakage wraps one repository of a correct
:class:`InMemoryUnitOfWork` and changes one behaviour; the rest delegates to the correct fake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from onyx_core.catalog import Creator, RankedSpender, TrackingLink
from onyx_core.connections import Connection
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.ports import UnitOfWork, UnitOfWorkFactory, UpsertResult
from onyx_core.reconciliation import ZERO, DayTotals
from onyx_core.stats import MetricRecord, StatsEvent
from onyx_core.sync import Stream, SyncCursor
from onyx_core.testing import contracts as c
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, RecordedEvent

HUNT = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)
"""For running the stats machine against something broken: it has to find the breakage, not explain it (no
shrinking), the same way every time, and report one failure."""


class _Wrapped:
    """A repository that delegates everything it does not override to the correct one."""

    def __init__(self, inner: Any, uow: InMemoryUnitOfWork) -> None:
        self._inner = inner
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ----------------------------------------------------------------------------- stats


class AutocommitStats(_Wrapped):
    """Writes records and events straight to the committed store: outside the unit's transaction (autocommit)."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        await self._inner.get_for_update(creator_id)  # it still locks the row; only the transaction is wrong
        store = self._uow.store
        for metric, record in records.items():
            store.stats[(creator_id, metric)] = record
        store.stats_events.extend(RecordedEvent(creator_id, at, e) for e in events)


class DropsEventsWithoutRecords(_Wrapped):
    """Stores events only when some record changed (loses marked-stale, ignored-late, rejected events)."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        await self._inner.save(creator_id, records, events if records else [], at)


class DeduplicatesEvents(_Wrapped):
    """Treats events as a set: an event equal to one already stored (or earlier in the save) is dropped."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        seen = await self._inner.events(creator_id)
        fresh: list[StatsEvent] = []
        for event in events:
            if event not in seen and event not in fresh:
                fresh.append(event)
        await self._inner.save(creator_id, records, fresh, at)


class LastSaveOfAUnitWins(_Wrapped):
    """Each save replaces the events staged by the unit's earlier saves (a buffer overwritten, not appended)."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        self._uow._events[:] = [r for r in self._uow._events if r.creator_id != creator_id]
        await self._inner.save(creator_id, records, events, at)


class ReplacesEveryMetric(_Wrapped):
    """A save replaces the creator's whole set of records: metrics it was not given are deleted."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        await self._inner.get_for_update(creator_id)
        table = self._inner._t
        for key in [k for k, _ in table.items() if k[0] == creator_id and k[1] not in records]:
            table.committed.pop(key, None)  # a DELETE ... WHERE creator_id = ?, outside the transaction at that
            table.staged.pop(key, None)
        await self._inner.save(creator_id, records, events, at)


class FirstWriteWinsStats(_Wrapped):
    """Inserts new metrics but never replaces a stored one (an INSERT ... ON CONFLICT DO NOTHING)."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        stored = await self._inner.get(creator_id)
        await self._inner.save(creator_id, {m: r for m, r in records.items() if m not in stored}, events, at)


class ForgetsTheWindow(_Wrapped):
    """Stores records without their window of recent observations (a lossy encoding)."""

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        lossy = {m: dataclasses.replace(r, window=()) for m, r in records.items()}
        await self._inner.save(creator_id, lossy, events, at)


class AnotherCreatorsStats(_Wrapped):
    """Returns the wrong records: a creator with none gets another creator's (a join on the wrong key)."""

    async def get(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        own = await self._inner.get(creator_id)
        if own:
            return dict(own)
        others = sorted({c for (c, _), _ in self._inner._t.items() if c != creator_id})
        return dict(await self._inner.get(others[0])) if others else {}


class BlindToItsOwnStats(_Wrapped):
    """Reads only committed records: a unit does not see the records it saved."""

    async def get(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        found = {m: r for (c, m), r in self._uow.store.stats.items() if c == creator_id}
        return dict(sorted(found.items()))


class NoStatsRowLock(_Wrapped):
    """``get_for_update`` reads without locking: concurrent read-merge-write units lose updates."""

    async def get_for_update(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        return dict(await self._inner.get(creator_id))

    async def save(
        self, creator_id: CreatorId, records: Mapping[str, MetricRecord], events: Sequence[StatsEvent], at: datetime
    ) -> None:
        table = self._inner._t
        for metric, record in records.items():
            table.put((creator_id, metric), record)
        self._uow._events.extend(RecordedEvent(creator_id, at, e) for e in events)


class NewestEventsFirst(_Wrapped):
    """Returns events newest first (an ``ORDER BY id DESC``)."""

    async def events(self, creator_id: CreatorId, metric: str | None = None) -> list[StatsEvent]:
        return list(reversed(await self._inner.events(creator_id, metric)))


class IgnoresTheMetricFilter(_Wrapped):
    """``events(creator, metric)`` returns the events of every metric."""

    async def events(self, creator_id: CreatorId, metric: str | None = None) -> list[StatsEvent]:
        return list(await self._inner.events(creator_id))


class EventPagesOldestFirst(_Wrapped):
    """``event_page`` in saved order, oldest first (an ``ORDER BY id`` without ``DESC``), its ``before`` ignored."""

    async def event_page(
        self, creator_id: CreatorId, *, metric: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[Any]:
        page = await self._inner.event_page(creator_id, metric=metric, limit=1_000_000)
        return list(reversed(page))[:limit]


# ----------------------------------------------------------------------------- the other repositories


class AutocommitLedger(_Wrapped):
    """Ledger upserts reach the committed store at once."""

    async def upsert(self, entries: Sequence[LedgerEntry]) -> UpsertResult:
        result: UpsertResult = await self._inner.upsert(entries)
        self._uow._ledger.apply()
        return result


class LedgerReportsEveryRowInserted(_Wrapped):
    """Upserts correctly but reports every row as inserted (a re-ingest would count as new earnings)."""

    async def upsert(self, entries: Sequence[LedgerEntry]) -> UpsertResult:
        await self._inner.upsert(entries)
        return UpsertResult(tuple(entries), 0)


class EarningsByLocalDay(_Wrapped):
    """Days of earnings cut in the instant's own zone instead of UTC (and refunds counted with them)."""

    async def earnings_by_day(self, creator_id: CreatorId, start: date, end: date) -> dict[date, DayTotals]:
        days: dict[date, DayTotals] = {}
        for e in await self._inner.entries(creator_id):
            day = e.occurred_at.date()
            if start <= day < end and e.gross.currency == "USD":
                days[day] = days.get(day, ZERO) + DayTotals(e.gross.cents, e.net.cents)
        return days


class HistoryKeepsTheFirstReport(_Wrapped):
    """A later report for a stored day is ignored."""

    async def upsert(self, days: Sequence[Any]) -> None:
        await self._inner.upsert([d for d in days if self._inner._t.get((d.creator_id, d.day)) is None])


class TopSpendersAppend(_Wrapped):
    """``replace`` adds to the stored list instead of replacing it."""

    async def replace(self, scope: str, spenders: Sequence[RankedSpender], as_of: datetime) -> None:
        await self._inner.replace(scope, [*await self._inner.get(scope), *spenders], as_of)


class EveryCreatorsLinks(_Wrapped):
    """``for_creator`` lists every creator's tracking links."""

    async def for_creator(self, creator_id: CreatorId) -> list[TrackingLink]:
        return sorted(self._inner._t.values(), key=lambda link: link.id)


class SyncWipesLinkCosts(_Wrapped):
    """The cost kept on the link's own row: the sync's upsert of a link blanks the cost the agency entered."""

    async def upsert(self, links: Sequence[TrackingLink]) -> None:
        await self._inner.upsert(links)
        for link in links:
            self._uow._link_costs.put(link.id, None)  # type: ignore[arg-type]


class ChatterDaysOfEveryAgency(_Wrapped):
    """``for_agency`` ignores the agency: every agency's chatters."""

    async def for_agency(self, agency_id: AgencyId, start: date, end: date) -> list[Any]:
        rows = (r for r in self._inner._t.values() if start <= r.day < end)
        return sorted(rows, key=lambda r: (r.day, r.chatter_id))


class OneCursorPerCreator(_Wrapped):
    """Cursors keyed by creator alone: every stream reads the last cursor saved for the creator."""

    async def get(self, creator_id: CreatorId, stream: Stream) -> SyncCursor | None:
        found = [cur for (cid, _), cur in self._inner._t.items() if cid == creator_id]
        return max(found, key=lambda cur: cur.updated_at or c.T0) if found else None


class OldestAttemptOfEachCreator(_Wrapped):
    """``last_attempts`` gives each creator's oldest ``latest_at`` (a ``MIN`` where ``MAX`` belongs)."""

    async def last_attempts(self, agency_id: AgencyId | None = None) -> dict[CreatorId, datetime]:
        found: dict[CreatorId, datetime] = {}
        for (creator_id, _), record in self._inner._t.items():
            creator = self._uow._creators.get(creator_id)
            if record.latest_at is None or (agency_id is not None and creator.agency_id != agency_id):
                continue
            found[creator_id] = min(found.get(creator_id, record.latest_at), record.latest_at)
        return found


class CursorsOfEveryAgency(_Wrapped):
    """``synced_through`` reads every agency's cursors, whatever the agency asked."""

    async def synced_through(
        self, streams: Sequence[Stream], agency_id: AgencyId | None = None
    ) -> dict[CreatorId, dict[Stream, datetime]]:
        return dict(await self._inner.synced_through(streams))


class CreatorsOfEveryAgency(_Wrapped):
    """``for_agency`` lists every creator, whatever the agency."""

    async def for_agency(self, agency_id: AgencyId) -> list[Creator]:
        return sorted(self._inner._t.values(), key=lambda creator: creator.id)


class ForgetsTheConnectionError(_Wrapped):
    """Connections come back without their ``last_error`` (a column never written)."""

    async def get(self, connection_id: ConnectionId) -> Connection | None:
        found: Connection | None = await self._inner.get(connection_id)
        return None if found is None else dataclasses.replace(found, last_error=None)


class NoVersionFence(_Wrapped):
    """``save(expected_version=)`` stores whatever the stored version is."""

    async def save(self, connection: Connection, *, expected_version: int | None = None) -> None:
        await self._inner.save(connection)


class TouchMovesBack(_Wrapped):
    """``touch`` sets ``last_used_at`` even when the stored one is later."""

    async def touch(self, connection_id: ConnectionId, at: datetime) -> None:
        stored = await self._inner.get(connection_id)
        if stored is not None:
            await self._inner.save(dataclasses.replace(stored, last_used_at=at))


class AgencyConnectionByIdOnly(_Wrapped):
    """``for_agency`` returns the agency connection with the lowest id, dead or alive."""

    async def for_agency(self, agency_id: AgencyId) -> Connection | None:
        found = [x for x in await self._inner.list() if x.agency_id == agency_id and x.creator_id is None]
        return found[0] if found else None


# ----------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Breakage:
    """One broken repository and the rules the kit must report it breaking."""

    name: str
    repository: str
    """The unit of work's attribute it replaces."""
    wrapper: type[_Wrapped]
    contracts: Mapping[c.Contract, str] = field(default_factory=dict)
    """Each contract that must fail, with a regular expression its message must match."""
    machine: str | None = None
    """What the stats machine must report (a regular expression), or None when a sequential run cannot see it."""

    def unit_of_work(self, store: InMemoryStore) -> UnitOfWork:
        uow = InMemoryUnitOfWork(store)
        setattr(uow, self.repository, self.wrapper(getattr(uow, self.repository), uow))
        return uow

    def factory(self, store: InMemoryStore | None = None) -> UnitOfWorkFactory:
        """Units of work over ``store``, or over a fresh store (what the machine wants: one per run)."""
        shared = store if store is not None else InMemoryStore()
        return lambda: self.unit_of_work(shared)


DISCARD = r"leaving a unit without commit must discard its writes"
UNSEEN = r"another unit must not see uncommitted writes"

BREAKAGES: tuple[Breakage, ...] = (
    Breakage(
        "stats written outside the transaction",
        "stats",
        AutocommitStats,
        {
            c.check_uncommitted_work_is_discarded: rf"^stats records: {DISCARD}",
            c.check_uncommitted_writes_are_invisible_to_other_units: rf"^stats records: {UNSEEN}",
        },
        machine=r"^stats records: (another unit must not see uncommitted writes|leaving a unit without commit)",
    ),
    Breakage(
        "events dropped when no record changed",
        "stats",
        DropsEventsWithoutRecords,
        {c.check_stats_events_are_stored_as_given: r"^events that change no record must be stored"},
        machine=r"events (read in the unit that saved them )?differ from the model's: \d+ lost",
    ),
    Breakage(
        "identical events deduplicated",
        "stats",
        DeduplicatesEvents,
        {c.check_stats_events_are_stored_as_given: r"^identical events are distinct events"},
        machine=r"events (read in the unit that saved them )?differ from the model's: \d+ lost",
    ),
    Breakage(
        "only the last save of a unit kept",
        "stats",
        LastSaveOfAUnitWins,
        {c.check_stats_events_are_stored_as_given: r"^every save of a unit must be kept"},
        machine=r"events (read in the unit that saved them )?differ from the model's: \d+ lost",
    ),
    Breakage(
        "metrics not given deleted",
        "stats",
        ReplacesEveryMetric,
        {c.check_stats_round_trip: r"save must leave the metrics it was not given unchanged"},
        machine=r"records (read in the unit that saved them )?differ from the model's|stored records are not what was",
    ),
    Breakage(
        "a stored metric never replaced",
        "stats",
        FirstWriteWinsStats,
        {c.check_stats_round_trip: r"a unit must read its own saved record|save must replace the metric"},
        machine=r"records (read in the unit that saved them )?differ from the model's",
    ),
    Breakage(
        "records stored without their window",
        "stats",
        ForgetsTheWindow,
        {c.check_stats_round_trip: r"must encode identically after a round trip"},
        machine=r"records (read in the unit that saved them )?differ from the model's",
    ),
    Breakage(
        "another creator's records returned",
        "stats",
        AnotherCreatorsStats,
        {c.check_stats_round_trip: r"a creator with no stats must read as an empty dict|must not leak"},
    ),
    Breakage(
        "a unit blind to its own records",
        "stats",
        BlindToItsOwnStats,
        {c.check_stats_round_trip: r"a unit must read its own saved record"},
        machine=r"^records read in the unit that saved them differ from the model's",
    ),
    Breakage(
        "no row lock in get_for_update",
        "stats",
        NoStatsRowLock,
        {c.check_stats_get_for_update_serialises_writers: r"concurrent updates were lost"},
    ),
    Breakage(
        "events newest first",
        "stats",
        NewestEventsFirst,
        {c.check_stats_round_trip: r"events must come back equal, in saved order"},
        machine=r"events (read in the unit that saved them )?differ from the model's: the same events in another order",
    ),
    Breakage(
        "events(metric) ignores the metric",
        "stats",
        IgnoresTheMetricFilter,
        {c.check_stats_round_trip: r"events\(metric\) filters"},
        machine=r"events\(creator, metric\) must hold exactly that metric's events",
    ),
    Breakage(
        "event pages oldest first",
        "stats",
        EventPagesOldestFirst,
        {c.check_stats_for_creators_and_event_pages: r"event_page is newest first"},
    ),
    Breakage(
        "ledger written outside the transaction",
        "ledger",
        AutocommitLedger,
        {
            c.check_uncommitted_work_is_discarded: rf"^ledger: {DISCARD}",
            c.check_uncommitted_writes_are_invisible_to_other_units: rf"^ledger: {UNSEEN}",
        },
    ),
    Breakage(
        "ledger reports equal rows as inserted",
        "ledger",
        LedgerReportsEveryRowInserted,
        {c.check_ledger_upsert_is_idempotent: r"re-upserting equal rows must change nothing"},
    ),
    Breakage(
        "earnings summed by local day, refunds included",
        "ledger",
        EarningsByLocalDay,
        {c.check_ledger_earnings_by_day: r"^earnings_by_day: expected"},
    ),
    Breakage(
        "history keeps the first report of a day",
        "history",
        HistoryKeepsTheFirstReport,
        {c.check_history_upsert_replaces_days: r"a later report for a day must replace it"},
    ),
    Breakage(
        "top spenders appended, not replaced",
        "top_spenders",
        TopSpendersAppend,
        {c.check_top_spenders_replace: r"replace must drop the old list entirely"},
    ),
    Breakage(
        "tracking links of every creator",
        "tracking_links",
        EveryCreatorsLinks,
        {c.check_tracking_links_upsert: r"another creator's links must not leak"},
    ),
    Breakage(
        "chatter days of every agency",
        "chatter_days",
        ChatterDaysOfEveryAgency,
        {c.check_chatter_days_round_trip: r"one agency's rows only"},
    ),
    Breakage(
        "link costs wiped by the sync",
        "tracking_links",
        SyncWipesLinkCosts,
        {c.check_tracking_link_costs: r"a sync must never wipe it"},
    ),
    Breakage(
        "one cursor per creator",
        "cursors",
        OneCursorPerCreator,
        {c.check_cursor_round_trip: r"cursor"},
    ),
    Breakage(
        "oldest stats attempt",
        "stats",
        OldestAttemptOfEachCreator,
        {c.check_freshness_of_many_creators: r"last_attempts\(agency\) read"},
    ),
    Breakage(
        "cursors of every agency",
        "cursors",
        CursorsOfEveryAgency,
        {c.check_freshness_of_many_creators: r"synced_through\(agency\) read"},
    ),
    Breakage(
        "creators of every agency",
        "creators",
        CreatorsOfEveryAgency,
        {c.check_agency_and_creator_round_trip: r"for_agency must list exactly the agency's creators"},
    ),
    Breakage(
        "connection error forgotten",
        "connections",
        ForgetsTheConnectionError,
        {c.check_connection_round_trip: r"connection without tokens must round-trip"},
    ),
    Breakage(
        "no connection version fence",
        "connections",
        NoVersionFence,
        {c.check_connection_version_fence: r"must raise ConcurrentUpdateError"},
    ),
    Breakage(
        "touch moves last_used_at back",
        "connections",
        TouchMovesBack,
        {c.check_connection_touch_and_list: r"never back"},
    ),
    Breakage(
        "agency connection by id only",
        "connections",
        AgencyConnectionByIdOnly,
        {c.check_for_agency_prefers_a_usable_connection: r"for_agency must prefer the ACTIVE connection"},
    ),
)
"""Every breakage; together they make every contract fail at least once."""
