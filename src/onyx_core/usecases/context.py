"""What every use case needs, bundled once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionChoice, ConnectionKind, resolve_connection
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import Clock, FanvuePort, SourceUnavailableError, UnitOfWorkFactory
from onyx_core.stats import MergePolicy, MissingReason
from onyx_core.sync import SyncPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    """The ports and policies every use case runs with; built once by the composition root."""

    uow: UnitOfWorkFactory
    fanvue: FanvuePort
    clock: Clock
    merge_policy: MergePolicy = field(default_factory=MergePolicy)
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)


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


async def load_creator(ctx: Context, creator_id: CreatorId) -> Creator:
    """The stored creator; raises :class:`NotFoundError` if there is none."""
    async with ctx.uow() as uow:
        creator = await uow.creators.get(creator_id)
    if creator is None:
        raise NotFoundError(f"no creator {creator_id}")
    return creator


async def choose_connection(
    ctx: Context, creator: Creator, exclude: frozenset[ConnectionKind] = frozenset()
) -> ConnectionChoice:
    """The agency's connection first, the creator's own as fallback (see :func:`resolve_connection`)."""
    async with ctx.uow() as uow:
        agency = await uow.connections.for_agency(creator.agency_id)
        own = await uow.connections.for_creator(creator.id)
    return resolve_connection(agency=agency, creator=own, exclude=exclude)


def describe(choice: ConnectionChoice) -> str:
    """Why no connection was usable, for error messages (names kinds and reasons, never tokens)."""
    return "; ".join(f"{skip.kind.value} connection {skip.reason.value}" for skip in choice.reasons)


async def with_connection(
    ctx: Context, creator: Creator, call: Callable[[Connection], Awaitable[T]]
) -> tuple[T, ConnectionKind]:
    """Run ``call`` with the best connection for ``creator``.

    When the agency's connection answers "creator not assigned to team member", the creator's own connection
    (if usable) gets a turn. With no usable connection this raises :class:`SourceUnavailableError`.
    """
    exclude: frozenset[ConnectionKind] = frozenset()
    while True:
        choice = await choose_connection(ctx, creator, exclude)
        if choice.connection is None or choice.kind is None:
            raise SourceUnavailableError(MissingReason.NO_CONNECTION, describe(choice))
        try:
            return await call(choice.connection), choice.kind
        except SourceUnavailableError as failure:
            if failure.reason is MissingReason.NOT_ASSIGNED and choice.kind is ConnectionKind.AGENCY:
                exclude = exclude | {ConnectionKind.AGENCY}
                continue
            raise
