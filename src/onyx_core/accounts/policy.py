"""The accounts wing's numbers: password length, throttles, session lifetimes, TOTP locks, link lifetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from onyx_core.accounts.errors import WeakPassword

__all__ = ["AccountsPolicy", "check_password"]


@dataclass(frozen=True, slots=True)
class AccountsPolicy:
    """Defaults are Onyx's security policy (requirements A1-A8); tests may shorten them."""

    password_min_length: int = 12
    password_max_length: int = 1024

    login_max_failures: int = 10
    """Failed password logins per normalized email within :attr:`login_window` before logins are refused."""
    login_window: timedelta = timedelta(minutes=15)
    """Counted from the first failure; the lock lasts until the window ends."""

    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    """From the login (``created_at``), whatever the activity."""
    session_touch_every: timedelta = timedelta(minutes=1)
    """``last_seen_at`` is written at most this often."""
    password_stage_lifetime: timedelta = timedelta(minutes=10)
    """A session that passed the password but owes the second factor lives this long."""

    totp_valid_window: int = 1
    """Steps of 30 s accepted on either side of now."""
    totp_max_failures: int = 5
    """Wrong codes before the 2FA step is locked for :attr:`totp_lock`."""
    totp_lock: timedelta = timedelta(minutes=15)
    totp_account_lock_failures: int = 100
    """Consecutive wrong codes after which only a recovery code unlocks the account."""
    totp_issuer: str = "Onyx"

    recovery_code_count: int = 10
    recovery_code_length: int = 12
    """Base32 characters (5 random bits each: 12 -> 60 bits), shown as ``xxxx-xxxx-xxxx``."""

    invite_lifetime: timedelta = timedelta(days=7)
    oauth_attempt_lifetime: timedelta = timedelta(minutes=10)

    api_token_prefix: str = "onyx_pat_"  # noqa: S105 (a prefix, not a secret)
    api_token_touch_every: timedelta = timedelta(minutes=1)


def check_password(policy: AccountsPolicy, password: str) -> None:
    """Raise :class:`WeakPassword` unless ``password`` has an allowed length."""
    if len(password) < policy.password_min_length:
        raise WeakPassword(f"a password needs at least {policy.password_min_length} characters")
    if len(password) > policy.password_max_length:
        raise WeakPassword(f"a password has at most {policy.password_max_length} characters")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")
