"""What a member may read of her agency's creators: the list (her agency's, within her creator scope) and one
creator (another agency's, or one outside her scope, is :class:`~onyx_core.errors.NotFoundError`, exactly as an
unknown id). The scope rules are :func:`visible_creators` and :func:`require_creator`; these use cases only read."""

from __future__ import annotations

from dataclasses import dataclass

from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require_creator, visible_creators
from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import CreatorId

__all__ = ["CreatorOverview", "list_creators", "show_creator"]


@dataclass(frozen=True, slots=True)
class CreatorOverview:
    """A creator as a member sees her in a list: who she is, and whether she connected her own Fanvue account
    (``own_connection``: that connection's status; ``None`` when she never connected). No token, no connection
    detail: those are the connections domain's, for members who may manage connections."""

    creator: Creator
    own_connection: ConnectionStatus | None


def _overview(creator: Creator, connection: Connection | None) -> CreatorOverview:
    if connection is None or connection.agency_id != creator.agency_id:
        return CreatorOverview(creator, None)
    return CreatorOverview(creator, connection.status)


async def list_creators(deps: AccountsDeps, principal: Principal) -> list[CreatorOverview]:
    """The creators the principal may see, by id: her agency's, within her scope (none while she is restricted).
    Two reads whatever the number of creators: the agency's creators, and its connections."""
    agency_id = principal.member.agency_id
    async with deps.uow() as uow:
        agency = await uow.creators.for_agency(agency_id)
        own = {
            c.creator_id: c
            for c in await uow.connections.list(agency_id)
            if c.kind is ConnectionKind.CREATOR and c.creator_id is not None
        }
    return [_overview(creator, own.get(creator.id)) for creator in visible_creators(principal, agency)]


async def show_creator(deps: AccountsDeps, principal: Principal, creator_id: CreatorId) -> CreatorOverview:
    """One creator the principal may see; :class:`~onyx_core.errors.NotFoundError` for an unknown one, another
    agency's or one outside her scope (the same answer for all three)."""
    async with deps.uow() as uow:
        creator = await require_creator(principal, creator_id, uow.creators)
        return _overview(creator, await uow.connections.for_creator(creator.id))
