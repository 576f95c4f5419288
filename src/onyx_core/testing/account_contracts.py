"""The contract suite of the accounts ports: what every :class:`~onyx_core.accounts.ports.AccountsUnitOfWork` must
do (members, policies, login throttles, sessions, TOTP, recovery codes, invitations, API tokens, OAuth attempts,
the audit log).

Like :mod:`onyx_core.testing.contracts`: each check is a plain async function taking an
:data:`~onyx_core.accounts.ports.AccountsUnitOfWorkFactory` and raising
:class:`~onyx_core.testing.contracts.ContractViolation`. Every check makes its own agency and members with fresh
random ids (and fresh email addresses) and reads only those, so the checks can share one database. Only the ports'
behaviour is checked; how a secret is stored at rest is each adapter's own test.

The single-winner operations (``TotpRepository.claim_step``, ``RecoveryCodeRepository.consume``,
``InviteRepository.consume``, ``OAuthAttemptRepository.take``) and the unique email are checked under
:data:`~onyx_core.testing.contracts.CONCURRENT_WRITERS` concurrent units of work, each committing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from onyx_core.accounts.model import (
    AgencyPolicy,
    ApiToken,
    ApiTokenScope,
    AuditAction,
    AuditEntry,
    Invite,
    InviteKind,
    LoginThrottle,
    Member,
    OAuthAttempt,
    Role,
    SessionStage,
    TotpEnrolment,
    WebSession,
)
from onyx_core.accounts.ports import AccountsUnitOfWork, AccountsUnitOfWorkFactory, DuplicateEmailError
from onyx_core.accounts.tokens import digest, new_secret
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId, ApiTokenId, CreatorId, InviteId, MemberId
from onyx_core.testing._rows import T0, uid
from onyx_core.testing.contracts import CONCURRENT_WRITERS, ContractViolation

__all__ = [
    "ALL_ACCOUNT_CONTRACTS",
    "AccountsContract",
    "check_api_token_round_trip",
    "check_audit_log_newest_first_and_paged",
    "check_commit_persists_every_accounts_repository",
    "check_email_is_unique",
    "check_invite_consume_has_one_winner",
    "check_invite_round_trip",
    "check_member_round_trip",
    "check_oauth_attempt_take_is_single_use",
    "check_oauth_attempts_purge_before",
    "check_policy_and_throttle_round_trip",
    "check_recovery_code_consume_has_one_winner",
    "check_recovery_codes_replace_and_consume",
    "check_session_round_trip_and_delete_for_member",
    "check_throttle_get_for_update_loses_no_failure",
    "check_totp_claim_step_has_one_winner",
    "check_totp_get_for_update_loses_no_failure",
    "check_totp_round_trip_and_claim_step",
    "check_uncommitted_accounts_work_is_discarded",
]

AccountsContract = Callable[[AccountsUnitOfWorkFactory], Awaitable[None]]
"""The type of every check in this module."""


def _expect(condition: bool, message: str) -> None:  # noqa: FBT001 - an assertion helper
    if not condition:
        raise ContractViolation(message)


def _email(name: str = "member") -> str:
    return f"{uid(name)}@example.com"


def member_row(
    agency_id: AgencyId,
    *,
    role: Role = Role.VIEWER,
    at: datetime = T0,
    scope: frozenset[CreatorId] | None = None,
    email: str | None = None,
) -> Member:
    """A member with fresh id and address (every field filled)."""
    return Member(
        id=MemberId(uid("member")),
        agency_id=agency_id,
        email=email or _email(),
        display_name="Zoë Member ✨",
        role=role,
        created_at=at,
        creator_scope=scope,
    )


@dataclass(frozen=True, slots=True)
class _Seed:
    agency_id: AgencyId
    creators: tuple[CreatorId, CreatorId]
    owner: Member


async def _seed(uow_factory: AccountsUnitOfWorkFactory) -> _Seed:
    """A fresh agency with two creators and its owner, committed."""
    agency_id = AgencyId(uid("agency"))
    creators = (CreatorId(uid("creator")), CreatorId(uid("creator")))
    owner = member_row(agency_id, role=Role.OWNER)
    async with uow_factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Accounts Contract Agency"))
        for creator_id in creators:
            await uow.creators.upsert(Creator(creator_id, agency_id, "handle", "Creator", T0))
        await uow.members.add(owner, "hash-of-owner")
        await uow.commit()
    return _Seed(agency_id, creators, owner)


async def _concurrently(
    attempt: Callable[[AccountsUnitOfWork], Awaitable[bool]], factory: AccountsUnitOfWorkFactory
) -> int:
    """Run ``attempt`` in :data:`CONCURRENT_WRITERS` concurrent units, each committing; how many said True."""

    async def one() -> bool:
        async with factory() as uow:
            await asyncio.sleep(0)  # let the others start before this one writes
            won = await attempt(uow)
            await uow.commit()
            return won

    return sum(await asyncio.gather(*(one() for _ in range(CONCURRENT_WRITERS))))


# ----------------------------------------------------------------------------- members


async def check_member_round_trip(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Members come back equal by id and email; ``for_agency`` lists oldest first; a scope of ``None`` (every
    creator) stays distinct from an empty one (none); ``update`` stores role, scope, name and ``disabled``; the
    password hash is kept and replaced."""
    seed = await _seed(uow_factory)
    everyone = member_row(seed.agency_id, role=Role.MANAGER, at=T0 + timedelta(microseconds=3))
    nobody = member_row(seed.agency_id, at=T0 + timedelta(microseconds=2), scope=frozenset())
    some = member_row(seed.agency_id, at=T0 + timedelta(microseconds=1), scope=frozenset(seed.creators))
    elsewhere = await _seed(uow_factory)
    async with uow_factory() as uow:
        for member in (everyone, nobody, some):
            await uow.members.add(member, f"hash-of-{member.id}")
        await uow.commit()
    async with uow_factory() as uow:
        for member in (everyone, nobody, some):
            _expect(await uow.members.get(member.id) == member, f"get must return the member as added: {member}")
            _expect(await uow.members.by_email(member.email) == member, "by_email must find the member")
            _expect(await uow.members.password_hash(member.id) == f"hash-of-{member.id}", "the hash must be kept")
        listed = await uow.members.for_agency(seed.agency_id)
        _expect(
            listed == [seed.owner, some, nobody, everyone], f"for_agency: the agency's members, oldest first: {listed}"
        )
        _expect(await uow.members.for_agency(elsewhere.agency_id) == [elsewhere.owner], "only the agency's members")
        _expect(await uow.members.get(MemberId(uid("member"))) is None, "an unknown member is None")
        _expect(await uow.members.by_email(_email("nobody")) is None, "an unknown address is None")
        _expect(await uow.members.password_hash(MemberId(uid("member"))) is None, "no hash for an unknown member")

    changes = {
        everyone.id: replace(everyone, role=Role.VIEWER, creator_scope=frozenset(), disabled=True, display_name="E"),
        nobody.id: replace(nobody, creator_scope=None, role=Role.ADMIN),
        some.id: replace(some, creator_scope=frozenset({seed.creators[1]})),
    }
    async with uow_factory() as uow:
        for changed in changes.values():
            await uow.members.update(changed)
        await uow.members.set_password_hash(some.id, "a-new-hash")
        await uow.commit()
    async with uow_factory() as uow:
        for member_id, changed in changes.items():
            _expect(await uow.members.get(member_id) == changed, f"update must store the change: {changed}")
        _expect(await uow.members.password_hash(some.id) == "a-new-hash", "set_password_hash must replace the hash")
        _expect(await uow.members.password_hash(nobody.id) == f"hash-of-{nobody.id}", "only that member's hash")


async def check_email_is_unique(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """``add`` raises :class:`DuplicateEmailError` for a taken address (the unit stays usable), also when
    :data:`CONCURRENT_WRITERS` units add members with one new address at once: exactly one is stored."""
    seed = await _seed(uow_factory)
    twin = member_row(seed.agency_id, email=seed.owner.email)
    async with uow_factory() as uow:
        try:
            await uow.members.add(twin, "hash")
        except DuplicateEmailError:
            pass
        else:
            raise ContractViolation("adding a member with a taken address must raise DuplicateEmailError")
        other = member_row(seed.agency_id)
        await uow.members.add(other, "hash")  # the unit is still usable after the refusal
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.members.get(twin.id) is None, "a refused member must not be stored")
        _expect(await uow.members.get(other.id) == other, "a unit must stay usable after a DuplicateEmailError")
        _expect(await uow.members.by_email(seed.owner.email) == seed.owner, "the first holder keeps the address")

    address = _email("contested")
    candidates: list[Member] = []

    async def add(uow: AccountsUnitOfWork) -> bool:
        member = member_row(seed.agency_id, email=address)
        candidates.append(member)
        try:
            await uow.members.add(member, "hash")
        except DuplicateEmailError:
            return False
        return True

    winners = await _concurrently(add, uow_factory)
    _expect(winners == 1, f"{winners} of {CONCURRENT_WRITERS} concurrent adds of one address succeeded; one must")
    async with uow_factory() as uow:
        stored = await uow.members.by_email(address)
        _expect(stored is not None and stored in candidates, "the address must belong to one of the candidates")


# ----------------------------------------------------------------------------- policies, throttles


async def check_policy_and_throttle_round_trip(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """A policy never saved is the default; saved ones come back. Throttles round-trip, replace and clear."""
    seed = await _seed(uow_factory)
    async with uow_factory() as uow:
        _expect(await uow.policies.get(seed.agency_id) == AgencyPolicy(seed.agency_id), "the default policy")
        await uow.policies.save(AgencyPolicy(seed.agency_id, require_two_factor=True))
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.policies.get(seed.agency_id)
        _expect(got == AgencyPolicy(seed.agency_id, require_two_factor=True), f"a saved policy comes back: {got}")
        await uow.policies.save(AgencyPolicy(seed.agency_id, require_two_factor=False))
        await uow.commit()
    async with uow_factory() as uow:
        _expect(not (await uow.policies.get(seed.agency_id)).require_two_factor, "save must replace the policy")

    key = _email("throttled")
    first = LoginThrottle(key, 1, T0)
    locked = LoginThrottle(key, 10, T0, T0 + timedelta(minutes=15))
    other = LoginThrottle(_email("throttled"), 3, T0 + timedelta(seconds=1))
    async with uow_factory() as uow:
        _expect(await uow.throttles.get(key) is None, "no throttle for a fresh key")
        await uow.throttles.save(first)
        await uow.throttles.save(other)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.throttles.get(key) == first, "a saved throttle comes back")
        await uow.throttles.save(locked)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.throttles.get(key) == locked, "save must replace the throttle")
        await uow.throttles.clear(key)
        await uow.throttles.clear(_email("never"))  # clearing an unknown key is fine
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.throttles.get(key) is None, "clear must remove the throttle")
        _expect(await uow.throttles.get(other.key) == other, "clear must remove only that key")


async def check_throttle_get_for_update_loses_no_failure(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Concurrent failed logins of one address, each reading the throttle with ``get_for_update``, adding one
    failure and saving: every failure is counted, also the first ones, before any throttle is stored."""
    key = _email("raced")

    async def fail(uow: AccountsUnitOfWork) -> bool:
        throttle = await uow.throttles.get_for_update(key)
        await asyncio.sleep(0)  # invite the others in between the read and the write
        failures = 1 if throttle is None else throttle.failures + 1
        await uow.throttles.save(LoginThrottle(key, failures, T0))
        return True

    await _concurrently(fail, uow_factory)
    async with uow_factory() as uow:
        got = await uow.throttles.get(key)
    counted = 0 if got is None else got.failures
    _expect(
        counted == CONCURRENT_WRITERS,
        f"{CONCURRENT_WRITERS} concurrent failures counted as {counted}: get_for_update must serialise them",
    )


# ----------------------------------------------------------------------------- sessions


def session_row(member: Member, *, stage: SessionStage = SessionStage.COMPLETE, at: datetime = T0) -> WebSession:
    return WebSession(digest(new_secret()), member.id, member.agency_id, stage, at, at, at)


async def check_session_round_trip_and_delete_for_member(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Sessions come back equal; ``save`` stores stage, ``last_seen_at`` and ``authenticated_at``; ``delete`` is
    idempotent; ``delete_for_member`` kills exactly that member's sessions and counts them."""
    seed = await _seed(uow_factory)
    other = member_row(seed.agency_id)
    async with uow_factory() as uow:
        await uow.members.add(other, "hash")
        await uow.commit()
    mine = [session_row(seed.owner, stage=SessionStage.PASSWORD), session_row(seed.owner), session_row(seed.owner)]
    theirs = session_row(other)
    async with uow_factory() as uow:
        for session in (*mine, theirs):
            await uow.sessions.add(session)
        await uow.commit()
    later = T0 + timedelta(minutes=1, microseconds=5)
    promoted = replace(mine[0], stage=SessionStage.COMPLETE, last_seen_at=later, authenticated_at=later)
    async with uow_factory() as uow:
        for session in (*mine, theirs):
            _expect(await uow.sessions.get(session.id_digest) == session, f"a session comes back: {session}")
        _expect(await uow.sessions.get(digest(new_secret())) is None, "an unknown session is None")
        await uow.sessions.save(promoted)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.sessions.get(promoted.id_digest) == promoted, "save must store stage and times")
        await uow.sessions.delete(mine[1].id_digest)
        await uow.sessions.delete(mine[1].id_digest)  # idempotent
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.sessions.get(mine[1].id_digest) is None, "delete must remove the session")
        killed = await uow.sessions.delete_for_member(seed.owner.id)
        _expect(killed == 2, f"delete_for_member must count the member's 2 remaining sessions, said {killed}")
        await uow.commit()
    async with uow_factory() as uow:
        for session in mine:
            _expect(await uow.sessions.get(session.id_digest) is None, "delete_for_member must kill every one")
        _expect(await uow.sessions.get(theirs.id_digest) == theirs, "another member's session must survive")
        _expect(await uow.sessions.delete_for_member(seed.owner.id) == 0, "nothing left to kill: 0")


# ----------------------------------------------------------------------------- TOTP and recovery codes


def enrolment_row(member: Member) -> TotpEnrolment:
    return TotpEnrolment(member.id, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", active=False, created_at=T0)


async def check_totp_round_trip_and_claim_step(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Enrolments come back equal (secret included); ``save`` replaces; ``claim_step`` accepts only a step newer
    than the stored one; ``delete`` removes the enrolment."""
    seed = await _seed(uow_factory)
    member = seed.owner
    inactive = enrolment_row(member)
    active = replace(
        inactive,
        active=True,
        activated_at=T0 + timedelta(seconds=30),
        last_step=100,
        failures=2,
        locked_until=T0 + timedelta(minutes=15),
        consecutive_failures=7,
    )
    async with uow_factory() as uow:
        _expect(await uow.totp.get(member.id) is None, "no enrolment yet")
        _expect(not await uow.totp.claim_step(member.id, 1), "claim_step without an enrolment must be False")
        await uow.totp.save(inactive)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.totp.get(member.id) == inactive, "an enrolment comes back as saved")
        _expect(await uow.totp.claim_step(member.id, 5), "the first step claimed (last_step None) must be True")
        await uow.totp.save(active)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.totp.get(member.id) == active, "save must replace the enrolment")
        _expect(not await uow.totp.claim_step(member.id, 100), "the step already claimed must be False (a replay)")
        _expect(not await uow.totp.claim_step(member.id, 99), "an older step must be False")
        _expect(await uow.totp.claim_step(member.id, 101), "a newer step must be True")
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.totp.get(member.id)
        _expect(got == replace(active, last_step=101), f"claim_step must store the step and nothing else: {got}")
        await uow.totp.delete(member.id)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.totp.get(member.id) is None, "delete must remove the enrolment")


async def check_totp_claim_step_has_one_winner(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Concurrent units claiming the same step: exactly one gets True (the replay guard holds under a race)."""
    seed = await _seed(uow_factory)
    async with uow_factory() as uow:
        await uow.totp.save(replace(enrolment_row(seed.owner), active=True, last_step=41))
        await uow.commit()
    winners = await _concurrently(lambda uow: uow.totp.claim_step(seed.owner.id, 42), uow_factory)
    _expect(winners == 1, f"{winners} of {CONCURRENT_WRITERS} concurrent claims of one step won; one must")
    async with uow_factory() as uow:
        got = await uow.totp.get(seed.owner.id)
        _expect(got is not None and got.last_step == 42, "the claimed step must be stored")


async def check_totp_save_never_lowers_last_step(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """A unit that read the enrolment before another claimed a newer step, then saves its failure counters, keeps
    the newer step: ``save`` never lowers ``last_step`` (else a replay of the claimed code would pass)."""
    seed = await _seed(uow_factory)
    async with uow_factory() as uow:
        await uow.totp.save(replace(enrolment_row(seed.owner), active=True, last_step=41))
        await uow.commit()
    async with uow_factory() as uow:
        stale = await uow.totp.get(seed.owner.id)
    _expect(stale is not None, "the enrolment was saved")
    assert stale is not None
    async with uow_factory() as uow:
        _expect(await uow.totp.claim_step(seed.owner.id, 42), "step 42 is newer: claimed")
        await uow.commit()
    async with uow_factory() as uow:
        await uow.totp.save(replace(stale, failures=1))
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.totp.get(seed.owner.id)
    _expect(got is not None and got.last_step == 42, f"save lowered last_step 42 to {got and got.last_step}")
    _expect(got is not None and got.failures == 1, "save must still store the failure counters")


async def check_totp_get_for_update_loses_no_failure(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Concurrent wrong codes, each reading the enrolment with ``get_for_update``, adding one failure and saving:
    every failure is counted (the lock-out cannot be outrun by sending codes in parallel)."""
    seed = await _seed(uow_factory)
    async with uow_factory() as uow:
        await uow.totp.save(replace(enrolment_row(seed.owner), active=True))
        await uow.commit()

    async def fail(uow: AccountsUnitOfWork) -> bool:
        enrolment = await uow.totp.get_for_update(seed.owner.id)
        if enrolment is None:
            return False
        await asyncio.sleep(0)  # invite the others in between the read and the write
        counted = enrolment.consecutive_failures + 1
        await uow.totp.save(replace(enrolment, failures=enrolment.failures + 1, consecutive_failures=counted))
        return True

    found = await _concurrently(fail, uow_factory)
    _expect(found == CONCURRENT_WRITERS, f"get_for_update found the enrolment {found} times of {CONCURRENT_WRITERS}")
    async with uow_factory() as uow:
        got = await uow.totp.get(seed.owner.id)
    _expect(
        got is not None and got.failures == got.consecutive_failures == CONCURRENT_WRITERS,
        f"{CONCURRENT_WRITERS} concurrent failures counted as {got and got.failures}: get_for_update must lock",
    )
    async with uow_factory() as uow:
        _expect(await uow.totp.get_for_update(MemberId(uid("member"))) is None, "no enrolment: None")


async def check_recovery_codes_replace_and_consume(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """``replace`` makes the given hashes the member's only codes; ``unused`` lists them (distinct ids, none used);
    ``consume`` marks one used once; another member's codes are untouched."""
    seed = await _seed(uow_factory)
    other = member_row(seed.agency_id)
    async with uow_factory() as uow:
        await uow.members.add(other, "hash")
        await uow.recovery_codes.replace(seed.owner.id, ["h1", "h2", "h3"])
        await uow.recovery_codes.replace(other.id, ["o1"])
        await uow.commit()
    async with uow_factory() as uow:
        codes = await uow.recovery_codes.unused(seed.owner.id)
        _expect(sorted(c.code_hash for c in codes) == ["h1", "h2", "h3"], f"unused lists the codes: {codes}")
        _expect(len({c.id for c in codes}) == 3, "every code has its own id")
        _expect(all(c.member_id == seed.owner.id and c.used_at is None for c in codes), "the member's, unused")
        first = next(c for c in codes if c.code_hash == "h1")
        _expect(await uow.recovery_codes.consume(first.id, T0), "consuming an unused code must be True")
        _expect(not await uow.recovery_codes.consume(first.id, T0), "consuming it again must be False")
        await uow.commit()
    async with uow_factory() as uow:
        left = sorted(c.code_hash for c in await uow.recovery_codes.unused(seed.owner.id))
        _expect(left == ["h2", "h3"], f"a consumed code is no longer unused: {left}")
        _expect(not await uow.recovery_codes.consume(first.id, T0), "a consumed code stays consumed")
        _expect(not await uow.recovery_codes.consume(uid("code"), T0), "an unknown code cannot be consumed")
        await uow.recovery_codes.replace(seed.owner.id, ["n1", "n2"])
        await uow.commit()
    async with uow_factory() as uow:
        fresh = await uow.recovery_codes.unused(seed.owner.id)
        _expect(sorted(c.code_hash for c in fresh) == ["n1", "n2"], f"replace must drop every old code: {fresh}")
        _expect(not {c.id for c in codes} & {c.id for c in fresh}, "an old code's id must not survive a replace")
        for old in codes:
            _expect(not await uow.recovery_codes.consume(old.id, T0), "an old code must not be consumable")
        kept = [c.code_hash for c in await uow.recovery_codes.unused(other.id)]
        _expect(kept == ["o1"], f"another member's codes must be untouched: {kept}")


async def check_recovery_code_consume_has_one_winner(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Concurrent units consuming one code: exactly one gets True (single use under a race)."""
    seed = await _seed(uow_factory)
    async with uow_factory() as uow:
        await uow.recovery_codes.replace(seed.owner.id, ["only"])
        await uow.commit()
    async with uow_factory() as uow:
        (code,) = await uow.recovery_codes.unused(seed.owner.id)
    winners = await _concurrently(lambda uow: uow.recovery_codes.consume(code.id, T0), uow_factory)
    _expect(winners == 1, f"{winners} of {CONCURRENT_WRITERS} concurrent uses of one recovery code won; one must")
    async with uow_factory() as uow:
        _expect(await uow.recovery_codes.unused(seed.owner.id) == [], "the code must be used")


# ----------------------------------------------------------------------------- invites


def invite_row(
    seed: _Seed, *, kind: InviteKind = InviteKind.MEMBER, scope: frozenset[CreatorId] | None = None, at: datetime = T0
) -> Invite:
    member = kind is InviteKind.MEMBER
    return Invite(
        id=InviteId(uid("invite")),
        agency_id=seed.agency_id,
        kind=kind,
        token_digest=digest(new_secret()),
        created_by=seed.owner.id,
        created_at=at,
        expires_at=at + timedelta(days=7),
        role=Role.MANAGER if member else None,
        creator_scope=scope,
        email=_email("invited") if member else None,
    )


async def check_invite_round_trip(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Invites come back equal by id and token digest (a scope of ``None`` stays distinct from an empty one);
    ``for_agency`` lists the agency's; ``consume`` succeeds once; ``revoke`` stops a consume."""
    seed = await _seed(uow_factory)
    elsewhere = await _seed(uow_factory)
    invites = [
        invite_row(seed, scope=frozenset()),
        invite_row(seed, scope=frozenset(seed.creators), at=T0 + timedelta(seconds=1)),
        invite_row(seed, at=T0 + timedelta(seconds=2)),
        invite_row(seed, kind=InviteKind.CREATOR_CONNECT, at=T0 + timedelta(seconds=3)),
    ]
    foreign = invite_row(elsewhere)
    async with uow_factory() as uow:
        for invite in (*invites, foreign):
            await uow.invites.add(invite)
        await uow.commit()
    async with uow_factory() as uow:
        for invite in invites:
            _expect(await uow.invites.get(invite.id) == invite, f"get must return the invite as added: {invite}")
            found = await uow.invites.by_token_digest(invite.token_digest)
            _expect(found == invite, "by_token_digest must find the invite")
        listed = await uow.invites.for_agency(seed.agency_id)
        _expect(sorted(listed, key=lambda i: i.id) == sorted(invites, key=lambda i: i.id), "for_agency: the agency's")
        _expect(await uow.invites.get(InviteId(uid("invite"))) is None, "an unknown invite is None")
        _expect(await uow.invites.by_token_digest(digest(new_secret())) is None, "an unknown digest is None")
        _expect(await uow.invites.consume(invites[0].id, T0 + timedelta(hours=1)), "a fresh invite is consumed")
        _expect(not await uow.invites.consume(invites[0].id, T0 + timedelta(hours=2)), "only once")
        await uow.invites.revoke(invites[1].id, T0 + timedelta(hours=3))
        _expect(not await uow.invites.consume(invites[1].id, T0 + timedelta(hours=4)), "a revoked one is not")
        _expect(not await uow.invites.consume(InviteId(uid("invite")), T0), "an unknown one is not")
        await uow.commit()
    async with uow_factory() as uow:
        used = await uow.invites.get(invites[0].id)
        _expect(used == replace(invites[0], used_at=T0 + timedelta(hours=1)), f"consume stores used_at: {used}")
        revoked = await uow.invites.get(invites[1].id)
        _expect(revoked == replace(invites[1], revoked_at=T0 + timedelta(hours=3)), f"revoke stores it: {revoked}")
        _expect(await uow.invites.get(invites[2].id) == invites[2], "the others are untouched")


async def check_invite_consume_has_one_winner(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Concurrent units accepting one invite: exactly one ``consume`` is True (single use under a race)."""
    seed = await _seed(uow_factory)
    invite = invite_row(seed)
    async with uow_factory() as uow:
        await uow.invites.add(invite)
        await uow.commit()
    winners = await _concurrently(lambda uow: uow.invites.consume(invite.id, T0 + timedelta(hours=1)), uow_factory)
    _expect(winners == 1, f"{winners} of {CONCURRENT_WRITERS} concurrent uses of one invite won; one must")


# ----------------------------------------------------------------------------- API tokens


def api_token_row(member: Member, *, at: datetime = T0, expires: bool = True) -> ApiToken:
    return ApiToken(
        id=ApiTokenId(uid("token")),
        member_id=member.id,
        agency_id=member.agency_id,
        name="CI export ✨",
        scopes=frozenset({ApiTokenScope.READ, ApiTokenScope.WRITE}) if expires else frozenset({ApiTokenScope.READ}),
        token_digest=digest(new_secret("onyx_pat_")),
        created_at=at,
        expires_at=at + timedelta(days=90) if expires else None,
    )


async def check_api_token_round_trip(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Tokens come back equal by id and digest; ``for_member`` lists the member's; ``save`` stores
    ``last_used_at`` and ``revoked_at``."""
    seed = await _seed(uow_factory)
    other = member_row(seed.agency_id)
    mine = [api_token_row(seed.owner), api_token_row(seed.owner, at=T0 + timedelta(seconds=1), expires=False)]
    theirs = api_token_row(other)
    async with uow_factory() as uow:
        await uow.members.add(other, "hash")
        for token in (*mine, theirs):
            await uow.api_tokens.add(token)
        await uow.commit()
    async with uow_factory() as uow:
        for token in (*mine, theirs):
            _expect(await uow.api_tokens.get(token.id) == token, f"get must return the token as added: {token}")
            _expect(await uow.api_tokens.by_digest(token.token_digest) == token, "by_digest must find the token")
        listed = await uow.api_tokens.for_member(seed.owner.id)
        _expect(sorted(listed, key=lambda t: t.id) == sorted(mine, key=lambda t: t.id), "for_member: the member's")
        _expect(await uow.api_tokens.get(ApiTokenId(uid("token"))) is None, "an unknown token is None")
        _expect(await uow.api_tokens.by_digest(digest(new_secret())) is None, "an unknown digest is None")
    used = replace(mine[0], last_used_at=T0 + timedelta(minutes=5), revoked_at=T0 + timedelta(minutes=6))
    async with uow_factory() as uow:
        await uow.api_tokens.save(used)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.api_tokens.get(used.id) == used, "save must store last_used_at and revoked_at")
        _expect(await uow.api_tokens.get(mine[1].id) == mine[1], "save must change only that token")


# ----------------------------------------------------------------------------- OAuth attempts


def oauth_attempt_row(seed: _Seed, *, at: datetime = T0, invite: InviteId | None = None) -> OAuthAttempt:
    return OAuthAttempt(
        state_digest=digest(new_secret()),
        session_digest=digest(new_secret()),
        agency_id=seed.agency_id,
        member_id=None if invite else seed.owner.id,
        code_verifier=new_secret(),
        created_at=at,
        invite_id=invite,
        reconnect_connection_id=None if invite else uid("conn"),
    )


async def check_oauth_attempt_take_is_single_use(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """``take`` returns the attempt as added once, then ``None``; an unknown state is ``None``; a take in a unit
    that rolls back leaves the attempt; among concurrent takes of one state exactly one gets it."""
    seed = await _seed(uow_factory)
    attempts = [oauth_attempt_row(seed), oauth_attempt_row(seed, invite=InviteId(uid("invite")))]
    raced = oauth_attempt_row(seed)
    async with uow_factory() as uow:
        for attempt in (*attempts, raced):
            await uow.oauth_attempts.add(attempt)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.oauth_attempts.take(attempts[0].state_digest) == attempts[0], "take returns the attempt")
        # left without commit: the take is undone
    async with uow_factory() as uow:
        for attempt in attempts:
            got = await uow.oauth_attempts.take(attempt.state_digest)
            _expect(got == attempt, f"take must return the attempt as added (a rolled-back take keeps it): {got}")
            _expect(await uow.oauth_attempts.take(attempt.state_digest) is None, "a second take gets None")
        _expect(await uow.oauth_attempts.take(digest(new_secret())) is None, "an unknown state is None")
        await uow.commit()
    async with uow_factory() as uow:
        for attempt in attempts:
            _expect(await uow.oauth_attempts.take(attempt.state_digest) is None, "a taken attempt stays taken")

    async def take(uow: AccountsUnitOfWork) -> bool:
        return await uow.oauth_attempts.take(raced.state_digest) is not None

    winners = await _concurrently(take, uow_factory)
    _expect(winners == 1, f"{winners} of {CONCURRENT_WRITERS} concurrent takes of one state got it; one must")


PURGE_ERA = datetime(1971, 1, 1, tzinfo=T0.tzinfo)
"""Attempts of :func:`check_oauth_attempts_purge_before` are this old, so its purge touches no other check's rows."""


async def check_oauth_attempts_purge_before(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """``purge_before(t)`` removes the attempts created before ``t`` (and says how many), keeps the others."""
    seed = await _seed(uow_factory)
    old = [oauth_attempt_row(seed, at=PURGE_ERA), oauth_attempt_row(seed, at=PURGE_ERA + timedelta(minutes=9))]
    cutoff = PURGE_ERA + timedelta(minutes=10)
    young = oauth_attempt_row(seed, at=cutoff)
    async with uow_factory() as uow:
        for attempt in (*old, young):
            await uow.oauth_attempts.add(attempt)
        await uow.commit()
    async with uow_factory() as uow:
        purged = await uow.oauth_attempts.purge_before(cutoff)
        await uow.commit()
    _expect(purged == len(old), f"purge_before must remove and count the {len(old)} older attempts, said {purged}")
    async with uow_factory() as uow:
        for attempt in old:
            _expect(await uow.oauth_attempts.take(attempt.state_digest) is None, "a purged attempt is gone")
        _expect(await uow.oauth_attempts.take(young.state_digest) == young, "an attempt at the cutoff is kept")


# ----------------------------------------------------------------------------- audit


async def check_audit_log_newest_first_and_paged(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """Entries come back as recorded with an id, newest first (recording order), only the agency's;
    ``limit`` and ``before_id`` page back through them."""
    seed = await _seed(uow_factory)
    elsewhere = await _seed(uow_factory)
    actions = [AuditAction.LOGIN, AuditAction.MEMBER_INVITED, AuditAction.ROLE_CHANGED, AuditAction.EXPORT]
    entries = [
        AuditEntry(
            at=T0 + timedelta(seconds=i % 2),  # times may tie or run backwards: recording order decides
            action=action,
            agency_id=seed.agency_id,
            actor=seed.owner.id if i else None,
            target=uid("target") if i % 2 else None,
            details={"n": str(i), "note": "héllo ✨"} if i else {},
            ip="2001:db8::1" if i else None,
        )
        for i, action in enumerate(actions)
    ]
    async with uow_factory() as uow:
        for entry in entries[:2]:
            await uow.audit.record(entry)
        await uow.audit.record(AuditEntry(T0, AuditAction.LOGIN, elsewhere.agency_id, elsewhere.owner.id))
        await uow.audit.record(AuditEntry(T0, AuditAction.LOGIN_FAILED, None, None, details={"email": "x"}))
        await uow.commit()
    async with uow_factory() as uow:
        for entry in entries[2:]:
            await uow.audit.record(entry)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.audit.record(AuditEntry(T0, AuditAction.LOGOUT, seed.agency_id, seed.owner.id))
        # left without commit: not recorded
    async with uow_factory() as uow:
        got = await uow.audit.for_agency(seed.agency_id)
        ids = [entry.id for entry in got]
        _expect(all(i is not None for i in ids), f"stored entries carry their id: {ids}")
        _expect(len(set(ids)) == len(ids), f"ids are distinct: {ids}")
        without_ids = [replace(entry, id=None) for entry in got]
        _expect(without_ids == entries[::-1], f"the agency's entries as recorded, newest first: {without_ids}")
        page = await uow.audit.for_agency(seed.agency_id, limit=2)
        _expect(page == got[:2], f"limit keeps the newest: {page}")
        last_id = page[-1].id
        _expect(last_id is not None, "paged entries carry their id")
        assert last_id is not None  # for the type checker
        rest = await uow.audit.for_agency(seed.agency_id, limit=2, before_id=last_id)
        _expect(rest == got[2:4], f"before_id pages back: {rest}")
        first_id = got[-1].id
        assert first_id is not None
        _expect(await uow.audit.for_agency(seed.agency_id, before_id=first_id) == [], "nothing before the first")
        _expect(
            [e.action for e in await uow.audit.for_agency(elsewhere.agency_id)] == [AuditAction.LOGIN],
            "another agency's entries are its own",
        )


# ----------------------------------------------------------------------------- units of work


@dataclass(frozen=True, slots=True)
class _Footprint:
    """One fresh row in every accounts repository for one member (written in one unit)."""

    member: Member
    session: WebSession
    enrolment: TotpEnrolment
    invite: Invite
    token: ApiToken
    attempt: OAuthAttempt
    throttle: LoginThrottle
    audit: AuditEntry


def _footprint(seed: _Seed) -> _Footprint:
    member = member_row(seed.agency_id, scope=frozenset({seed.creators[0]}))
    return _Footprint(
        member=member,
        session=session_row(member),
        enrolment=enrolment_row(member),
        invite=invite_row(seed),
        token=api_token_row(member),
        attempt=oauth_attempt_row(seed),
        throttle=LoginThrottle(member.email, 1, T0),
        audit=AuditEntry(T0, AuditAction.MEMBER_JOINED, seed.agency_id, member.id, target=member.id),
    )


async def _write(uow: AccountsUnitOfWork, seed: _Seed, f: _Footprint) -> None:
    await uow.members.add(f.member, "hash")
    await uow.policies.save(AgencyPolicy(seed.agency_id, require_two_factor=True))
    await uow.throttles.save(f.throttle)
    await uow.sessions.add(f.session)
    await uow.totp.save(f.enrolment)
    await uow.recovery_codes.replace(f.member.id, ["r1"])
    await uow.invites.add(f.invite)
    await uow.api_tokens.add(f.token)
    await uow.oauth_attempts.add(f.attempt)
    await uow.audit.record(f.audit)


async def _read(uow: AccountsUnitOfWork, seed: _Seed, f: _Footprint) -> dict[str, object]:
    """What each repository holds of the footprint (the OAuth attempt is not read: a take would remove it)."""
    return {
        "members": await uow.members.get(f.member.id),
        "policies": await uow.policies.get(seed.agency_id),
        "throttles": await uow.throttles.get(f.throttle.key),
        "sessions": await uow.sessions.get(f.session.id_digest),
        "totp": await uow.totp.get(f.member.id),
        "recovery_codes": [c.code_hash for c in await uow.recovery_codes.unused(f.member.id)],
        "invites": await uow.invites.get(f.invite.id),
        "api_tokens": await uow.api_tokens.get(f.token.id),
        "audit": [replace(e, id=None) for e in await uow.audit.for_agency(seed.agency_id)],
    }


def _nothing(seed: _Seed) -> dict[str, object]:
    return {
        "members": None,
        "policies": AgencyPolicy(seed.agency_id),
        "throttles": None,
        "sessions": None,
        "totp": None,
        "recovery_codes": [],
        "invites": None,
        "api_tokens": None,
        "audit": [],
    }


def _everything(seed: _Seed, f: _Footprint) -> dict[str, object]:
    return {
        "members": f.member,
        "policies": AgencyPolicy(seed.agency_id, require_two_factor=True),
        "throttles": f.throttle,
        "sessions": f.session,
        "totp": f.enrolment,
        "recovery_codes": ["r1"],
        "invites": f.invite,
        "api_tokens": f.token,
        "audit": [f.audit],
    }


def _expect_reading(expected: dict[str, object], got: dict[str, object], rule: str) -> None:
    for repository, value in expected.items():
        _expect(got[repository] == value, f"{repository}: {rule} (expected {value!r}, got {got[repository]!r})")


class _LeftByAnExceptionError(Exception):
    pass


async def check_uncommitted_accounts_work_is_discarded(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """In every accounts repository: a unit reads its own writes, and leaving it without commit, by an exception or
    by ``rollback()`` leaves nothing (an OAuth attempt added so is not there to take)."""
    seed = await _seed(uow_factory)
    for way in ("leave", "raise", "rollback"):
        f = _footprint(seed)
        try:
            async with uow_factory() as uow:
                await _write(uow, seed, f)
                _expect_reading(_everything(seed, f), await _read(uow, seed, f), "a unit reads its own writes")
                if way == "raise":
                    raise _LeftByAnExceptionError
                if way == "rollback":
                    await uow.rollback()
                    _expect_reading(_nothing(seed), await _read(uow, seed, f), "rollback() discards the writes")
        except _LeftByAnExceptionError:
            pass
        async with uow_factory() as uow:
            _expect_reading(_nothing(seed), await _read(uow, seed, f), f"a unit left by {way} must store nothing")
            _expect(await uow.oauth_attempts.take(f.attempt.state_digest) is None, f"{way}: no OAuth attempt stored")


async def check_commit_persists_every_accounts_repository(uow_factory: AccountsUnitOfWorkFactory) -> None:
    """In every accounts repository: what a unit commits is there for the next unit."""
    seed = await _seed(uow_factory)
    f = _footprint(seed)
    async with uow_factory() as uow:
        await _write(uow, seed, f)
        await uow.commit()
    async with uow_factory() as uow:
        _expect_reading(_everything(seed, f), await _read(uow, seed, f), "a committed write must persist")
        _expect(await uow.oauth_attempts.take(f.attempt.state_digest) == f.attempt, "the OAuth attempt persists")


ALL_ACCOUNT_CONTRACTS: list[AccountsContract] = [
    check_uncommitted_accounts_work_is_discarded,
    check_commit_persists_every_accounts_repository,
    check_member_round_trip,
    check_email_is_unique,
    check_policy_and_throttle_round_trip,
    check_throttle_get_for_update_loses_no_failure,
    check_session_round_trip_and_delete_for_member,
    check_totp_round_trip_and_claim_step,
    check_totp_claim_step_has_one_winner,
    check_totp_save_never_lowers_last_step,
    check_totp_get_for_update_loses_no_failure,
    check_recovery_codes_replace_and_consume,
    check_recovery_code_consume_has_one_winner,
    check_invite_round_trip,
    check_invite_consume_has_one_winner,
    check_api_token_round_trip,
    check_oauth_attempt_take_is_single_use,
    check_oauth_attempts_purge_before,
    check_audit_log_newest_first_and_paged,
]
"""Every check above; run each against a fresh factory (or all against one shared database)."""
