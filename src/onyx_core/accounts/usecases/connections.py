"""The health of an agency's Fanvue connections, as a member may see it: whether each one works, which scopes it
was granted against those Onyx asks for, when it was last used, its last error, and how to mend it.

Health is read from what the stored connection already knows (its status, tokens' scopes, ``last_used_at``,
``last_error``): looking at it never calls Fanvue. Tokens never leave this module: :class:`ConnectionHealth` holds
none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from onyx_core.accounts.model import Member
from onyx_core.accounts.rules import Permission, sees_creator
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import ConnectionId

__all__ = [
    "ConnectionHealth",
    "HealthState",
    "ReconnectHint",
    "connection_health",
    "get_connection_health",
    "list_connection_health",
]


class HealthState(StrEnum):
    ACTIVE = "active"
    """Usable, with every scope Onyx asks for."""
    NEEDS_RECONSENT = "needs_reconsent"
    """Fanvue refused the grant for good, it holds no tokens, or it lacks scopes: connect again to mend it."""
    REVOKED = "revoked"
    """Disconnected by the user or an admin: connect again to use it."""


class ReconnectHint(StrEnum):
    RECONNECT = "reconnect"
    """A member who may manage connections reconnects it (the same connection, new tokens)."""
    CREATOR_INVITE = "creator_invite"
    """A creator's own grant: only she can give it again, through a new creator-connect invitation."""


@dataclass(frozen=True, slots=True)
class ConnectionHealth:
    id: str
    kind: ConnectionKind
    account_name: str
    """The creator's handle for a creator's connection; the agency's name for the agency's."""
    fanvue_user_uuid: str
    creator_id: str | None
    state: HealthState
    stored_status: ConnectionStatus
    scopes_granted: tuple[str, ...]
    scopes_needed: tuple[str, ...]
    scopes_missing: tuple[str, ...]
    last_used_at: datetime | None
    last_refreshed_at: datetime | None
    last_error: str | None
    reconnect: ReconnectHint | None
    """How to mend it; ``None`` while it is active."""
    token_expires_at: datetime | None = None
    """When the stored access token expires (``None``: no tokens); operators watch it, never the token itself."""
    token_version: int = 0
    """How many times the grant was stored or refreshed (it rises by one per refresh)."""


def connection_health(connection: Connection, needed: Iterable[str], account_name: str) -> ConnectionHealth:
    """What ``connection`` is worth, against the ``needed`` scopes (pure)."""
    wanted = tuple(sorted(set(needed)))
    granted = tuple(sorted(connection.tokens.scopes)) if connection.tokens is not None else ()
    missing = tuple(scope for scope in wanted if scope not in granted)
    if connection.status is ConnectionStatus.REVOKED:
        state = HealthState.REVOKED
    elif connection.status is ConnectionStatus.NEEDS_REAUTH or connection.tokens is None or missing:
        state = HealthState.NEEDS_RECONSENT
    else:
        state = HealthState.ACTIVE
    hint = None
    if state is not HealthState.ACTIVE:
        hint = ReconnectHint.RECONNECT if connection.kind is ConnectionKind.AGENCY else ReconnectHint.CREATOR_INVITE
    return ConnectionHealth(
        id=connection.id,
        kind=connection.kind,
        account_name=account_name,
        fanvue_user_uuid=connection.fanvue_user_uuid,
        creator_id=connection.creator_id,
        state=state,
        stored_status=connection.status,
        scopes_granted=granted,
        scopes_needed=wanted,
        scopes_missing=missing,
        last_used_at=connection.last_used_at,
        last_refreshed_at=connection.last_refreshed_at,
        last_error=connection.last_error,
        reconnect=hint,
        token_expires_at=None if connection.tokens is None else connection.tokens.expires_at,
        token_version=connection.token_version,
    )


def _visible_name(member: Member, connection: Connection, agency: Agency | None, creator: Creator | None) -> str | None:
    """The connection's account name if ``member`` may see it (her agency's; a creator's within her scope), given
    the connection's agency and, for a creator connection, its creator (``None`` when unknown)."""
    if connection.agency_id != member.agency_id:
        return None
    if connection.kind is ConnectionKind.AGENCY:
        return agency.name if agency is not None else connection.agency_id
    if creator is None or creator.id != connection.creator_id or not sees_creator(member, creator):
        return None
    return creator.handle


async def list_connection_health(
    deps: AccountsDeps, principal: Principal, needed: Iterable[str]
) -> list[ConnectionHealth]:
    """The health of every connection the principal may see, agency connections first, then by id. Three reads
    whatever the number of connections: the agency, its creators, its connections."""
    require(principal, Permission.VIEW_CONNECTIONS)
    wanted, member = tuple(needed), principal.member
    async with deps.uow() as uow:
        agency = await uow.agencies.get(member.agency_id)
        creators = {creator.id: creator for creator in await uow.creators.for_agency(member.agency_id)}
        connections = await uow.connections.list(member.agency_id)
    found: list[ConnectionHealth] = []
    for connection in connections:
        creator = None if connection.creator_id is None else creators.get(connection.creator_id)
        name = _visible_name(member, connection, agency, creator)
        if name is not None:
            found.append(connection_health(connection, wanted, name))
    return sorted(found, key=lambda h: (h.kind is not ConnectionKind.AGENCY, h.id))


async def get_connection_health(
    deps: AccountsDeps, principal: Principal, connection_id: str, needed: Iterable[str]
) -> ConnectionHealth:
    """One connection's health; :class:`NotFoundError` for one of another agency or outside the member's scope,
    exactly as for one that does not exist."""
    require(principal, Permission.VIEW_CONNECTIONS)
    async with deps.uow() as uow:
        connection = await uow.connections.get(ConnectionId(connection_id))
        name = None
        if connection is not None:
            agency = await uow.agencies.get(connection.agency_id)
            creator = None if connection.creator_id is None else await uow.creators.get(connection.creator_id)
            name = _visible_name(principal.member, connection, agency, creator)
    if connection is None or name is None:
        raise NotFoundError(f"no connection {connection_id}")
    return connection_health(connection, needed, name)
