"""Ports of the accounts wing: where members, sessions, second factors, invitations, API tokens and the audit log
are stored, and the two algorithms the core does not implement itself (password hashing, TOTP).

One :class:`AccountsUnitOfWork` is one transaction over all of them, plus the agencies, creators and connections
the accounts rules need to read. Implemented in memory by :mod:`onyx_core.testing.accounts_fakes` and on SQL by
:mod:`onyx_adapters.sql.accounts`; :mod:`onyx_core.testing.account_contracts` holds both to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from onyx_core.accounts.model import (
    AgencyPolicy,
    ApiToken,
    AuditEntry,
    Invite,
    LoginThrottle,
    Member,
    OAuthAttempt,
    RecoveryCode,
    TotpEnrolment,
    WebSession,
)
from onyx_core.errors import OnyxError
from onyx_core.ids import AgencyId, ApiTokenId, InviteId, MemberId
from onyx_core.ports import (
    AgencyRepository,
    ChatterDayRepository,
    ConnectionRepository,
    CreatorRepository,
    TrackingLinkCostRepository,
    TrackingLinkRepository,
    Transaction,
)

__all__ = [
    "AccountsUnitOfWork",
    "AccountsUnitOfWorkFactory",
    "AgencyPolicyRepository",
    "ApiTokenRepository",
    "AuditLog",
    "DuplicateEmailError",
    "InviteRepository",
    "LoginThrottleRepository",
    "MemberRepository",
    "OAuthAttemptRepository",
    "PasswordHasher",
    "RecoveryCodeRepository",
    "SessionRepository",
    "TotpAlgorithm",
    "TotpRepository",
]


class DuplicateEmailError(OnyxError):
    """A member with this email address exists already (addresses are unique across Onyx: one login each)."""


class MemberRepository(Protocol):
    async def get(self, member_id: MemberId) -> Member | None: ...

    async def by_email(self, email: str) -> Member | None:
        """``email`` normalized (:func:`~onyx_core.accounts.model.normalize_email`)."""
        ...

    async def for_agency(self, agency_id: AgencyId) -> list[Member]:
        """The agency's members, oldest first."""
        ...

    async def add(self, member: Member, password_hash: str) -> None:
        """Raise :class:`DuplicateEmailError` when the address is taken."""
        ...

    async def update(self, member: Member) -> None:
        """Store role, scope, display name and ``disabled`` (email and agency never change)."""
        ...

    async def password_hash(self, member_id: MemberId) -> str | None: ...

    async def set_password_hash(self, member_id: MemberId, password_hash: str) -> None: ...


class AgencyPolicyRepository(Protocol):
    async def get(self, agency_id: AgencyId) -> AgencyPolicy:
        """The stored policy, or the default one."""
        ...

    async def save(self, policy: AgencyPolicy) -> None: ...


class LoginThrottleRepository(Protocol):
    async def get(self, key: str) -> LoginThrottle | None: ...

    async def get_for_update(self, key: str) -> LoginThrottle | None:
        """Like :meth:`get`, and hold a lock on ``key`` until the unit of work ends, also when no row exists yet
        (e.g. ``pg_advisory_xact_lock``): logins of one email serialise, so concurrent failures are all counted."""
        ...

    async def save(self, throttle: LoginThrottle) -> None: ...

    async def clear(self, key: str) -> None: ...


class SessionRepository(Protocol):
    async def add(self, session: WebSession) -> None: ...

    async def get(self, id_digest: str) -> WebSession | None: ...

    async def save(self, session: WebSession) -> None:
        """Store ``last_seen_at``, ``stage`` and ``authenticated_at`` of an existing session."""
        ...

    async def delete(self, id_digest: str) -> None: ...

    async def delete_for_member(self, member_id: MemberId) -> int:
        """Kill every session of a member (password changed, member removed); how many there were."""
        ...


class TotpRepository(Protocol):
    """``secret`` is encrypted at rest with the :class:`~onyx_core.ports.Cipher`."""

    async def get(self, member_id: MemberId) -> TotpEnrolment | None: ...

    async def get_for_update(self, member_id: MemberId) -> TotpEnrolment | None:
        """Like :meth:`get`, and lock the row until the unit of work ends (``SELECT ... FOR UPDATE``): code checks
        of one member serialise, so concurrent wrong codes are all counted."""
        ...

    async def save(self, enrolment: TotpEnrolment) -> None:
        """Insert or replace the member's enrolment, except that a stored ``last_step`` never goes down (keep the
        greater): a unit of work that read the row before a concurrent :meth:`claim_step` committed must not undo
        the replay guard when it saves its failure counters."""
        ...

    async def delete(self, member_id: MemberId) -> None: ...

    async def claim_step(self, member_id: MemberId, step: int) -> bool:
        """The replay guard: atomically record ``step`` as the newest accepted one if it is newer than the stored
        ``last_step``; True only for the one caller that did (also under concurrent calls)."""
        ...


class RecoveryCodeRepository(Protocol):
    async def replace(self, member_id: MemberId, code_hashes: Sequence[str]) -> None:
        """The member's codes become these (every older one is gone)."""
        ...

    async def unused(self, member_id: MemberId) -> list[RecoveryCode]: ...

    async def consume(self, code_id: str, at: datetime) -> bool:
        """Mark a code used; True only for the one caller that did (single use under concurrency)."""
        ...


class InviteRepository(Protocol):
    async def add(self, invite: Invite) -> None: ...

    async def get(self, invite_id: InviteId) -> Invite | None: ...

    async def by_token_digest(self, token_digest: str) -> Invite | None: ...

    async def for_agency(self, agency_id: AgencyId) -> list[Invite]: ...

    async def consume(self, invite_id: InviteId, at: datetime) -> bool:
        """Mark used if neither used nor revoked; True only for the one caller that did."""
        ...

    async def revoke(self, invite_id: InviteId, at: datetime) -> None: ...


class ApiTokenRepository(Protocol):
    async def add(self, token: ApiToken) -> None: ...

    async def get(self, token_id: ApiTokenId) -> ApiToken | None: ...

    async def by_digest(self, token_digest: str) -> ApiToken | None: ...

    async def for_member(self, member_id: MemberId) -> list[ApiToken]: ...

    async def save(self, token: ApiToken) -> None:
        """Store ``last_used_at`` and ``revoked_at``."""
        ...


class OAuthAttemptRepository(Protocol):
    """``code_verifier`` is encrypted at rest."""

    async def add(self, attempt: OAuthAttempt) -> None: ...

    async def take(self, state_digest: str) -> OAuthAttempt | None:
        """Remove and return the attempt (single use: a second take of the same state gets ``None``)."""
        ...

    async def purge_before(self, instant: datetime) -> int: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def for_agency(
        self, agency_id: AgencyId, *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back."""
        ...


class AccountsUnitOfWork(Transaction, Protocol):
    """One transaction over the accounts repositories. Leaving the ``async with`` without :meth:`commit` rolls
    back."""

    agencies: AgencyRepository
    creators: CreatorRepository
    connections: ConnectionRepository
    tracking_links: TrackingLinkRepository
    link_costs: TrackingLinkCostRepository
    chatter_days: ChatterDayRepository
    members: MemberRepository
    policies: AgencyPolicyRepository
    throttles: LoginThrottleRepository
    sessions: SessionRepository
    totp: TotpRepository
    recovery_codes: RecoveryCodeRepository
    invites: InviteRepository
    api_tokens: ApiTokenRepository
    oauth_attempts: OAuthAttemptRepository
    audit: AuditLog


AccountsUnitOfWorkFactory = Callable[[], AccountsUnitOfWork]


class PasswordHasher(Protocol):
    """argon2id in production (:mod:`onyx_adapters.security.passwords`)."""

    def hash(self, secret: str) -> str: ...

    def verify(self, stored_hash: str, secret: str) -> bool:
        """False for a wrong secret or an unreadable hash; never raises for those."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool:
        """The stored hash is weaker than today's parameters (rehash at the next successful login)."""
        ...


class TotpAlgorithm(Protocol):
    """RFC 6238 (pyotp in production, :mod:`onyx_adapters.security.totp`): 6 digits, 30 s steps, SHA-1."""

    def new_secret(self) -> str:
        """A fresh base32 secret of at least 160 bits."""
        ...

    def matching_step(self, secret: str, code: str, at: datetime, window: int) -> int | None:
        """The time step (``floor(unix / 30)``) within ``window`` steps of ``at`` whose code is ``code``, else
        ``None``. Constant-time per candidate."""
        ...

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str: ...
