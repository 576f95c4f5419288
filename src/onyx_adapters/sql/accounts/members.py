"""Members (with their password hash and creator scope), agency security policies and login throttles."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select, text, update

from onyx_adapters.sql.repositories._base import Transaction, by_text, insert, upsert
from onyx_adapters.sql.schema import agency_policies, login_throttles, member_creators, members
from onyx_core.accounts.model import AgencyPolicy, LoginThrottle, Member, Role
from onyx_core.accounts.ports import DuplicateEmailError
from onyx_core.ids import AgencyId, CreatorId, MemberId

__all__ = ["SqlAgencyPolicyRepository", "SqlLoginThrottleRepository", "SqlMemberRepository"]

_MEMBER_COLUMNS = [c for c in members.c if c.name != "password_hash"]


class SqlMemberRepository:
    """Implements :class:`~onyx_core.accounts.ports.MemberRepository`.

    A member's scope is ``members.scoped`` plus her ``member_creators`` rows: ``scoped`` false is "every creator"
    (``None``), true with no rows is "no creator" (an empty set). The unique email is claimed with
    ``INSERT … ON CONFLICT (email) DO NOTHING``: a taken address raises :class:`DuplicateEmailError` and leaves the
    transaction usable (a concurrent insert of the same address waits for the first and then does nothing)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def _members(self, rows: list[Any]) -> list[Member]:
        scoped = [row.id for row in rows if row.scoped]
        scopes: dict[str, set[CreatorId]] = {member_id: set() for member_id in scoped}
        if scoped:
            conn = await self._tx.reader()
            query = select(member_creators).where(member_creators.c.member_id.in_(scoped))
            for link in await conn.execute(query):
                scopes[link.member_id].add(CreatorId(link.creator_id))
        return [
            Member(
                id=MemberId(row.id),
                agency_id=AgencyId(row.agency_id),
                email=row.email,
                display_name=row.display_name,
                role=Role(row.role),
                created_at=row.created_at,
                creator_scope=frozenset(scopes[row.id]) if row.scoped else None,
                disabled=bool(row.disabled),
            )
            for row in rows
        ]

    async def _one(self, query: Any) -> Member | None:
        conn = await self._tx.reader()
        rows = list(await conn.execute(query))
        found = await self._members(rows)
        return found[0] if found else None

    async def get(self, member_id: MemberId) -> Member | None:
        return await self._one(select(*_MEMBER_COLUMNS).where(members.c.id == member_id))

    async def by_email(self, email: str) -> Member | None:
        return await self._one(select(*_MEMBER_COLUMNS).where(members.c.email == email))

    async def for_agency(self, agency_id: AgencyId) -> list[Member]:
        conn = await self._tx.reader()
        query = (
            select(*_MEMBER_COLUMNS)
            .where(members.c.agency_id == agency_id)
            .order_by(members.c.created_at, by_text(self._tx.dialect, members.c.id))
        )
        return await self._members(list(await conn.execute(query)))

    async def add(self, member: Member, password_hash: str) -> None:
        row = {**self._row(member), "id": member.id, "agency_id": member.agency_id, "email": member.email}
        row |= {"created_at": member.created_at, "password_hash": password_hash}
        conn = await self._tx.writer()
        # RETURNING says whether the row went in (psycopg reports no rowcount for INSERT … ON CONFLICT)
        stmt = insert(self._tx.dialect, members).values(row).on_conflict_do_nothing(index_elements=["email"])
        if (await conn.execute(stmt.returning(members.c.id))).one_or_none() is None:
            raise DuplicateEmailError(f"a member with the address {member.email} exists already")
        await self._write_scope(member)

    async def update(self, member: Member) -> None:
        conn = await self._tx.writer()
        await conn.execute(update(members).where(members.c.id == member.id).values(self._row(member)))
        await self._write_scope(member)

    @staticmethod
    def _row(member: Member) -> dict[str, Any]:
        return {
            "display_name": member.display_name,
            "role": member.role.value,
            "disabled": member.disabled,
            "scoped": member.creator_scope is not None,
        }

    async def _write_scope(self, member: Member) -> None:
        conn = await self._tx.writer()
        await conn.execute(delete(member_creators).where(member_creators.c.member_id == member.id))
        if member.creator_scope:
            links = [{"member_id": member.id, "creator_id": c} for c in sorted(member.creator_scope)]
            await conn.execute(insert(self._tx.dialect, member_creators).values(links))

    async def password_hash(self, member_id: MemberId) -> str | None:
        conn = await self._tx.reader()
        query = select(members.c.password_hash).where(members.c.id == member_id)
        found: str | None = (await conn.execute(query)).scalar_one_or_none()
        return found

    async def set_password_hash(self, member_id: MemberId, password_hash: str) -> None:
        conn = await self._tx.writer()
        await conn.execute(update(members).where(members.c.id == member_id).values(password_hash=password_hash))


class SqlAgencyPolicyRepository:
    """Implements :class:`~onyx_core.accounts.ports.AgencyPolicyRepository` (no row: the default policy)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, agency_id: AgencyId) -> AgencyPolicy:
        conn = await self._tx.reader()
        query = select(agency_policies).where(agency_policies.c.agency_id == agency_id)
        row = (await conn.execute(query)).one_or_none()
        if row is None:
            return AgencyPolicy(agency_id)
        return AgencyPolicy(agency_id, require_two_factor=bool(row.require_two_factor))

    async def save(self, policy: AgencyPolicy) -> None:
        row = {"agency_id": policy.agency_id, "require_two_factor": policy.require_two_factor}
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, agency_policies, [row], ["agency_id"]))


THROTTLE_LOCK_CLASS = 0x4F4E5854
"""The first key of the PostgreSQL advisory locks on login throttles (the two-key space; the token store's locks
use the one-key space, which never overlaps it)."""
_THROTTLE_LOCK = text("SELECT pg_advisory_xact_lock(:class_id, :object_id)")


def _throttle_lock_key(key: str) -> int:
    """A stable signed 32-bit key for ``key`` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(b"onyx:login-throttle:" + key.encode()).digest()[:4], "big", signed=True)


def _throttle(row: Any) -> LoginThrottle | None:
    return None if row is None else LoginThrottle(row.key, int(row.failures), row.window_start, row.locked_until)


class SqlLoginThrottleRepository:
    """Implements :class:`~onyx_core.accounts.ports.LoginThrottleRepository`.

    ``get_for_update`` must serialise units also while no row exists yet (the first failures of an address), so
    a row lock is not enough: on PostgreSQL it takes a transaction-level advisory lock on the key; on SQLite the
    unit's ``BEGIN IMMEDIATE`` write lock does it."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, key: str) -> LoginThrottle | None:
        conn = await self._tx.reader()
        return _throttle(
            (await conn.execute(select(login_throttles).where(login_throttles.c.key == key))).one_or_none()
        )

    async def get_for_update(self, key: str) -> LoginThrottle | None:
        conn = await self._tx.writer()
        if self._tx.dialect == "postgresql":
            await conn.execute(_THROTTLE_LOCK, {"class_id": THROTTLE_LOCK_CLASS, "object_id": _throttle_lock_key(key)})
        return _throttle(
            (await conn.execute(select(login_throttles).where(login_throttles.c.key == key))).one_or_none()
        )

    async def save(self, throttle: LoginThrottle) -> None:
        row = {
            "key": throttle.key,
            "failures": throttle.failures,
            "window_start": throttle.window_start,
            "locked_until": throttle.locked_until,
        }
        conn = await self._tx.writer()
        await conn.execute(upsert(self._tx.dialect, login_throttles, [row], ["key"]))

    async def clear(self, key: str) -> None:
        conn = await self._tx.writer()
        await conn.execute(delete(login_throttles).where(login_throttles.c.key == key))
