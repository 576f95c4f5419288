"""What every use case needs, bundled once by the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from onyx_core.budget import JobBudget, job_budget
from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionChoice, ConnectionKind, ConnectionStatus, resolve_connection
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import Clock, FanvuePort, GrantRefusedError, SourceUnavailableError, UnitOfWork, UnitOfWorkFactory
from onyx_core.stats import MergePolicy, MissingReason
from onyx_core.sync import SyncPolicy
from onyx_core.tokens import RefreshPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    """The ports and policies every use case runs with; built once by the composition root."""

    uow: UnitOfWorkFactory
    fanvue: FanvuePort
    clock: Clock
    merge_policy: MergePolicy = field(default_factory=MergePolicy)
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    refresh_policy: RefreshPolicy = field(default_factory=RefreshPolicy)


async def require_agency(ctx: Context, agency_id: AgencyId) -> None:
    """Raise :class:`NotFoundError` unless the agency exists."""
    async with ctx.uow() as uow:
        if await uow.agencies.get(agency_id) is None:
            raise NotFoundError(f"no agency {agency_id}")


async def agency_connection(ctx: Context, agency_id: AgencyId) -> Connection:
    """The agency's own connection, for agency-wide endpoints. Raises :class:`NotFoundError` for an unknown
    agency and :class:`SourceUnavailableError` (``no_connection``) when the connection is absent or unusable."""
    await require_agency(ctx, agency_id)
    async with ctx.uow() as uow:
        choice = resolve_connection(agency=await uow.connections.for_agency(agency_id), creator=None)
    if choice.connection is None:
        raise SourceUnavailableError(MissingReason.NO_CONNECTION, describe(choice))
    return choice.connection


async def with_agency_connection(ctx: Context, agency_id: AgencyId, call: Callable[[Connection], Awaitable[T]]) -> T:
    """Run ``call`` with the agency's own connection (agency-wide endpoints have no fallback). A refused grant
    marks the connection needs-reauth, as in :func:`with_connection`."""
    connection = await agency_connection(ctx, agency_id)
    try:
        result = await call(connection)
    except GrantRefusedError as refused:
        await mark_needs_reauth(ctx, connection, refused)
        raise
    await touch_connection(ctx, connection)
    return result


async def budgeted(ctx: Context, call: Awaitable[T], spent: list[JobBudget] | None = None) -> T:
    """Await ``call`` as one job under ``sync_policy.job_budget`` (see :mod:`onyx_core.budget`); the job's
    :class:`JobBudget` (when Fanvue said to come back) is appended to ``spent``."""
    with job_budget(ctx.sync_policy.job_budget.total_seconds(), ctx.clock) as budget:
        if spent is not None:
            spent.append(budget)
        return await call


def retry_at_of(budgets: Sequence[JobBudget]) -> datetime | None:
    """The latest time Fanvue named for a call it refused in any of ``budgets`` (``None``: none)."""
    times = [b.retry_at for b in budgets if b.retry_at is not None]
    return max(times) if times else None


async def for_each_creator(
    ctx: Context, creator_ids: Sequence[CreatorId], call: Callable[[CreatorId], Awaitable[T]]
) -> tuple[dict[CreatorId, T], dict[CreatorId, Exception]]:
    """``call`` for every creator, at most ``sync_policy.concurrency`` at a time. A creator whose call raises
    (storage trouble, a bug) is returned with its exception; the others still run. Results keep the given order.
    A creator Fanvue throttles holds its slot only as long as its jobs' budgets allow (``sync_policy.job_budget``
    each): a storm on one creator delays the creators queued behind it by a bounded time, and never those
    already running (each creator has its own Fanvue bucket)."""
    gate = asyncio.Semaphore(ctx.sync_policy.concurrency)
    results: dict[CreatorId, T] = {}
    failures: dict[CreatorId, Exception] = {}

    async def one(creator_id: CreatorId) -> None:
        async with gate:
            try:
                results[creator_id] = await call(creator_id)
            except Exception as error:  # one creator failing must not stop the others
                failures[creator_id] = error

    async with asyncio.TaskGroup() as group:
        for creator_id in creator_ids:
            group.create_task(one(creator_id))
    return {c: results[c] for c in creator_ids if c in results}, failures


async def load_creator(ctx: Context, creator_id: CreatorId) -> Creator:
    """The stored creator; raises :class:`NotFoundError` if there is none."""
    async with ctx.uow() as uow:
        creator = await uow.creators.get(creator_id)
    if creator is None:
        raise NotFoundError(f"no creator {creator_id}")
    return creator


@dataclass(frozen=True, slots=True)
class CreatorConnections:
    """A creator's candidate connections as read once (:func:`read_connections`): the agency's and her own."""

    agency: Connection | None
    own: Connection | None

    def choose(self, exclude: frozenset[ConnectionKind] = frozenset()) -> ConnectionChoice:
        return resolve_connection(agency=self.agency, creator=self.own, exclude=exclude)

    def used(self, kind: ConnectionKind, now: datetime) -> CreatorConnections:
        """These connections as stored after :func:`touch_connection` of the ``kind`` one at ``now``, so that a
        caller reusing them does not touch it again within :data:`TOUCH_EVERY`."""

        def after(connection: Connection | None) -> Connection | None:
            return connection.marked_used(now) if connection is not None and touch_due(connection, now) else connection

        if kind is ConnectionKind.AGENCY:
            return replace(self, agency=after(self.agency))
        return replace(self, own=after(self.own))


async def read_connections(uow: UnitOfWork, creator: Creator) -> CreatorConnections:
    """``creator``'s candidate connections, read in ``uow``."""
    return CreatorConnections(
        await uow.connections.for_agency(creator.agency_id), await uow.connections.for_creator(creator.id)
    )


async def choose_connection(
    ctx: Context, creator: Creator, exclude: frozenset[ConnectionKind] = frozenset()
) -> ConnectionChoice:
    """The agency's connection first, the creator's own as fallback (see :func:`resolve_connection`)."""
    async with ctx.uow() as uow:
        connections = await read_connections(uow, creator)
    return connections.choose(exclude)


def describe(choice: ConnectionChoice) -> str:
    """Why no connection was usable, for error messages (names kinds and reasons, never tokens)."""
    return "; ".join(f"{skip.kind.value} connection {skip.reason.value}" for skip in choice.reasons)


FALLBACK_REASONS = frozenset({MissingReason.NOT_ASSIGNED, MissingReason.PERMISSION})
"""Failures of the agency's connection after which the creator's own connection gets a turn: the creator is not
assigned to this team member, or the agency grant cannot read the data (reversals, posts and likes exist only
on the creator's own account)."""


async def mark_needs_reauth(ctx: Context, connection: Connection, refused: GrantRefusedError) -> bool:
    """Mark ``connection`` needs-reauth after the token endpoint refused its grant; the tokens are dropped, nothing
    else is deleted. Returns whether it was marked: a connection whose ``token_version`` moved since ``connection``
    was read holds newer tokens (a reconnect, another process's refresh) and is left for its next use to judge."""
    async with ctx.uow() as uow:
        stored = await uow.connections.get_for_update(connection.id)
        if stored is None or stored.status is not ConnectionStatus.ACTIVE:
            return False
        if stored.token_version != connection.token_version:
            return False
        await uow.connections.save(
            stored.marked_needs_reauth(refused.detail or "the token endpoint refused the grant"),
            expected_version=stored.token_version,
        )
        await uow.commit()
    return True


TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is coarse on purpose: one write a minute per connection, not one per API call."""


def touch_due(connection: Connection, now: datetime) -> bool:
    """Whether a use of ``connection`` at ``now`` is worth recording (see :data:`TOUCH_EVERY`)."""
    return connection.last_used_at is None or now - connection.last_used_at >= TOUCH_EVERY


async def touch_connection(ctx: Context, connection: Connection) -> None:
    """Record that ``connection`` just answered (token maintenance tells active from idle connections by it)."""
    now = ctx.clock.now()
    if not touch_due(connection, now):
        return
    try:
        async with ctx.uow() as uow:
            await uow.connections.touch(connection.id, now)
            await uow.commit()
    except Exception:  # noqa: S110 - bookkeeping: a busy database must not throw away a fetched answer
        pass


async def with_connection(
    ctx: Context,
    creator: Creator,
    call: Callable[[Connection], Awaitable[T]],
    exclude: frozenset[ConnectionKind] = frozenset(),
    connections: CreatorConnections | None = None,
) -> tuple[T, ConnectionKind]:
    """Run ``call`` with the best connection for ``creator``: the agency's first, the creator's own as fallback.
    ``connections``: the candidates as the caller read them already (else they are read before each try).

    The creator's own connection (if usable) gets a turn when the agency's answers "creator not assigned to
    team member" or cannot read the data (:data:`FALLBACK_REASONS`), and when the agency's grant is refused by
    the token endpoint, which also marks that connection needs-reauth (:func:`mark_needs_reauth`): its jobs
    stop calling Fanvue with it until the user connects again. With no usable connection left this raises the
    failure that ended the search (or ``SourceUnavailableError(NO_CONNECTION)`` when nothing was tried).
    """
    failure: SourceUnavailableError | None = None
    while True:
        choice = await choose_connection(ctx, creator, exclude) if connections is None else connections.choose(exclude)
        if choice.connection is None or choice.kind is None:
            if failure is not None:
                raise failure
            raise SourceUnavailableError(MissingReason.NO_CONNECTION, describe(choice))
        try:
            result = await call(choice.connection)
        except GrantRefusedError as refused:
            await mark_needs_reauth(ctx, choice.connection, refused)
            failure, exclude = refused, exclude | {choice.kind}
            continue
        except SourceUnavailableError as unavailable:
            if unavailable.reason in FALLBACK_REASONS and choice.kind is ConnectionKind.AGENCY:
                failure, exclude = unavailable, exclude | {ConnectionKind.AGENCY}
                continue
            raise
        await touch_connection(ctx, choice.connection)
        return result, choice.kind
