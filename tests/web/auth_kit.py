"""Helpers of the auth tests: an app on a database with a movable clock and a cheap hasher, owners made with the
core's create_owner (with or without TOTP), and requests that carry the session cookie by hand."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from web_helpers import KEY, web_settings

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.security import Argon2PasswordHasher, PyotpTotp
from onyx_adapters.security.totp import time_step
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import (
    AccountsDeps,
    authenticate_session,
    begin_totp_enrolment,
    confirm_totp_enrolment,
    create_api_token,
    create_owner,
    login_password,
    set_two_factor_required,
)
from onyx_core.accounts.model import ApiTokenScope
from onyx_core.testing.fakes import ManualClock
from onyx_web.accounts.authentication import SESSION_COOKIE
from onyx_web.app import create_app

PASSWORD = "correct horse battery staple"  # pragma: allowlist secret
HASHER = Argon2PasswordHasher.for_tests()
TOTP = PyotpTotp()


@dataclass
class Owner:
    email: str
    totp_secret: str | None
    recovery_codes: list[str]


@dataclass
class Env:
    url: str
    clock: ManualClock
    app: Litestar

    def deps(self, engine: Any) -> AccountsDeps:
        return accounts_deps(engine, FernetCipher([KEY]), clock=self.clock, hasher=HASHER)

    def owner(self, *, totp: bool = False) -> Owner:
        return asyncio.run(self._owner(totp))

    async def _owner(self, totp: bool) -> Owner:
        email = f"owner-{uuid.uuid4().hex[:10]}@agency.test"
        engine = create_engine(self.url)
        try:
            deps = self.deps(engine)
            await create_owner(deps, agency_name="Acme", email=email, display_name="Olga", password=PASSWORD)
            if not totp:
                return Owner(email, None, [])
            issued = await login_password(deps, email=email, password=PASSWORD)
            principal = await authenticate_session(deps, issued.secret)
            setup = await begin_totp_enrolment(deps, principal)
            code = deps.totp.code_at(setup.secret, time_step(self.clock.now()))
            codes = await confirm_totp_enrolment(deps, principal, code)
            return Owner(email, setup.secret, codes)
        finally:
            await engine.dispose()

    def api_token(self, owner: Owner) -> str:
        """A read-write API token of ``owner`` (created through the core)."""
        return asyncio.run(self._api_token(owner))

    async def _api_token(self, owner: Owner) -> str:
        engine = create_engine(self.url)
        try:
            deps = self.deps(engine)
            issued = await login_password(deps, email=owner.email, password=PASSWORD)
            principal = await authenticate_session(deps, issued.secret)
            scopes = frozenset({ApiTokenScope.READ, ApiTokenScope.WRITE})
            return (await create_api_token(deps, principal, name="ci", scopes=scopes)).secret
        finally:
            await engine.dispose()

    def require_two_factor(self, owner: Owner) -> None:
        """The owner's agency requires 2FA from now on (set through the core)."""
        asyncio.run(self._require_two_factor(owner))

    async def _require_two_factor(self, owner: Owner) -> None:
        engine = create_engine(self.url)
        try:
            deps = self.deps(engine)
            issued = await login_password(deps, email=owner.email, password=PASSWORD)
            principal = await authenticate_session(deps, issued.secret)
            await set_two_factor_required(deps, principal, True)
        finally:
            await engine.dispose()

    def code(self, owner: Owner, steps_ahead: int = 0) -> str:
        assert owner.totp_secret is not None
        return TOTP.code_at(owner.totp_secret, time_step(self.clock.now()) + steps_ahead)


def make_env(url: str, **app_args: Any) -> Env:
    clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    return Env(url, clock, create_app(web_settings(url), clock=clock, hasher=HASHER, **app_args))


def client(app: Litestar) -> TestClient[Litestar]:
    """A client on https (the cookie is Secure) that keeps no cookies: each request says which session it is."""
    return TestClient(app, base_url="https://testserver.local", raise_server_exceptions=False)


def as_session(secret: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{SESSION_COOKIE}={secret}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return headers


def set_cookie_secret(response: Any) -> str:
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == SESSION_COOKIE:
            return rest.split(";", 1)[0]
    raise AssertionError("no session cookie set")


def login(c: TestClient[Litestar], email: str, password: str = PASSWORD) -> Any:
    response = c.post("/api/auth/login", json={"email": email, "password": password})
    c.cookies.clear()
    return response
