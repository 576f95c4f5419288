"""What a member may read of her agency's creators: the list (her agency's, within her creator scope) and one
creator (another agency's, or one outside her scope, is :class:`~onyx_core.errors.NotFoundError`, exactly as an
unknown id). The scope rules are :func:`visible_creators` and :func:`require_creator`; these use cases only read."""

from __future__ import annotations

from dataclasses import dataclass

from onyx_core.accounts.ports import AccountsUnitOfWork
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require_creator, visible_creators
from onyx_core.catalog import Creator
from onyx_core.connections import ConnectionKind, ConnectionStatus
from onyx_core.ids import CreatorId

__all__ = ["CreatorOverview", "list_creators", "show_creator"]


@dataclass(frozen=True, slots=True)
class CreatorOverview:
    """A creator as a member sees her in a list: who she is, and whether she connected her own Fanvue account
    (``own_connection``: that connection's status; ``None`` when she never connected). No token, no connection
    detail: those are the connections domain's, for members who may manage connections."""

    creator: Creator
    own_connection: ConnectionStatus | None


async def _overview(uow: AccountsUnitOfWork, creator: Creator) -> CreatorOverview:
    connection = await uow.connections.for_creator(creator.id)
    if connection is None or connection.kind is not ConnectionKind.CREATOR or connection.agency_id != creator.agency_id:
        return CreatorOverview(creator, None)
    return CreatorOverview(creator, connection.status)


async def list_creators(deps: AccountsDeps, principal: Principal) -> list[CreatorOverview]:
    """The creators the principal may see, by id: her agency's, within her scope (none while she is restricted)."""
    async with deps.uow() as uow:
        agency = await uow.creators.for_agency(principal.member.agency_id)
        return [await _overview(uow, creator) for creator in visible_creators(principal, agency)]


async def show_creator(deps: AccountsDeps, principal: Principal, creator_id: CreatorId) -> CreatorOverview:
    """One creator the principal may see; :class:`~onyx_core.errors.NotFoundError` for an unknown one, another
    agency's or one outside her scope (the same answer for all three)."""
    async with deps.uow() as uow:
        creator = await require_creator(principal, creator_id, uow.creators)
        return await _overview(uow, creator)
