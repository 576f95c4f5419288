"""Logging in and out (JSON, under ``/api/auth``): the password, then the second factor, each step giving a new
session id in the ``__Host-onyx_session`` cookie (Secure, HttpOnly, SameSite=Lax, Path=/, no Domain).

Login is public; a cross-site page must not log a victim in as someone else (login CSRF): besides SameSite, a
login whose ``Origin`` (or ``Sec-Fetch-Site``) says another site is refused with 403. The core's answers are
fixed sentences: an unknown email and a wrong password get the same 401, a throttled email 429 with
``Retry-After`` whether it exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody

from onyx_core.accounts import (
    AccountsDeps,
    SessionIssued,
    login_password,
    logout,
    use_recovery_code,
    verify_totp,
)
from onyx_core.accounts.tokens import csrf_token_for
from onyx_fanvue.redaction import remember
from onyx_web.accounts.authentication import ENROLMENT_STEP, PUBLIC, SECOND_FACTOR_STEP, SESSION_COOKIE, Credentials
from onyx_web.accounts.caller import client_ip, principal_of, refuse_cross_site
from onyx_web.errors import Problem, problem_spec

__all__ = ["Accounts", "AuthController", "CodeBody", "LoginBody", "LoginStep", "Me"]

_THROTTLED = problem_spec("Too many attempts: try again after Retry-After seconds")
_CODE_ANSWERS = {
    401: problem_spec("A wrong code, or no session that owes its second factor"),
    423: problem_spec("Too many wrong codes: the account is locked until a recovery code is used"),
    429: _THROTTLED,
}

Accounts = NamedDependency[AccountsDeps]
"""A handler's parameter ``accounts: Accounts`` receives the accounts use cases' ports."""


@dataclass(frozen=True, slots=True)
class LoginBody:
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CodeBody:
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class LoginStep:
    second_factor_due: bool
    enrolment_required: bool
    csrf_token: str


@dataclass(frozen=True, slots=True)
class MemberView:
    id: str
    email: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Me:
    member: MemberView
    role: str
    csrf_token: str | None


def session_cookie(secret: str) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=secret, path="/", domain=None, secure=True, httponly=True, samesite="lax")


def _gone_cookie() -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value="", path="/", domain=None, secure=True, httponly=True, samesite="lax", max_age=0
    )


def _step(issued: SessionIssued) -> Response[LoginStep]:
    body = LoginStep(issued.second_factor_due, issued.enrolment_required, csrf_token_for(issued.secret))
    return Response(body, status_code=200, cookies=[session_cookie(issued.secret)])


def _session_secret(request: Request[Any, Any, Any]) -> str:
    credentials = request.auth
    if not isinstance(credentials, Credentials) or credentials.scheme != "session":
        raise Problem(401, "Log in first.")
    return credentials.secret


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]  # noqa: RUF012 (Litestar's own attribute)

    @post(
        "/login",
        opt={PUBLIC: True},
        status_code=200,
        responses={
            401: problem_spec("Wrong email or password (the same answer for an unknown email)"),
            403: problem_spec("A login sent from another site's page"),
            429: _THROTTLED,
        },
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginBody], accounts: Accounts
    ) -> Response[LoginStep]:
        """Log in with email and password; the answer says whether a second factor (or enrolment) is due."""
        refuse_cross_site(request, "Log in from Onyx's own page.")
        remember(data.password)  # right or wrong, the log filter scrubs it from now on
        issued = await login_password(accounts, email=data.email, password=data.password, ip=client_ip(request))
        return _step(issued)

    @post("/totp", opt={SECOND_FACTOR_STEP: True}, status_code=200, responses=_CODE_ANSWERS)
    async def totp(
        self, request: Request[Any, Any, Any], data: JSONBody[CodeBody], accounts: Accounts
    ) -> Response[LoginStep]:
        """Finish logging in with a TOTP code: a new session id."""
        issued = await verify_totp(
            accounts, session_secret=_session_secret(request), code=data.code, ip=client_ip(request)
        )
        return _step(issued)

    @post("/recovery", opt={SECOND_FACTOR_STEP: True}, status_code=200, responses=_CODE_ANSWERS)
    async def recovery(
        self, request: Request[Any, Any, Any], data: JSONBody[CodeBody], accounts: Accounts
    ) -> Response[LoginStep]:
        """Finish logging in with a recovery code (single use): a new session id."""
        issued = await use_recovery_code(
            accounts, session_secret=_session_secret(request), code=data.code, ip=client_ip(request)
        )
        return _step(issued)

    @post("/logout", opt={SECOND_FACTOR_STEP: True, ENROLMENT_STEP: True}, status_code=204)
    async def logout(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[None]:
        """End this session (the cookie is cleared; the id is dead on the server)."""
        credentials = request.auth
        if isinstance(credentials, Credentials) and credentials.scheme == "session":
            await logout(accounts, credentials.secret)
        return Response(None, status_code=204, cookies=[_gone_cookie()])

    @get("/me", opt={ENROLMENT_STEP: True})
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Who is calling, with the session's CSRF token (``None`` for an API token)."""
        principal = principal_of(request)
        credentials = request.auth
        csrf = csrf_token_for(credentials.secret) if credentials.scheme == "session" else None
        member = principal.member
        return Me(MemberView(str(member.id), member.email, member.display_name), str(member.role), csrf)
