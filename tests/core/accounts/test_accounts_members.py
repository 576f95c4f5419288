"""Members: invitations (single use, 7 days, role and scope applied), roles, scope, removal, passwords."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from accounts_kit import PASSWORD, Kit

from onyx_core.accounts import (
    InvalidCredentials,
    InvalidInvite,
    LastOwnerError,
    NotAuthenticated,
    NotPermitted,
    ReauthenticationRequired,
    WeakPassword,
    accept_invite,
    authenticate_session,
    change_password,
    change_role,
    change_scope,
    invite_creator_connect,
    invite_member,
    list_invites,
    list_members,
    login_password,
    remove_member,
    require_creator,
    revoke_invite,
    visible_creators,
)
from onyx_core.accounts.model import AuditAction, InviteKind, Role
from onyx_core.accounts.tokens import digest
from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId, InviteId, MemberId


async def accept(kit: Kit, secret: str, email: str = "new@agency.test"):
    return await accept_invite(kit.deps, secret=secret, email=email, display_name="New", password=PASSWORD)


async def test_an_invite_applies_its_role_and_scope_and_works_once(kit: Kit, owner) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    issued = await invite_member(kit.deps, principal, role=Role.MANAGER, creator_scope=[CreatorId("luna")])
    assert issued.invite.token_digest == digest(issued.secret)
    assert issued.invite.expires_at == kit.clock.now() + timedelta(days=7)
    assert kit.store.audit[-1].action is AuditAction.MEMBER_INVITED
    kit.clock.advance(1)
    joined = await accept(kit, issued.secret)
    assert (joined.role, joined.creator_scope, joined.agency_id) == (Role.MANAGER, {"luna"}, member.agency_id)
    assert kit.store.audit[-1].action is AuditAction.MEMBER_JOINED
    with pytest.raises(InvalidInvite):
        await accept(kit, issued.secret, "other@agency.test")
    assert [m.id for m in await list_members(kit.deps, principal)] == [member.id, joined.id]


async def test_an_invite_is_accepted_once_under_concurrency(kit: Kit, owner) -> None:
    _, principal = owner
    issued = await invite_member(kit.deps, principal, role=Role.VIEWER)
    results = await asyncio.gather(
        *(accept(kit, issued.secret, f"n{i}@agency.test") for i in range(20)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert len(kit.store.members) == 2


async def test_an_invite_expires_after_seven_days(kit: Kit, owner) -> None:
    _, principal = owner
    fresh = await invite_member(kit.deps, principal, role=Role.VIEWER)
    stale = await invite_member(kit.deps, principal, role=Role.VIEWER)
    kit.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    await accept(kit, fresh.secret)
    kit.clock.advance(1)
    with pytest.raises(InvalidInvite):
        await accept(kit, stale.secret, "late@agency.test")


async def test_revoked_wrong_address_and_unknown_invites_are_refused(kit: Kit, owner) -> None:
    _, principal = owner
    revoked = await invite_member(kit.deps, principal, role=Role.VIEWER)
    await revoke_invite(kit.deps, principal, revoked.invite.id)
    assert kit.store.audit[-1].action is AuditAction.INVITE_REVOKED
    with pytest.raises(InvalidInvite):
        await accept(kit, revoked.secret)
    addressed = await invite_member(kit.deps, principal, role=Role.VIEWER, email="Ann@Agency.test")
    with pytest.raises(InvalidInvite):
        await accept(kit, addressed.secret, "eve@agency.test")
    await accept(kit, addressed.secret, "ann@agency.test")
    with pytest.raises(InvalidInvite):
        await accept(kit, "made-up")
    connect = await invite_creator_connect(kit.deps, principal)
    assert connect.invite.kind is InviteKind.CREATOR_CONNECT
    with pytest.raises(InvalidInvite):  # a creator-connect link does not make members
        await accept(kit, connect.secret, "creator@agency.test")
    assert len(await list_invites(kit.deps, principal)) == 3
    fresh = await invite_member(kit.deps, principal, role=Role.VIEWER)
    with pytest.raises(WeakPassword):
        await accept_invite(kit.deps, secret=fresh.secret, email="w@agency.test", display_name="W", password="short")
    with pytest.raises(NotFoundError):
        await revoke_invite(kit.deps, principal, InviteId("nope"))


async def test_who_may_invite_whom(kit: Kit, owner) -> None:
    _, principal = owner
    _, admin = await kit.member(principal, Role.ADMIN)
    _, manager = await kit.member(principal, Role.MANAGER)
    with pytest.raises(NotPermitted):
        await invite_member(kit.deps, admin, role=Role.OWNER)
    await invite_member(kit.deps, admin, role=Role.ADMIN)
    with pytest.raises(NotPermitted):
        await invite_member(kit.deps, manager, role=Role.VIEWER)
    second_owner = await accept(kit, (await invite_member(kit.deps, principal, role=Role.OWNER)).secret)
    assert second_owner.role is Role.OWNER


async def test_role_changes_follow_the_no_escalation_rules(kit: Kit, owner) -> None:
    member, principal = owner
    viewer, _ = await kit.member(principal, Role.VIEWER)
    admin, admin_principal = await kit.member(principal, Role.ADMIN)
    with pytest.raises(NotPermitted):
        await change_role(kit.deps, admin_principal, viewer.id, Role.OWNER)
    with pytest.raises(NotPermitted):
        await change_role(kit.deps, admin_principal, member.id, Role.VIEWER)
    with pytest.raises(NotPermitted):
        await remove_member(kit.deps, admin_principal, member.id)
    with pytest.raises(LastOwnerError):
        await change_role(kit.deps, principal, member.id, Role.ADMIN)
    with pytest.raises(LastOwnerError):
        await remove_member(kit.deps, principal, member.id)
    assert kit.store.members[member.id].role is Role.OWNER
    assert not kit.store.members[member.id].disabled
    changed = await change_role(kit.deps, admin_principal, viewer.id, Role.MANAGER)
    assert kit.store.members[viewer.id] == changed
    assert changed.role is Role.MANAGER
    entry = kit.store.audit[-1]
    assert (entry.action, entry.actor, entry.target) == (AuditAction.ROLE_CHANGED, admin.id, viewer.id)
    assert entry.details == {"from": "viewer", "to": "manager"}
    await change_role(kit.deps, principal, admin.id, Role.OWNER)
    await change_role(kit.deps, principal, member.id, Role.ADMIN)  # no longer the last owner
    with pytest.raises(NotFoundError):
        await change_role(kit.deps, principal, MemberId("nobody"), Role.VIEWER)


async def test_members_of_another_agency_are_not_found(kit: Kit, owner) -> None:
    _, principal = owner
    other = await kit.owner("zed@other.test")
    with pytest.raises(NotFoundError):
        await change_role(kit.deps, principal, other.id, Role.VIEWER)
    with pytest.raises(NotFoundError):
        await remove_member(kit.deps, principal, other.id)


async def test_removing_a_member_disables_her_and_ends_her_sessions(kit: Kit, owner) -> None:
    _, principal = owner
    viewer, _ = await kit.member(principal, Role.VIEWER)
    secret, _ = await kit.login(viewer.email)
    await remove_member(kit.deps, principal, viewer.id)
    assert kit.store.members[viewer.id].disabled
    assert kit.store.audit[-1].action is AuditAction.MEMBER_REMOVED
    assert not [s for s in kit.store.sessions.values() if s.member_id == viewer.id]
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, secret)


async def test_scope_limits_what_managers_and_viewers_find(kit: Kit, owner) -> None:
    member, principal = owner
    luna, mika = kit.add_creator(member.agency_id, "luna"), kit.add_creator(member.agency_id, "mika")
    other_agency = await kit.owner("zed@other.test")
    zed = kit.add_creator(other_agency.agency_id, "zed")
    viewer, viewer_principal = await kit.member(principal, Role.VIEWER, frozenset({luna.id}))
    async with kit.store.uow() as uow:
        assert await require_creator(viewer_principal, luna.id, uow.creators) == luna
        for hidden in (mika.id, zed.id, CreatorId("ghost")):
            with pytest.raises(NotFoundError):
                await require_creator(viewer_principal, hidden, uow.creators)
        assert await require_creator(principal, mika.id, uow.creators) == mika
        with pytest.raises(NotFoundError):
            await require_creator(principal, zed.id, uow.creators)
    assert visible_creators(viewer_principal, [luna, mika, zed]) == [luna]
    await change_scope(kit.deps, principal, viewer.id, None)
    _, widened = await kit.login(viewer.email)
    assert visible_creators(widened, [luna, mika, zed]) == [luna, mika]
    assert kit.store.audit[-1].action is AuditAction.LOGIN
    with pytest.raises(NotFoundError):  # a scope names only the agency's creators
        await change_scope(kit.deps, principal, viewer.id, [zed.id])


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(kit: Kit, owner) -> None:
    member, principal = owner
    other_secret, _ = await kit.login(member.email)
    new = "a brand new passphrase"
    with pytest.raises(ReauthenticationRequired):
        await change_password(kit.deps, principal, current="wrong password!", new=new)
    with pytest.raises(WeakPassword):
        await change_password(kit.deps, principal, current=PASSWORD, new="short")
    await change_password(kit.deps, principal, current=PASSWORD, new=new)
    assert kit.store.audit[-1].action is AuditAction.PASSWORD_CHANGED
    with pytest.raises(NotAuthenticated):
        await authenticate_session(kit.deps, other_secret)
    assert principal.session is not None
    assert principal.session.id_digest in kit.store.sessions
    with pytest.raises(InvalidCredentials):
        await login_password(kit.deps, email=member.email, password=PASSWORD)
    await login_password(kit.deps, email=member.email, password=new)


async def test_with_2fa_a_password_change_also_needs_a_code(kit: Kit, owner) -> None:
    _, principal = owner
    secret, _ = await kit.enrol(principal)
    with pytest.raises(ReauthenticationRequired):
        await change_password(kit.deps, principal, current=PASSWORD, new="a brand new passphrase")
    await change_password(kit.deps, principal, current=PASSWORD, new="a brand new passphrase", code=kit.code(secret))
