"""Signing in and out: the first owner, password logins (throttled), the second factor, sessions, API tokens."""

from __future__ import annotations

from dataclasses import replace

from onyx_core.accounts.errors import InvalidCredentials, NotAuthenticated, Throttled
from onyx_core.accounts.model import (
    AuditAction,
    LoginThrottle,
    Member,
    Role,
    SessionStage,
    TotpEnrolment,
    WebSession,
    normalize_email,
)
from onyx_core.accounts.policy import check_password
from onyx_core.accounts.ports import AccountsUnitOfWork, PasswordHasher
from onyx_core.accounts.tokens import digest, new_secret
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, SessionIssued, audit, new_id
from onyx_core.accounts.usecases.recovery import normalize_recovery_code
from onyx_core.accounts.usecases.second_factor import (
    CodeCheck,
    check_code,
    check_locks,
    raise_for,
    record_failure,
    reset_failures,
    seconds_until,
)
from onyx_core.catalog import Agency
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import AgencyId, MemberId

__all__ = [
    "authenticate_api_token",
    "authenticate_session",
    "create_owner",
    "login_password",
    "logout",
    "reset_password",
    "use_recovery_code",
    "verify_totp",
]

_DUMMY_HASHES: dict[int, tuple[PasswordHasher, str]] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password, made once per hasher: unknown emails are verified against it so that they
    take as long as known ones."""
    known = _DUMMY_HASHES.get(id(hasher))
    if known is None or known[0] is not hasher:
        if len(_DUMMY_HASHES) >= 8:  # one hasher per process in production; tests make many
            _DUMMY_HASHES.clear()
        known = (hasher, hasher.hash(new_secret()))
        _DUMMY_HASHES[id(hasher)] = known
    return known[1]


async def create_owner(
    deps: AccountsDeps,
    *,
    agency_name: str,
    email: str,
    display_name: str,
    password: str,
    agency_id: AgencyId | None = None,
) -> Member:
    """A new agency and its first owner; or, with ``agency_id``, the first owner of an agency that already exists
    (one ``onyx demo`` or ``onyx connect`` made) and has no members yet (``agency_name`` is then ignored). Raises
    :class:`WeakPassword`, :class:`~onyx_core.accounts.ports.DuplicateEmailError`, :class:`DomainValueError` (bad
    email or name, or an agency that already has members) and :class:`NotFoundError` (no such agency)."""
    check_password(deps.policy, password)
    if (agency_id is None and not agency_name.strip()) or not display_name.strip():
        raise DomainValueError("an agency and a member need a name")
    now = deps.clock.now()
    async with deps.uow() as uow:
        if agency_id is None:
            agency = Agency(AgencyId(new_id()), agency_name.strip())
            await uow.agencies.upsert(agency)
        else:
            existing = await uow.agencies.get(agency_id)
            if existing is None:
                raise NotFoundError(f"no agency {agency_id}")
            if await uow.members.for_agency(agency_id):
                # an agency with people is theirs: its owners invite whoever else joins
                raise DomainValueError(f"agency {agency_id} already has members: ask an owner for an invitation")
            agency = existing
        member = Member(MemberId(new_id()), agency.id, email, display_name.strip(), Role.OWNER, now)
        await uow.members.add(member, deps.hasher.hash(password))
        await audit(uow, now, AuditAction.OWNER_CREATED, member, target=member.id)
        await uow.commit()
    return member


async def reset_password(deps: AccountsDeps, *, email: str, password: str) -> Member:
    """Whoever holds the database (``onyx demo`` on a re-run) gives the member with ``email`` a new password that
    signs her in alone, as :func:`create_owner` left her: every session of hers ends, her second factor and
    recovery codes are removed (a re-run of the demo under another cipher key could not read them), and her
    login throttle is cleared. Raises :class:`WeakPassword` and :class:`NotFoundError` (no such member)."""
    check_password(deps.policy, password)
    now = deps.clock.now()
    async with deps.uow() as uow:
        member = await uow.members.by_email(email)
        if member is None:
            raise NotFoundError("no member with that email")
        await uow.members.set_password_hash(member.id, deps.hasher.hash(password))
        await uow.sessions.delete_for_member(member.id)
        await uow.totp.delete(member.id)
        await uow.recovery_codes.replace(member.id, [])
        await uow.throttles.clear(_throttle_key(member.email))
        await audit(uow, now, AuditAction.PASSWORD_CHANGED, member, target=member.id, details={"by": "operator"})
        await uow.commit()
    return member


def _throttle_key(email: str) -> str:
    try:
        return normalize_email(email)
    except DomainValueError:
        # not an address, so no member; still throttled as itself, under a key of fixed length and alphabet
        # (what was typed may be megabytes, or hold characters a database refuses)
        return f"invalid:{digest(email.strip().lower())}"


async def _enrolment_required(uow: AccountsUnitOfWork, member: Member, totp: TotpEnrolment | None) -> bool:
    if totp is not None and totp.active:
        return False
    return (await uow.policies.get(member.agency_id)).require_two_factor


async def login_password(deps: AccountsDeps, *, email: str, password: str, ip: str | None = None) -> SessionIssued:
    """Check email and password. Unknown emails, wrong passwords and disabled members all get
    :class:`InvalidCredentials` after the same work, and all count toward the email's throttle
    (:class:`Throttled` once ``login_max_failures`` failed within ``login_window``)."""
    policy, now = deps.policy, deps.clock.now()
    key = _throttle_key(email)
    async with deps.uow() as uow:
        throttle = await uow.throttles.get_for_update(key)  # one login per email at a time: all failures count
        if throttle is not None and throttle.locked_until is not None and now < throttle.locked_until:
            raise Throttled(seconds_until(now, throttle.locked_until))
        member = await uow.members.by_email(key) if "@" in key else None
        stored = None if member is None else await uow.members.password_hash(member.id)
        within = len(password) <= policy.password_max_length
        verified = deps.hasher.verify(stored or _dummy_hash(deps.hasher), password if within else "")
        if member is None or member.disabled or stored is None or not verified or not within:
            if throttle is None or now >= throttle.window_start + policy.login_window:
                throttle = LoginThrottle(key, 1, now)
            else:
                throttle = replace(throttle, failures=throttle.failures + 1)
            target = None if member is None else member.id  # never what was typed: it may be a password
            await audit(uow, now, AuditAction.LOGIN_FAILED, member, target=target, ip=ip)
            if throttle.failures >= policy.login_max_failures:
                throttle = replace(throttle, locked_until=throttle.window_start + policy.login_window)
                await audit(uow, now, AuditAction.LOGIN_LOCKED, member, target=target, ip=ip)
            await uow.throttles.save(throttle)
            await uow.commit()
            raise InvalidCredentials("wrong email or password")
        if throttle is not None:
            await uow.throttles.clear(key)
        if deps.hasher.needs_rehash(stored):
            await uow.members.set_password_hash(member.id, deps.hasher.hash(password))
        totp = await uow.totp.get(member.id)
        due = totp is not None and totp.active
        enrolment_required = await _enrolment_required(uow, member, totp)
        secret = new_secret()
        stage = SessionStage.PASSWORD if due else SessionStage.COMPLETE
        session = WebSession(digest(secret), member.id, member.agency_id, stage, now, now, now)
        await uow.sessions.add(session)
        await audit(uow, now, AuditAction.LOGIN, member, target=member.id, details={"stage": stage.value}, ip=ip)
        await uow.commit()
    return SessionIssued(secret, session, member, second_factor_due=due, enrolment_required=enrolment_required)


def _expired(deps: AccountsDeps, session: WebSession) -> bool:
    policy, now = deps.policy, deps.clock.now()
    if now - session.last_seen_at > policy.session_idle or now - session.created_at > policy.session_absolute:
        return True
    return session.stage is SessionStage.PASSWORD and now - session.created_at > policy.password_stage_lifetime


async def _live_session(deps: AccountsDeps, uow: AccountsUnitOfWork, secret: str) -> tuple[WebSession, Member]:
    """The session and its member; deletes (and commits) an expired session, then raises NotAuthenticated."""
    session = await uow.sessions.get(digest(secret)) if secret else None
    if session is None:
        raise NotAuthenticated("no session")
    member = await uow.members.get(session.member_id)
    if _expired(deps, session) or member is None or member.disabled:
        await uow.sessions.delete(session.id_digest)
        await uow.commit()
        raise NotAuthenticated("the session expired")
    return session, member


async def authenticate_session(deps: AccountsDeps, session_secret: str) -> Principal:
    """Who the cookie belongs to. Raises :class:`NotAuthenticated` for an unknown, idle, too old or (PASSWORD stage)
    unverified session. Records activity at most once per ``session_touch_every``."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        session, member = await _live_session(deps, uow, session_secret)
        due = session.stage is SessionStage.PASSWORD
        required = False if due else await _enrolment_required(uow, member, await uow.totp.get(member.id))
        if now - session.last_seen_at >= deps.policy.session_touch_every:
            session = replace(session, last_seen_at=now)
            await uow.sessions.save(session)
            await uow.commit()
    return Principal(member, session=session, second_factor_due=due, enrolment_required=required)


async def _second_factor_session(
    deps: AccountsDeps, uow: AccountsUnitOfWork, session_secret: str
) -> tuple[WebSession, Member, TotpEnrolment]:
    session, member = await _live_session(deps, uow, session_secret)
    enrolment = await uow.totp.get_for_update(member.id)  # one code check per member at a time: all are counted
    if session.stage is not SessionStage.PASSWORD or enrolment is None or not enrolment.active:
        raise NotAuthenticated("no second factor is due on this session")
    return session, member, enrolment


async def _complete(
    deps: AccountsDeps, uow: AccountsUnitOfWork, session: WebSession, member: Member, how: str, ip: str | None
) -> SessionIssued:
    """Rotate the session: the PASSWORD-stage id dies, a new COMPLETE one (same login time) is issued."""
    now = deps.clock.now()
    await uow.sessions.delete(session.id_digest)
    secret = new_secret()
    fresh = WebSession(digest(secret), member.id, member.agency_id, SessionStage.COMPLETE, session.created_at, now, now)
    await uow.sessions.add(fresh)
    await audit(uow, now, AuditAction.LOGIN, member, target=member.id, details={"second_factor": how}, ip=ip)
    await uow.commit()
    return SessionIssued(secret, fresh, member, second_factor_due=False, enrolment_required=False)


async def verify_totp(deps: AccountsDeps, *, session_secret: str, code: str, ip: str | None = None) -> SessionIssued:
    """Complete a login with a TOTP code. Raises :class:`NotAuthenticated` (bad or expired session),
    :class:`InvalidCredentials` (wrong or replayed code), :class:`Throttled`, :class:`AccountLocked`."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        session, member, enrolment = await _second_factor_session(deps, uow, session_secret)
        check = await check_code(deps, uow, enrolment, member, code, now, ip)
        if check is CodeCheck.ACCEPTED:
            return await _complete(deps, uow, session, member, "totp", ip)
        await uow.commit()
    raise_for(check, deps, now)
    raise InvalidCredentials("wrong code")


async def use_recovery_code(
    deps: AccountsDeps, *, session_secret: str, code: str, ip: str | None = None
) -> SessionIssued:
    """Complete a login with a single-use recovery code; it also lifts the 2FA locks (the account lock too)."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        session, member, enrolment = await _second_factor_session(deps, uow, session_secret)
        if enrolment.locked_until is not None and now < enrolment.locked_until:
            check_locks(deps, replace(enrolment, consecutive_failures=0), now)
        given = normalize_recovery_code(code)
        codes = await uow.recovery_codes.unused(member.id)
        found = next((c for c in codes if given and deps.hasher.verify(c.code_hash, given)), None)
        if found is not None and await uow.recovery_codes.consume(found.id, now):
            await reset_failures(uow, member)
            await audit(
                uow, now, AuditAction.RECOVERY_CODE_USED, member, target=member.id,
                details={"remaining": str(len(codes) - 1)}, ip=ip,
            )  # fmt: skip
            return await _complete(deps, uow, session, member, "recovery_code", ip)
        check = await record_failure(deps, uow, member, now, ip, "recovery_code")
        await uow.commit()
    if check is CodeCheck.NOW_LOCKED:
        raise_for(check, deps, now)
    raise InvalidCredentials("wrong recovery code")


async def authenticate_api_token(deps: AccountsDeps, token: str) -> Principal:
    """Who a bearer token belongs to. :class:`NotAuthenticated` for an unknown, revoked or expired token and for a
    disabled member's. Records use at most once per ``api_token_touch_every``."""
    now = deps.clock.now()
    if not token.startswith(deps.policy.api_token_prefix):
        raise NotAuthenticated("not an Onyx API token")
    async with deps.uow() as uow:
        stored = await uow.api_tokens.by_digest(digest(token))
        if (
            stored is None
            or stored.revoked_at is not None
            or (stored.expires_at is not None and now >= stored.expires_at)
        ):
            raise NotAuthenticated("unknown, revoked or expired token")
        member = await uow.members.get(stored.member_id)
        if member is None or member.disabled:
            raise NotAuthenticated("unknown, revoked or expired token")
        required = await _enrolment_required(uow, member, await uow.totp.get(member.id))
        if stored.last_used_at is None or now - stored.last_used_at >= deps.policy.api_token_touch_every:
            stored = replace(stored, last_used_at=now)
            await uow.api_tokens.save(stored)
            await uow.commit()
    return Principal(member, api_token=stored, enrolment_required=required)


async def logout(deps: AccountsDeps, session_secret: str) -> None:
    """End the session (idempotent: an unknown or ended one is fine)."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        session = await uow.sessions.get(digest(session_secret)) if session_secret else None
        if session is None:
            return
        await uow.sessions.delete(session.id_digest)
        member = await uow.members.get(session.member_id)
        await audit(uow, now, AuditAction.LOGOUT, member, target=session.member_id)
        await uow.commit()
