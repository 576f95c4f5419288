"""The accounts test kit (fixtures in conftest.py): the in-memory fakes, a manual clock, a fake hasher and a
real (stdlib) TOTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from onyx_core.accounts import (
    AccountsDeps,
    AccountsPolicy,
    Principal,
    accept_invite,
    authenticate_session,
    begin_totp_enrolment,
    confirm_totp_enrolment,
    create_owner,
    invite_member,
    login_password,
    verify_totp,
)
from onyx_core.accounts.model import Member, Role
from onyx_core.catalog import Creator
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.testing.accounts_fakes import FakeHasher, FakeTotp, InMemoryAccountsStore
from onyx_core.testing.fakes import InMemoryStore, ManualClock

T0 = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)
PASSWORD = "correct horse battery"


@dataclass
class Kit:
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    base: InMemoryStore = field(default_factory=InMemoryStore)
    hasher: FakeHasher = field(default_factory=FakeHasher)
    totp: FakeTotp = field(default_factory=FakeTotp)
    policy: AccountsPolicy = field(default_factory=AccountsPolicy)
    store: InMemoryAccountsStore = field(init=False)
    deps: AccountsDeps = field(init=False)
    _emails: int = 0

    def __post_init__(self) -> None:
        self.store = InMemoryAccountsStore(self.base)
        self.deps = AccountsDeps(self.store.uow, self.clock, self.hasher, self.totp, self.policy)

    def code(self, secret: str, steps: int = 0) -> str:
        """The TOTP code ``steps`` periods from now."""
        return self.totp.code_at(secret, self.clock.now() + timedelta(seconds=30 * steps))

    async def owner(self, email: str = "olga@agency.test") -> Member:
        return await create_owner(self.deps, agency_name="Agency", email=email, display_name="Olga", password=PASSWORD)

    async def login(self, email: str, password: str = PASSWORD) -> tuple[str, Principal]:
        issued = await login_password(self.deps, email=email, password=password)
        return issued.secret, await authenticate_session(self.deps, issued.secret)

    async def member(
        self, inviter: Principal, role: Role, scope: frozenset[CreatorId] | None = None
    ) -> tuple[Member, Principal]:
        self._emails += 1
        email = f"m{self._emails}@agency.test"
        issued = await invite_member(self.deps, inviter, role=role, creator_scope=scope)
        member = await accept_invite(
            self.deps, secret=issued.secret, email=email, display_name=f"M{self._emails}", password=PASSWORD
        )
        _, principal = await self.login(email)
        return member, principal

    async def enrol(self, principal: Principal) -> tuple[str, list[str]]:
        """Turn 2FA on for ``principal``'s member: its secret and recovery codes (the clock moves one step on, so
        the code used here is not replayed by the caller's next one)."""
        setup = await begin_totp_enrolment(self.deps, principal)
        codes = await confirm_totp_enrolment(self.deps, principal, self.code(setup.secret))
        self.clock.advance(30)
        return setup.secret, codes

    async def full_login(self, email: str, totp_secret: str) -> tuple[str, Principal]:
        issued = await login_password(self.deps, email=email, password=PASSWORD)
        done = await verify_totp(self.deps, session_secret=issued.secret, code=self.code(totp_secret))
        return done.secret, await authenticate_session(self.deps, done.secret)

    def add_creator(self, agency_id: AgencyId, creator_id: str) -> Creator:
        creator = Creator(CreatorId(creator_id), agency_id, creator_id, creator_id.title(), T0)
        self.base.creators[creator.id] = creator
        return creator
