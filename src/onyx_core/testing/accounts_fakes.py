"""In-memory implementations of every port in :mod:`onyx_core.accounts.ports`, and deterministic stand-ins for the
two algorithms (:class:`FakeHasher`, :class:`FakeTotp`). Standard library only.

An :class:`InMemoryAccountsStore` is the "database"; many :class:`InMemoryAccountsUnitOfWork` s share one. As in
:mod:`onyx_core.testing.fakes`, a unit of work stages its writes and sees them, :meth:`commit` applies them all at
once, and leaving the ``async with`` without committing discards them. Agencies, creators and connections live in
an :class:`~onyx_core.testing.fakes.InMemoryStore` (given, or a new one), so tests can put creators there.

The single-use operations (``claim_step``, recovery and invite ``consume``, OAuth ``take``) and adding a member
(unique email) take a row lock held until the transaction ends, as an ``UPDATE ... WHERE`` or ``INSERT`` does in
a database: concurrent units serialise, and the second sees what the first committed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import struct
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

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
from onyx_core.accounts.ports import (
    AccountsUnitOfWork,
    AgencyPolicyRepository,
    ApiTokenRepository,
    AuditLog,
    DuplicateEmailError,
    InviteRepository,
    LoginThrottleRepository,
    MemberRepository,
    OAuthAttemptRepository,
    PasswordHasher,
    RecoveryCodeRepository,
    SessionRepository,
    TotpAlgorithm,
    TotpRepository,
)
from onyx_core.ids import AgencyId, ApiTokenId, InviteId, MemberId
from onyx_core.ports import (
    AgencyRepository,
    ChatterDayRepository,
    ConnectionRepository,
    CreatorRepository,
    TrackingLinkCostRepository,
    TrackingLinkRepository,
)
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork
from onyx_core.timeutil import require_utc

__all__ = [
    "FakeHasher",
    "FakeTotp",
    "InMemoryAccountsStore",
    "InMemoryAccountsUnitOfWork",
]

K = TypeVar("K")
V = TypeVar("V")


class _Gone:
    """A staged deletion."""


_GONE = _Gone()


async def _io() -> None:
    """Every repository call yields to other tasks once, as a database round trip does: concurrent units of work
    interleave between their statements, so the tests see the races a real database would allow."""
    await asyncio.sleep(0)


class InMemoryAccountsStore:
    """The committed accounts state (plain dicts, readable in assertions) beside ``base`` (agencies, creators,
    connections). Change it only through units of work (or before any is open)."""

    def __init__(self, base: InMemoryStore | None = None) -> None:
        self.base = base if base is not None else InMemoryStore()
        self.members: dict[MemberId, Member] = {}
        self.password_hashes: dict[MemberId, str] = {}
        self.policies: dict[AgencyId, AgencyPolicy] = {}
        self.throttles: dict[str, LoginThrottle] = {}
        self.sessions: dict[str, WebSession] = {}
        self.totp: dict[MemberId, TotpEnrolment] = {}
        self.recovery_codes: dict[str, RecoveryCode] = {}
        self.invites: dict[InviteId, Invite] = {}
        self.api_tokens: dict[ApiTokenId, ApiToken] = {}
        self.oauth_attempts: dict[str, OAuthAttempt] = {}
        self.audit: list[AuditEntry] = []
        """Committed entries, oldest first, with their ids."""
        self._row_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._locks_loop: asyncio.AbstractEventLoop | None = None

    def _row_lock(self, key: tuple[str, str]) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop is not self._locks_loop:
            self._locks_loop, self._row_locks = loop, {}
        return self._row_locks.setdefault(key, asyncio.Lock())

    def uow(self) -> InMemoryAccountsUnitOfWork:
        """A fresh unit of work: pass ``store.uow`` as the ``AccountsUnitOfWorkFactory``."""
        return InMemoryAccountsUnitOfWork(self)


class _Table(Generic[K, V]):
    """Committed rows overlaid with staged ones (a staged :data:`_GONE` is a deletion)."""

    def __init__(self, committed: dict[K, V]) -> None:
        self.committed = committed
        self.staged: dict[K, V | _Gone] = {}

    def get(self, key: K) -> V | None:
        if key in self.staged:
            value = self.staged[key]
            return None if isinstance(value, _Gone) else value
        return self.committed.get(key)

    def put(self, key: K, value: V) -> None:
        self.staged[key] = value

    def delete(self, key: K) -> None:
        self.staged[key] = _GONE

    def items(self) -> Iterator[tuple[K, V]]:
        for key, value in self.staged.items():
            if not isinstance(value, _Gone):
                yield key, value
        yield from ((k, v) for k, v in self.committed.items() if k not in self.staged)

    def values(self) -> Iterator[V]:
        return (v for _, v in self.items())

    def apply(self) -> None:
        for key, value in self.staged.items():
            if isinstance(value, _Gone):
                self.committed.pop(key, None)
            else:
                self.committed[key] = value
        self.staged.clear()

    def discard(self) -> None:
        self.staged.clear()


class InMemoryAccountsUnitOfWork:
    """Implements :class:`~onyx_core.accounts.ports.AccountsUnitOfWork` over an :class:`InMemoryAccountsStore`
    (and, for agencies, creators and connections, an :class:`InMemoryUnitOfWork` over its base store, committed
    together). Usable again after a commit or rollback, as a new transaction."""

    def __init__(self, store: InMemoryAccountsStore) -> None:
        self.store = store
        self._base = InMemoryUnitOfWork(store.base)
        self._members = _Table(store.members)
        self._hashes = _Table(store.password_hashes)
        self._policies = _Table(store.policies)
        self._throttles = _Table(store.throttles)
        self._sessions = _Table(store.sessions)
        self._totp = _Table(store.totp)
        self._codes = _Table(store.recovery_codes)
        self._invites = _Table(store.invites)
        self._tokens = _Table(store.api_tokens)
        self._attempts = _Table(store.oauth_attempts)
        self._tables: tuple[_Table[object, object], ...] = (
            self._members, self._hashes, self._policies, self._throttles, self._sessions, self._totp,  # type: ignore[assignment]
            self._codes, self._invites, self._tokens, self._attempts,
        )  # fmt: skip
        self._audit: list[AuditEntry] = []
        self._held: dict[tuple[str, str], asyncio.Lock] = {}

        self.agencies: AgencyRepository = self._base.agencies
        self.creators: CreatorRepository = self._base.creators
        self.connections: ConnectionRepository = self._base.connections
        self.tracking_links: TrackingLinkRepository = self._base.tracking_links
        self.link_costs: TrackingLinkCostRepository = self._base.link_costs
        self.chatter_days: ChatterDayRepository = self._base.chatter_days
        self.members: MemberRepository = _Members(self)
        self.policies: AgencyPolicyRepository = _Policies(self._policies)
        self.throttles: LoginThrottleRepository = _Throttles(self)
        self.sessions: SessionRepository = _Sessions(self._sessions)
        self.totp: TotpRepository = _Totp(self)
        self.recovery_codes: RecoveryCodeRepository = _RecoveryCodes(self)
        self.invites: InviteRepository = _Invites(self)
        self.api_tokens: ApiTokenRepository = _ApiTokens(self._tokens)
        self.oauth_attempts: OAuthAttemptRepository = _OAuthAttempts(self)
        self.audit: AuditLog = _Audit(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._base.__aexit__(exc_type, exc, tb)
        self._end()

    async def commit(self) -> None:
        """Apply every staged write at once (a failure injected into the base store applies nothing)."""
        try:
            await self._base.commit()
        except Exception:
            self._end()
            raise
        for table in self._tables:
            table.apply()
        next_id = (self.store.audit[-1].id or 0) + 1 if self.store.audit else 1
        for offset, entry in enumerate(self._audit):
            self.store.audit.append(replace(entry, id=next_id + offset))
        self._end()

    async def rollback(self) -> None:
        await self._base.rollback()
        self._end()

    def _end(self) -> None:
        for table in self._tables:
            table.discard()
        self._audit.clear()
        held, self._held = self._held, {}
        for lock in held.values():
            lock.release()

    async def _lock(self, table: str, key: str) -> None:
        row = (table, key)
        if row in self._held:
            return
        lock = self.store._row_lock(row)
        await lock.acquire()
        self._held[row] = lock


class _Members:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t, self._hashes = uow, uow._members, uow._hashes

    async def get(self, member_id: MemberId) -> Member | None:
        await _io()
        return self._t.get(member_id)

    async def by_email(self, email: str) -> Member | None:
        await _io()
        return next((m for m in self._t.values() if m.email == email), None)

    async def for_agency(self, agency_id: AgencyId) -> list[Member]:
        await _io()
        return sorted((m for m in self._t.values() if m.agency_id == agency_id), key=lambda m: (m.created_at, m.id))

    async def add(self, member: Member, password_hash: str) -> None:
        await _io()
        await self._uow._lock("member_email", member.email)  # a unique index: a second adder waits, then sees it
        if await self.by_email(member.email) is not None or self._t.get(member.id) is not None:
            raise DuplicateEmailError(f"a member with email {member.email} exists")
        self._t.put(member.id, member)
        self._hashes.put(member.id, password_hash)

    async def update(self, member: Member) -> None:
        await _io()
        stored = self._t.get(member.id)
        if stored is not None:
            self._t.put(member.id, replace(member, email=stored.email, agency_id=stored.agency_id))

    async def password_hash(self, member_id: MemberId) -> str | None:
        await _io()
        return self._hashes.get(member_id)

    async def set_password_hash(self, member_id: MemberId, password_hash: str) -> None:
        await _io()
        if self._t.get(member_id) is not None:
            self._hashes.put(member_id, password_hash)


class _Policies:
    def __init__(self, table: _Table[AgencyId, AgencyPolicy]) -> None:
        self._t = table

    async def get(self, agency_id: AgencyId) -> AgencyPolicy:
        await _io()
        return self._t.get(agency_id) or AgencyPolicy(agency_id)

    async def save(self, policy: AgencyPolicy) -> None:
        await _io()
        self._t.put(policy.agency_id, policy)


class _Throttles:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t = uow, uow._throttles

    async def get(self, key: str) -> LoginThrottle | None:
        await _io()
        return self._t.get(key)

    async def get_for_update(self, key: str) -> LoginThrottle | None:
        await _io()
        await self._uow._lock("throttles", key)
        return self._t.get(key)

    async def save(self, throttle: LoginThrottle) -> None:
        await _io()
        self._t.put(throttle.key, throttle)

    async def clear(self, key: str) -> None:
        await _io()
        self._t.delete(key)


class _Sessions:
    def __init__(self, table: _Table[str, WebSession]) -> None:
        self._t = table

    async def add(self, session: WebSession) -> None:
        await _io()
        self._t.put(session.id_digest, session)

    async def get(self, id_digest: str) -> WebSession | None:
        await _io()
        return self._t.get(id_digest)

    async def save(self, session: WebSession) -> None:
        await _io()
        stored = self._t.get(session.id_digest)
        if stored is not None:
            self._t.put(
                session.id_digest,
                replace(
                    stored,
                    last_seen_at=session.last_seen_at,
                    stage=session.stage,
                    authenticated_at=session.authenticated_at,
                ),
            )

    async def delete(self, id_digest: str) -> None:
        await _io()
        self._t.delete(id_digest)

    async def delete_for_member(self, member_id: MemberId) -> int:
        await _io()
        doomed = [k for k, s in self._t.items() if s.member_id == member_id]
        for key in doomed:
            self._t.delete(key)
        return len(doomed)


class _Totp:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t = uow, uow._totp

    async def get(self, member_id: MemberId) -> TotpEnrolment | None:
        await _io()
        return self._t.get(member_id)

    async def get_for_update(self, member_id: MemberId) -> TotpEnrolment | None:
        await _io()
        await self._uow._lock("totp", member_id)
        return self._t.get(member_id)

    async def save(self, enrolment: TotpEnrolment) -> None:
        await _io()
        await self._uow._lock("totp", enrolment.member_id)
        stored = self._t.get(enrolment.member_id)
        if stored is not None and stored.last_step is not None:  # the replay guard only moves forward
            enrolment = replace(enrolment, last_step=max(stored.last_step, enrolment.last_step or stored.last_step))
        self._t.put(enrolment.member_id, enrolment)

    async def delete(self, member_id: MemberId) -> None:
        await _io()
        await self._uow._lock("totp", member_id)
        self._t.delete(member_id)

    async def claim_step(self, member_id: MemberId, step: int) -> bool:
        await _io()
        await self._uow._lock("totp", member_id)
        stored = self._t.get(member_id)
        if stored is None or (stored.last_step is not None and step <= stored.last_step):
            return False
        self._t.put(member_id, replace(stored, last_step=step))
        return True


class _RecoveryCodes:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t = uow, uow._codes

    async def replace(self, member_id: MemberId, code_hashes: Sequence[str]) -> None:
        await _io()
        for key in [k for k, c in self._t.items() if c.member_id == member_id]:
            self._t.delete(key)
        for code_hash in code_hashes:
            code_id = secrets.token_hex(12)
            self._t.put(code_id, RecoveryCode(code_id, member_id, code_hash))

    async def unused(self, member_id: MemberId) -> list[RecoveryCode]:
        await _io()
        return sorted(
            (c for c in self._t.values() if c.member_id == member_id and c.used_at is None), key=lambda c: c.id
        )

    async def consume(self, code_id: str, at: datetime) -> bool:
        await _io()
        await self._uow._lock("recovery_codes", code_id)
        stored = self._t.get(code_id)
        if stored is None or stored.used_at is not None:
            return False
        self._t.put(code_id, replace(stored, used_at=require_utc(at, "at")))
        return True


class _Invites:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t = uow, uow._invites

    async def add(self, invite: Invite) -> None:
        await _io()
        self._t.put(invite.id, invite)

    async def get(self, invite_id: InviteId) -> Invite | None:
        await _io()
        return self._t.get(invite_id)

    async def by_token_digest(self, token_digest: str) -> Invite | None:
        await _io()
        return next((i for i in self._t.values() if i.token_digest == token_digest), None)

    async def for_agency(self, agency_id: AgencyId) -> list[Invite]:
        await _io()
        return sorted((i for i in self._t.values() if i.agency_id == agency_id), key=lambda i: (i.created_at, i.id))

    async def consume(self, invite_id: InviteId, at: datetime) -> bool:
        await _io()
        await self._uow._lock("invites", invite_id)
        stored = self._t.get(invite_id)
        if stored is None or stored.used_at is not None or stored.revoked_at is not None:
            return False
        self._t.put(invite_id, replace(stored, used_at=require_utc(at, "at")))
        return True

    async def revoke(self, invite_id: InviteId, at: datetime) -> None:
        await _io()
        await self._uow._lock("invites", invite_id)
        stored = self._t.get(invite_id)
        if stored is not None and stored.revoked_at is None:
            self._t.put(invite_id, replace(stored, revoked_at=require_utc(at, "at")))


class _ApiTokens:
    def __init__(self, table: _Table[ApiTokenId, ApiToken]) -> None:
        self._t = table

    async def add(self, token: ApiToken) -> None:
        await _io()
        self._t.put(token.id, token)

    async def get(self, token_id: ApiTokenId) -> ApiToken | None:
        await _io()
        return self._t.get(token_id)

    async def by_digest(self, token_digest: str) -> ApiToken | None:
        await _io()
        return next((t for t in self._t.values() if t.token_digest == token_digest), None)

    async def for_member(self, member_id: MemberId) -> list[ApiToken]:
        await _io()
        return sorted((t for t in self._t.values() if t.member_id == member_id), key=lambda t: (t.created_at, t.id))

    async def save(self, token: ApiToken) -> None:
        await _io()
        stored = self._t.get(token.id)
        if stored is not None:
            self._t.put(token.id, replace(stored, last_used_at=token.last_used_at, revoked_at=token.revoked_at))


class _OAuthAttempts:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow, self._t = uow, uow._attempts

    async def add(self, attempt: OAuthAttempt) -> None:
        await _io()
        self._t.put(attempt.state_digest, attempt)

    async def take(self, state_digest: str) -> OAuthAttempt | None:
        await _io()
        await self._uow._lock("oauth_attempts", state_digest)
        attempt = self._t.get(state_digest)
        if attempt is not None:
            self._t.delete(state_digest)
        return attempt

    async def purge_before(self, instant: datetime) -> int:
        await _io()
        instant = require_utc(instant, "instant")
        doomed = [k for k, a in self._t.items() if a.created_at < instant]
        for key in doomed:
            self._t.delete(key)
        return len(doomed)


class _Audit:
    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow = uow

    async def record(self, entry: AuditEntry) -> None:
        await _io()
        self._uow._audit.append(entry)

    async def for_agency(
        self, agency_id: AgencyId, *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEntry]:
        await _io()
        committed = [
            e
            for e in reversed(self._uow.store.audit)
            if e.agency_id == agency_id and (before_id is None or (e.id is not None and e.id < before_id))
        ]
        staged = [] if before_id is not None else [e for e in reversed(self._uow._audit) if e.agency_id == agency_id]
        return [*staged, *committed][:limit]


# ----------------------------------------------------------------------------- the algorithms, for tests


class FakeHasher:
    """Implements :class:`~onyx_core.accounts.ports.PasswordHasher` FOR TESTS ONLY: salted SHA-256, fast and NOT
    a password hash. Each hash names its ``cost`` (``fake$<cost>$<salt>$<hex>``) so tests can store a "weaker"
    one and watch it be rehashed; :attr:`verifications` counts :meth:`verify` calls (unknown emails must cost
    one too)."""

    def __init__(self, cost: int = 2) -> None:
        self.cost = cost
        self.verifications = 0
        self.hashes = 0

    def _digest(self, cost: int, salt: str, secret: str) -> str:
        return hashlib.sha256(f"{cost}${salt}${secret}".encode()).hexdigest()

    def hash(self, secret: str, *, cost: int | None = None) -> str:
        self.hashes += 1
        used = self.cost if cost is None else cost
        salt = secrets.token_hex(8)
        return f"fake${used}${salt}${self._digest(used, salt, secret)}"

    def verify(self, stored_hash: str, secret: str) -> bool:
        self.verifications += 1
        parts = stored_hash.split("$")
        if len(parts) != 4 or parts[0] != "fake" or not parts[1].isdigit():
            return False
        return hmac.compare_digest(parts[3], self._digest(int(parts[1]), parts[2], secret))

    def needs_rehash(self, stored_hash: str) -> bool:
        parts = stored_hash.split("$")
        return len(parts) != 4 or not parts[1].isdigit() or int(parts[1]) < self.cost

    @staticmethod
    def cost_of(stored_hash: str) -> int:
        return int(stored_hash.split("$")[1])


class FakeTotp:
    """Implements :class:`~onyx_core.accounts.ports.TotpAlgorithm` with RFC 6238 (HMAC-SHA-1, 6 digits, 30 s)
    from the standard library: correct, but use the adapters' pyotp one in production. :meth:`code_at` gives tests
    the code of an instant; :attr:`secrets_made` counts :meth:`new_secret` calls."""

    PERIOD = 30
    DIGITS = 6

    def __init__(self) -> None:
        self.secrets_made = 0

    def new_secret(self) -> str:
        self.secrets_made += 1
        return base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits

    @classmethod
    def step_of(cls, at: datetime) -> int:
        return int(require_utc(at, "at").timestamp()) // cls.PERIOD

    @classmethod
    def code_for_step(cls, secret: str, step: int) -> str:
        """RFC 4226 HOTP of ``step``."""
        key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
        mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
        offset = mac[-1] & 0x0F
        number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
        return str(number % 10**cls.DIGITS).zfill(cls.DIGITS)

    @classmethod
    def code_at(cls, secret: str, at: datetime) -> str:
        return cls.code_for_step(secret, cls.step_of(at))

    def matching_step(self, secret: str, code: str, at: datetime, window: int) -> int | None:
        now, found = self.step_of(at), None
        for step in range(now - window, now + window + 1):  # every candidate compared: no early exit
            if hmac.compare_digest(self.code_for_step(secret, step).encode(), code.encode()) and found is None:
                found = step
        return found

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        query = f"secret={secret}&issuer={_quote(issuer)}&algorithm=SHA1&digits=6&period=30"
        return f"otpauth://totp/{_quote(issuer)}:{_quote(account)}?{query}"


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(text: str) -> str:
    """Percent-encoding (RFC 3986) of everything but the unreserved characters (no ``urllib`` in the core)."""
    return "".join(chr(b) if chr(b) in _UNRESERVED else f"%{b:02X}" for b in text.encode())


if TYPE_CHECKING:  # never runs: makes mypy prove each fake implements its port

    def _implements_ports(store: InMemoryAccountsStore) -> tuple[AccountsUnitOfWork, PasswordHasher, TotpAlgorithm]:
        return InMemoryAccountsUnitOfWork(store), FakeHasher(), FakeTotp()
