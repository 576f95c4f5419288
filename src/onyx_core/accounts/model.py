"""The values of Onyx's accounts: members and roles, sessions, second factors, invitations, API tokens, audit.

Plain frozen values; the rules over them live beside (:mod:`onyx_core.accounts.rules` and the use cases) and the
ports that store them in :mod:`onyx_core.accounts.ports`. Secrets never sit here in clear except where a use case
needs them for one call (a TOTP secret being verified): ids of sessions, invitations and API tokens are stored as
digests (:func:`onyx_core.accounts.tokens.digest`), passwords and recovery codes as argon2id hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.ids import AgencyId, ApiTokenId, CreatorId, InviteId, MemberId
from onyx_core.timeutil import optional_utc, require_utc

__all__ = [
    "AgencyPolicy",
    "ApiToken",
    "ApiTokenScope",
    "AuditAction",
    "AuditEntry",
    "Invite",
    "InviteKind",
    "LoginThrottle",
    "Member",
    "OAuthAttempt",
    "RecoveryCode",
    "Role",
    "SessionStage",
    "TotpEnrolment",
    "WebSession",
    "normalize_email",
]


class Role(StrEnum):
    """Least privilege, from most to least: see :data:`onyx_core.accounts.rules.ROLE_PERMISSIONS`."""

    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    VIEWER = "viewer"


def normalize_email(email: str) -> str:
    """The form an address is stored and looked up in (trimmed, lower case); refuses what is plainly not one."""
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or not domain or len(value) > 320 or any(c.isspace() or not c.isprintable() for c in value):
        raise DomainValueError("an email address looks like name@example.com")
    return value


@dataclass(frozen=True, slots=True)
class Member:
    """A person who signs in to one agency's Onyx.

    ``creator_scope``: ``None`` sees every creator of the agency; a set limits a manager or viewer to those
    creators (owners and admins always see all)."""

    id: MemberId
    agency_id: AgencyId
    email: str
    display_name: str
    role: Role
    created_at: datetime
    creator_scope: frozenset[CreatorId] | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalize_email(self.email))
        object.__setattr__(self, "role", Role(self.role))
        object.__setattr__(self, "created_at", require_utc(self.created_at, "Member.created_at"))
        if self.creator_scope is not None:
            object.__setattr__(self, "creator_scope", frozenset(self.creator_scope))


@dataclass(frozen=True, slots=True)
class AgencyPolicy:
    """An agency's security settings (owners change them)."""

    agency_id: AgencyId
    require_two_factor: bool = False


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """Failed password logins for one normalized email (known or not, so unknown users look the same)."""

    key: str
    failures: int
    window_start: datetime
    locked_until: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "window_start", require_utc(self.window_start, "LoginThrottle.window_start"))
        object.__setattr__(self, "locked_until", optional_utc(self.locked_until, "LoginThrottle.locked_until"))


class SessionStage(StrEnum):
    PASSWORD = "password"  # noqa: S105 (a stage, not a secret): passed the password, a second factor is still owed: only 2FA-verify and logout
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class WebSession:
    """A server-side browser session. ``id_digest`` is the digest of the cookie's value (never the value)."""

    id_digest: str
    member_id: MemberId
    agency_id: AgencyId
    stage: SessionStage
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime
    """When the member last proved who she is (password, then code): re-authentication resets it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", SessionStage(self.stage))
        for name in ("created_at", "last_seen_at", "authenticated_at"):
            object.__setattr__(self, name, require_utc(getattr(self, name), f"WebSession.{name}"))


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A member's TOTP second factor. ``secret`` is base32 and lives in clear only in memory: the repository
    encrypts it at rest. ``active`` only after one correct code; ``last_step`` is the newest accepted time step
    (the replay guard); ``failures``/``locked_until`` the short lock, ``consecutive_failures`` the long one."""

    member_id: MemberId
    secret: str = field(repr=False)
    active: bool
    created_at: datetime
    activated_at: datetime | None = None
    last_step: int | None = None
    failures: int = 0
    locked_until: datetime | None = None
    consecutive_failures: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_utc(self.created_at, "TotpEnrolment.created_at"))
        object.__setattr__(self, "activated_at", optional_utc(self.activated_at, "TotpEnrolment.activated_at"))
        object.__setattr__(self, "locked_until", optional_utc(self.locked_until, "TotpEnrolment.locked_until"))


@dataclass(frozen=True, slots=True)
class RecoveryCode:
    """One single-use recovery code, as stored: its argon2id hash."""

    id: str
    member_id: MemberId
    code_hash: str = field(repr=False)
    used_at: datetime | None = None


class InviteKind(StrEnum):
    MEMBER = "member"  # join the agency with a role (and scope)
    CREATOR_CONNECT = "creator_connect"  # a creator connects her own Fanvue account to the agency


@dataclass(frozen=True, slots=True)
class Invite:
    """A single-use expiring link. ``token_digest`` is the digest of the link's secret part."""

    id: InviteId
    agency_id: AgencyId
    kind: InviteKind
    token_digest: str = field(repr=False)
    created_by: MemberId
    created_at: datetime
    expires_at: datetime
    role: Role | None = None
    creator_scope: frozenset[CreatorId] | None = None
    email: str | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", InviteKind(self.kind))
        if self.role is not None:
            object.__setattr__(self, "role", Role(self.role))
        if self.creator_scope is not None:
            object.__setattr__(self, "creator_scope", frozenset(self.creator_scope))
        for name in ("created_at", "expires_at"):
            object.__setattr__(self, name, require_utc(getattr(self, name), f"Invite.{name}"))
        for name in ("used_at", "revoked_at"):
            object.__setattr__(self, name, optional_utc(getattr(self, name), f"Invite.{name}"))


class ApiTokenScope(StrEnum):
    READ = "read"  # GET routes
    WRITE = "write"  # unsafe routes the member's role allows (never account or 2FA changes)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A personal API token: acts as its member, limited to ``scopes``. ``token_digest`` only is stored."""

    id: ApiTokenId
    member_id: MemberId
    agency_id: AgencyId
    name: str
    scopes: frozenset[ApiTokenScope]
    token_digest: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", frozenset(ApiTokenScope(s) for s in self.scopes))
        object.__setattr__(self, "created_at", require_utc(self.created_at, "ApiToken.created_at"))
        for name in ("expires_at", "last_used_at", "revoked_at"):
            object.__setattr__(self, name, optional_utc(getattr(self, name), f"ApiToken.{name}"))


@dataclass(frozen=True, slots=True)
class OAuthAttempt:
    """A "Connect Fanvue" in flight: bound to the session that started it, single use, short-lived.
    ``state_digest`` is the digest of the OAuth ``state``; ``code_verifier`` (PKCE) is encrypted at rest."""

    state_digest: str
    session_digest: str
    agency_id: AgencyId
    member_id: MemberId | None
    code_verifier: str = field(repr=False)
    created_at: datetime
    invite_id: InviteId | None = None
    """Set when a creator connects through an invite link (no Onyx session of hers)."""
    reconnect_connection_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", require_utc(self.created_at, "OAuthAttempt.created_at"))


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"
    LOGOUT = "logout"
    TWO_FACTOR_FAILED = "two_factor_failed"
    TWO_FACTOR_LOCKED = "two_factor_locked"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    TWO_FACTOR_POLICY_CHANGED = "two_factor_policy_changed"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (names, not secrets)
    OWNER_CREATED = "owner_created"
    MEMBER_INVITED = "member_invited"
    INVITE_REVOKED = "invite_revoked"
    MEMBER_JOINED = "member_joined"
    ROLE_CHANGED = "role_changed"
    SCOPE_CHANGED = "scope_changed"
    MEMBER_REMOVED = "member_removed"
    API_TOKEN_CREATED = "api_token_created"  # noqa: S105
    API_TOKEN_REVOKED = "api_token_revoked"  # noqa: S105
    CONNECTION_ADDED = "connection_added"
    CONNECTION_RECONNECTED = "connection_reconnected"
    CONNECTION_FAILED = "connection_failed"
    CREATORS_IMPORTED = "creators_imported"
    EXPORT = "export"
    WEBHOOK_SECRET_SET = "webhook_secret_set"  # noqa: S105  # pragma: allowlist secret
    STATS_FLOOR_REBUILT = "stats_floor_rebuilt"
    CREATOR_RESYNCED = "creator_resynced"
    AGENCY_SETTINGS_CHANGED = "agency_settings_changed"
    LINK_COST_SET = "link_cost_set"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One security-relevant action. ``details`` holds short facts (never a secret); ``id`` is set by storage."""

    at: datetime
    action: AuditAction
    agency_id: AgencyId | None
    actor: MemberId | None
    target: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "AuditEntry.at"))
        object.__setattr__(self, "action", AuditAction(self.action))
        object.__setattr__(self, "details", dict(self.details))
