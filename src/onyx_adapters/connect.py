"""Storing a Fanvue grant after the OAuth flow: an agency's connection, or a creator's own.

The flow itself (authorize URL, PKCE, state, the redirect) belongs to whoever talks to the person: the web
service, ``onyx connect``, or the sandbox helpers that approve with ``login_hint``. What they hand over is the
token response; this module asks Fanvue whose grant it is and stores it, encrypted, as a connection.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from onyx_core.catalog import Agency
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import InvalidCiphertextError, NotFoundError, OnyxError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.tokens import TokenSet
from onyx_core.usecases import Context
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue.oauth import OAuthToken

__all__ = [
    "GrantElsewhereError",
    "StoredGrant",
    "UnreadableConnectionError",
    "WrongAccountError",
    "store_agency_grant",
    "store_creator_grant",
    "token_set",
]


def token_set(token: OAuthToken) -> TokenSet:
    """The SDK's token response as the core's :class:`~onyx_core.tokens.TokenSet`."""
    refresh = None if token.refresh_token is None else token.refresh_token.get_secret_value()
    return TokenSet(token.access_token.get_secret_value(), refresh, token.expires_at, token.scope, token.token_type)


class UnreadableConnectionError(InvalidCiphertextError):
    """The account's stored connection holds tokens the configured key ring cannot decrypt, and replacing them
    was not asked for: they may be the only copy of a working grant, readable with the right ring."""

    def __init__(self, connection_id: str, handle: str) -> None:
        self.connection_id = connection_id
        super().__init__(
            f"{handle}'s stored connection {connection_id} holds tokens that no key in ONYX_CIPHER_KEYS decrypts; "
            "nothing was changed. Set ONYX_CIPHER_KEYS to the key ring they were stored with, or replace them "
            "deliberately with this grant (`onyx connect … --replace`)"
        )


class GrantElsewhereError(OnyxError):
    """The Fanvue account that granted access is already another agency's connection: nothing was stored (one
    agency's grant never replaces another's tokens)."""


class WrongAccountError(OnyxError):
    """Reconnecting a connection with the grant of another Fanvue account: nothing was stored."""


@dataclass(frozen=True, slots=True)
class StoredGrant:
    """What connecting stored. ``replaced_unreadable``: an older row under another cipher key was replaced (only
    ever with ``replace=True``)."""

    connection: Connection
    handle: str
    replaced_unreadable: bool = False


async def _whoami(token: OAuthToken, client_options: dict[str, Any]) -> tuple[str, str]:
    async with AsyncFanvueClient(access_token=token.access_token, **client_options) as client:
        me = await client.users.me()  # the grant works, and says whose it is
    return me.uuid, me.handle


async def _save(
    ctx: Context, draft: Connection, token: OAuthToken, agency: Agency | None, handle: str, *, replace: bool
) -> tuple[Connection, bool]:
    now = ctx.clock.now()
    replaced = False
    async with ctx.uow() as uow:
        if agency is not None:
            stored = await uow.agencies.get(agency.id)
            # a (re)connect names the agency; the time zone is the agency's own setting and stays
            if stored is not None:
                agency = dataclasses.replace(agency, timezone=stored.timezone)
            await uow.agencies.upsert(agency)
        try:
            existing = await uow.connections.get_for_update(draft.id)
        except InvalidCiphertextError:
            # stored under a key not in the ring: a wrong ring must not silently destroy the only copy
            if not replace:
                raise UnreadableConnectionError(draft.id, handle) from None
            existing, replaced = None, True
        if existing is not None and existing.agency_id != draft.agency_id:
            raise GrantElsewhereError(f"{handle}'s connection {draft.id} belongs to another agency")
        if existing is None:
            connection = draft.with_tokens(token_set(token), now)
            await uow.connections.save(connection)
        else:
            connection = existing.with_tokens(token_set(token), now)
            await uow.connections.save(connection, expected_version=existing.token_version)
        await uow.commit()
    return connection, replaced


async def store_agency_grant(
    ctx: Context,
    token: OAuthToken,
    agency_id: AgencyId,
    agency_name: str,
    *,
    client_options: dict[str, Any] | None = None,
    replace: bool = False,
    reconnect: ConnectionId | None = None,
) -> StoredGrant:
    """Store an agency team member's grant as the agency's connection (``agency-<user uuid>``), creating the
    agency if it is new. Reconnecting replaces the tokens (``token_version`` + 1) and makes it active again.
    Stored tokens the key ring cannot decrypt raise :class:`UnreadableConnectionError` and stay as they are,
    unless ``replace``. Nothing is stored, raising :class:`GrantElsewhereError`, when the account's connection
    belongs to another agency, or :class:`WrongAccountError` when ``reconnect`` names a connection of another
    Fanvue account than the one that granted."""
    uuid, handle = await _whoami(token, client_options or {})
    draft = Connection(
        ConnectionId(f"agency-{uuid}"), ConnectionKind.AGENCY, agency_id, None, uuid, ConnectionStatus.ACTIVE, None
    )
    if reconnect is not None and reconnect != draft.id:
        raise WrongAccountError(f"{handle} granted access, not the account of connection {reconnect}")
    connection, replaced = await _save(ctx, draft, token, Agency(agency_id, agency_name, uuid), handle, replace=replace)
    return StoredGrant(connection, handle, replaced)


async def store_creator_grant(
    ctx: Context,
    token: OAuthToken,
    *,
    client_options: dict[str, Any] | None = None,
    replace: bool = False,
    agency_id: AgencyId | None = None,
) -> StoredGrant:
    """Store a creator's own grant (``creator-<uuid>``) for a creator already imported under an agency (under
    ``agency_id``, when given: an agency's invitation connects only its own creators). Raises
    :class:`~onyx_core.errors.NotFoundError` for a Fanvue user Onyx has not imported (there), and
    :class:`UnreadableConnectionError` as :func:`store_agency_grant` does."""
    uuid, handle = await _whoami(token, client_options or {})
    async with ctx.uow() as uow:
        creator = await uow.creators.get(CreatorId(uuid))
    if creator is None or (agency_id is not None and creator.agency_id != agency_id):
        raise NotFoundError(f"{handle} is not an imported creator: import the agency's creators first")
    draft = Connection(
        ConnectionId(f"creator-{uuid}"),
        ConnectionKind.CREATOR,
        creator.agency_id,
        creator.id,
        uuid,
        ConnectionStatus.ACTIVE,
        None,
    )
    connection, replaced = await _save(ctx, draft, token, None, handle, replace=replace)
    return StoredGrant(connection, handle, replaced)
