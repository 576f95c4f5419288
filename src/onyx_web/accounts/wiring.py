"""The accounts use cases on the web: the app's real authenticator (session cookie -> ``authenticate_session``,
bearer token -> ``authenticate_api_token``) and the :class:`~onyx_core.accounts.AccountsDeps` every accounts route
receives, built once per open runtime from its engine and cipher (the clock, hasher and policy injectable, so
tests move time instead of sleeping)."""

from __future__ import annotations

from http import HTTPStatus

from onyx_adapters.accounts import accounts_deps
from onyx_core.accounts import (
    AccountLocked,
    AccountsDeps,
    AccountsPolicy,
    InvalidCredentials,
    InvalidInvite,
    InvalidOAuthState,
    LastOwnerError,
    NotAuthenticated,
    NotPermitted,
    Principal,
    ReauthenticationRequired,
    SecondFactorRequired,
    Throttled,
    TwoFactorStateError,
    WeakPassword,
    authenticate_api_token,
    authenticate_session,
)
from onyx_core.accounts.ports import DuplicateEmailError, PasswordHasher
from onyx_core.ports import Clock
from onyx_web.accounts.authentication import Credentials, NotAuthenticatedError
from onyx_web.errors import DOMAIN_ERRORS
from onyx_web.runtime import WebRuntime

__all__ = ["ACCOUNTS_ERRORS", "AccountsWiring"]

ACCOUNTS_ERRORS: dict[type[Exception], HTTPStatus] = {
    InvalidCredentials: HTTPStatus.UNAUTHORIZED,
    NotAuthenticated: HTTPStatus.UNAUTHORIZED,
    SecondFactorRequired: HTTPStatus.UNAUTHORIZED,
    ReauthenticationRequired: HTTPStatus.UNAUTHORIZED,
    NotPermitted: HTTPStatus.FORBIDDEN,
    Throttled: HTTPStatus.TOO_MANY_REQUESTS,
    AccountLocked: HTTPStatus.LOCKED,
    WeakPassword: HTTPStatus.UNPROCESSABLE_ENTITY,
    TwoFactorStateError: HTTPStatus.CONFLICT,
    InvalidOAuthState: HTTPStatus.BAD_REQUEST,
    LastOwnerError: HTTPStatus.CONFLICT,  # the agency's state refuses it, not the caller's role
    InvalidInvite: HTTPStatus.NOT_FOUND,  # unknown, used, revoked, expired: all alike
    DuplicateEmailError: HTTPStatus.CONFLICT,
}
"""The accounts errors' statuses (the answer is the status's title alone: never the error's message)."""
DOMAIN_ERRORS.update(ACCOUNTS_ERRORS)


class AccountsWiring:
    """The accounts use cases' ports for the app's open runtime, and the authenticator on them."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        policy: AccountsPolicy | None = None,
    ) -> None:
        self._clock = clock
        self._hasher = hasher
        self._policy = policy
        self._built: tuple[WebRuntime, AccountsDeps] | None = None

    def deps(self, web: WebRuntime) -> AccountsDeps:
        """The ports on ``web``'s engine and cipher (built once per runtime)."""
        if self._built is None or self._built[0] is not web:
            deps = accounts_deps(web.engine, web.cipher, clock=self._clock, hasher=self._hasher, policy=self._policy)
            self._built = (web, deps)
        return self._built[1]

    async def authenticate(self, web: WebRuntime, credentials: Credentials, /) -> Principal:
        """The app's authenticator: the core decides validity (expiry, revocation, stage)."""
        deps = self.deps(web)
        try:
            if credentials.scheme == "bearer":
                return await authenticate_api_token(deps, credentials.secret)
            return await authenticate_session(deps, credentials.secret)
        except NotAuthenticated:
            raise NotAuthenticatedError from None
