"""What every accounts use case runs with, the values they return, and the guards over a :class:`Principal`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from onyx_core.accounts.errors import NotPermitted, SecondFactorRequired
from onyx_core.accounts.model import ApiToken, ApiTokenScope, AuditAction, AuditEntry, Invite, Member, WebSession
from onyx_core.accounts.policy import AccountsPolicy
from onyx_core.accounts.ports import AccountsUnitOfWork, AccountsUnitOfWorkFactory, PasswordHasher, TotpAlgorithm
from onyx_core.accounts.rules import Permission, role_permits, sees_creator
from onyx_core.catalog import Creator
from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.ports import Clock, CreatorRepository

__all__ = [
    "AccountsDeps",
    "ApiTokenIssued",
    "ConnectStart",
    "InviteIssued",
    "Principal",
    "SessionIssued",
    "TotpSetup",
    "require",
    "require_creator",
    "visible_creators",
]


@dataclass(frozen=True, slots=True)
class AccountsDeps:
    """The ports and policy of the accounts use cases; built once by the composition root."""

    uow: AccountsUnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    totp: TotpAlgorithm
    policy: AccountsPolicy = field(default_factory=AccountsPolicy)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a member, through a browser session or an API token.

    ``second_factor_due``: the session passed the password only (it may verify 2FA or log out, nothing else).
    ``enrolment_required``: the agency requires 2FA and the member has none (she may only enrol or log out)."""

    member: Member
    session: WebSession | None = None
    api_token: ApiToken | None = None
    second_factor_due: bool = False
    enrolment_required: bool = False

    @property
    def restricted(self) -> bool:
        """Owes a second factor or an enrolment: every permission is refused."""
        return self.second_factor_due or self.enrolment_required

    def can(self, permission: Permission) -> bool:
        return not self.restricted and role_permits(self.member.role, permission)

    def within_scope(self, scope: ApiTokenScope) -> bool:
        """Whether the credential allows ``scope``: a session has every scope (its member's role decides the
        rest), an API token only those it was made with (``read``: reading; ``write``: changes)."""
        return self.api_token is None or ApiTokenScope(scope) in self.api_token.scopes


@dataclass(frozen=True, slots=True)
class SessionIssued:
    """A new session: ``secret`` goes into the cookie (once; only its digest is stored)."""

    secret: str = field(repr=False)
    session: WebSession
    member: Member
    second_factor_due: bool
    enrolment_required: bool


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """What the enrolment page shows (as text and QR code): never stored in clear."""

    secret: str = field(repr=False)
    provisioning_uri: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class InviteIssued:
    invite: Invite
    secret: str = field(repr=False)
    """The link's secret part, shown once."""


@dataclass(frozen=True, slots=True)
class ApiTokenIssued:
    token: ApiToken
    secret: str = field(repr=False)
    """``onyx_pat_...``, shown once."""


@dataclass(frozen=True, slots=True)
class ConnectStart:
    """The OAuth ``state`` to send to Fanvue and the PKCE ``code_verifier`` to derive the challenge from."""

    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


def require_unrestricted(principal: Principal) -> None:
    """Raise :class:`SecondFactorRequired` while the principal owes a second factor or an enrolment."""
    if principal.second_factor_due:
        raise SecondFactorRequired("verify your second factor first")
    if principal.enrolment_required:
        raise SecondFactorRequired("your agency requires two-factor authentication: enrol first")


def require(principal: Principal, permission: Permission) -> None:
    """Raise :class:`SecondFactorRequired` or :class:`NotPermitted` unless the principal may ``permission``."""
    require_unrestricted(principal)
    if not principal.can(permission):
        raise NotPermitted(f"your role cannot {permission.value.replace('_', ' ')}")


def visible_creators(principal: Principal, creators: Sequence[Creator]) -> list[Creator]:
    """The creators the principal may see (her agency's, within her scope); none while restricted."""
    if not principal.can(Permission.VIEW_CREATORS):
        return []
    return [c for c in creators if sees_creator(principal.member, c)]


async def require_creator(principal: Principal, creator_id: CreatorId, creators: CreatorRepository) -> Creator:
    """The creator, if the principal may see it; :class:`NotFoundError` for one of another agency or outside her
    scope, exactly as for one that does not exist."""
    require(principal, Permission.VIEW_CREATORS)
    creator = await creators.get(creator_id)
    if creator is None or not sees_creator(principal.member, creator):
        raise NotFoundError(f"no creator {creator_id}")
    return creator


def new_id() -> str:
    return uuid.uuid4().hex


async def audit(
    uow: AccountsUnitOfWork,
    at: datetime,
    action: AuditAction,
    member: Member | None,
    *,
    target: str | None = None,
    details: Mapping[str, str] | None = None,
    ip: str | None = None,
) -> None:
    """Record one audit entry in ``uow`` (acting member, her agency)."""
    await uow.audit.record(
        AuditEntry(
            at=at,
            action=action,
            agency_id=None if member is None else member.agency_id,
            actor=None if member is None else member.id,
            target=target,
            details=dict(details or {}),
            ip=ip,
        )
    )
