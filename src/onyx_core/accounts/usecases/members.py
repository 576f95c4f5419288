"""Members of an agency: invitations, roles, scopes, removal, passwords."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from onyx_core.accounts.errors import (
    InvalidInvite,
    LastOwnerError,
    NotPermitted,
    ReauthenticationRequired,
    SecondFactorRequired,
)
from onyx_core.accounts.model import AuditAction, Invite, InviteKind, Member, Role, normalize_email
from onyx_core.accounts.policy import check_password
from onyx_core.accounts.ports import AccountsUnitOfWork
from onyx_core.accounts.rules import (
    Permission,
    check_assign_role,
    check_manage_member,
    check_role_change,
    has_scope,
    is_last_owner,
)
from onyx_core.accounts.tokens import digest, new_secret
from onyx_core.accounts.usecases.deps import AccountsDeps, InviteIssued, Principal, audit, new_id, require
from onyx_core.accounts.usecases.two_factor import _session_only, reauthenticate
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import CreatorId, InviteId, MemberId

__all__ = [
    "KEEP",
    "InvitePreview",
    "Keep",
    "accept_invite",
    "change_password",
    "change_role",
    "change_scope",
    "invite_creator_connect",
    "invite_member",
    "list_invites",
    "list_members",
    "peek_invite",
    "remove_member",
    "revoke_invite",
    "update_member",
]


async def _checked_scope(
    uow: AccountsUnitOfWork, principal: Principal, role: Role, scope: Iterable[CreatorId] | None
) -> frozenset[CreatorId] | None:
    """The scope to store: ``None`` for roles that see everything; every creator must be the agency's (else
    :class:`NotFoundError`, as for any creator the principal cannot see)."""
    if scope is None or not has_scope(role):
        return None
    chosen = frozenset(scope)
    for creator_id in chosen:
        creator = await uow.creators.get(creator_id)
        if creator is None or creator.agency_id != principal.member.agency_id:
            raise NotFoundError(f"no creator {creator_id}")
    return chosen


async def _target(uow: AccountsUnitOfWork, principal: Principal, member_id: MemberId) -> Member:
    target = await uow.members.get(member_id)
    if target is None or target.agency_id != principal.member.agency_id:
        raise NotFoundError(f"no member {member_id}")
    return target


async def _issue_invite(
    deps: AccountsDeps,
    uow: AccountsUnitOfWork,
    principal: Principal,
    kind: InviteKind,
    *,
    role: Role | None = None,
    creator_scope: frozenset[CreatorId] | None = None,
    email: str | None = None,
) -> InviteIssued:
    now, secret = deps.clock.now(), new_secret()
    invite = Invite(
        id=InviteId(new_id()),
        agency_id=principal.member.agency_id,
        kind=kind,
        token_digest=digest(secret),
        created_by=principal.member.id,
        created_at=now,
        expires_at=now + deps.policy.invite_lifetime,
        role=role,
        creator_scope=creator_scope,
        email=email,
    )
    await uow.invites.add(invite)
    details = {"kind": kind.value} | ({"role": invite.role.value} if invite.role else {})
    await audit(uow, now, AuditAction.MEMBER_INVITED, principal.member, target=invite.id, details=details)
    await uow.commit()
    return InviteIssued(invite, secret)


async def invite_member(
    deps: AccountsDeps,
    principal: Principal,
    *,
    role: Role,
    creator_scope: Iterable[CreatorId] | None = None,
    email: str | None = None,
) -> InviteIssued:
    """A single-use link (``invite_lifetime``) to join the agency with ``role`` (and scope; optionally only for
    ``email``). Only owners invite owners."""
    require(principal, Permission.INVITE_MEMBERS)
    role = Role(role)
    check_assign_role(principal.member, role)
    address = None if email is None else normalize_email(email)
    async with deps.uow() as uow:
        scope = await _checked_scope(uow, principal, role, creator_scope)
        return await _issue_invite(
            deps, uow, principal, InviteKind.MEMBER, role=role, creator_scope=scope, email=address
        )


async def invite_creator_connect(deps: AccountsDeps, principal: Principal) -> InviteIssued:
    """A single-use link for a creator to connect her own Fanvue account to the agency."""
    require(principal, Permission.MANAGE_CONNECTIONS)
    async with deps.uow() as uow:
        return await _issue_invite(deps, uow, principal, InviteKind.CREATOR_CONNECT)


def usable_invite(invite: Invite | None, kind: InviteKind | None, now: datetime) -> Invite:
    """``invite`` if it is of ``kind`` (``None``: any kind), neither used nor revoked, and not expired; else
    :class:`InvalidInvite`."""
    if invite is None or invite.used_at is not None or invite.revoked_at is not None:
        raise InvalidInvite("this invitation link is not valid")
    if kind is not None and invite.kind is not kind:
        raise InvalidInvite("this invitation link is not valid")
    if now >= invite.expires_at:
        raise InvalidInvite("this invitation link expired")
    return invite


@dataclass(frozen=True, slots=True)
class InvitePreview:
    """What an invitation link's page may show before it is used (no secret, no creator ids)."""

    kind: InviteKind
    role: Role | None
    agency_name: str
    expires_at: datetime


async def peek_invite(deps: AccountsDeps, *, secret: str) -> InvitePreview:
    """What the invitation ``secret`` offers, if it is still usable (any kind); :class:`InvalidInvite` for an
    unknown, used, revoked or expired one. Reads only: the link stays as it was."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        found = await uow.invites.by_token_digest(digest(secret))
        invite = usable_invite(found, None, now)
        agency = await uow.agencies.get(invite.agency_id)
    if agency is None:
        raise InvalidInvite("this invitation link is not valid")
    return InvitePreview(invite.kind, invite.role, agency.name, invite.expires_at)


async def accept_invite(deps: AccountsDeps, *, secret: str, email: str, display_name: str, password: str) -> Member:
    """Join an agency through a member invitation (once). Raises :class:`InvalidInvite`, :class:`WeakPassword`,
    :class:`~onyx_core.accounts.ports.DuplicateEmailError`."""
    check_password(deps.policy, password)
    if not display_name.strip():
        raise DomainValueError("a member needs a name")
    address = normalize_email(email)
    now = deps.clock.now()
    async with deps.uow() as uow:
        invite = usable_invite(await uow.invites.by_token_digest(digest(secret)), InviteKind.MEMBER, now)
        if invite.email is not None and invite.email != address:
            raise InvalidInvite("this invitation is for another address")
        if not await uow.invites.consume(invite.id, now):
            raise InvalidInvite("this invitation link is not valid")
        member = Member(
            MemberId(new_id()),
            invite.agency_id,
            address,
            display_name.strip(),
            invite.role or Role.VIEWER,
            now,
            creator_scope=invite.creator_scope,
        )
        await uow.members.add(member, deps.hasher.hash(password))
        await audit(
            uow, now, AuditAction.MEMBER_JOINED, member, target=member.id,
            details={"role": member.role.value, "invite": invite.id},
        )  # fmt: skip
        await uow.commit()
    return member


async def revoke_invite(deps: AccountsDeps, principal: Principal, invite_id: InviteId) -> None:
    """The link stops working. An invite of another agency is :class:`NotFoundError`."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        invite = await uow.invites.get(invite_id)
        if invite is None or invite.agency_id != principal.member.agency_id:
            raise NotFoundError(f"no invitation {invite_id}")
        needed = Permission.INVITE_MEMBERS if invite.kind is InviteKind.MEMBER else Permission.MANAGE_CONNECTIONS
        require(principal, needed)
        await uow.invites.revoke(invite.id, now)
        await audit(uow, now, AuditAction.INVITE_REVOKED, principal.member, target=invite.id)
        await uow.commit()


async def list_members(deps: AccountsDeps, principal: Principal) -> list[Member]:
    require(principal, Permission.MANAGE_MEMBERS)
    async with deps.uow() as uow:
        return await uow.members.for_agency(principal.member.agency_id)


async def list_invites(deps: AccountsDeps, principal: Principal) -> list[Invite]:
    require(principal, Permission.INVITE_MEMBERS)
    async with deps.uow() as uow:
        return await uow.invites.for_agency(principal.member.agency_id)


class Keep(Enum):
    """``scope=KEEP``: :func:`update_member` leaves the member's creator scope as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


async def update_member(
    deps: AccountsDeps,
    principal: Principal,
    member_id: MemberId,
    *,
    role: Role | None = None,
    scope: Iterable[CreatorId] | Keep | None = KEEP,
) -> Member:
    """Change a member's role and/or creator scope in one transaction (all or nothing): ``role`` ``None`` keeps
    it; ``scope`` :data:`KEEP` keeps it, ``None`` means every creator of the agency, a set limits a manager or
    viewer (checked against the role she ends with). Admins cannot touch owners nor make owners; the last owner
    stays one (:class:`LastOwnerError`); a creator outside the agency is :class:`NotFoundError`."""
    require(principal, Permission.MANAGE_MEMBERS)
    now = deps.clock.now()
    async with deps.uow() as uow:
        target = await _target(uow, principal, member_id)
        check_manage_member(principal.member, target)
        changed = target
        if role is not None:
            role = Role(role)
            check_role_change(principal.member, target, role, await uow.members.for_agency(target.agency_id))
            changed = replace(target, role=role, creator_scope=target.creator_scope if has_scope(role) else None)
        chosen: frozenset[CreatorId] | None = changed.creator_scope
        if not isinstance(scope, Keep):
            if scope is not None and not has_scope(changed.role):
                raise DomainValueError("owners and admins see every creator: only managers and viewers have a scope")
            chosen = await _checked_scope(uow, principal, changed.role, scope)
            changed = replace(changed, creator_scope=chosen)
        await uow.members.update(changed)
        if role is not None:
            await audit(
                uow, now, AuditAction.ROLE_CHANGED, principal.member, target=target.id,
                details={"from": target.role.value, "to": role.value},
            )  # fmt: skip
        if not isinstance(scope, Keep):
            await audit(
                uow, now, AuditAction.SCOPE_CHANGED, principal.member, target=target.id,
                details={"creators": "all" if chosen is None else ",".join(sorted(chosen))},
            )  # fmt: skip
        await uow.commit()
    return changed


async def change_role(deps: AccountsDeps, principal: Principal, member_id: MemberId, role: Role) -> Member:
    """Give a member another role. Admins cannot touch owners nor make owners; the last owner stays one."""
    return await update_member(deps, principal, member_id, role=Role(role))


async def change_scope(
    deps: AccountsDeps, principal: Principal, member_id: MemberId, scope: Iterable[CreatorId] | None
) -> Member:
    """Limit a manager or viewer to ``scope`` (``None``: every creator of the agency)."""
    return await update_member(deps, principal, member_id, scope=scope)


async def remove_member(deps: AccountsDeps, principal: Principal, member_id: MemberId) -> None:
    """Disable a member and end her sessions (her rows stay for the audit trail)."""
    require(principal, Permission.MANAGE_MEMBERS)
    now = deps.clock.now()
    async with deps.uow() as uow:
        target = await _target(uow, principal, member_id)
        check_manage_member(principal.member, target)
        if is_last_owner(target, await uow.members.for_agency(target.agency_id)):
            raise LastOwnerError("the agency's last owner cannot be removed")
        await uow.members.update(replace(target, disabled=True))
        await uow.sessions.delete_for_member(target.id)
        await audit(uow, now, AuditAction.MEMBER_REMOVED, principal.member, target=target.id)
        await uow.commit()


async def change_password(
    deps: AccountsDeps, principal: Principal, *, current: str, new: str, code: str | None = None
) -> None:
    """Change one's own password: needs the current one (and a current TOTP code when 2FA is on). Every other
    session of the member ends; this one stays."""
    _session_only(principal)
    if principal.enrolment_required:
        raise SecondFactorRequired("your agency requires two-factor authentication: enrol first")
    if principal.session is None:
        raise NotPermitted("only a browser session can change a password")
    check_password(deps.policy, new)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        await reauthenticate(deps, uow, principal, current, code)
        if current == new:
            raise ReauthenticationRequired("the new password must differ from the current one")
        await uow.members.set_password_hash(member.id, deps.hasher.hash(new))
        await uow.sessions.delete_for_member(member.id)
        await uow.sessions.add(replace(principal.session, authenticated_at=now, last_seen_at=now))
        await audit(uow, now, AuditAction.PASSWORD_CHANGED, member, target=member.id)
        await uow.commit()
