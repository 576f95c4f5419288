"""Fanvue OAuth connections. The token set is stored only as ``cipher.encrypt(json)``; never a token in clear."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select, update

from onyx_adapters.sql import token_json
from onyx_adapters.sql.repositories._base import Transaction, by_text, upsert
from onyx_adapters.sql.schema import connections
from onyx_adapters.sql.token_store import note_token_write
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import ConcurrentUpdateError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ports import Cipher
from onyx_core.tokens import TokenSet
from onyx_fanvue.redaction import Secret

__all__ = ["SqlConnectionRepository", "decode_tokens", "encode_tokens"]


def encode_tokens(tokens: TokenSet) -> bytes:
    """The token set in the stored JSON format (to be encrypted before it is stored)."""
    refresh = None if tokens.refresh_token is None else Secret(tokens.refresh_token)
    return token_json.dump(
        token_json.StoredToken(
            Secret(tokens.access_token), refresh, tokens.expires_at, tokens.scopes, tokens.token_type
        )
    )


def decode_tokens(data: bytes) -> TokenSet:
    """The inverse of :func:`encode_tokens`."""
    stored = token_json.load(data)
    refresh = None if stored.refresh_token is None else stored.refresh_token.get_secret_value()
    access = stored.access_token.get_secret_value()
    return TokenSet(access, refresh, stored.expires_at, stored.scopes, stored.token_type)


class SqlConnectionRepository:
    """Implements :class:`~onyx_core.ports.ConnectionRepository`.

    ``get_for_update`` is ``SELECT … FOR UPDATE`` (PostgreSQL; SQLite's unit already holds the write lock), and a
    fenced ``save`` is ``UPDATE … WHERE token_version = expected``: under READ COMMITTED a second writer waits
    for the first, re-checks the condition against the new row and updates nothing, so exactly one wins.
    """

    def __init__(self, tx: Transaction, cipher: Cipher) -> None:
        self._tx = tx
        self._cipher = cipher

    def _to_row(self, connection: Connection) -> dict[str, Any]:
        tokens = connection.tokens
        return {
            "id": connection.id,
            "kind": connection.kind.value,
            "agency_id": connection.agency_id,
            "creator_id": connection.creator_id,
            "fanvue_user_uuid": connection.fanvue_user_uuid,
            "status": connection.status.value,
            "tokens": None if tokens is None else self._cipher.encrypt(encode_tokens(tokens)),
            "token_version": connection.token_version,
            "expires_at": None if tokens is None else tokens.expires_at,
            "last_refreshed_at": connection.last_refreshed_at,
            "last_used_at": connection.last_used_at,
            "last_error": connection.last_error,
        }

    def _from_row(self, row: Any) -> Connection:
        tokens = None if row.tokens is None else decode_tokens(self._cipher.decrypt(bytes(row.tokens)))
        return Connection(
            id=ConnectionId(row.id),
            kind=ConnectionKind(row.kind),
            agency_id=AgencyId(row.agency_id),
            creator_id=None if row.creator_id is None else CreatorId(row.creator_id),
            fanvue_user_uuid=row.fanvue_user_uuid,
            status=ConnectionStatus(row.status),
            tokens=tokens,
            token_version=int(row.token_version),
            last_refreshed_at=row.last_refreshed_at,
            last_used_at=row.last_used_at,
            last_error=row.last_error,
        )

    async def get(self, connection_id: ConnectionId) -> Connection | None:
        conn = await self._tx.reader()
        row = (await conn.execute(select(connections).where(connections.c.id == connection_id))).one_or_none()
        return None if row is None else self._from_row(row)

    async def _first(self, kind: ConnectionKind, **match: str) -> Connection | None:
        """The usable one first: an agency reconnected by another team member has a dead row and a live one."""
        query = select(connections).where(connections.c.kind == kind.value)
        for column, value in match.items():
            query = query.where(connections.c[column] == value)
        active_first = case((connections.c.status == ConnectionStatus.ACTIVE.value, 0), else_=1)
        query = query.order_by(
            active_first,
            connections.c.last_refreshed_at.desc().nulls_last(),
            by_text(self._tx.dialect, connections.c.id),
        ).limit(1)
        conn = await self._tx.reader()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else self._from_row(row)

    async def for_agency(self, agency_id: AgencyId) -> Connection | None:
        return await self._first(ConnectionKind.AGENCY, agency_id=agency_id)

    async def for_creator(self, creator_id: CreatorId) -> Connection | None:
        return await self._first(ConnectionKind.CREATOR, creator_id=creator_id)

    async def get_for_update(self, connection_id: ConnectionId) -> Connection | None:
        conn = await self._tx.writer()
        query = select(connections).where(connections.c.id == connection_id).with_for_update()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else self._from_row(row)

    async def save(self, connection: Connection, *, expected_version: int | None = None) -> None:
        row = self._to_row(connection)
        conn = await self._tx.writer()
        # the token stores of this process must not keep serving the tokens this replaces (a reconnect, a disconnect)
        note_token_write(conn, connection.id)
        if expected_version is None:
            await conn.execute(upsert(self._tx.dialect, connections, [row], ["id"]))
            return
        fenced = (
            update(connections)
            .where(connections.c.id == connection.id, connections.c.token_version == expected_version)
            .values({k: v for k, v in row.items() if k != "id"})
        )
        if (await conn.execute(fenced)).rowcount != 1:
            found = (
                await conn.execute(select(connections.c.token_version).where(connections.c.id == connection.id))
            ).scalar_one_or_none()
            raise ConcurrentUpdateError(
                f"connection {connection.id}: expected token version {expected_version}, found {found}"
            )

    async def touch(self, connection_id: ConnectionId, at: datetime) -> None:
        conn = await self._tx.writer()
        column = connections.c.last_used_at
        await conn.execute(
            update(connections)
            .where(connections.c.id == connection_id, or_(column.is_(None), column < at))
            .values(last_used_at=at)
        )

    async def list(self, agency_id: AgencyId | None = None) -> list[Connection]:
        conn = await self._tx.reader()
        query = select(connections).order_by(by_text(self._tx.dialect, connections.c.id))
        if agency_id is not None:
            query = query.where(connections.c.agency_id == agency_id)
        rows = await conn.execute(query)
        return [self._from_row(row) for row in rows]
