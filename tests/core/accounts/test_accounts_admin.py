"""Agency management: a role and a scope changed together (all or nothing), what an invitation link shows before it
is used (and that looking changes nothing), and the audit trail of every security-relevant action owners read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_kit import PASSWORD, Kit

from onyx_core.accounts import (
    KEEP,
    InvalidCredentials,
    InvalidInvite,
    LastOwnerError,
    NotPermitted,
    accept_invite,
    invite_creator_connect,
    invite_member,
    login_password,
    peek_invite,
    read_audit,
    remove_member,
    revoke_invite,
    set_two_factor_required,
    update_member,
)
from onyx_core.accounts.model import AuditAction, InviteKind, Role
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import CreatorId


async def test_a_role_and_a_scope_change_together_or_not_at_all(kit: Kit, owner) -> None:
    member, principal = owner
    luna = kit.add_creator(member.agency_id, "luna")
    zed = kit.add_creator((await kit.owner("zed@other.test")).agency_id, "zed")
    admin, _ = await kit.member(principal, Role.ADMIN)
    with pytest.raises(NotFoundError):  # a foreign creator: the demotion does not happen either
        await update_member(kit.deps, principal, admin.id, role=Role.VIEWER, scope=[zed.id])
    assert kit.store.members[admin.id] == admin
    changed = await update_member(kit.deps, principal, admin.id, role=Role.VIEWER, scope=[luna.id])
    assert (changed.role, changed.creator_scope) == (Role.VIEWER, {luna.id})
    assert kit.store.members[admin.id] == changed
    assert [e.action for e in kit.store.audit[-2:]] == [AuditAction.ROLE_CHANGED, AuditAction.SCOPE_CHANGED]
    assert kit.store.audit[-1].details == {"creators": "luna"}
    kept = await update_member(kit.deps, principal, admin.id, role=Role.MANAGER, scope=KEEP)
    assert (kept.role, kept.creator_scope) == (Role.MANAGER, {luna.id})
    with pytest.raises(DomainValueError):  # an admin sees every creator: no scope for her
        await update_member(kit.deps, principal, admin.id, role=Role.ADMIN, scope=[luna.id])
    assert kit.store.members[admin.id] == kept
    promoted = await update_member(kit.deps, principal, admin.id, role=Role.ADMIN)
    assert promoted.creator_scope is None
    with pytest.raises(LastOwnerError):
        await update_member(kit.deps, principal, member.id, role=Role.ADMIN, scope=None)


async def test_an_admin_cannot_make_or_touch_an_owner(kit: Kit, owner) -> None:
    member, principal = owner
    viewer, _ = await kit.member(principal, Role.VIEWER)
    _, admin = await kit.member(principal, Role.ADMIN)
    _, manager = await kit.member(principal, Role.MANAGER)
    with pytest.raises(NotPermitted):
        await update_member(kit.deps, admin, viewer.id, role=Role.OWNER)
    with pytest.raises(NotPermitted):
        await update_member(kit.deps, admin, member.id, scope=None)
    with pytest.raises(NotPermitted):
        await update_member(kit.deps, manager, viewer.id, scope=None)
    assert kit.store.members[viewer.id] == viewer


async def test_peeking_at_an_invitation_shows_what_it_offers_and_changes_nothing(kit: Kit, owner) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    issued = await invite_member(kit.deps, principal, role=Role.VIEWER, creator_scope=[CreatorId("luna")])
    before = (dict(kit.store.invites), list(kit.store.audit))
    preview = await peek_invite(kit.deps, secret=issued.secret)
    assert (preview.kind, preview.role, preview.agency_name) == (InviteKind.MEMBER, Role.VIEWER, "Agency")
    assert preview.expires_at == issued.invite.expires_at
    assert (dict(kit.store.invites), list(kit.store.audit)) == before
    connect = await peek_invite(kit.deps, secret=(await invite_creator_connect(kit.deps, principal)).secret)
    assert (connect.kind, connect.role) == (InviteKind.CREATOR_CONNECT, None)
    await accept_invite(kit.deps, secret=issued.secret, email="v@agency.test", display_name="V", password=PASSWORD)
    revoked = await invite_member(kit.deps, principal, role=Role.VIEWER)
    await revoke_invite(kit.deps, principal, revoked.invite.id)
    stale = await invite_member(kit.deps, principal, role=Role.VIEWER)
    kit.clock.advance(timedelta(days=7))
    for secret in (issued.secret, revoked.secret, stale.secret, "made-up"):
        with pytest.raises(InvalidInvite):
            await peek_invite(kit.deps, secret=secret)


async def test_owners_read_every_security_action_in_the_audit_log(kit: Kit, owner) -> None:
    member, principal = owner
    _, admin = await kit.member(principal, Role.ADMIN)
    with pytest.raises(InvalidCredentials):
        await login_password(kit.deps, email=member.email, password="not the password")  # pragma: allowlist secret
    await kit.enrol(principal)
    await set_two_factor_required(kit.deps, principal, True)
    viewer, _ = await kit.member(principal, Role.VIEWER)
    await update_member(kit.deps, principal, viewer.id, role=Role.MANAGER)
    await remove_member(kit.deps, principal, viewer.id)
    seen = {entry.action for entry in await read_audit(kit.deps, principal, limit=1000)}
    assert {
        AuditAction.LOGIN,
        AuditAction.LOGIN_FAILED,
        AuditAction.TWO_FACTOR_ENROLLED,
        AuditAction.TWO_FACTOR_POLICY_CHANGED,
        AuditAction.MEMBER_INVITED,
        AuditAction.MEMBER_JOINED,
        AuditAction.ROLE_CHANGED,
        AuditAction.MEMBER_REMOVED,
    } <= seen
    with pytest.raises(NotPermitted):
        await read_audit(kit.deps, admin)
