"""Invitations and personal API tokens: both stored by the digest of their secret, never the secret."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from onyx_adapters.sql.repositories._base import Transaction, by_text, insert
from onyx_adapters.sql.schema import api_tokens, invites
from onyx_core.accounts.model import ApiToken, ApiTokenScope, Invite, InviteKind, Role
from onyx_core.ids import AgencyId, ApiTokenId, CreatorId, InviteId, MemberId

__all__ = ["SqlApiTokenRepository", "SqlInviteRepository"]


def _invite(row: Any) -> Invite:
    scope = None if row.creator_scope is None else frozenset(CreatorId(c) for c in json.loads(row.creator_scope))
    return Invite(
        id=InviteId(row.id),
        agency_id=AgencyId(row.agency_id),
        kind=InviteKind(row.kind),
        token_digest=row.token_digest,
        created_by=MemberId(row.created_by),
        created_at=row.created_at,
        expires_at=row.expires_at,
        role=None if row.role is None else Role(row.role),
        creator_scope=scope,
        email=row.email,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


class SqlInviteRepository:
    """Implements :class:`~onyx_core.accounts.ports.InviteRepository`. ``creator_scope`` is a JSON list (NULL for
    "every creator", ``[]`` for none); ``consume`` is a conditional ``UPDATE`` (one winner under concurrency)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, invite: Invite) -> None:
        scope = None if invite.creator_scope is None else json.dumps(sorted(invite.creator_scope))
        row = {
            "id": invite.id,
            "agency_id": invite.agency_id,
            "kind": invite.kind.value,
            "token_digest": invite.token_digest,
            "created_by": invite.created_by,
            "created_at": invite.created_at,
            "expires_at": invite.expires_at,
            "role": None if invite.role is None else invite.role.value,
            "creator_scope": scope,
            "email": invite.email,
            "used_at": invite.used_at,
            "revoked_at": invite.revoked_at,
        }
        conn = await self._tx.writer()
        await conn.execute(insert(self._tx.dialect, invites).values(row))

    async def _one(self, query: Any) -> Invite | None:
        conn = await self._tx.reader()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else _invite(row)

    async def get(self, invite_id: InviteId) -> Invite | None:
        return await self._one(select(invites).where(invites.c.id == invite_id))

    async def by_token_digest(self, token_digest: str) -> Invite | None:
        return await self._one(select(invites).where(invites.c.token_digest == token_digest))

    async def for_agency(self, agency_id: AgencyId) -> list[Invite]:
        conn = await self._tx.reader()
        query = (
            select(invites)
            .where(invites.c.agency_id == agency_id)
            .order_by(invites.c.created_at, by_text(self._tx.dialect, invites.c.id))
        )
        return [_invite(row) for row in await conn.execute(query)]

    async def consume(self, invite_id: InviteId, at: datetime) -> bool:
        claim = (
            update(invites)
            .where(invites.c.id == invite_id, invites.c.used_at.is_(None), invites.c.revoked_at.is_(None))
            .values(used_at=at)
        )
        conn = await self._tx.writer()
        return bool((await conn.execute(claim)).rowcount == 1)

    async def revoke(self, invite_id: InviteId, at: datetime) -> None:
        conn = await self._tx.writer()
        await conn.execute(
            update(invites).where(invites.c.id == invite_id, invites.c.revoked_at.is_(None)).values(revoked_at=at)
        )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=ApiTokenId(row.id),
        member_id=MemberId(row.member_id),
        agency_id=AgencyId(row.agency_id),
        name=row.name,
        scopes=frozenset(ApiTokenScope(s) for s in row.scopes.split()),
        token_digest=row.token_digest,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlApiTokenRepository:
    """Implements :class:`~onyx_core.accounts.ports.ApiTokenRepository`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, token: ApiToken) -> None:
        row = {
            "id": token.id,
            "member_id": token.member_id,
            "agency_id": token.agency_id,
            "name": token.name,
            "scopes": " ".join(sorted(s.value for s in token.scopes)),
            "token_digest": token.token_digest,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
        }
        conn = await self._tx.writer()
        await conn.execute(insert(self._tx.dialect, api_tokens).values(row))

    async def _one(self, query: Any) -> ApiToken | None:
        conn = await self._tx.reader()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else _token(row)

    async def get(self, token_id: ApiTokenId) -> ApiToken | None:
        return await self._one(select(api_tokens).where(api_tokens.c.id == token_id))

    async def by_digest(self, token_digest: str) -> ApiToken | None:
        return await self._one(select(api_tokens).where(api_tokens.c.token_digest == token_digest))

    async def for_member(self, member_id: MemberId) -> list[ApiToken]:
        conn = await self._tx.reader()
        query = (
            select(api_tokens)
            .where(api_tokens.c.member_id == member_id)
            .order_by(api_tokens.c.created_at, by_text(self._tx.dialect, api_tokens.c.id))
        )
        return [_token(row) for row in await conn.execute(query)]

    async def save(self, token: ApiToken) -> None:
        values = {"last_used_at": token.last_used_at, "revoked_at": token.revoked_at}
        conn = await self._tx.writer()
        await conn.execute(update(api_tokens).where(api_tokens.c.id == token.id).values(values))
