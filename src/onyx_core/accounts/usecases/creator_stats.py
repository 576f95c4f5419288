"""What a member may read of her creators' live stats, and the refreshes she may ask for.

Reads: the creators she may see with their stats (:func:`list_creators_with_stats`; filtered, sorted and paged by
:func:`query_creators`), one creator's stats (:func:`creator_stats`), and their provenance
(:func:`creator_stats_events`). Another agency's creator, or one outside her scope, is
:class:`~onyx_core.errors.NotFoundError` exactly as an unknown id.

Refreshes (:mod:`onyx_core.refresh`): :func:`request_creator_refresh`, :func:`request_refresh_all` (every creator she
may refresh: her scope's for a scoped manager) and :func:`refresh_on_view`. A refresh needs
:attr:`Permission.REFRESH_STATS`; refresh-on-view needs none: it is Onyx keeping what a member reads fresh, at
most once per ``on_view_after`` per creator, never a member's own action. Runs are read by
:func:`read_refresh_run` (:func:`may_read_run`).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onyx_core.accounts.rules import Permission, has_scope, sees_creator
from onyx_core.accounts.usecases.creators import CreatorOverview
from onyx_core.accounts.usecases.deps import Principal, require, require_creator, visible_creators
from onyx_core.connections import ConnectionKind, ConnectionStatus
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.ports import Clock, UnitOfWorkFactory
from onyx_core.refresh import (
    RefreshAlreadyRunningError,
    RefreshRun,
    RefreshRunPolicy,
    RefreshRunStore,
    RefreshUnavailableError,
    RunKind,
    RunState,
    RunTrigger,
    last_refreshed_at,
    lock_key,
    refresh_due,
)
from onyx_core.stats import Metric, MetricRecord, StoredStatsEvent

__all__ = [
    "MAX_PAGE",
    "CreatorPage",
    "CreatorQuery",
    "CreatorStats",
    "CreatorWithStats",
    "OnView",
    "StatsDeps",
    "creator_stats",
    "creator_stats_events",
    "list_creators_with_stats",
    "may_read_run",
    "query_creators",
    "read_refresh_run",
    "refresh_on_view",
    "request_creator_refresh",
    "request_refresh_all",
]

MAX_PAGE = 200
NO_CONNECTION = "none"
"""The connection filter's value for a creator who never connected her own account."""
CONNECTION_FILTERS = frozenset({NO_CONNECTION, *(s.value for s in ConnectionStatus)})
METRICS = frozenset(m.value for m in Metric)
SORT_FIELDS = frozenset({"name", "handle", *METRICS})


@dataclass(frozen=True, slots=True)
class StatsDeps:
    """What these use cases run with: the core's units of work, the refresh runs, the clock and the policy."""

    uow: UnitOfWorkFactory
    runs: RefreshRunStore
    clock: Clock
    policy: RefreshRunPolicy = field(default_factory=RefreshRunPolicy)
    can_refresh: bool = True
    """This server talks to Fanvue (else a refresh is :class:`RefreshUnavailableError`)."""


@dataclass(frozen=True, slots=True)
class CreatorWithStats:
    overview: CreatorOverview
    stats: dict[str, MetricRecord]
    """By metric; a metric Onyx never observed is absent (never a zero)."""

    @property
    def refreshed_at(self) -> datetime | None:
        return last_refreshed_at(self.stats)

    @property
    def stale(self) -> bool:
        return any(r.stale_since is not None for r in self.stats.values())


# ----------------------------------------------------------------------------- reads


async def list_creators_with_stats(uow: UnitOfWorkFactory, principal: Principal) -> list[CreatorWithStats]:
    """The creators the principal may see, by id, each with her stored stats: three reads whatever the number
    of creators (creators, connections, stats)."""
    agency_id = principal.member.agency_id
    async with uow() as tx:
        creators = visible_creators(principal, await tx.creators.for_agency(agency_id))
        own = {
            c.creator_id: c.status
            for c in await tx.connections.list(agency_id)
            if c.kind is ConnectionKind.CREATOR and c.creator_id is not None
        }
        stats = await tx.stats.for_creators([c.id for c in creators])
    return [CreatorWithStats(CreatorOverview(c, own.get(c.id)), stats.get(c.id, {})) for c in creators]


@dataclass(frozen=True, slots=True)
class CreatorStats:
    overview: CreatorOverview
    stats: dict[str, MetricRecord]

    @property
    def refreshed_at(self) -> datetime | None:
        return last_refreshed_at(self.stats)


async def creator_stats(uow: UnitOfWorkFactory, principal: Principal, creator_id: CreatorId) -> CreatorStats:
    """One creator's stats; :class:`NotFoundError` for a creator the principal may not see."""
    async with uow() as tx:
        creator = await require_creator(principal, creator_id, tx.creators)
        own = await tx.connections.for_creator(creator.id)
        records = await tx.stats.get(creator.id)
    status = None if own is None or own.agency_id != creator.agency_id else own.status
    return CreatorStats(CreatorOverview(creator, status), records)


async def creator_stats_events(
    uow: UnitOfWorkFactory,
    principal: Principal,
    creator_id: CreatorId,
    *,
    metric: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[StoredStatsEvent]:
    """A page of the creator's stats events, newest first (see :meth:`StatsRepository.event_page`)."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainValueError(f"limit must be 1 to {MAX_PAGE}")
    if metric is not None and metric not in METRICS:
        raise DomainValueError(f"metric is one of {sorted(METRICS)}")
    async with uow() as tx:
        creator = await require_creator(principal, creator_id, tx.creators)
        return await tx.stats.event_page(creator.id, metric=metric, before=before, limit=limit)


# ----------------------------------------------------------------------------- filter, sort, page


@dataclass(frozen=True, slots=True)
class CreatorQuery:
    text: str | None = None
    """Only creators whose handle or display name holds this (case-insensitive)."""
    connection: str | None = None
    """Only creators whose own connection has this status (``active``, ``needs_reauth``, ``revoked``), or
    ``none``: those who never connected their own account."""
    stale_only: bool = False
    """Only creators with at least one stale metric."""
    sort: str = "name"
    """``name``, ``handle`` or a metric (e.g. ``subscribers``); ``-`` before it sorts descending. A creator without
    a value of the metric comes last either way."""
    limit: int = 50
    cursor: str | None = None
    """The ``next`` cursor of the previous page (opaque)."""

    @property
    def field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def check(self) -> None:
        if self.field not in SORT_FIELDS:
            raise DomainValueError(f"sort by one of {sorted(SORT_FIELDS)}, '-' first for descending")
        if self.connection is not None and self.connection not in CONNECTION_FILTERS:
            raise DomainValueError(f"connection is one of {sorted(CONNECTION_FILTERS)}")
        if not 1 <= self.limit <= MAX_PAGE:
            raise DomainValueError(f"limit must be 1 to {MAX_PAGE}")


@dataclass(frozen=True, slots=True)
class CreatorPage:
    items: list[CreatorWithStats]
    total: int
    """How many creators match the filter (all pages)."""
    next_cursor: str | None


SortKey = tuple[int, Any, str]


def _text_key(text: str, *, descending: bool) -> tuple[int, ...]:
    # Descending text as an ascending key: negated code points, then a terminator above them all, so a prefix
    # sorts after the longer text ("ab" before "a") as a reversed order wants.
    points = tuple(ord(c) for c in text.casefold())
    return (*(-p for p in points), 1) if descending else points


def _sort_key(item: CreatorWithStats, field: str, *, descending: bool) -> SortKey:
    creator = item.overview.creator
    if field in ("name", "handle"):
        text = creator.display_name if field == "name" else creator.handle
        return (0, _text_key(text, descending=descending), str(creator.id))
    record = item.stats.get(field)
    value = None if record is None else record.value
    if value is None:
        return (1, 0, str(creator.id))  # no value: last, whichever the direction
    return (0, -value if descending else value, str(creator.id))


def _matches(item: CreatorWithStats, query: CreatorQuery) -> bool:
    creator = item.overview.creator
    if query.text:
        needle = query.text.casefold()
        if needle not in creator.handle.casefold() and needle not in creator.display_name.casefold():
            return False
    if query.connection is not None:
        status = item.overview.own_connection
        if (status.value if status is not None else NO_CONNECTION) != query.connection:
            return False
    return not query.stale_only or item.stale


def _encode_cursor(sort: str, key: SortKey) -> str:
    raw = json.dumps({"s": sort, "k": [key[0], key[1], key[2]]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> SortKey:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        nulls, primary, creator_id = raw["k"]
        if raw["s"] != sort or nulls not in (0, 1) or not isinstance(creator_id, str):
            raise ValueError("another query's cursor")
        if isinstance(primary, list):
            primary = tuple(int(p) for p in primary)
        elif not isinstance(primary, int) or isinstance(primary, bool):
            raise ValueError("not a sort key")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as error:
        raise DomainValueError("the cursor is not one this query gave (start again without it)") from error
    return (nulls, primary, creator_id)


def query_creators(items: Sequence[CreatorWithStats], query: CreatorQuery) -> CreatorPage:
    """Filter, sort and page ``items``. Paging is by key, not by position: the cursor holds the last item's sort
    key, so a creator added or refreshed between two pages neither repeats nor hides another one.
    :class:`DomainValueError` for an unknown sort field or filter value, a bad limit or a foreign cursor."""
    query.check()
    keyed = sorted(
        ((_sort_key(item, query.field, descending=query.descending), item) for item in items if _matches(item, query)),
        key=lambda pair: pair[0],
    )
    start = 0
    if query.cursor is not None:
        after = _decode_cursor(query.cursor, query.sort)
        start = next((i for i, (key, _) in enumerate(keyed) if key > after), len(keyed))
    page = keyed[start : start + query.limit]
    more = start + query.limit < len(keyed)
    next_cursor = _encode_cursor(query.sort, page[-1][0]) if more and page else None
    return CreatorPage([item for _, item in page], len(keyed), next_cursor)


# ----------------------------------------------------------------------------- refreshes


def _new_run(
    deps: StatsDeps, principal: Principal, kind: RunKind, trigger: RunTrigger, creators: Sequence[CreatorId]
) -> RefreshRun:
    now = deps.clock.now()
    return RefreshRun(
        id=uuid.uuid4().hex,
        agency_id=principal.member.agency_id,
        kind=kind,
        trigger=trigger,
        creator_id=creators[0] if kind is RunKind.CREATOR else None,
        requested_by=principal.member.id,
        state=RunState.QUEUED,
        total=len(creators),
        created_at=now,
        heartbeat_at=now,
    )


async def _begin(deps: StatsDeps, run: RefreshRun) -> RefreshRun:
    if not deps.can_refresh:
        raise RefreshUnavailableError("this server has no Fanvue app configured")
    return await deps.runs.begin(run, abandoned_before=deps.clock.now() - deps.policy.lease)


async def request_creator_refresh(deps: StatsDeps, principal: Principal, creator_id: CreatorId) -> RefreshRun:
    """Queue a refresh of one creator the principal may see and refresh. :class:`NotFoundError` for a creator
    she may not see, ``NotPermitted`` without the right, :class:`RefreshAlreadyRunningError` while one runs."""
    async with deps.uow() as tx:
        creator = await require_creator(principal, creator_id, tx.creators)
    require(principal, Permission.REFRESH_STATS)
    return await _begin(deps, _new_run(deps, principal, RunKind.CREATOR, RunTrigger.MANUAL, [creator.id]))


async def request_refresh_all(deps: StatsDeps, principal: Principal) -> tuple[RefreshRun, list[CreatorId]]:
    """Queue a refresh of every creator the principal may refresh (her scope's, for a scoped member): one per
    agency at a time (:class:`RefreshAlreadyRunningError` while one runs). The run and its creators."""
    require(principal, Permission.REFRESH_STATS)
    async with deps.uow() as tx:
        creators = visible_creators(principal, await tx.creators.for_agency(principal.member.agency_id))
    ids = [c.id for c in creators]
    run = await _begin(deps, _new_run(deps, principal, RunKind.AGENCY, RunTrigger.MANUAL, ids))
    return run, ids


@dataclass(frozen=True, slots=True)
class OnView:
    """What viewing a creator did about her stats' freshness."""

    queued: bool
    """This view queued a refresh (``run``)."""
    run: RefreshRun | None
    """The refresh queued now, or the one already running for her (``None``: none)."""
    reason: str
    """``queued``, ``running`` (one runs already: none queued), ``fresh`` (newer than the policy's age),
    ``disabled`` (the policy never refreshes on view) or ``unavailable`` (no Fanvue on this server)."""


async def refresh_on_view(deps: StatsDeps, principal: Principal, viewed: CreatorStats) -> OnView:
    """Queue a refresh of a creator the principal just read, when her stats are older than the policy allows
    and no refresh of her (or a refresh-all of her agency) runs. Never raises for a refresh already running."""
    if deps.policy.on_view_after is None:
        return OnView(queued=False, run=None, reason="disabled")
    if not deps.can_refresh:
        return OnView(queued=False, run=None, reason="unavailable")
    creator = viewed.overview.creator
    if not sees_creator(principal.member, creator):  # the caller read her first; checked again all the same
        raise NotFoundError(f"no creator {creator.id}")
    keys = [lock_key(RunKind.CREATOR, creator.agency_id, creator.id), lock_key(RunKind.AGENCY, creator.agency_id, None)]
    running = await deps.runs.active(creator.agency_id, keys)
    if running:
        return OnView(queued=False, run=running[0], reason="running")
    if not refresh_due(viewed.stats, deps.clock.now(), deps.policy):
        return OnView(queued=False, run=None, reason="fresh")
    run = _new_run(deps, principal, RunKind.CREATOR, RunTrigger.VIEW, [creator.id])
    try:
        return OnView(queued=True, run=await _begin(deps, run), reason="queued")
    except RefreshAlreadyRunningError as already:  # another view (or process) queued it a moment ago
        return OnView(queued=False, run=already.running, reason="running")


def may_read_run(principal: Principal, run: RefreshRun) -> bool:
    """Whether the principal may read ``run``: her agency's, and for a scoped member only a run she started or
    a refresh of one creator in her scope (someone else's refresh-all would tell her about creators she may
    not see)."""
    member = principal.member
    if run.agency_id != member.agency_id or not principal.can(Permission.VIEW_CREATORS):
        return False
    if not has_scope(member.role) or member.creator_scope is None or run.requested_by == member.id:
        return True
    return run.kind is RunKind.CREATOR and run.creator_id in member.creator_scope


async def read_refresh_run(deps: StatsDeps, principal: Principal, run_id: str) -> RefreshRun:
    """One refresh run the principal may read (:func:`may_read_run`); :class:`NotFoundError` otherwise."""
    require(principal, Permission.VIEW_CREATORS)
    run = await deps.runs.get(principal.member.agency_id, run_id)
    if run is None or not may_read_run(principal, run):
        raise NotFoundError(f"no refresh run {run_id}")
    return run
