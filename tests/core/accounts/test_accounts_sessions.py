"""Sessions: idle and absolute expiry, the PASSWORD stage (A8), rotation after the second factor, logout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_kit import PASSWORD, Kit

from onyx_core.accounts import (
    NotAuthenticated,
    Permission,
    SecondFactorRequired,
    authenticate_session,
    invite_member,
    login_password,
    logout,
    require,
    verify_totp,
)
from onyx_core.accounts.model import AuditAction, Role, SessionStage
from onyx_core.accounts.tokens import digest


async def test_idle_for_thirty_minutes_and_a_second_ends_the_session(kit: Kit) -> None:
    owner = await kit.owner()
    secret, _ = await kit.login(owner.email)
    kit.clock.advance(timedelta(minutes=30))
    await authenticate_session(kit.deps, secret)  # exactly 30 min idle: still alive, and touched
    kit.clock.advance(timedelta(minutes=30))
    await authenticate_session(kit.deps, secret)
    kit.clock.advance(timedelta(minutes=30, seconds=1))
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, secret)
    assert digest(secret) not in kit.store.sessions


async def test_last_seen_is_written_at_most_once_a_minute(kit: Kit) -> None:
    owner = await kit.owner()
    secret, _ = await kit.login(owner.email)
    start = kit.store.sessions[digest(secret)].last_seen_at
    kit.clock.advance(59)
    await authenticate_session(kit.deps, secret)
    assert kit.store.sessions[digest(secret)].last_seen_at == start
    kit.clock.advance(1)
    await authenticate_session(kit.deps, secret)
    assert kit.store.sessions[digest(secret)].last_seen_at == kit.clock.now()


async def test_twelve_hours_after_login_the_session_ends_whatever_the_activity(kit: Kit) -> None:
    owner = await kit.owner()
    secret, _ = await kit.login(owner.email)
    for _ in range(12 * 4):
        kit.clock.advance(timedelta(minutes=15))
        await authenticate_session(kit.deps, secret)
    kit.clock.advance(1)
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, secret)


async def test_unknown_and_ended_sessions_are_refused_and_logout_is_idempotent(kit: Kit) -> None:
    owner = await kit.owner()
    secret, _ = await kit.login(owner.email)
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, "forged")
    await logout(kit.deps, secret)
    assert kit.store.audit[-1].action is AuditAction.LOGOUT
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, secret)
    await logout(kit.deps, secret)
    await logout(kit.deps, "")


async def test_the_password_stage_may_only_verify_or_log_out_and_lives_ten_minutes(kit: Kit, owner) -> None:
    member, principal = owner
    totp_secret, _ = await kit.enrol(principal)
    issued = await login_password(kit.deps, email=member.email, password=PASSWORD)
    assert issued.second_factor_due
    assert issued.session.stage is SessionStage.PASSWORD
    half = await authenticate_session(kit.deps, issued.secret)
    assert half.second_factor_due
    assert not any(half.can(p) for p in Permission)
    with pytest.raises(SecondFactorRequired):
        require(half, Permission.VIEW_CREATORS)
    with pytest.raises(SecondFactorRequired):
        await invite_member(kit.deps, half, role=Role.VIEWER)
    kit.clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(NotAuthenticated):
        await verify_totp(kit.deps, session_secret=issued.secret, code=kit.code(totp_secret))


async def test_verifying_rotates_the_session_id_and_keeps_the_login_time(kit: Kit, owner) -> None:
    member, principal = owner
    totp_secret, _ = await kit.enrol(principal)
    issued = await login_password(kit.deps, email=member.email, password=PASSWORD)
    kit.clock.advance(60)
    done = await verify_totp(kit.deps, session_secret=issued.secret, code=kit.code(totp_secret))
    assert done.secret != issued.secret
    assert done.session.stage is SessionStage.COMPLETE
    assert done.session.created_at == issued.session.created_at
    assert done.session.authenticated_at == kit.clock.now()
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, issued.secret)
    full = await authenticate_session(kit.deps, done.secret)
    assert not full.second_factor_due
    assert full.can(Permission.READ_AUDIT)
    with pytest.raises(NotAuthenticated):  # a complete session owes nothing: no second verification
        await verify_totp(kit.deps, session_secret=done.secret, code=kit.code(totp_secret, 1))
