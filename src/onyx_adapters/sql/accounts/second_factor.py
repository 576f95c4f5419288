"""TOTP enrolments (the seed encrypted with the :class:`~onyx_core.ports.Cipher`) and recovery codes (hashes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from onyx_adapters.sql.repositories._base import Transaction, by_text, insert, upsert
from onyx_adapters.sql.schema import recovery_codes, totp_enrolments
from onyx_core.accounts.model import RecoveryCode, TotpEnrolment
from onyx_core.ids import MemberId
from onyx_core.ports import Cipher

__all__ = ["SqlRecoveryCodeRepository", "SqlTotpRepository"]


class SqlTotpRepository:
    """Implements :class:`~onyx_core.accounts.ports.TotpRepository`.

    ``claim_step`` is one conditional ``UPDATE … SET last_step = :step WHERE last_step IS NULL OR last_step <
    :step``: on SQLite the unit holds the write lock (``BEGIN IMMEDIATE``); on PostgreSQL a second updater waits for
    the row lock, re-reads the committed row and its condition fails. Either way one caller sees a row counted."""

    def __init__(self, tx: Transaction, cipher: Cipher) -> None:
        self._tx = tx
        self._cipher = cipher

    def _enrolment(self, row: Any) -> TotpEnrolment:
        return TotpEnrolment(
            member_id=MemberId(row.member_id),
            secret=self._cipher.decrypt(bytes(row.secret)).decode(),
            active=bool(row.active),
            created_at=row.created_at,
            activated_at=row.activated_at,
            last_step=None if row.last_step is None else int(row.last_step),
            failures=int(row.failures),
            locked_until=row.locked_until,
            consecutive_failures=int(row.consecutive_failures),
        )

    async def get(self, member_id: MemberId) -> TotpEnrolment | None:
        conn = await self._tx.reader()
        query = select(totp_enrolments).where(totp_enrolments.c.member_id == member_id)
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else self._enrolment(row)

    async def get_for_update(self, member_id: MemberId) -> TotpEnrolment | None:
        """``SELECT … FOR UPDATE`` (PostgreSQL; on SQLite the unit takes the write lock)."""
        conn = await self._tx.writer()
        query = select(totp_enrolments).where(totp_enrolments.c.member_id == member_id).with_for_update()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else self._enrolment(row)

    async def save(self, enrolment: TotpEnrolment) -> None:
        conn = await self._tx.writer()
        # the stored last_step never goes down: a unit that read the row before a concurrent claim_step committed
        # must not undo the replay guard when it saves its failure counters
        current = (
            await conn.execute(
                select(totp_enrolments.c.last_step)
                .where(totp_enrolments.c.member_id == enrolment.member_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        last_step = enrolment.last_step
        if current is not None and (last_step is None or current > last_step):
            last_step = current
        row = {
            "member_id": enrolment.member_id,
            "secret": self._cipher.encrypt(enrolment.secret.encode()),
            "active": enrolment.active,
            "created_at": enrolment.created_at,
            "activated_at": enrolment.activated_at,
            "last_step": last_step,
            "failures": enrolment.failures,
            "locked_until": enrolment.locked_until,
            "consecutive_failures": enrolment.consecutive_failures,
        }
        await conn.execute(upsert(self._tx.dialect, totp_enrolments, [row], ["member_id"]))

    async def delete(self, member_id: MemberId) -> None:
        conn = await self._tx.writer()
        await conn.execute(delete(totp_enrolments).where(totp_enrolments.c.member_id == member_id))

    async def claim_step(self, member_id: MemberId, step: int) -> bool:
        last = totp_enrolments.c.last_step
        claim = (
            update(totp_enrolments)
            .where(totp_enrolments.c.member_id == member_id, or_(last.is_(None), last < step))
            .values(last_step=step)
        )
        conn = await self._tx.writer()
        return bool((await conn.execute(claim)).rowcount == 1)


class SqlRecoveryCodeRepository:
    """Implements :class:`~onyx_core.accounts.ports.RecoveryCodeRepository`; ``consume`` is a conditional
    ``UPDATE … WHERE used_at IS NULL`` (one winner, as :meth:`SqlTotpRepository.claim_step`)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def replace(self, member_id: MemberId, code_hashes: Sequence[str]) -> None:
        conn = await self._tx.writer()
        await conn.execute(delete(recovery_codes).where(recovery_codes.c.member_id == member_id))
        rows = [{"id": uuid.uuid4().hex, "member_id": member_id, "code_hash": h, "used_at": None} for h in code_hashes]
        if rows:
            await conn.execute(insert(self._tx.dialect, recovery_codes).values(rows))

    async def unused(self, member_id: MemberId) -> list[RecoveryCode]:
        conn = await self._tx.reader()
        query = (
            select(recovery_codes)
            .where(recovery_codes.c.member_id == member_id, recovery_codes.c.used_at.is_(None))
            .order_by(by_text(self._tx.dialect, recovery_codes.c.id))
        )
        return [
            RecoveryCode(row.id, MemberId(row.member_id), row.code_hash, row.used_at)
            for row in await conn.execute(query)
        ]

    async def consume(self, code_id: str, at: datetime) -> bool:
        conn = await self._tx.writer()
        claim = (
            update(recovery_codes)
            .where(recovery_codes.c.id == code_id, recovery_codes.c.used_at.is_(None))
            .values(used_at=at)
        )
        return bool((await conn.execute(claim)).rowcount == 1)
