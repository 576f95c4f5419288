"""Ports: what the use cases need from the outside world, as ``typing.Protocol`` s (structural: no base class).

Adapters implement them (SQL, the Fanvue gateway, a cipher, locks...); :mod:`onyx_core.testing.fakes` has an
in-memory implementation of each, and the contract tests hold every implementation to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from onyx_core.analytics import Period, SubscriberDay
from onyx_core.catalog import (
    Agency,
    ChatterDay,
    Creator,
    CreatorProfile,
    RankedSpender,
    TrackingLink,
    TrackingLinkCost,
)
from onyx_core.connections import Connection
from onyx_core.errors import OnyxError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, TrackingLinkId
from onyx_core.ledger import LedgerEntry
from onyx_core.reconciliation import DayTotals, EarningsDays
from onyx_core.stats import MetricRecord, MissingReason, Observation, StatsEvent, StoredStatsEvent
from onyx_core.sync import Stream, SyncCursor

# ----------------------------------------------------------------------------- infrastructure


class Clock(Protocol):
    """Time, injected so tests can move it."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class Cipher(Protocol):
    """Symmetric authenticated encryption for secrets at rest (tokens, TOTP seeds)."""

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Raise an :class:`~onyx_core.errors.OnyxError` subclass if the ciphertext is not authentic."""
        ...


class SingleFlightLock(Protocol):
    """At most one holder per key at a time, across whatever the implementation spans (tasks, processes)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


class Cache(Protocol):
    """A byte cache with time-to-live (e.g. Redis)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None: ...

    async def delete(self, key: str) -> None: ...


# ----------------------------------------------------------------------------- repositories


class AgencyRepository(Protocol):
    """Agencies, by id."""

    async def get(self, agency_id: AgencyId) -> Agency | None: ...

    async def upsert(self, agency: Agency) -> None: ...

    async def list(self) -> list[Agency]: ...


class CreatorRepository(Protocol):
    """Creators managed by agencies."""

    async def get(self, creator_id: CreatorId) -> Creator | None: ...

    async def for_agency(self, agency_id: AgencyId) -> list[Creator]:
        """The agency's creators, ordered by id."""
        ...

    async def every(self) -> list[Creator]:
        """Every agency's creators in one read, ordered by agency id, then id (as :meth:`for_agency` of each
        agency in id order would list them)."""
        ...

    async def upsert(self, creator: Creator) -> None: ...


class ConnectionRepository(Protocol):
    """Fanvue OAuth connections; tokens are stored encrypted by the implementation."""

    async def get(self, connection_id: ConnectionId) -> Connection | None: ...

    async def for_agency(self, agency_id: AgencyId) -> Connection | None:
        """The agency-level connection (the agency admin's own grant). With several (another team member
        connected too), an ACTIVE one first, then the most recently refreshed, then the lowest id."""
        ...

    async def for_creator(self, creator_id: CreatorId) -> Connection | None:
        """The creator's own connection, if the creator connected personally (chosen as :meth:`for_agency`)."""
        ...

    async def get_for_update(self, connection_id: ConnectionId) -> Connection | None:
        """Read and lock the row until the unit of work ends (single-flight refresh across processes)."""
        ...

    async def save(self, connection: Connection, *, expected_version: int | None = None) -> None:
        """Insert or update. With ``expected_version``, raise :class:`ConcurrentUpdateError` unless the stored
        ``token_version`` still equals it (the fence that stops a stale refresher from overwriting)."""
        ...

    async def touch(self, connection_id: ConnectionId, at: datetime) -> None:
        """Record a successful API call: ``last_used_at`` becomes ``at`` unless it is already later. Tokens and
        ``token_version`` are left alone, so a touch never races a refresh. An unknown id is ignored."""
        ...

    async def list(self, agency_id: AgencyId | None = None) -> list[Connection]:
        """Every connection, ordered by id (token maintenance walks them); with ``agency_id``, only that agency's
        (its agency and creator connections: another agency's rows are not even read)."""
        ...


class StatsRepository(Protocol):
    """Creators' metric records (see :mod:`onyx_core.stats`) and the events that explain them."""

    async def get(self, creator_id: CreatorId) -> dict[str, MetricRecord]: ...

    async def get_for_update(self, creator_id: CreatorId) -> dict[str, MetricRecord]:
        """Like :meth:`get`, and no other unit of work can change these records until this one ends."""
        ...

    async def save(
        self,
        creator_id: CreatorId,
        records: Mapping[str, MetricRecord],
        events: Sequence[StatsEvent],
        recorded_at: datetime,
    ) -> None:
        """Store the records (replacing those of the same metrics) and append the events."""
        ...

    async def events(self, creator_id: CreatorId, metric: str | None = None) -> list[StatsEvent]:
        """The creator's events in the order they were recorded."""
        ...

    async def for_creators(self, creator_ids: Sequence[CreatorId]) -> dict[CreatorId, dict[str, MetricRecord]]:
        """:meth:`get` of many creators in one read (a list of an agency's creators with their stats); a creator
        without stats is absent."""
        ...

    async def event_page(
        self, creator_id: CreatorId, *, metric: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[StoredStatsEvent]:
        """The creator's events (of ``metric``), newest first: at most ``limit``, only those with an id below
        ``before`` when given (the next page starts below the last id of this one)."""
        ...

    async def last_attempts(self, agency_id: AgencyId | None = None) -> dict[CreatorId, datetime]:
        """Per creator (of the agency, or of every agency) the newest ``latest_at`` of its records: when an
        observation of any metric was last merged (:func:`~onyx_core.refresh.last_refreshed_at` of :meth:`get`).
        One read whatever the number of creators (the heartbeat asks it every minute); a creator without any is
        absent."""
        ...


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What a ledger upsert did."""

    inserted: tuple[LedgerEntry, ...]
    """Entries whose key was new."""
    updated: int
    """Existing entries whose content changed (Fanvue corrected a row)."""


class LedgerRepository(Protocol):
    """The earnings ledger: payments and reversals, keyed by (creator, key)."""

    async def upsert(self, entries: Sequence[LedgerEntry]) -> UpsertResult:
        """Idempotent on (creator_id, key): the same rows twice insert nothing the second time."""
        ...

    async def entries(self, creator_id: CreatorId, period: Period | None = None) -> list[LedgerEntry]:
        """Ordered by (occurred_at, key)."""
        ...

    async def net_total(self, creator_id: CreatorId, currency: str) -> int:
        """Sum of net cents over the creator's whole ledger (earnings minus reversals)."""
        ...

    async def earnings_by_day(self, creator_id: CreatorId, start: date, end: date) -> dict[date, DayTotals]:
        """Gross and net cents (USD) of the creator's earnings (not reversals) per UTC day in ``[start, end)``;
        a day without any is left out. What :func:`~onyx_core.usecases.reconcile_ledger` compares with Fanvue."""
        ...


class SubscriberHistoryRepository(Protocol):
    """Per-day new and cancelled subscriber counts."""

    async def upsert(self, days: Sequence[SubscriberDay]) -> None:
        """Idempotent on (creator_id, day); a later report for a day replaces the earlier one."""
        ...

    async def days(self, creator_id: CreatorId, start: date, end: date) -> list[SubscriberDay]:
        """Stored days in ``[start, end)``, ordered."""
        ...


class TopSpenderRepository(Protocol):
    """Top-spender snapshots per scope (a creator, or an agency)."""

    async def replace(self, scope: str, spenders: Sequence[RankedSpender], as_of: datetime) -> None:
        """Replace the list for ``scope`` (a creator id, or ``agency:<id>``) as one snapshot."""
        ...

    async def get(self, scope: str) -> list[RankedSpender]: ...


class TrackingLinkRepository(Protocol):
    """Tracking links and their counters."""

    async def upsert(self, links: Sequence[TrackingLink]) -> None: ...

    async def for_creator(self, creator_id: CreatorId) -> list[TrackingLink]: ...

    async def get(self, link_id: TrackingLinkId) -> TrackingLink | None: ...


class TrackingLinkCostRepository(Protocol):
    """What the agency entered as each tracking link's cost, by link id. A sync never writes here, so it never
    wipes a cost."""

    async def save(self, cost: TrackingLinkCost) -> None:
        """Insert or replace the link's cost."""
        ...

    async def get(self, link_id: TrackingLinkId) -> TrackingLinkCost | None: ...

    async def for_links(self, link_ids: Sequence[TrackingLinkId]) -> dict[TrackingLinkId, TrackingLinkCost]:
        """The costs entered for any of ``link_ids`` (links without one are absent)."""
        ...

    async def for_agency(self, agency_id: AgencyId) -> dict[TrackingLinkId, TrackingLinkCost]:
        """The costs entered for the links of the agency's creators (one read, for the dashboard)."""
        ...


class ChatterDayRepository(Protocol):
    """Fanvue's chatter leaderboard, one row per (agency, UTC day, chatter)."""

    async def upsert(self, days: Sequence[ChatterDay]) -> None:
        """Insert or replace each (agency, day, chatter) row."""
        ...

    async def for_agency(self, agency_id: AgencyId, start: date, end: date) -> list[ChatterDay]:
        """The agency's rows of the days ``start <= day < end``, by day then chatter id."""
        ...


class SyncCursorRepository(Protocol):
    """Where each (creator, stream) sync stands."""

    async def get(self, creator_id: CreatorId, stream: Stream) -> SyncCursor | None: ...

    async def save(self, cursor: SyncCursor) -> None: ...

    async def synced_through(
        self, streams: Collection[Stream], agency_id: AgencyId | None = None
    ) -> dict[CreatorId, dict[Stream, datetime]]:
        """Per creator (of the agency, or of every agency) the ``synced_through`` of its cursors of ``streams``,
        in one read whatever the number of creators; a cursor without one, and a creator with none, are absent."""
        ...


class Transaction(Protocol):
    """A unit of work's transaction. Leaving the ``async with`` without :meth:`commit` rolls back; after a commit or
    a rollback the unit can be used again, as a new transaction."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWork(Transaction, Protocol):
    """One transaction over all repositories. Leaving the ``async with`` without :meth:`commit` rolls back."""

    agencies: AgencyRepository
    creators: CreatorRepository
    connections: ConnectionRepository
    stats: StatsRepository
    ledger: LedgerRepository
    history: SubscriberHistoryRepository
    top_spenders: TopSpenderRepository
    tracking_links: TrackingLinkRepository
    link_costs: TrackingLinkCostRepository
    chatter_days: ChatterDayRepository
    cursors: SyncCursorRepository


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Each call returns a fresh unit of work (a new transaction)."""


# ----------------------------------------------------------------------------- Fanvue, in domain terms


class SourceUnavailableError(OnyxError):
    """Fanvue could not give the data. ``reason`` says why; it never means "zero"."""

    def __init__(self, reason: MissingReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class GrantRefusedError(SourceUnavailableError):
    """The token endpoint refused the connection's grant for good (``invalid_grant`` and kin): retrying cannot
    help, only the user connecting again. The use cases mark the connection ``needs_reauth`` when they see it."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(MissingReason.PERMISSION, detail)


class CursorRejectedError(SourceUnavailableError):
    """Fanvue refused a page cursor it issued earlier (expired, or from another caller's walk): the walk must
    start over, which re-reads rows that upserts make harmless."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(MissingReason.ERROR, detail)


@dataclass(frozen=True, slots=True)
class LedgerPage:
    """One page of ledger entries and the cursor of the next page."""

    entries: tuple[LedgerEntry, ...]
    next_cursor: str | None
    """``None`` on the last page."""


class FanvuePort(Protocol):
    """What the core needs from Fanvue. Implementations turn every failure into a :class:`Missing`
    observation (for stats) or :class:`SourceUnavailableError` (for everything else): never into a zero."""

    async def list_creators(self, connection: Connection) -> list[CreatorProfile]: ...

    async def fetch_stats(
        self, connection: Connection, creator: Creator, at: datetime, metrics: frozenset[str] | None = None
    ) -> list[Observation]:
        """One observation per metric (``Ok`` or ``Missing``), observed ``at``: every metric the implementation
        knows, or only ``metrics`` (to read just what another connection could not). Raises only
        :class:`GrantRefusedError`, when the connection's grant is dead."""
        ...

    async def fetch_ledger_page(
        self,
        connection: Connection,
        creator: Creator,
        stream: Stream,
        start: datetime,
        end: datetime,
        cursor: str | None,
    ) -> LedgerPage:
        """One page of earnings (``Stream.EARNINGS``) or reversals (``Stream.REVERSALS``) in ``[start, end)``.
        Raises :class:`CursorRejectedError` when Fanvue refuses ``cursor``."""
        ...

    async def fetch_earnings_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> EarningsDays:
        """Fanvue's own gross and net of the creator's earnings rows per UTC day in ``[start, end)``, and her
        lifetime total (the earnings summary). An answer that cannot be told from a permission problem (all
        zero) is :class:`SourceUnavailableError` (``EMPTY``), never a row of zeros to compare with."""
        ...

    async def fetch_subscriber_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> list[SubscriberDay]:
        """Per-day new and cancelled subscriber counts for days in ``[start, end)``."""
        ...

    async def fetch_top_spenders(self, connection: Connection, creator: Creator) -> list[RankedSpender]:
        """The creator's top spenders, ranked (Fanvue ranks per creator; the agency-wide list is combined from
        these by :func:`onyx_core.usecases.rankings.combine_rankings`)."""
        ...

    async def fetch_tracking_links(self, connection: Connection, creator: Creator) -> list[TrackingLink]: ...

    async def fetch_chatter_days(self, connection: Connection, day: date) -> list[ChatterDay]:
        """The chatter leaderboard of one UTC ``day`` for the agency of ``connection`` (its own grant: Fanvue
        answers it to agency admins with ``read:agency`` only)."""
        ...

    async def count_chatter_messages(self, connection: Connection, start: date, end: date) -> int:
        """The messages every chatter of the agency sent over the UTC days ``[start, end)``, in one request (the
        leaderboard's range is one aggregate, not a row per day): whether a look-back has anything to store."""
        ...


class GrantRefresher(Protocol):
    """Refreshes a connection's OAuth tokens ahead of need (the maintenance job's half of the token policy).

    Implementations refresh single-flight with every other user of the connection (API calls in any process)
    and commit the new refresh token before anything uses the new access token."""

    async def refresh(self, connection: Connection) -> bool:
        """Refresh now, unless the stored ``token_version`` moved past ``connection``'s (someone else refreshed or
        reconnected since it was read). Returns whether this call refreshed.

        Raises :class:`GrantRefusedError` when the grant is dead and :class:`SourceUnavailableError` when the
        token endpoint could not be reached or failed; the stored connection is unchanged then."""
        ...


__all__ = [
    "AgencyRepository",
    "Cache",
    "Cipher",
    "Clock",
    "ConnectionRepository",
    "CreatorRepository",
    "CursorRejectedError",
    "FanvuePort",
    "GrantRefresher",
    "GrantRefusedError",
    "LedgerPage",
    "LedgerRepository",
    "SingleFlightLock",
    "SourceUnavailableError",
    "StatsRepository",
    "SubscriberHistoryRepository",
    "SyncCursorRepository",
    "TopSpenderRepository",
    "TrackingLinkRepository",
    "Transaction",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UpsertResult",
]
