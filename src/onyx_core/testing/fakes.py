"""In-memory implementations of every port except :class:`~onyx_core.ports.FanvuePort` (that one is
:class:`onyx_core.testing.fanvue.FakeFanvue`).

They behave the way the SQL adapters must where a use case can tell (the contract suite in
:mod:`onyx_core.testing.contracts` holds both to it):

- an :class:`InMemoryStore` is the "database"; many :class:`InMemoryUnitOfWork` s share one;
- a unit of work stages its writes and sees them; :meth:`~InMemoryUnitOfWork.commit` applies them all at once;
  leaving the ``async with`` without committing (or with an exception) discards them;
- ``get_for_update`` and every write of a stats or connection row take that row's lock until the transaction
  ends, so concurrent read-merge-write units serialise instead of losing updates, as ``SELECT ... FOR UPDATE``
  and ``UPDATE`` do.

Plus a :class:`ManualClock`, an :class:`InMemoryLock`, an :class:`InMemoryCache` and a :class:`ReversibleCipher`
(which is NOT secure). Standard library only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Protocol, Self, TypeVar

from onyx_core.analytics import Period, SubscriberDay
from onyx_core.catalog import Agency, ChatterDay, Creator, RankedSpender, TrackingLink, TrackingLinkCost
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import ConcurrentUpdateError, DomainValueError, InvalidCiphertextError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import USD
from onyx_core.ports import (
    AgencyRepository,
    Cache,
    ChatterDayRepository,
    Cipher,
    Clock,
    ConnectionRepository,
    CreatorRepository,
    LedgerRepository,
    SingleFlightLock,
    StatsRepository,
    SubscriberHistoryRepository,
    SyncCursorRepository,
    TopSpenderRepository,
    TrackingLinkCostRepository,
    TrackingLinkRepository,
    UnitOfWork,
    UpsertResult,
)
from onyx_core.reconciliation import ZERO, DayTotals
from onyx_core.refresh import last_refreshed_at
from onyx_core.stats import MetricRecord, StatsEvent, StoredStatsEvent, check_records_to_save
from onyx_core.sync import Stream, SyncCursor
from onyx_core.timeutil import require_utc

K = TypeVar("K")
V = TypeVar("V")

_RowKey = tuple[str, str]
"""(table, primary key) of a lockable row."""


# ----------------------------------------------------------------------------- the store


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stats event as stored: whose, and when the unit of work that saved it said it was recorded."""

    creator_id: CreatorId
    recorded_at: datetime
    event: StatsEvent


@dataclass(frozen=True, slots=True)
class SpenderSnapshot:
    """A scope's top-spender list and the instant it was taken."""

    as_of: datetime
    spenders: tuple[RankedSpender, ...]


class InMemoryStore:
    """The committed state that units of work share: plain dicts, readable directly in assertions.

    Change it only through units of work (or before any is open); :attr:`commits` counts successful commits.
    """

    def __init__(self) -> None:
        self.agencies: dict[AgencyId, Agency] = {}
        self.creators: dict[CreatorId, Creator] = {}
        self.connections: dict[ConnectionId, Connection] = {}
        self.stats: dict[tuple[CreatorId, str], MetricRecord] = {}
        self.stats_events: list[RecordedEvent] = []
        """Every stats event, in the order they were committed."""
        self.ledger: dict[tuple[CreatorId, str], LedgerEntry] = {}
        self.history: dict[tuple[CreatorId, date], SubscriberDay] = {}
        self.top_spenders: dict[str, SpenderSnapshot] = {}
        self.tracking_links: dict[TrackingLinkId, TrackingLink] = {}
        self.link_costs: dict[TrackingLinkId, TrackingLinkCost] = {}
        self.chatter_days: dict[tuple[AgencyId, date, str], ChatterDay] = {}
        self.cursors: dict[tuple[CreatorId, Stream], SyncCursor] = {}
        self.commits = 0
        """How many commits succeeded."""
        self._failure: tuple[int, Exception] | None = None
        self._row_locks: dict[_RowKey, asyncio.Lock] = {}
        self._locks_loop: asyncio.AbstractEventLoop | None = None

    def fail_next_commit(self, exc: Exception, *, skip: int = 0) -> None:
        """Make a coming commit raise ``exc`` and apply nothing: the one after ``skip`` successful commits.

        Simulates a crash (or a lost connection) between the work and its commit.
        """
        if skip < 0:
            raise DomainValueError("skip counts commits, it cannot be negative")
        self._failure = (skip, exc)

    def _check_commit(self) -> None:
        if self._failure is None:
            return
        skip, exc = self._failure
        if skip:
            self._failure = (skip - 1, exc)
            return
        self._failure = None
        raise exc

    def _row_lock(self, key: _RowKey) -> asyncio.Lock:
        # asyncio locks belong to one event loop; a store reused under a new loop (another test) starts afresh.
        loop = asyncio.get_running_loop()
        if loop is not self._locks_loop:
            self._locks_loop = loop
            self._row_locks = {}
        return self._row_locks.setdefault(key, asyncio.Lock())


# ----------------------------------------------------------------------------- the unit of work


class _Transactional(Protocol):
    def apply(self) -> None: ...

    def discard(self) -> None: ...


class _Table(Generic[K, V]):
    """One table as a unit of work sees it: the committed rows overlaid with the unit's staged ones."""

    def __init__(self, committed: dict[K, V]) -> None:
        self.committed = committed
        self.staged: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        if key in self.staged:
            return self.staged[key]
        return self.committed.get(key)

    def put(self, key: K, value: V) -> None:
        self.staged[key] = value

    def items(self) -> Iterator[tuple[K, V]]:
        yield from self.staged.items()
        yield from ((k, v) for k, v in self.committed.items() if k not in self.staged)

    def values(self) -> Iterator[V]:
        return (v for _, v in self.items())

    def apply(self) -> None:
        self.committed.update(self.staged)
        self.staged.clear()

    def discard(self) -> None:
        self.staged.clear()


class InMemoryUnitOfWork:
    """Implements :class:`~onyx_core.ports.UnitOfWork` over an :class:`InMemoryStore`.

    Row locks (``get_for_update``, and writes of stats and connections) are released when the transaction
    ends: at commit, at rollback, or on leaving the ``async with``. After a commit the unit can be used again,
    as a new transaction, like a SQL session.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self._agencies = _Table(store.agencies)
        self._creators = _Table(store.creators)
        self._connections = _Table(store.connections)
        self._stats = _Table(store.stats)
        self._ledger = _Table(store.ledger)
        self._history = _Table(store.history)
        self._top_spenders = _Table(store.top_spenders)
        self._tracking_links = _Table(store.tracking_links)
        self._link_costs = _Table(store.link_costs)
        self._chatter_days = _Table(store.chatter_days)
        self._cursors = _Table(store.cursors)
        self._tables: tuple[_Transactional, ...] = (
            self._agencies,
            self._creators,
            self._connections,
            self._stats,
            self._ledger,
            self._history,
            self._top_spenders,
            self._tracking_links,
            self._link_costs,
            self._chatter_days,
            self._cursors,
        )
        self._events: list[RecordedEvent] = []
        self._held: dict[_RowKey, asyncio.Lock] = {}

        self.agencies: AgencyRepository = _Agencies(self._agencies)
        self.creators: CreatorRepository = _Creators(self._creators)
        self.connections: ConnectionRepository = _Connections(self)
        self.stats: StatsRepository = _Stats(self)
        self.ledger: LedgerRepository = _Ledger(self._ledger)
        self.history: SubscriberHistoryRepository = _History(self._history)
        self.top_spenders: TopSpenderRepository = _TopSpenders(self._top_spenders)
        self.tracking_links: TrackingLinkRepository = _TrackingLinks(self._tracking_links)
        self.link_costs: TrackingLinkCostRepository = _LinkCosts(self)
        self.chatter_days: ChatterDayRepository = _ChatterDays(self._chatter_days)
        self.cursors: SyncCursorRepository = _Cursors(self._cursors, self._creators)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._end()

    async def commit(self) -> None:
        """Apply every staged write to the store at once (no await in between, so no one sees half)."""
        try:
            self.store._check_commit()
        except Exception:
            self._end()  # a failed commit rolls back, as a database does
            raise
        for table in self._tables:
            table.apply()
        self.store.stats_events.extend(self._events)
        self.store.commits += 1
        self._end()

    async def rollback(self) -> None:
        """Discard the staged writes and release the row locks."""
        self._end()

    def _end(self) -> None:
        for table in self._tables:
            table.discard()
        self._events.clear()
        held, self._held = self._held, {}
        for lock in held.values():
            lock.release()

    async def _lock(self, table: str, key: str) -> None:
        row = (table, key)
        if row in self._held:  # re-entrant within one transaction, like a row lock
            return
        lock = self.store._row_lock(row)
        await lock.acquire()
        self._held[row] = lock


# ----------------------------------------------------------------------------- repositories


class _Agencies:
    def __init__(self, table: _Table[AgencyId, Agency]) -> None:
        self._t = table

    async def get(self, agency_id: AgencyId) -> Agency | None:
        return self._t.get(agency_id)

    async def upsert(self, agency: Agency) -> None:
        self._t.put(agency.id, agency)

    async def list(self) -> list[Agency]:
        return sorted(self._t.values(), key=lambda a: a.id)


def _creators_of(creators: _Table[CreatorId, Creator], agency_id: AgencyId | None) -> list[CreatorId]:
    return sorted(c.id for c in creators.values() if agency_id is None or c.agency_id == agency_id)


class _Creators:
    def __init__(self, table: _Table[CreatorId, Creator]) -> None:
        self._t = table

    async def get(self, creator_id: CreatorId) -> Creator | None:
        return self._t.get(creator_id)

    async def for_agency(self, agency_id: AgencyId) -> list[Creator]:
        return sorted((c for c in self._t.values() if c.agency_id == agency_id), key=lambda c: c.id)

    async def every(self) -> list[Creator]:
        return sorted(self._t.values(), key=lambda c: (c.agency_id, c.id))

    async def upsert(self, creator: Creator) -> None:
        self._t.put(creator.id, creator)


class _Connections:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._t = uow._connections

    async def get(self, connection_id: ConnectionId) -> Connection | None:
        return self._t.get(connection_id)

    def _first(
        self, kind: ConnectionKind, agency_id: AgencyId | None, creator_id: CreatorId | None
    ) -> Connection | None:
        found = sorted(
            (
                c
                for c in self._t.values()
                if c.kind is kind
                and (agency_id is None or c.agency_id == agency_id)
                and (creator_id is None or c.creator_id == creator_id)
            ),
            # the usable one first (an agency reconnected by another member has a dead row and a live one),
            # then the most recently refreshed, then by id
            key=lambda c: (
                c.status is not ConnectionStatus.ACTIVE,
                -(c.last_refreshed_at.timestamp() if c.last_refreshed_at else float("-inf")),
                c.id,
            ),
        )
        return found[0] if found else None

    async def for_agency(self, agency_id: AgencyId) -> Connection | None:
        return self._first(ConnectionKind.AGENCY, agency_id, None)

    async def for_creator(self, creator_id: CreatorId) -> Connection | None:
        return self._first(ConnectionKind.CREATOR, None, creator_id)

    async def get_for_update(self, connection_id: ConnectionId) -> Connection | None:
        await self._uow._lock("connections", connection_id)
        return self._t.get(connection_id)

    async def save(self, connection: Connection, *, expected_version: int | None = None) -> None:
        # A write locks the row first (as UPDATE does), so a second fenced writer waits for the first to end
        # and then sees its version, instead of both passing the check.
        await self._uow._lock("connections", connection.id)
        if expected_version is not None:
            stored = self._t.get(connection.id)
            if stored is None or stored.token_version != expected_version:
                found = None if stored is None else stored.token_version
                raise ConcurrentUpdateError(
                    f"connection {connection.id}: expected token version {expected_version}, found {found}"
                )
        self._t.put(connection.id, connection)

    async def touch(self, connection_id: ConnectionId, at: datetime) -> None:
        await self._uow._lock("connections", connection_id)
        stored = self._t.get(connection_id)
        if stored is not None:
            self._t.put(connection_id, stored.marked_used(at))

    async def list(self, agency_id: AgencyId | None = None) -> list[Connection]:
        found = (c for c in self._t.values() if agency_id is None or c.agency_id == agency_id)
        return sorted(found, key=lambda c: c.id)


class _Stats:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._t = uow._stats

    async def get(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        return dict(sorted(((m, r) for (c, m), r in self._t.items() if c == creator_id), key=lambda item: item[0]))

    async def get_for_update(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        await self._uow._lock("stats", creator_id)
        return await self.get(creator_id)

    async def save(
        self,
        creator_id: CreatorId,
        records: Mapping[str, MetricRecord],
        events: Sequence[StatsEvent],
        recorded_at: datetime,
    ) -> None:
        recorded_at = require_utc(recorded_at, "recorded_at")
        check_records_to_save(records)
        await self._uow._lock("stats", creator_id)
        for metric, record in records.items():
            self._t.put((creator_id, metric), record)
        self._uow._events.extend(RecordedEvent(creator_id, recorded_at, e) for e in events)

    async def events(self, creator_id: CreatorId, metric: str | None = None) -> list[StatsEvent]:
        staged = self._uow._events
        return [
            r.event
            for r in (*self._uow.store.stats_events, *staged)
            if r.creator_id == creator_id and (metric is None or r.event.metric == metric)
        ]

    async def for_creators(self, creator_ids: Sequence[CreatorId]) -> dict[CreatorId, dict[str, MetricRecord]]:
        found = {creator_id: await self.get(creator_id) for creator_id in creator_ids}
        return {creator_id: records for creator_id, records in found.items() if records}

    async def event_page(
        self, creator_id: CreatorId, *, metric: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[StoredStatsEvent]:
        # ids are positions in the committed-then-staged order, as a SQL identity column would number them
        numbered = [
            StoredStatsEvent(number, r.recorded_at, r.event)
            for number, r in enumerate((*self._uow.store.stats_events, *self._uow._events), start=1)
            if r.creator_id == creator_id and (metric is None or r.event.metric == metric)
        ]
        page = [e for e in reversed(numbered) if before is None or e.id < before]
        return page[:limit]

    async def last_attempts(self, agency_id: AgencyId | None = None) -> dict[CreatorId, datetime]:
        found: dict[CreatorId, datetime] = {}
        for creator_id in _creators_of(self._uow._creators, agency_id):
            last = last_refreshed_at(await self.get(creator_id))
            if last is not None:
                found[creator_id] = last
        return found


class _Ledger:
    def __init__(self, table: _Table[tuple[CreatorId, str], LedgerEntry]) -> None:
        self._t = table

    async def upsert(self, entries: Sequence[LedgerEntry]) -> UpsertResult:
        inserted: list[LedgerEntry] = []
        updated = 0
        for entry in entries:
            key = (entry.creator_id, entry.key)
            existing = self._t.get(key)
            if existing is None:
                inserted.append(entry)
            elif existing != entry:
                updated += 1
            else:
                continue
            self._t.put(key, entry)
        return UpsertResult(tuple(inserted), updated)

    def _of(self, creator_id: CreatorId) -> Iterator[LedgerEntry]:
        return (e for (c, _), e in self._t.items() if c == creator_id)

    async def entries(self, creator_id: CreatorId, period: Period | None = None) -> list[LedgerEntry]:
        found = (e for e in self._of(creator_id) if period is None or e.occurred_at in period)
        return sorted(found, key=lambda e: (e.occurred_at, e.key))

    async def net_total(self, creator_id: CreatorId, currency: str) -> int:
        return sum(e.net.cents for e in self._of(creator_id) if e.net.currency == currency)

    async def earnings_by_day(self, creator_id: CreatorId, start: date, end: date) -> dict[date, DayTotals]:
        days: dict[date, DayTotals] = {}
        for e in self._of(creator_id):
            day = e.occurred_at.astimezone(UTC).date()
            if e.kind is EntryKind.EARNING and e.net.currency == USD and start <= day < end:
                days[day] = days.get(day, ZERO) + DayTotals(e.gross.cents, e.net.cents)
        return days


class _History:
    def __init__(self, table: _Table[tuple[CreatorId, date], SubscriberDay]) -> None:
        self._t = table

    async def upsert(self, days: Sequence[SubscriberDay]) -> None:
        for day in days:
            self._t.put((day.creator_id, day.day), day)

    async def days(self, creator_id: CreatorId, start: date, end: date) -> list[SubscriberDay]:
        found = (d for (c, day), d in self._t.items() if c == creator_id and start <= day < end)
        return sorted(found, key=lambda d: d.day)


class _TopSpenders:
    def __init__(self, table: _Table[str, SpenderSnapshot]) -> None:
        self._t = table

    async def replace(self, scope: str, spenders: Sequence[RankedSpender], as_of: datetime) -> None:
        self._t.put(scope, SpenderSnapshot(require_utc(as_of, "as_of"), tuple(spenders)))

    async def get(self, scope: str) -> list[RankedSpender]:
        """Ordered by rank."""
        snapshot = self._t.get(scope)
        return [] if snapshot is None else sorted(snapshot.spenders, key=lambda s: s.rank)


class _TrackingLinks:
    def __init__(self, table: _Table[TrackingLinkId, TrackingLink]) -> None:
        self._t = table

    async def upsert(self, links: Sequence[TrackingLink]) -> None:
        for link in links:
            self._t.put(link.id, link)

    async def for_creator(self, creator_id: CreatorId) -> list[TrackingLink]:
        """Ordered by link id."""
        return sorted((link for link in self._t.values() if link.creator_id == creator_id), key=lambda x: x.id)

    async def get(self, link_id: TrackingLinkId) -> TrackingLink | None:
        return self._t.get(link_id)


class _LinkCosts:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow
        self._t = uow._link_costs

    async def save(self, cost: TrackingLinkCost) -> None:
        self._t.put(cost.link_id, cost)

    async def get(self, link_id: TrackingLinkId) -> TrackingLinkCost | None:
        return self._t.get(link_id)

    async def for_links(self, link_ids: Sequence[TrackingLinkId]) -> dict[TrackingLinkId, TrackingLinkCost]:
        found = {link_id: self._t.get(link_id) for link_id in link_ids}
        return {link_id: cost for link_id, cost in found.items() if cost is not None}

    async def for_agency(self, agency_id: AgencyId) -> dict[TrackingLinkId, TrackingLinkCost]:
        creators = {c.id for c in self._uow._creators.values() if c.agency_id == agency_id}
        links = [link.id for link in self._uow._tracking_links.values() if link.creator_id in creators]
        return await self.for_links(links)


class _ChatterDays:
    def __init__(self, table: _Table[tuple[AgencyId, date, str], ChatterDay]) -> None:
        self._t = table

    async def upsert(self, days: Sequence[ChatterDay]) -> None:
        for row in days:
            self._t.put((row.agency_id, row.day, row.chatter_id), row)

    async def for_agency(self, agency_id: AgencyId, start: date, end: date) -> list[ChatterDay]:
        rows = (r for r in self._t.values() if r.agency_id == agency_id and start <= r.day < end)
        return sorted(rows, key=lambda r: (r.day, r.chatter_id))


class _Cursors:
    def __init__(
        self, table: _Table[tuple[CreatorId, Stream], SyncCursor], creators: _Table[CreatorId, Creator]
    ) -> None:
        self._t = table
        self._creators = creators

    async def get(self, creator_id: CreatorId, stream: Stream) -> SyncCursor | None:
        return self._t.get((creator_id, stream))

    async def save(self, cursor: SyncCursor) -> None:
        self._t.put((cursor.creator_id, cursor.stream), cursor)

    async def synced_through(
        self, streams: Collection[Stream], agency_id: AgencyId | None = None
    ) -> dict[CreatorId, dict[Stream, datetime]]:
        found: dict[CreatorId, dict[Stream, datetime]] = {}
        for creator_id in _creators_of(self._creators, agency_id):
            for stream in streams:
                cursor = await self.get(creator_id, stream)
                if cursor is not None and cursor.synced_through is not None:
                    found.setdefault(creator_id, {})[stream] = cursor.synced_through
        return found


# ----------------------------------------------------------------------------- infrastructure


class ManualClock:
    """Implements :class:`~onyx_core.ports.Clock`: time moves only when a test (or a sleep) moves it.

    :meth:`sleep` returns at once, having advanced the clock; :attr:`sleeps` lists every wait asked for.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_utc(start, "ManualClock start")
        self.sleeps: list[float] = []
        """The ``seconds`` of every :meth:`sleep`, in order."""

    def now(self) -> datetime:
        """The clock's current instant (UTC)."""
        return self._now

    def advance(self, by: timedelta | float) -> datetime:
        """Move forward by ``by`` (a timedelta, or seconds); returns the new now. Time never goes back."""
        delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if delta < timedelta(0):
            raise DomainValueError(f"a clock only moves forward, not by {delta}")
        self._now += delta
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance by it (a negative wait counts as none), and yield to other tasks once."""
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0))
        await asyncio.sleep(0)


class InMemoryLock:
    """Implements :class:`~onyx_core.ports.SingleFlightLock` within one event loop: an asyncio lock per key.

    :attr:`acquisitions` counts how many times each key was acquired.
    """

    def __init__(self) -> None:
        self.acquisitions: Counter[str] = Counter()
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Wait for ``key`` to be free, hold it for the ``async with`` block."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            self.acquisitions[key] += 1
            yield

    def held(self, key: str) -> bool:
        """Whether someone holds ``key`` right now."""
        lock = self._locks.get(key)
        return lock is not None and lock.locked()


class InMemoryCache:
    """Implements :class:`~onyx_core.ports.Cache` in a dict; an entry expires ``ttl`` after it was set, by
    ``clock`` (a :class:`ManualClock` in tests), and an expired entry is a miss."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[bytes, datetime]] = {}

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired (at its expiry instant it is already gone)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock.now() >= expires_at:
            del self._entries[key]
            return None
        return value

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        """Store ``value`` until ``now + ttl``; a ttl of zero or less stores nothing retrievable."""
        self._entries[key] = (bytes(value), self._clock.now() + ttl)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (absent keys are fine)."""
        self._entries.pop(key, None)


class ReversibleCipher:
    """Implements :class:`~onyx_core.ports.Cipher` FOR TESTS ONLY. IT IS NOT SECURE: DO NOT PROTECT REAL SECRETS
    WITH IT. Use the adapters' MultiFernet cipher for anything real.

    A home-made construction nobody reviewed (SHA-256 in counter mode as a keystream, XOR, HMAC-SHA-256 tag),
    with a default key that is public. It exists so tests can check that secrets are stored encrypted
    (the ciphertext does not contain the plaintext, and a random nonce makes equal plaintexts differ) and that
    tampering is detected (:class:`InvalidCiphertextError`), without a third-party crypto library in the core.
    """

    _MAGIC = b"onyx-test-cipher:1:"
    _NONCE = 16
    _TAG = 32

    def __init__(self, key: bytes = b"onyx-test-key, not a secret") -> None:
        if not key:
            raise DomainValueError("a cipher key cannot be empty")
        self._stream_key = hmac.new(key, b"keystream", hashlib.sha256).digest()
        self._mac_key = hmac.new(key, b"mac", hashlib.sha256).digest()

    def _xor(self, nonce: bytes, data: bytes) -> bytes:
        blocks = (len(data) + 31) // 32
        stream = b"".join(
            hashlib.sha256(self._stream_key + nonce + i.to_bytes(8, "big")).digest() for i in range(blocks)
        )
        return bytes(a ^ b for a, b in zip(data, stream, strict=False))

    def _tag(self, head: bytes, body: bytes) -> bytes:
        return hmac.new(self._mac_key, head + body, hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes) -> bytes:
        """Magic, random nonce, XORed body, tag."""
        head = self._MAGIC + secrets.token_bytes(self._NONCE)
        body = self._xor(head[-self._NONCE :], plaintext)
        return head + body + self._tag(head, body)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """The plaintext; :class:`InvalidCiphertextError` if the bytes are not this cipher's, with this key, intact."""
        head_len = len(self._MAGIC) + self._NONCE
        if len(ciphertext) < head_len + self._TAG or not ciphertext.startswith(self._MAGIC):
            raise InvalidCiphertextError("not a ciphertext of the test cipher")
        head, body, tag = ciphertext[:head_len], ciphertext[head_len : -self._TAG], ciphertext[-self._TAG :]
        if not hmac.compare_digest(tag, self._tag(head, body)):
            raise InvalidCiphertextError("ciphertext altered, or encrypted with another key")
        return self._xor(head[-self._NONCE :], body)


if TYPE_CHECKING:  # never runs: makes mypy prove each fake implements its port

    def _implements_ports(store: InMemoryStore, clock: ManualClock) -> tuple[
        UnitOfWork, Clock, SingleFlightLock, Cache, Cipher
    ]:  # fmt: skip
        return InMemoryUnitOfWork(store), clock, InMemoryLock(), InMemoryCache(clock), ReversibleCipher()


__all__ = [
    "InMemoryCache",
    "InMemoryLock",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InvalidCiphertextError",
    "ManualClock",
    "RecordedEvent",
    "ReversibleCipher",
    "SpenderSnapshot",
]
