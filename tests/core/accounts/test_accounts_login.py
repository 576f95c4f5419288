"""Password logins: the throttle (A6), identical answers for unknown emails, rehash on login (A7), audit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from accounts_kit import PASSWORD, Kit

from onyx_core.accounts import (
    InvalidCredentials,
    Throttled,
    WeakPassword,
    create_owner,
    login_password,
    remove_member,
)
from onyx_core.accounts.model import AuditAction, Role, SessionStage
from onyx_core.accounts.ports import DuplicateEmailError
from onyx_core.accounts.tokens import digest
from onyx_core.catalog import Agency
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import AgencyId

WRONG = "not the password!"


async def fail(kit: Kit, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await login_password(kit.deps, email=email, password=WRONG)


async def test_an_owner_logs_in_with_a_full_session_stored_by_digest(kit: Kit) -> None:
    owner = await kit.owner()
    issued = await login_password(kit.deps, email="  OLGA@agency.test ", password=PASSWORD, ip="10.0.0.1")
    assert issued.member == owner
    assert issued.session.stage is SessionStage.COMPLETE
    assert not issued.second_factor_due
    assert not issued.enrolment_required
    assert issued.secret not in kit.store.sessions
    assert digest(issued.secret) in kit.store.sessions
    assert kit.store.audit[-1].action is AuditAction.LOGIN
    assert kit.store.audit[-1].ip == "10.0.0.1"
    assert kit.store.audit[0].action is AuditAction.OWNER_CREATED
    with pytest.raises(DuplicateEmailError):
        await kit.owner()
    with pytest.raises(WeakPassword):
        await create_owner(kit.deps, agency_name="B", email="b@b.test", display_name="B", password="short")


async def test_ten_failures_in_fifteen_minutes_throttle_even_the_right_password(kit: Kit) -> None:
    await kit.owner()
    await fail(kit, "olga@agency.test", 9)
    kit.clock.advance(timedelta(minutes=5))
    await fail(kit, "olga@agency.test", 1)
    with pytest.raises(Throttled) as refused:
        await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)
    assert refused.value.retry_after == 10 * 60  # the rest of the 15 minutes from the first failure
    assert AuditAction.LOGIN_LOCKED in [e.action for e in kit.store.audit]
    kit.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    with pytest.raises(Throttled) as refused:
        await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)
    assert refused.value.retry_after == 1
    kit.clock.advance(timedelta(seconds=1))
    assert (await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)).member.email


async def test_failures_spread_beyond_the_window_do_not_throttle(kit: Kit) -> None:
    await kit.owner()
    await fail(kit, "olga@agency.test", 9)
    kit.clock.advance(timedelta(minutes=15))
    await fail(kit, "olga@agency.test", 9)  # a new window: 9 of 10
    kit.clock.advance(timedelta(minutes=1))
    await fail(kit, "olga@agency.test", 1)  # the 10th of the new window locks it, until 15 min after its start
    with pytest.raises(Throttled) as refused:
        await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)
    assert refused.value.retry_after == 14 * 60


async def test_success_resets_the_count(kit: Kit) -> None:
    await kit.owner()
    await fail(kit, "olga@agency.test", 9)
    await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)
    await fail(kit, "olga@agency.test", 9)
    await login_password(kit.deps, email="olga@agency.test", password=PASSWORD)
    assert "olga@agency.test" not in kit.store.throttles


async def test_unknown_emails_are_answered_and_counted_exactly_like_known_ones(kit: Kit) -> None:
    await kit.owner()
    answers = {}
    for email in ("olga@agency.test", "nobody@agency.test"):
        before = kit.hasher.verifications
        errors = []
        for _ in range(11):
            with pytest.raises((InvalidCredentials, Throttled)) as refused:
                await login_password(kit.deps, email=email, password=WRONG)
            errors.append((type(refused.value), str(refused.value), getattr(refused.value, "retry_after", None)))
        answers[email] = errors
        assert kit.hasher.verifications - before == 10  # a hash is verified for unknown emails too
    assert answers["olga@agency.test"] == answers["nobody@agency.test"]
    assert answers["nobody@agency.test"][-1][0] is Throttled


async def test_a_disabled_member_gets_the_same_answer(kit: Kit, owner) -> None:
    _, principal = owner
    viewer, _ = await kit.member(principal, Role.VIEWER)
    await remove_member(kit.deps, principal, viewer.id)
    with pytest.raises(InvalidCredentials, match="wrong email or password"):
        await login_password(kit.deps, email=viewer.email, password=PASSWORD)


async def test_a_weaker_stored_hash_is_rehashed_at_the_next_successful_login_only(kit: Kit) -> None:
    owner = await kit.owner()
    kit.store.password_hashes[owner.id] = kit.hasher.hash(PASSWORD, cost=1)
    await fail(kit, owner.email, 1)
    assert kit.hasher.cost_of(kit.store.password_hashes[owner.id]) == 1
    await login_password(kit.deps, email=owner.email, password=PASSWORD)
    stored = kit.store.password_hashes[owner.id]
    assert kit.hasher.cost_of(stored) == 2
    assert kit.hasher.verify(stored, PASSWORD)


async def test_failed_logins_are_audited_without_the_password(kit: Kit) -> None:
    owner = await kit.owner()
    await fail(kit, owner.email, 1)
    entry = kit.store.audit[-1]
    assert entry.action is AuditAction.LOGIN_FAILED
    assert (entry.agency_id, entry.target) == (owner.agency_id, owner.id)
    assert WRONG not in repr(entry)
    typo = "my secret passphrase"  # typed into the email field by mistake
    with pytest.raises(InvalidCredentials):
        await login_password(kit.deps, email=typo, password=WRONG)
    assert typo not in repr(kit.store.audit)


async def test_concurrent_failures_are_all_counted(kit: Kit) -> None:
    await kit.owner()
    results = await asyncio.gather(
        *(login_password(kit.deps, email="olga@agency.test", password=WRONG) for _ in range(20)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, InvalidCredentials) for r in results) == 10
    assert sum(isinstance(r, Throttled) for r in results) == 10


async def test_the_first_owner_of_an_agency_that_exists_adopts_it_and_only_the_first(kit: Kit) -> None:
    # an agency `onyx demo` or `onyx connect` made: no members yet
    kit.base.agencies[AgencyId("sandbox-agency")] = Agency(AgencyId("sandbox-agency"), "Sandbox agency")
    owner = await create_owner(
        kit.deps, agency_name="", email="olga@agency.test", display_name="Olga", password=PASSWORD,
        agency_id=AgencyId("sandbox-agency"),
    )  # fmt: skip
    assert owner.agency_id == "sandbox-agency"
    assert list(kit.base.agencies) == ["sandbox-agency"]  # no second agency made
    with pytest.raises(DomainValueError, match="already has members"):
        await create_owner(
            kit.deps, agency_name="", email="eve@evil.test", display_name="Eve", password=PASSWORD,
            agency_id=AgencyId("sandbox-agency"),
        )  # fmt: skip
    with pytest.raises(NotFoundError):
        await create_owner(
            kit.deps, agency_name="", email="eve@evil.test", display_name="Eve", password=PASSWORD,
            agency_id=AgencyId("nowhere"),
        )  # fmt: skip
