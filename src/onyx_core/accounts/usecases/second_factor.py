"""Checking a TOTP code against a member's enrolment: the window, the replay guard and the two locks (A1-A3)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum

from onyx_core.accounts.errors import AccountLocked, Throttled
from onyx_core.accounts.model import AuditAction, Member, TotpEnrolment
from onyx_core.accounts.ports import AccountsUnitOfWork
from onyx_core.accounts.usecases.deps import AccountsDeps, audit


class CodeCheck(Enum):
    ACCEPTED = "accepted"
    REPLAYED = "replayed"
    """A right code whose step was accepted already (or a concurrent submission of it won): refused, not counted."""
    WRONG = "wrong"
    """Counted as a failure; the unit of work holds the new counters: commit it before raising."""
    NOW_LOCKED = "now_locked"
    """This failure locked the 2FA step (commit, then raise :class:`Throttled`)."""
    NOW_ACCOUNT_LOCKED = "now_account_locked"
    """This failure locked the account (commit, then raise :class:`AccountLocked`)."""


def seconds_until(now: datetime, until: datetime) -> int:
    return max(1, math.ceil((until - now) / timedelta(seconds=1)))


def check_locks(deps: AccountsDeps, enrolment: TotpEnrolment, now: datetime) -> None:
    """Raise :class:`AccountLocked` or :class:`Throttled` while a lock holds."""
    if enrolment.consecutive_failures >= deps.policy.totp_account_lock_failures:
        raise AccountLocked("too many wrong codes: use a recovery code")
    if enrolment.locked_until is not None and now < enrolment.locked_until:
        raise Throttled(seconds_until(now, enrolment.locked_until), "too many wrong codes, try again later")


def raise_for(check: CodeCheck, deps: AccountsDeps, now: datetime) -> None:
    """Raise the lock errors a failed check ended in (the caller raises its own error for the rest)."""
    if check is CodeCheck.NOW_ACCOUNT_LOCKED:
        raise AccountLocked("too many wrong codes: use a recovery code")
    if check is CodeCheck.NOW_LOCKED:
        raise Throttled(seconds_until(now, now + deps.policy.totp_lock), "too many wrong codes, try again later")


async def record_failure(
    deps: AccountsDeps, uow: AccountsUnitOfWork, member: Member, now: datetime, ip: str | None, kind: str
) -> CodeCheck:
    """Count one wrong second-factor attempt (a TOTP or recovery code) and lock when a limit is reached."""
    current = await uow.totp.get(member.id)  # fresh: never write back an older ``last_step``
    if current is None:
        return CodeCheck.WRONG
    policy = deps.policy
    failures, consecutive = current.failures + 1, current.consecutive_failures + 1
    locked_until = current.locked_until
    result = CodeCheck.WRONG
    await audit(uow, now, AuditAction.TWO_FACTOR_FAILED, member, target=member.id, details={"kind": kind}, ip=ip)
    if consecutive >= policy.totp_account_lock_failures:
        result = CodeCheck.NOW_ACCOUNT_LOCKED
        await audit(
            uow, now, AuditAction.TWO_FACTOR_LOCKED, member, target=member.id, details={"lock": "account"}, ip=ip
        )
    elif failures >= policy.totp_max_failures:
        failures, locked_until, result = 0, now + policy.totp_lock, CodeCheck.NOW_LOCKED
        await audit(
            uow, now, AuditAction.TWO_FACTOR_LOCKED, member, target=member.id,
            details={"lock": f"{int(policy.totp_lock.total_seconds())} s"}, ip=ip,
        )  # fmt: skip
    await uow.totp.save(
        replace(current, failures=failures, consecutive_failures=consecutive, locked_until=locked_until)
    )
    return result


async def reset_failures(uow: AccountsUnitOfWork, member: Member) -> None:
    current = await uow.totp.get(member.id)
    if current is not None:
        await uow.totp.save(replace(current, failures=0, consecutive_failures=0, locked_until=None))


async def check_code(
    deps: AccountsDeps,
    uow: AccountsUnitOfWork,
    enrolment: TotpEnrolment,
    member: Member,
    code: str,
    now: datetime,
    ip: str | None,
) -> CodeCheck:
    """Check ``code`` (locks first: raises :class:`AccountLocked` / :class:`Throttled`). A right code claims its
    step atomically, so each step is accepted once (also under concurrent submissions)."""
    check_locks(deps, enrolment, now)
    given = "".join(code.split())
    step = deps.totp.matching_step(enrolment.secret, given, now, deps.policy.totp_valid_window)
    if step is None:
        return await record_failure(deps, uow, member, now, ip, "totp")
    if not await uow.totp.claim_step(member.id, step):
        return CodeCheck.REPLAYED
    current = await uow.totp.get(member.id)
    if current is not None:
        await uow.totp.save(replace(current, last_step=step, failures=0, consecutive_failures=0, locked_until=None))
    return CodeCheck.ACCEPTED
