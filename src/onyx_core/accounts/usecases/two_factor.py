"""TOTP enrolment, recovery codes, disabling, and the agency's "2FA required" policy (A4, A5)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from onyx_core.accounts.errors import (
    InvalidCredentials,
    NotPermitted,
    ReauthenticationRequired,
    SecondFactorRequired,
    TwoFactorStateError,
)
from onyx_core.accounts.model import AgencyPolicy, AuditAction, TotpEnrolment
from onyx_core.accounts.ports import AccountsUnitOfWork
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.deps import (
    AccountsDeps,
    Principal,
    TotpSetup,
    audit,
    require,
    require_unrestricted,
)
from onyx_core.accounts.usecases.recovery import new_recovery_codes, normalize_recovery_code
from onyx_core.accounts.usecases.second_factor import CodeCheck, check_code, raise_for

__all__ = [
    "SecurityStatus",
    "begin_totp_enrolment",
    "confirm_totp_enrolment",
    "disable_totp",
    "reauthenticate",
    "regenerate_recovery_codes",
    "security_status",
    "set_two_factor_required",
]


def _session_only(principal: Principal) -> None:
    """Account and 2FA changes are for a browser session that passed every factor it owes."""
    if principal.api_token is not None:
        raise NotPermitted("API tokens cannot change accounts or second factors")
    if principal.second_factor_due:
        raise SecondFactorRequired("verify your second factor first")


async def _store_recovery_codes(deps: AccountsDeps, uow: AccountsUnitOfWork, principal: Principal) -> list[str]:
    codes = new_recovery_codes(deps.policy)
    hashes = [deps.hasher.hash(normalize_recovery_code(c)) for c in codes]
    await uow.recovery_codes.replace(principal.member.id, hashes)
    return codes


async def begin_totp_enrolment(deps: AccountsDeps, principal: Principal) -> TotpSetup:
    """A new TOTP secret, stored inactive (replacing an unconfirmed one). Refused while 2FA is active."""
    _session_only(principal)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        current = await uow.totp.get(member.id)
        if current is not None and current.active:
            raise TwoFactorStateError("two-factor authentication is on already: disable it first")
        secret = deps.totp.new_secret()
        await uow.totp.save(TotpEnrolment(member.id, secret, active=False, created_at=now))
        await uow.commit()
    return TotpSetup(secret, deps.totp.provisioning_uri(secret, member.email, deps.policy.totp_issuer))


async def confirm_totp_enrolment(deps: AccountsDeps, principal: Principal, code: str) -> list[str]:
    """Activate the pending enrolment with one correct code; returns the recovery codes (in clear, this once).
    A wrong code raises :class:`InvalidCredentials` and activates nothing."""
    _session_only(principal)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        current = await uow.totp.get(member.id)
        if current is None or current.active:
            raise TwoFactorStateError("no enrolment in progress: start again")
        step = deps.totp.matching_step(current.secret, "".join(code.split()), now, deps.policy.totp_valid_window)
        if step is None or not await uow.totp.claim_step(member.id, step):
            raise InvalidCredentials("wrong code")
        fresh = await uow.totp.get(member.id) or current
        await uow.totp.save(replace(fresh, active=True, activated_at=now, last_step=step))
        codes = await _store_recovery_codes(deps, uow, principal)
        await audit(uow, now, AuditAction.TWO_FACTOR_ENROLLED, member, target=member.id)
        await uow.commit()
    return codes


async def reauthenticate(
    deps: AccountsDeps, uow: AccountsUnitOfWork, principal: Principal, password: str, code: str | None
) -> TotpEnrolment | None:
    """Check the member's password and, when 2FA is on, a current code (counted like any code: wrong ones lock).
    Raises :class:`ReauthenticationRequired` (or the lock errors); returns the active enrolment, if any. Commits
    the failure counters before raising."""
    now, member = deps.clock.now(), principal.member
    stored = await uow.members.password_hash(member.id)
    if stored is None or not deps.hasher.verify(stored, password):
        raise ReauthenticationRequired("wrong password")
    enrolment = await uow.totp.get_for_update(member.id)
    if enrolment is None or not enrolment.active:
        return None
    check = await check_code(deps, uow, enrolment, member, code or "", now, None)
    if check is CodeCheck.ACCEPTED:
        return enrolment
    await uow.commit()
    raise_for(check, deps, now)
    raise ReauthenticationRequired("wrong code")


async def regenerate_recovery_codes(deps: AccountsDeps, principal: Principal, *, password: str, code: str) -> list[str]:
    """Ten new recovery codes; every older one stops working. Needs the password and a current code."""
    _session_only(principal)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        if await reauthenticate(deps, uow, principal, password, code) is None:
            raise TwoFactorStateError("two-factor authentication is off")
        codes = await _store_recovery_codes(deps, uow, principal)
        await audit(uow, now, AuditAction.RECOVERY_CODES_REGENERATED, member, target=member.id)
        await uow.commit()
    return codes


async def disable_totp(deps: AccountsDeps, principal: Principal, *, password: str, code: str) -> None:
    """Turn 2FA off (secret and recovery codes deleted). Needs the password and a current code."""
    _session_only(principal)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        if await reauthenticate(deps, uow, principal, password, code) is None:
            raise TwoFactorStateError("two-factor authentication is off")
        await uow.totp.delete(member.id)
        await uow.recovery_codes.replace(member.id, [])
        await audit(uow, now, AuditAction.TWO_FACTOR_DISABLED, member, target=member.id)
        await uow.commit()


async def set_two_factor_required(deps: AccountsDeps, principal: Principal, required: bool) -> None:  # noqa: FBT001 (the contract)
    """Owners only: whether every member of the agency must use 2FA (members without it may then only enrol)."""
    require(principal, Permission.MANAGE_SECURITY_POLICY)
    _session_only(principal)
    now, member = deps.clock.now(), principal.member
    async with deps.uow() as uow:
        await uow.policies.save(AgencyPolicy(member.agency_id, require_two_factor=required))
        await audit(
            uow, now, AuditAction.TWO_FACTOR_POLICY_CHANGED, member, target=member.agency_id,
            details={"require_two_factor": str(required).lower()},
        )  # fmt: skip
        await uow.commit()


@dataclass(frozen=True, slots=True)
class SecurityStatus:
    """What the Security page shows a member of her own account: whether her TOTP second factor is on (and
    since when), and whether her agency requires 2FA of every member (which only owners may change)."""

    two_factor_on: bool
    two_factor_since: datetime | None
    agency_requires_two_factor: bool
    may_set_policy: bool


async def security_status(deps: AccountsDeps, principal: Principal) -> SecurityStatus:
    """The member's own 2FA state and her agency's 2FA policy (any fully logged-in member, for herself)."""
    require_unrestricted(principal)
    member = principal.member
    async with deps.uow() as uow:
        enrolment = await uow.totp.get(member.id)
        policy = await uow.policies.get(member.agency_id)
    on = enrolment is not None and enrolment.active
    return SecurityStatus(
        two_factor_on=on,
        two_factor_since=enrolment.activated_at if on and enrolment is not None else None,
        agency_requires_two_factor=policy.require_two_factor,
        may_set_policy=principal.can(Permission.MANAGE_SECURITY_POLICY),
    )
