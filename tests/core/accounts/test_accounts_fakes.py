"""The accounts fakes behave like a database where a use case can tell: staged writes, commit, rollback, a shared
base store, and single-use operations that stay single-use under concurrent tasks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from onyx_core.accounts.model import (
    AuditAction,
    AuditEntry,
    Invite,
    InviteKind,
    Member,
    OAuthAttempt,
    Role,
    SessionStage,
    TotpEnrolment,
    WebSession,
)
from onyx_core.accounts.ports import DuplicateEmailError
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId, CreatorId, InviteId, MemberId
from onyx_core.testing.accounts_fakes import FakeHasher, InMemoryAccountsStore
from onyx_core.testing.fakes import InMemoryStore

T = datetime(2026, 6, 1, tzinfo=UTC)
A = AgencyId("a1")
M = MemberId("m1")


def member(mid: str = "m1", email: str = "m@x.test") -> Member:
    return Member(MemberId(mid), A, email, "M", Role.VIEWER, T)


def session(key: str = "s1") -> WebSession:
    return WebSession(key, M, A, SessionStage.COMPLETE, T, T, T)


async def test_writes_are_seen_inside_and_applied_only_on_commit() -> None:
    store = InMemoryAccountsStore()
    async with store.uow() as uow:
        await uow.members.add(member(), "h")
        await uow.sessions.add(session())
        await uow.audit.record(AuditEntry(T, AuditAction.LOGIN, A, M))
        assert await uow.members.get(M) == member()
        assert len(await uow.audit.for_agency(A)) == 1
        assert not store.members
        assert not store.audit
    assert not store.members  # left without commit: rolled back
    async with store.uow() as uow:
        await uow.members.add(member(), "h")
        await uow.sessions.add(session())
        await uow.audit.record(AuditEntry(T, AuditAction.LOGIN, A, M))
        await uow.commit()
    assert store.members[M] == member()
    assert store.password_hashes[M] == "h"
    assert [e.id for e in store.audit] == [1]
    async with store.uow() as uow:
        await uow.sessions.delete("s1")
        assert await uow.sessions.get("s1") is None
        assert await uow.sessions.delete_for_member(M) == 0
        await uow.rollback()
        assert await uow.sessions.get("s1") == session()

    async def fail_inside() -> None:
        async with store.uow() as uow:
            await uow.sessions.delete("s1")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await fail_inside()
    assert "s1" in store.sessions


async def test_a_failed_base_commit_applies_nothing() -> None:
    base = InMemoryStore()
    store = InMemoryAccountsStore(base)
    base.fail_next_commit(ConnectionError("lost"))
    uow = store.uow()
    await uow.members.add(member(), "h")
    await uow.agencies.upsert(Agency(A, "A"))
    with pytest.raises(ConnectionError):
        await uow.commit()
    assert not store.members
    assert not base.agencies


async def test_agencies_and_creators_come_from_the_shared_store() -> None:
    base = InMemoryStore()
    creator = Creator(CreatorId("luna"), A, "luna", "Luna", T)
    base.creators[creator.id] = creator
    store = InMemoryAccountsStore(base)
    async with store.uow() as uow:
        assert await uow.creators.get(creator.id) == creator
        await uow.agencies.upsert(Agency(A, "A"))
        await uow.commit()
    assert base.agencies[A].name == "A"


async def test_a_duplicate_email_is_refused_also_across_concurrent_units() -> None:
    store = InMemoryAccountsStore()

    async def add(mid: str) -> None:
        async with store.uow() as uow:
            await uow.members.add(member(mid, "same@x.test"), "h")
            await asyncio.sleep(0)
            await uow.commit()

    results = await asyncio.gather(*(add(f"m{i}") for i in range(10)), return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, DuplicateEmailError) for r in results if r is not None)


async def test_single_use_operations_succeed_once_under_concurrency() -> None:
    store = InMemoryAccountsStore()
    invite = Invite(InviteId("i1"), A, InviteKind.MEMBER, "d", M, T, T + timedelta(days=7), role=Role.VIEWER)
    attempt = OAuthAttempt("st", "sess", A, M, "verifier", T)
    async with store.uow() as uow:
        await uow.members.add(member(), "h")
        await uow.totp.save(TotpEnrolment(M, "SECRET", active=True, created_at=T))
        await uow.recovery_codes.replace(M, ["h1"])
        await uow.invites.add(invite)
        await uow.oauth_attempts.add(attempt)
        await uow.commit()
    (code,) = store.recovery_codes.values()

    async def once(op) -> bool:
        async with store.uow() as uow:
            won = await op(uow)
            await asyncio.sleep(0)
            await uow.commit()
            return bool(won)

    for op in (
        lambda uow: uow.totp.claim_step(M, 100),
        lambda uow: uow.recovery_codes.consume(code.id, T),
        lambda uow: uow.invites.consume(invite.id, T),
        lambda uow: uow.oauth_attempts.take("st"),
    ):
        assert sum(await asyncio.gather(*(once(op) for _ in range(50)))) == 1
    assert store.totp[M].last_step == 100
    assert "st" not in store.oauth_attempts


async def test_a_rolled_back_claim_leaves_the_step_to_the_next() -> None:
    store = InMemoryAccountsStore()
    async with store.uow() as uow:
        await uow.totp.save(TotpEnrolment(M, "SECRET", active=True, created_at=T, last_step=5))
        await uow.commit()
    async with store.uow() as uow:
        assert not await uow.totp.claim_step(M, 5)
        assert await uow.totp.claim_step(M, 6)
    async with store.uow() as uow:
        assert await uow.totp.claim_step(M, 6)


async def test_recovery_codes_replace_and_revoke_purge() -> None:
    store = InMemoryAccountsStore()
    async with store.uow() as uow:
        await uow.recovery_codes.replace(M, ["a", "b"])
        await uow.recovery_codes.replace(M, ["c"])
        assert [c.code_hash for c in await uow.recovery_codes.unused(M)] == ["c"]
        await uow.oauth_attempts.add(OAuthAttempt("old", "s", A, M, "v", T))
        await uow.oauth_attempts.add(OAuthAttempt("new", "s", A, M, "v", T + timedelta(minutes=5)))
        assert await uow.oauth_attempts.purge_before(T + timedelta(minutes=1)) == 1
        assert await uow.oauth_attempts.take("old") is None


def test_the_fake_hasher_marks_its_cost_and_never_stores_the_secret() -> None:
    hasher = FakeHasher(cost=3)
    stored = hasher.hash("hunter2 hunter2")
    assert "hunter2" not in stored
    assert hasher.verify(stored, "hunter2 hunter2")
    assert not hasher.verify(stored, "hunter3 hunter3")
    assert not hasher.verify("garbage", "x")
    assert not hasher.needs_rehash(stored)
    assert hasher.needs_rehash(hasher.hash("x", cost=2))


async def test_saving_an_enrolment_never_lowers_its_last_step() -> None:
    store = InMemoryAccountsStore()
    async with store.uow() as uow:
        await uow.totp.save(TotpEnrolment(M, "SECRET", active=True, created_at=T, last_step=7))
        await uow.totp.save(TotpEnrolment(M, "SECRET", active=True, created_at=T, last_step=None, failures=2))
        await uow.commit()
    assert (store.totp[M].last_step, store.totp[M].failures) == (7, 2)
