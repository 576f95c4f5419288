"""Who is calling: every route is private unless it declares ``opt={"public": True}`` (W1).

For a private route, :class:`AuthenticationMiddleware` reads the credentials — ``Authorization: Bearer <token>``
(an API token) or else the ``__Host-onyx_session`` cookie — and hands them to the app's :class:`Authenticator`,
which returns the principal (``request.user`` from then on) or raises :class:`NotAuthenticatedError`. No
credentials, malformed ones or a refusal answer 401 (problem+json); anything else the authenticator raises is a
500 like any other failure. The authenticator decides everything about validity (expiry, revocation, stage): it is
the core's (``authenticate_session`` / ``authenticate_api_token``, :mod:`onyx_web.accounts.wiring`), the app
factory's default; :func:`deny_all` refuses everyone.

Then, centrally for every private route: a principal that still owes its second factor gets 401 except on routes
with ``opt={"second_factor_step": True}`` (A8); one that must enrol in 2FA first, except on routes with
``opt={"enrolment_step": True}``; and a cookie-authenticated request with an unsafe method needs the header
``X-CSRF-Token`` equal to ``csrf_token_for(session id)``, else 403 (W6). Bearer-token requests need no CSRF token,
but an API token needs the scope of the method (``read`` for GET/HEAD/OPTIONS, ``write`` for the others), else 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from onyx_core.accounts import Principal
from onyx_core.accounts.model import ApiTokenScope
from onyx_core.accounts.tokens import csrf_token_for, same_secret
from onyx_web.errors import Problem, SeeOther
from onyx_web.runtime import WebRuntime, web_runtime

__all__ = [
    "CSRF_HEADER",
    "ENROLMENT_STEP",
    "MAX_CREDENTIAL_LENGTH",
    "PAGE",
    "PUBLIC",
    "SECOND_FACTOR_STEP",
    "SESSION_COOKIE",
    "AuthenticationMiddleware",
    "Authenticator",
    "Credentials",
    "NotAuthenticatedError",
    "deny_all",
    "unauthenticated",
]

SESSION_COOKIE = "__Host-onyx_session"
PUBLIC = "public"
"""The route option that lets anonymous callers in: ``@get("/healthz", opt={"public": True})``."""
SECOND_FACTOR_STEP = "second_factor_step"
"""The route option of the few routes a session that still owes its second factor may call (A8): verify a TOTP
or recovery code, log out. Every other private route answers such a session 401."""
ENROLMENT_STEP = "enrolment_step"
"""The route option of the routes a member who must enrol in 2FA first may call (enrol, log out, who am I)."""
PAGE = "page"
"""The route option of a private page (``opt={"page": True}``): where an API route answers 401, a page sends the
browser to the step still due instead (303 to the login page, the second factor or 2FA enrolment), never with
data. tests/web/test_route_inventory.py checks every such route."""
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_CREDENTIAL_LENGTH = 512
"""Longer credentials are refused without asking the authenticator (ours are 43-52 characters)."""


class NotAuthenticatedError(Exception):
    """The credentials are unknown, expired or revoked: the caller is nobody (401)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    scheme: Literal["session", "bearer"]
    """``session``: the cookie (unsafe methods also need the CSRF token); ``bearer``: an API token."""
    secret: str = field(repr=False)


class Authenticator(Protocol):
    """Turns credentials into a principal, or raises :class:`NotAuthenticatedError` (or an error the app maps to
    401). ``web`` gives it the database and the rest of the runtime."""

    async def __call__(self, web: WebRuntime, credentials: Credentials, /) -> Any: ...


async def deny_all(web: WebRuntime, credentials: Credentials, /) -> Any:  # noqa: ARG001
    """The authenticator while no accounts are wired: nobody is anybody."""
    raise NotAuthenticatedError


def unauthenticated() -> Problem:
    """The 401 every refusal answers: the same for a missing, malformed, unknown or expired credential."""
    return Problem(401, "Log in, or send an API token.", headers={"WWW-Authenticate": 'Bearer realm="onyx"'})


def credentials_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Credentials | None:
    """The request's credentials; ``None`` for none or malformed ones. A bearer token wins over the cookie."""
    authorization = connection.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not _plausible(token):
            return None
        return Credentials("bearer", token)
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie is None or not _plausible(cookie):
        return None
    return Credentials("session", cookie)


def _plausible(secret: str) -> bool:
    return 0 < len(secret) <= MAX_CREDENTIAL_LENGTH and secret.isascii() and secret.isprintable() and " " not in secret


def _to_login(connection: ASGIConnection[Any, Any, Any, Any]) -> SeeOther:
    """The login page, which comes back to this page's path afterwards (a path of ours: never another site)."""
    return SeeOther("/login?" + urlencode({"next": connection.scope["path"]}))


class AuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Authenticates every request to a route without ``opt={"public": True}``, whatever its method."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        super().__init__(app, exclude_from_auth_key=PUBLIC, exclude_http_methods=())
        self.authenticator = authenticator

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        options = connection.route_handler.opt
        page = bool(options.get(PAGE))
        credentials = credentials_of(connection)
        if credentials is None:
            raise _to_login(connection) if page else unauthenticated()
        try:
            principal = await self.authenticator(web_runtime(connection.app), credentials)
        except NotAuthenticatedError:
            raise (_to_login(connection) if page else unauthenticated()) from None
        if getattr(principal, "second_factor_due", False) and not options.get(SECOND_FACTOR_STEP):
            raise SeeOther("/login/2fa") if page else Problem(401, "Finish logging in with your second factor first.")
        if getattr(principal, "enrolment_required", False) and not options.get(ENROLMENT_STEP):
            raise SeeOther("/account/2fa") if page else Problem(401, "Set up two-factor authentication first.")
        unsafe = connection.scope.get("method", "GET") not in SAFE_METHODS
        if credentials.scheme == "session" and unsafe:
            given = connection.headers.get(CSRF_HEADER, "")
            if not same_secret(given, csrf_token_for(credentials.secret)):
                raise Problem(403, "The CSRF token is missing or wrong.")
        if isinstance(principal, Principal) and not principal.within_scope(
            ApiTokenScope.WRITE if unsafe else ApiTokenScope.READ
        ):
            raise Problem(403, "This API token's scopes do not allow this.")
        return AuthenticationResult(user=principal, auth=credentials)
