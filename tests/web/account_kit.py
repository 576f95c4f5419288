"""Helpers of the own-account tests (tests/web/test_account_*.py): a full session over HTTP, codes of the
moved clock, a code that is surely wrong, and the audit log read through the core."""

from __future__ import annotations

import asyncio
from typing import Any

from auth_kit import PASSWORD, TOTP, Env, as_session, login, set_cookie_secret
from litestar import Litestar
from litestar.testing import TestClient

from onyx_adapters.security.totp import time_step
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import Principal, authenticate_session, login_password, read_audit

WRONG_PASSWORD = "not the password at all"  # pragma: allowlist secret
HASH_MARKERS = ("$argon2",)
"""What a stored password or recovery-code hash starts with: never in an answer."""


class Session:
    """A cookie session of one member: its id and CSRF token, and requests that carry both."""

    def __init__(self, c: TestClient[Litestar], secret: str, csrf: str) -> None:
        self.c, self.secret, self.csrf = c, secret, csrf

    @property
    def headers(self) -> dict[str, str]:
        return as_session(self.secret, self.csrf)

    def get(self, path: str) -> Any:
        return self.c.get(path, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.c.post(path, json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.c.delete(path, headers=self.headers)


def code_now(env: Env, secret: str, steps_ahead: int = 0) -> str:
    return TOTP.code_at(secret, time_step(env.clock.now()) + steps_ahead)


def wrong_code(env: Env, secret: str) -> str:
    """A six-digit code that matches no step of the window around now."""
    good = {code_now(env, secret, offset) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in good)


def start(c: TestClient[Litestar], email: str, password: str = PASSWORD) -> tuple[Session, dict[str, Any]]:
    """Log in with the password: the (maybe partial) session and the login's answer."""
    response = login(c, email, password)
    assert response.status_code == 200, response.text
    return Session(c, set_cookie_secret(response), response.json()["csrf_token"]), response.json()


def full_session(env: Env, c: TestClient[Litestar], email: str, totp_secret: str | None = None) -> Session:
    """A session that passed every factor: the password, then (a step later, codes are good once) a TOTP code."""
    session, step = start(c, email)
    if not step["second_factor_due"]:
        return session
    assert totp_secret is not None
    env.clock.advance(30)
    done = session.post("/api/auth/totp", {"code": code_now(env, totp_secret)})
    assert done.status_code == 200, done.text
    return Session(c, set_cookie_secret(done), done.json()["csrf_token"])


def audit_actions(env: Env, email: str, password: str = PASSWORD) -> list[str]:
    """The actions of the owner's agency's audit log, oldest first, as she reads them (core read_audit; her
    second factor taken as given)."""
    return asyncio.run(_audit_actions(env, email, password))


async def _audit_actions(env: Env, email: str, password: str) -> list[str]:
    engine = create_engine(env.url)
    try:
        deps = env.deps(engine)
        issued = await login_password(deps, email=email, password=password)
        passed = await authenticate_session(deps, issued.secret)
        entries = await read_audit(deps, Principal(passed.member, session=passed.session))
        return [str(entry.action) for entry in reversed(entries)]
    finally:
        await engine.dispose()
