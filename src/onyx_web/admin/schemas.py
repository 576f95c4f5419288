"""The bodies of the agency-management routes and the public invitation routes, typed so ``/schema`` describes
them exactly. No body ever carries an invitation's secret but :class:`InviteLink` (shown once, to its maker)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from onyx_core.accounts.model import AuditEntry, Invite, InviteKind, Member, Role

__all__ = [
    "AcceptInviteBody",
    "AuditEntryView",
    "AuditPage",
    "InviteBody",
    "InviteLink",
    "InvitePreviewView",
    "InviteView",
    "MemberPatch",
    "MemberView",
    "TwoFactorPolicyBody",
]

CreatorIds = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]], msgspec.Meta(max_length=500)]
"""A creator scope as sent: the creators' ids (the agency's own; any other answers 404)."""
InviteStatus = Literal["pending", "used", "revoked", "expired"]


class MemberView(msgspec.Struct, frozen=True):
    id: str
    email: str
    display_name: str
    role: Role
    creator_ids: list[str] | None
    """``null``: every creator of the agency (always so for owners and admins)."""
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, member: Member) -> MemberView:
        scope = None if member.creator_scope is None else sorted(str(c) for c in member.creator_scope)
        return cls(
            str(member.id), member.email, member.display_name, member.role, scope, member.created_at, member.disabled
        )


class MemberPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new role and/or creator scope; a field left out stays as it is (``creator_ids: null``: every creator)."""

    role: Role | msgspec.UnsetType = msgspec.UNSET
    creator_ids: CreatorIds | msgspec.UnsetType | None = msgspec.UNSET


class InviteBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: Role
    creator_ids: CreatorIds | None = None
    """Limits a manager or viewer to these creators (``null``: every creator)."""
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)] | None = None
    """Only this address may accept the invitation (optional)."""


class InviteLink(msgspec.Struct, frozen=True):
    """The link to hand to the invitee: shown this once (only its digest is stored)."""

    id: str
    url: str
    expires_at: datetime


class InviteView(msgspec.Struct, frozen=True):
    id: str
    kind: InviteKind
    role: Role | None
    creator_ids: list[str] | None
    email: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime
    status: InviteStatus

    @classmethod
    def of(cls, invite: Invite, now: datetime) -> InviteView:
        status: InviteStatus = "pending"
        if invite.used_at is not None:
            status = "used"
        elif invite.revoked_at is not None:
            status = "revoked"
        elif now >= invite.expires_at:
            status = "expired"
        scope = None if invite.creator_scope is None else sorted(str(c) for c in invite.creator_scope)
        return cls(
            str(invite.id), invite.kind, invite.role, scope, invite.email, str(invite.created_by),
            invite.created_at, invite.expires_at, status,
        )  # fmt: skip


class TwoFactorPolicyBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    required: bool
    """Every member of the agency must use TOTP 2FA (those without it may only enrol until they do)."""


class AuditEntryView(msgspec.Struct, frozen=True):
    id: int
    at: datetime
    action: str
    actor: str | None
    """The member who acted (``null``: nobody signed in, e.g. a failed login of an unknown address)."""
    target: str | None
    details: dict[str, str]
    ip: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls(
            entry.id or 0, entry.at, entry.action.value, entry.actor, entry.target, dict(entry.details), entry.ip
        )


class AuditPage(msgspec.Struct, frozen=True):
    entries: list[AuditEntryView]
    """Newest first."""
    next_before: int | None
    """Pass as ``before`` for the next (older) page; ``null`` when this page is the last."""


class InvitePreviewView(msgspec.Struct, frozen=True):
    kind: InviteKind
    role: Role | None
    agency_name: str
    expires_at: datetime


class AcceptInviteBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]

    def __repr__(self) -> str:  # never the password
        return f"AcceptInviteBody(email={self.email!r}, display_name={self.display_name!r})"
