"""TOTP: enrolment (A5), window (A1), replay guard (A2), locks (A3), recovery codes (A4), re-authentication, and
the agency's "2FA required" policy."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest
from accounts_kit import PASSWORD, Kit
from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.accounts import (
    AccountLocked,
    InvalidCredentials,
    NotAuthenticated,
    NotPermitted,
    Permission,
    ReauthenticationRequired,
    SecondFactorRequired,
    Throttled,
    TwoFactorStateError,
    authenticate_session,
    begin_totp_enrolment,
    change_password,
    confirm_totp_enrolment,
    disable_totp,
    login_password,
    regenerate_recovery_codes,
    require,
    set_two_factor_required,
    use_recovery_code,
    verify_totp,
)
from onyx_core.accounts.model import AuditAction, Role
from onyx_core.accounts.usecases.recovery import RECOVERY_ALPHABET
from onyx_core.testing.accounts_fakes import FakeTotp


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def password_stage(kit: Kit, email: str) -> str:
    return (await login_password(kit.deps, email=email, password=PASSWORD)).secret


async def test_enrolment_activates_only_after_one_correct_code(kit: Kit, owner) -> None:
    member, principal = owner
    setup = await begin_totp_enrolment(kit.deps, principal)
    assert kit.totp.secrets_made == 1
    assert len(setup.secret) * 5 >= 160
    assert setup.provisioning_uri.startswith("otpauth://totp/Onyx:")
    assert "olga%40agency.test" in setup.provisioning_uri
    for _ in range(20):
        with pytest.raises(InvalidCredentials):
            await confirm_totp_enrolment(kit.deps, principal, wrong(kit.code(setup.secret)))
    assert not kit.store.totp[member.id].active
    assert (await login_password(kit.deps, email=member.email, password=PASSWORD)).second_factor_due is False
    codes = await confirm_totp_enrolment(kit.deps, principal, kit.code(setup.secret))
    assert kit.store.totp[member.id].active
    assert len(codes) == 10
    assert kit.store.audit[-1].action is AuditAction.TWO_FACTOR_ENROLLED
    with pytest.raises(TwoFactorStateError):
        await begin_totp_enrolment(kit.deps, principal)


async def test_a_new_enrolment_replaces_an_unconfirmed_one(kit: Kit, owner) -> None:
    _, principal = owner
    first = await begin_totp_enrolment(kit.deps, principal)
    second = await begin_totp_enrolment(kit.deps, principal)
    assert first.secret != second.secret
    with pytest.raises(InvalidCredentials):
        await confirm_totp_enrolment(kit.deps, principal, kit.code(first.secret))
    await confirm_totp_enrolment(kit.deps, principal, kit.code(second.secret))


@settings(max_examples=200)
@given(secret=st.binary(min_size=20, max_size=20), offset=st.integers(-3, 3), at=st.integers(10**9, 2 * 10**9))
def test_the_window_is_one_step_either_side(secret: bytes, offset: int, at: int) -> None:
    import base64  # noqa: PLC0415

    totp, key = FakeTotp(), base64.b32encode(secret).decode()
    now = datetime.fromtimestamp(at, UTC)
    code = totp.code_at(key, now + timedelta(seconds=30 * offset))
    found = totp.matching_step(key, code, now, 1)
    if abs(offset) <= 1:
        assert found is not None
    elif found is not None:  # another step's code may collide by chance (1 in a million): never this one
        assert found != totp.step_of(now) + offset


def test_the_fake_totp_is_rfc_6238() -> None:
    """RFC 6238 appendix B, SHA-1, truncated to 6 digits."""
    import base64  # noqa: PLC0415

    key = base64.b32encode(b"12345678901234567890").decode()
    assert FakeTotp.code_at(key, datetime.fromtimestamp(59, UTC)) == "287082"
    assert FakeTotp.code_at(key, datetime.fromtimestamp(1111111109, UTC)) == "081804"
    assert FakeTotp.code_at(key, datetime.fromtimestamp(2000000000, UTC)) == "279037"


async def test_a_code_is_accepted_once(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    code = kit.code(secret)
    await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=code)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=code)
    # an older step inside the window is refused too once a newer one was accepted
    kit.clock.advance(30)
    with pytest.raises(InvalidCredentials):
        await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=code)
    await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=kit.code(secret))


async def test_fifty_concurrent_submissions_of_one_code_succeed_once(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    sessions = [await password_stage(kit, member.email) for _ in range(50)]
    code = kit.code(secret)
    results = await asyncio.gather(
        *(verify_totp(kit.deps, session_secret=s, code=code) for s in sessions), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, InvalidCredentials) for r in results if isinstance(r, BaseException))


async def test_fifty_concurrent_submissions_on_one_session_succeed_once(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    session = await password_stage(kit, member.email)
    code = kit.code(secret)
    results = await asyncio.gather(
        *(verify_totp(kit.deps, session_secret=session, code=code) for _ in range(50)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1


async def test_five_wrong_codes_lock_the_step_for_fifteen_minutes(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    session = await password_stage(kit, member.email)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await verify_totp(kit.deps, session_secret=session, code=wrong(kit.code(secret)))
    with pytest.raises(Throttled):
        await verify_totp(kit.deps, session_secret=session, code=wrong(kit.code(secret)))
    with pytest.raises(Throttled) as refused:
        await verify_totp(kit.deps, session_secret=session, code=kit.code(secret))
    assert refused.value.retry_after == 15 * 60
    assert AuditAction.TWO_FACTOR_LOCKED in [e.action for e in kit.store.audit]
    kit.clock.advance(timedelta(minutes=9))
    session = await password_stage(kit, member.email)
    kit.clock.advance(timedelta(minutes=6) - timedelta(seconds=1))
    with pytest.raises(Throttled) as refused:
        await verify_totp(kit.deps, session_secret=session, code=kit.code(secret))
    assert refused.value.retry_after == 1
    kit.clock.advance(1)
    await verify_totp(kit.deps, session_secret=session, code=kit.code(secret))
    assert kit.store.totp[member.id].failures == 0


async def test_a_hundred_consecutive_failures_lock_the_account_until_a_recovery_code(kit: Kit, owner) -> None:
    member, principal = owner
    secret, codes = await kit.enrol(principal)
    for failure in range(1, 101):
        session = await password_stage(kit, member.email)
        with pytest.raises((InvalidCredentials, Throttled, AccountLocked)) as refused:
            await verify_totp(kit.deps, session_secret=session, code=wrong(kit.code(secret)))
        if failure % 5 == 0 and failure < 100:
            assert isinstance(refused.value, Throttled)
            kit.clock.advance(timedelta(minutes=15))
    assert isinstance(refused.value, AccountLocked)
    kit.clock.advance(timedelta(days=2))
    session = await password_stage(kit, member.email)
    with pytest.raises(AccountLocked):
        await verify_totp(kit.deps, session_secret=session, code=kit.code(secret))
    done = await use_recovery_code(kit.deps, session_secret=session, code=codes[0])
    assert not done.second_factor_due
    assert kit.store.totp[member.id].consecutive_failures == 0
    assert AuditAction.RECOVERY_CODE_USED in [e.action for e in kit.store.audit]
    await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=kit.code(secret))


async def test_recovery_codes_are_ten_random_hashed_single_use(kit: Kit, owner) -> None:
    member, principal = owner
    _, codes = await kit.enrol(principal)
    assert len(set(codes)) == 10
    for code in codes:
        raw = code.replace("-", "")
        assert set(raw) <= set(RECOVERY_ALPHABET)
        assert len(raw) * math.log2(len(RECOVERY_ALPHABET)) >= 50
    stored = [c for c in kit.store.recovery_codes.values() if c.member_id == member.id]
    assert len(stored) == 10
    assert all(
        c.code_hash.startswith("fake$") and not any(code.replace("-", "") in c.code_hash for code in codes)
        for c in stored
    )
    session = await password_stage(kit, member.email)
    await use_recovery_code(kit.deps, session_secret=session, code=codes[3].upper().replace("-", " "))
    session = await password_stage(kit, member.email)
    with pytest.raises(InvalidCredentials):
        await use_recovery_code(kit.deps, session_secret=session, code=codes[3])
    await use_recovery_code(kit.deps, session_secret=session, code=codes[4])


async def test_a_recovery_code_is_used_once_under_concurrency(kit: Kit, owner) -> None:
    member, principal = owner
    _, codes = await kit.enrol(principal)
    sessions = [await password_stage(kit, member.email) for _ in range(20)]
    results = await asyncio.gather(
        *(use_recovery_code(kit.deps, session_secret=s, code=codes[0]) for s in sessions), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1


async def test_regenerating_needs_password_and_code_and_invalidates_every_old_code(kit: Kit, owner) -> None:
    member, principal = owner
    secret, old = await kit.enrol(principal)
    with pytest.raises(ReauthenticationRequired):
        await regenerate_recovery_codes(kit.deps, principal, password="wrong password!", code=kit.code(secret))
    with pytest.raises(ReauthenticationRequired):
        await regenerate_recovery_codes(kit.deps, principal, password=PASSWORD, code=wrong(kit.code(secret)))
    new = await regenerate_recovery_codes(kit.deps, principal, password=PASSWORD, code=kit.code(secret))
    assert kit.store.audit[-1].action is AuditAction.RECOVERY_CODES_REGENERATED
    assert not set(new) & set(old)
    stored = [c.code_hash for c in kit.store.recovery_codes.values() if c.member_id == member.id]
    assert len(stored) == 10
    assert not any(kit.hasher.verify(h, code.replace("-", "")) for h in stored for code in old)
    session = await password_stage(kit, member.email)
    with pytest.raises(InvalidCredentials):
        await use_recovery_code(kit.deps, session_secret=session, code=old[0])
    await use_recovery_code(kit.deps, session_secret=session, code=new[0])


async def test_disabling_needs_password_and_code(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    with pytest.raises(ReauthenticationRequired):
        await disable_totp(kit.deps, principal, password=PASSWORD, code="")
    with pytest.raises(ReauthenticationRequired):
        await disable_totp(kit.deps, principal, password="wrong password!", code=kit.code(secret))
    assert kit.store.totp[member.id].active
    await disable_totp(kit.deps, principal, password=PASSWORD, code=kit.code(secret))
    assert member.id not in kit.store.totp
    assert not [c for c in kit.store.recovery_codes.values() if c.member_id == member.id]
    assert kit.store.audit[-1].action is AuditAction.TWO_FACTOR_DISABLED
    assert not (await login_password(kit.deps, email=member.email, password=PASSWORD)).second_factor_due
    with pytest.raises(TwoFactorStateError):
        await disable_totp(kit.deps, principal, password=PASSWORD, code="123456")


async def test_second_factor_changes_are_refused_to_api_tokens_and_half_sessions(kit: Kit, owner) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from onyx_core.accounts import create_api_token  # noqa: PLC0415
    from onyx_core.accounts.model import ApiTokenScope  # noqa: PLC0415

    member, principal = owner
    issued = await create_api_token(kit.deps, principal, name="ci", scopes=[ApiTokenScope.WRITE])
    with pytest.raises(NotPermitted):
        await begin_totp_enrolment(kit.deps, replace(principal, session=None, api_token=issued.token))
    secret, _ = await kit.enrol(principal)
    half = await authenticate_session(kit.deps, await password_stage(kit, member.email))
    with pytest.raises(SecondFactorRequired):
        await disable_totp(kit.deps, half, password=PASSWORD, code=kit.code(secret))


async def test_an_agency_requiring_2fa_lets_members_without_it_only_enrol(kit: Kit, owner) -> None:
    _, principal = owner
    viewer, _ = await kit.member(principal, Role.VIEWER)
    _admin, admin_principal = await kit.member(principal, Role.ADMIN)
    with pytest.raises(NotPermitted):
        await set_two_factor_required(kit.deps, admin_principal, True)
    await set_two_factor_required(kit.deps, principal, True)
    assert kit.store.audit[-1].action is AuditAction.TWO_FACTOR_POLICY_CHANGED
    issued = await login_password(kit.deps, email=viewer.email, password=PASSWORD)
    assert issued.enrolment_required
    assert not issued.second_factor_due
    restricted = await authenticate_session(kit.deps, issued.secret)
    assert restricted.enrolment_required
    with pytest.raises(SecondFactorRequired):
        require(restricted, Permission.VIEW_CREATORS)
    with pytest.raises(SecondFactorRequired):
        await change_password(kit.deps, restricted, current=PASSWORD, new="a brand new passphrase")
    await kit.enrol(restricted)
    after = await authenticate_session(kit.deps, issued.secret)
    assert not after.enrolment_required
    assert after.can(Permission.VIEW_CREATORS)


async def test_verifying_needs_a_password_stage_session(kit: Kit, owner) -> None:
    _member, principal = owner
    secret, _ = await kit.enrol(principal)
    with pytest.raises(NotAuthenticated):
        await verify_totp(kit.deps, session_secret="nope", code=kit.code(secret))
    with pytest.raises(NotAuthenticated):
        await use_recovery_code(kit.deps, session_secret="nope", code="aaaa-bbbb-cccc")


async def test_wrong_codes_racing_a_right_one_never_undo_the_replay_guard(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    code = kit.code(secret)
    sessions = [await password_stage(kit, member.email) for _ in range(4)]
    calls = [
        verify_totp(kit.deps, session_secret=s, code=code if i == 1 else wrong(code)) for i, s in enumerate(sessions)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert kit.store.totp[member.id].last_step == kit.totp.step_of(kit.clock.now())
    with pytest.raises(InvalidCredentials):
        await verify_totp(kit.deps, session_secret=await password_stage(kit, member.email), code=code)


async def test_concurrent_wrong_codes_are_all_counted(kit: Kit, owner) -> None:
    member, principal = owner
    secret, _ = await kit.enrol(principal)
    sessions = [await password_stage(kit, member.email) for _ in range(10)]
    bad = wrong(kit.code(secret))
    results = await asyncio.gather(
        *(verify_totp(kit.deps, session_secret=s, code=bad) for s in sessions), return_exceptions=True
    )
    assert sum(isinstance(r, InvalidCredentials) for r in results) == 4
    assert sum(isinstance(r, Throttled) for r in results) == 6
    assert kit.store.totp[member.id].consecutive_failures == 5
