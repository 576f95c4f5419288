"""The errors of the accounts wing. All are :class:`~onyx_core.errors.OnyxError` s; the web service maps each to
one HTTP status (named on each class). An object outside the member's agency or creator scope is
:class:`~onyx_core.errors.NotFoundError` (404), never :class:`NotPermitted`, so its existence is not revealed."""

from __future__ import annotations

from onyx_core.errors import OnyxError

__all__ = [
    "AccountLocked",
    "AccountsError",
    "InvalidCredentials",
    "InvalidInvite",
    "InvalidOAuthState",
    "LastOwnerError",
    "NotAuthenticated",
    "NotPermitted",
    "ReauthenticationRequired",
    "SecondFactorRequired",
    "Throttled",
    "TwoFactorStateError",
    "WeakPassword",
]


class AccountsError(OnyxError):
    """Base class of the accounts errors."""


class InvalidCredentials(AccountsError):  # noqa: N818 (the names the design gives)
    """401: wrong email, password or code. The same for an unknown email, a wrong password and a disabled member."""


class NotAuthenticated(AccountsError):  # noqa: N818 (the names the design gives)
    """401: no session or token, or an unknown, expired or revoked one."""


class SecondFactorRequired(AccountsError):  # noqa: N818 (the names the design gives)
    """401: the session passed the password but owes a second factor (or the agency requires 2FA and the member
    has not enrolled yet): it may only verify (or enrol) and log out."""


class NotPermitted(AccountsError):  # noqa: N818 (the names the design gives)
    """403: the member's role does not allow this."""


class LastOwnerError(NotPermitted):
    """409: the agency's last active owner cannot be demoted, removed or disabled (a :class:`NotPermitted`, but
    about the agency's state, not the caller's role)."""


class Throttled(AccountsError):  # noqa: N818 (the names the design gives)
    """429: too many failures; try again in ``retry_after`` seconds (the ``Retry-After`` header)."""

    def __init__(self, retry_after: int, message: str = "too many attempts, try again later") -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class AccountLocked(AccountsError):  # noqa: N818 (the names the design gives)
    """423: too many consecutive wrong second-factor codes; only a recovery code unlocks the account."""


class WeakPassword(AccountsError):  # noqa: N818 (the names the design gives)
    """422: the new password breaks the password policy (length)."""


class InvalidInvite(AccountsError):  # noqa: N818 (the names the design gives)
    """404: the invitation link is unknown, used, revoked, expired or for another address (all alike)."""


class InvalidOAuthState(AccountsError):  # noqa: N818 (the names the design gives)
    """400: the OAuth ``state`` is missing, unknown, used already, expired or belongs to another session."""


class ReauthenticationRequired(AccountsError):  # noqa: N818 (the names the design gives)
    """401/403: a sensitive change needs the current password (and a current TOTP code when 2FA is on), and what
    was given was wrong."""


class TwoFactorStateError(AccountsError):
    """409: the second factor is not in the state this needs (enrolling when already active, disabling or
    regenerating codes when not active, confirming without an enrolment in progress)."""
