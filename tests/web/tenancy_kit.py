"""Helpers of the tenancy tests (W7) and the creators tests: agencies with distinct names, their creators,
members, invitations, API tokens and stored connections, all made through the core's use cases or the SQL
repositories on the test database, and sessions made by the core (so a test needs no HTTP login).

Every agency gets names unique to it (agency, owner, creators), so a test can look for *any* of them in an
answer meant for another agency: :attr:`Agency.secrets` is every string of it that must not leak."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from auth_kit import PASSWORD, Env

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.refresh_runs import SqlRefreshRunStore
from onyx_core.accounts import (
    AccountsDeps,
    Principal,
    accept_invite,
    authenticate_session,
    create_api_token,
    create_owner,
    invite_creator_connect,
    invite_member,
    login_password,
    revoke_invite,
)
from onyx_core.accounts.model import ApiTokenScope, Role
from onyx_core.accounts.tokens import csrf_token_for
from onyx_core.catalog import Creator, TrackingLink
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, MemberId, TrackingLinkId
from onyx_core.money import Money
from onyx_core.refresh import RefreshRun, RunKind, RunState, RunTrigger
from onyx_core.tokens import TokenSet

T = TypeVar("T")


@dataclass
class Agency:
    """One agency of a test, with everything made for it so far."""

    id: str
    name: str
    owner_id: str
    owner_email: str
    owner_name: str
    secrets: set[str] = field(default_factory=set)
    """Its ids, names and emails: none may appear in an answer to another agency."""

    def remember(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)


@dataclass(frozen=True)
class Session:
    secret: str
    csrf: str

    def headers(self, *, unsafe: bool = False) -> dict[str, str]:
        from auth_kit import as_session  # noqa: PLC0415

        return as_session(self.secret, self.csrf if unsafe else None)


class Tenancy:
    """Builds agencies and their objects on ``env``'s database (with ``env``'s clock)."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def run(self, action: Callable[[AccountsDeps], Awaitable[T]]) -> T:
        async def go() -> T:
            engine = create_engine(self.env.url)
            try:
                return await action(self.env.deps(engine))
            finally:
                await engine.dispose()

        return asyncio.run(go())

    @staticmethod
    def _tag() -> str:
        return uuid.uuid4().hex[:10]

    def agency(self, label: str = "Agency") -> Agency:
        tag = self._tag()
        name, email, owner_name = f"{label} {tag}", f"owner-{tag}@{label.lower()}-{tag}.test", f"Owner {tag}"

        async def make(deps: AccountsDeps) -> Agency:
            owner = await create_owner(deps, agency_name=name, email=email, display_name=owner_name, password=PASSWORD)
            agency = Agency(str(owner.agency_id), name, str(owner.id), email, owner_name)
            agency.remember(agency.id, name, agency.owner_id, email, owner_name, tag)
            return agency

        return self.run(make)

    async def _principal(self, deps: AccountsDeps, email: str) -> tuple[str, Principal]:
        issued = await login_password(deps, email=email, password=PASSWORD)
        return issued.secret, await authenticate_session(deps, issued.secret)

    def session(self, email: str) -> Session:
        """A full session of the member (no 2FA on test members), made by the core."""
        secret, _ = self.run(lambda deps: self._principal(deps, email))
        return Session(secret, csrf_token_for(secret))

    def creator(self, agency: Agency, handle: str | None = None) -> str:
        """A creator of ``agency`` (stored as an import would): her id."""
        tag = self._tag()
        handle = handle or f"creator-{tag}"
        creator_id = str(uuid.uuid4())

        async def make(deps: AccountsDeps) -> str:
            async with deps.uow() as uow:
                creator = Creator(
                    CreatorId(creator_id), AgencyId(agency.id), handle, f"Creator {tag}", deps.clock.now()
                )
                await uow.creators.upsert(creator)
                await uow.commit()
            return creator_id

        agency.remember(creator_id, handle, f"Creator {tag}", tag)
        return self.run(make)

    def connection(self, agency: Agency, creator_id: str | None = None) -> str:
        """A stored ACTIVE connection of ``agency``: the creator's own when ``creator_id`` is given, else the
        agency's. Its id."""
        connection_id, fanvue_user = f"conn-{self._tag()}", str(uuid.uuid4())

        async def make(deps: AccountsDeps) -> str:
            now = deps.clock.now()
            tokens = TokenSet(
                f"at-{self._tag()}", f"rt-{self._tag()}", now + timedelta(hours=1), frozenset({"read:self"})
            )
            kind = ConnectionKind.AGENCY if creator_id is None else ConnectionKind.CREATOR
            connection = Connection(
                ConnectionId(connection_id),
                kind,
                AgencyId(agency.id),
                None if creator_id is None else CreatorId(creator_id),
                fanvue_user,
                ConnectionStatus.ACTIVE,
                tokens,
            )
            async with deps.uow() as uow:
                await uow.connections.save(connection)
                await uow.commit()
            return connection_id

        agency.remember(connection_id, fanvue_user)
        return self.run(make)

    def refresh_run(self, agency: Agency, creator_id: str | None = None) -> str:
        """A finished refresh run of ``agency`` (of one creator when ``creator_id`` is given, else a refresh-all)
        asked by its owner, as a web process would store it: its id."""
        run_id = f"run-{self._tag()}"

        async def make(deps: AccountsDeps) -> str:
            now = deps.clock.now()
            kind = RunKind.AGENCY if creator_id is None else RunKind.CREATOR
            run = RefreshRun(
                run_id,
                AgencyId(agency.id),
                kind,
                RunTrigger.MANUAL,
                None if creator_id is None else CreatorId(creator_id),
                MemberId(agency.owner_id),
                RunState.QUEUED,
                1,
                now,
                now,
            )
            engine = create_engine(self.env.url)
            try:
                store = SqlRefreshRunStore(engine)
                await store.begin(run, abandoned_before=now - timedelta(minutes=10))
                await store.finish(run_id, RunState.SUCCEEDED, now)
            finally:
                await engine.dispose()
            return run_id

        agency.remember(run_id)
        return self.run(make)

    def tracking_link(
        self, agency: Agency, creator_id: str | None = None, *, gross: int | None = 1_000, net: int | None = 800
    ) -> str:
        """A tracking link (stored as a sync would) of ``creator_id``, or of a new creator of ``agency``: its id."""
        creator_id = creator_id or self.creator(agency)
        tag = self._tag()
        link_id, name = f"link-{tag}", f"Link {tag}"

        async def make(deps: AccountsDeps) -> str:
            link = TrackingLink(
                TrackingLinkId(link_id), CreatorId(creator_id), name, f"https://fanvue.example/{tag}", "instagram",
                deps.clock.now(), 100, 10, 20, None if gross is None else Money(gross),
                None if net is None else Money(net),
            )  # fmt: skip
            async with deps.uow() as uow:
                await uow.tracking_links.upsert([link])
                await uow.commit()
            return link_id

        agency.remember(link_id, name, tag)
        return self.run(make)

    def member(self, agency: Agency, role: Role = Role.VIEWER, scope: frozenset[str] | None = None) -> str:
        """A member of ``agency`` who joined by invitation (with ``role`` and creator ``scope``): her email."""
        tag = self._tag()
        email = f"member-{tag}@{agency.name.split()[-1]}.test"

        async def make(deps: AccountsDeps) -> str:
            _, owner = await self._principal(deps, agency.owner_email)
            creators = None if scope is None else [CreatorId(c) for c in scope]
            issued = await invite_member(deps, owner, role=role, creator_scope=creators)
            member = await accept_invite(
                deps, secret=issued.secret, email=email, display_name=f"Member {tag}", password=PASSWORD
            )
            agency.remember(str(member.id), issued.invite.id)
            return email

        agency.remember(email, f"Member {tag}", tag)
        return self.run(make)

    def member_id(self, agency: Agency) -> str:
        """A (viewer) member of ``agency``: her id."""
        email = self.member(agency)

        async def find(deps: AccountsDeps) -> str:
            async with deps.uow() as uow:
                member = await uow.members.by_email(email)
            assert member is not None
            return str(member.id)

        return self.run(find)

    def invite(self, agency: Agency, *, creator_connect: bool = False, revoked: bool = False) -> tuple[str, str]:
        """An invitation of ``agency`` (a member's, as viewer; or a creator's connect invitation): its id and the
        secret of its link (revoked first when ``revoked``)."""

        async def make(deps: AccountsDeps) -> tuple[str, str]:
            _, owner = await self._principal(deps, agency.owner_email)
            if creator_connect:
                issued = await invite_creator_connect(deps, owner)
            else:
                issued = await invite_member(deps, owner, role=Role.VIEWER)
            if revoked:
                await revoke_invite(deps, owner, issued.invite.id)
            return str(issued.invite.id), issued.secret

        invite_id, secret = self.run(make)
        agency.remember(invite_id)
        return invite_id, secret

    def api_token(self, email: str, agency: Agency | None = None) -> tuple[str, str]:
        """A read-write API token of the member: its id and secret."""

        async def make(deps: AccountsDeps) -> tuple[str, str]:
            _, principal = await self._principal(deps, email)
            scopes = frozenset({ApiTokenScope.READ, ApiTokenScope.WRITE})
            issued = await create_api_token(deps, principal, name=f"token-{self._tag()}", scopes=scopes)
            return str(issued.token.id), issued.secret

        token_id, secret = self.run(make)
        if agency is not None:
            agency.remember(token_id)
        return token_id, secret


def leaks(body: str, agency: Agency) -> list[str]:
    """The strings of ``agency`` that appear in ``body`` (case-insensitive)."""
    lowered = body.lower()
    return sorted(s for s in agency.secrets if s.lower() in lowered)
