"""Web sessions (stored by the digest of the cookie's value) and OAuth attempts (the PKCE verifier encrypted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from onyx_adapters.sql.repositories._base import Transaction, insert
from onyx_adapters.sql.schema import oauth_attempts, web_sessions
from onyx_core.accounts.model import OAuthAttempt, SessionStage, WebSession
from onyx_core.ids import AgencyId, InviteId, MemberId
from onyx_core.ports import Cipher

__all__ = ["SqlOAuthAttemptRepository", "SqlSessionRepository"]


def _session(row: Any) -> WebSession:
    return WebSession(
        id_digest=row.id_digest,
        member_id=MemberId(row.member_id),
        agency_id=AgencyId(row.agency_id),
        stage=SessionStage(row.stage),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        authenticated_at=row.authenticated_at,
    )


class SqlSessionRepository:
    """Implements :class:`~onyx_core.accounts.ports.SessionRepository`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, session: WebSession) -> None:
        row = {
            "id_digest": session.id_digest,
            "member_id": session.member_id,
            "agency_id": session.agency_id,
            "stage": session.stage.value,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "authenticated_at": session.authenticated_at,
        }
        conn = await self._tx.writer()
        await conn.execute(insert(self._tx.dialect, web_sessions).values(row))

    async def get(self, id_digest: str) -> WebSession | None:
        conn = await self._tx.reader()
        row = (await conn.execute(select(web_sessions).where(web_sessions.c.id_digest == id_digest))).one_or_none()
        return None if row is None else _session(row)

    async def save(self, session: WebSession) -> None:
        values = {
            "stage": session.stage.value,
            "last_seen_at": session.last_seen_at,
            "authenticated_at": session.authenticated_at,
        }
        conn = await self._tx.writer()
        await conn.execute(update(web_sessions).where(web_sessions.c.id_digest == session.id_digest).values(values))

    async def delete(self, id_digest: str) -> None:
        conn = await self._tx.writer()
        await conn.execute(delete(web_sessions).where(web_sessions.c.id_digest == id_digest))

    async def delete_for_member(self, member_id: MemberId) -> int:
        conn = await self._tx.writer()
        return int((await conn.execute(delete(web_sessions).where(web_sessions.c.member_id == member_id))).rowcount)


class SqlOAuthAttemptRepository:
    """Implements :class:`~onyx_core.accounts.ports.OAuthAttemptRepository`.

    ``take`` is one ``DELETE … RETURNING``: on PostgreSQL a second taker waits for the first's row lock and then
    finds the row gone; on SQLite the unit holds the write lock. Only one taker gets the attempt."""

    def __init__(self, tx: Transaction, cipher: Cipher) -> None:
        self._tx = tx
        self._cipher = cipher

    async def add(self, attempt: OAuthAttempt) -> None:
        row = {
            "state_digest": attempt.state_digest,
            "session_digest": attempt.session_digest,
            "agency_id": attempt.agency_id,
            "member_id": attempt.member_id,
            "code_verifier": self._cipher.encrypt(attempt.code_verifier.encode()),
            "created_at": attempt.created_at,
            "invite_id": attempt.invite_id,
            "reconnect_connection_id": attempt.reconnect_connection_id,
        }
        conn = await self._tx.writer()
        await conn.execute(insert(self._tx.dialect, oauth_attempts).values(row))

    async def take(self, state_digest: str) -> OAuthAttempt | None:
        conn = await self._tx.writer()
        taken = delete(oauth_attempts).where(oauth_attempts.c.state_digest == state_digest).returning(*oauth_attempts.c)
        row = (await conn.execute(taken)).one_or_none()
        if row is None:
            return None
        return OAuthAttempt(
            state_digest=row.state_digest,
            session_digest=row.session_digest,
            agency_id=AgencyId(row.agency_id),
            member_id=None if row.member_id is None else MemberId(row.member_id),
            code_verifier=self._cipher.decrypt(bytes(row.code_verifier)).decode(),
            created_at=row.created_at,
            invite_id=None if row.invite_id is None else InviteId(row.invite_id),
            reconnect_connection_id=row.reconnect_connection_id,
        )

    async def purge_before(self, instant: datetime) -> int:
        conn = await self._tx.writer()
        purge = delete(oauth_attempts).where(oauth_attempts.c.created_at < instant)
        return int((await conn.execute(purge)).rowcount)
