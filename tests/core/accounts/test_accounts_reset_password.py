"""``reset_password``: what ``onyx demo`` does to its owner on a re-run. The new password alone signs her in again,
whatever she had before (sessions, a second factor, a lockout); the old password does not."""

from __future__ import annotations

import pytest
from accounts_kit import PASSWORD, Kit

from onyx_core.accounts import authenticate_session, login_password, reset_password
from onyx_core.accounts.errors import InvalidCredentials, NotAuthenticated, Throttled, WeakPassword
from onyx_core.accounts.model import AuditAction
from onyx_core.errors import NotFoundError

NEW = "a brand new passphrase"  # pragma: allowlist secret


async def test_the_new_password_alone_signs_her_in_and_nothing_of_before_survives(kit: Kit) -> None:
    member = await kit.owner()
    old_session, principal = await kit.login(member.email)
    await kit.enrol(principal)  # 2FA on: a password alone would not be enough
    for _ in range(kit.policy.login_max_failures):  # and locked out
        with pytest.raises((InvalidCredentials, Throttled)):
            await login_password(kit.deps, email=member.email, password="wrong wrong wrong")  # pragma: allowlist secret
    with pytest.raises(Throttled):
        await login_password(kit.deps, email=member.email, password=PASSWORD)

    reset = await reset_password(kit.deps, email=member.email, password=NEW)

    assert reset.id == member.id
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, old_session)  # every old session ended
    issued = await login_password(kit.deps, email=member.email, password=NEW)
    assert issued.second_factor_due is False  # her second factor is gone: the password alone signs her in
    assert (await authenticate_session(kit.deps, issued.secret)).member.id == member.id
    with pytest.raises(InvalidCredentials):
        await login_password(kit.deps, email=member.email, password=PASSWORD)
    async with kit.deps.uow() as uow:
        assert await uow.recovery_codes.unused(member.id) == []
        entries = await uow.audit.for_agency(member.agency_id)
    changed = [e for e in entries if e.action is AuditAction.PASSWORD_CHANGED]
    assert [(e.target, dict(e.details)) for e in changed] == [(member.id, {"by": "operator"})]


async def test_a_weak_password_or_an_unknown_email_changes_nothing(kit: Kit) -> None:
    member = await kit.owner()
    with pytest.raises(WeakPassword):
        await reset_password(kit.deps, email=member.email, password="short")  # pragma: allowlist secret
    with pytest.raises(NotFoundError):
        await reset_password(kit.deps, email="nobody@agency.test", password=NEW)
    await kit.login(member.email)  # the old password still works
