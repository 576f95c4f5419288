"""Generated from ``app.routes`` (a route added later is checked without anyone listing it): a session that still
owes its second factor gets 401 everywhere but totp/recovery/logout (A8); every unsafe route refuses a cookie
session without the right CSRF token with 403, and takes none from a bearer token (W6); no GET changes the
database (W6) but for the audit entries of exports (a read recorded by design). The app gets two private routes
of the test's own, as the app has few yet."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import pytest
from auth_kit import Env, as_session, client, login, make_env, set_cookie_secret
from litestar import Litestar, delete, get, post
from litestar.params import FromPath
from sqlalchemy import MetaData, select

from onyx_adapters.sql.engine import create_engine
from onyx_web.accounts.authentication import PAGE, PUBLIC

SECOND_FACTOR_ROUTES = {("/api/auth/totp", "POST"), ("/api/auth/recovery", "POST"), ("/api/auth/logout", "POST")}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    public: bool
    page: bool = False

    def url(self) -> str:
        return _PARAM.sub("1", self.path)


def operations(app: Litestar) -> list[Operation]:
    return sorted(
        {
            Operation(route.path, method, bool(handler.opt.get(PUBLIC)), bool(handler.opt.get(PAGE)))
            for route in app.routes
            for handler in route.route_handlers  # type: ignore[attr-defined]
            for method in handler.http_methods
        },
        key=lambda op: (op.path, op.method),
    )


@get("/test/private")
async def private() -> dict[str, str]:
    return {"ok": "yes"}


@delete("/test/items/{item_id:int}")
async def private_delete(item_id: FromPath[int]) -> None:
    return None


@post("/test/items")
async def private_post() -> dict[str, str]:
    return {"ok": "yes"}


@pytest.fixture
def env(database_url: str) -> Env:
    built = make_env(database_url)
    for handler in (private, private_delete, private_post):
        built.app.register(handler)
    return built


def refused(op: Operation, response: Any, step: str) -> bool:
    """An API route answers 401; a page sends the browser to the step still due, with nothing of its own."""
    if op.page:
        return response.status_code == 303 and response.headers.get("location") == step and not response.content
    return bool(response.status_code == 401)


def test_a_password_stage_session_is_refused_everywhere_but_the_second_factor(env: Env) -> None:
    owner = env.owner(totp=True)
    ops = [op for op in operations(env.app) if not op.public and op.method != "OPTIONS"]
    wrong: list[str] = []
    with client(env.app) as c:
        first = login(c, owner.email)
        secret, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        for op in ops:
            if (op.path, op.method) in SECOND_FACTOR_ROUTES:
                continue
            response = c.request(op.method, op.url(), headers=as_session(secret, csrf), json={}, follow_redirects=False)
            if not refused(op, response, "/login/2fa"):
                wrong.append(f"{op.method} {op.path}: {response.status_code}")
        allowed = c.post("/api/auth/logout", headers=as_session(secret, csrf))
    assert len(ops) - len(SECOND_FACTOR_ROUTES) >= 4
    assert wrong == []
    assert allowed.status_code == 204


ENROLMENT_ROUTES = {
    ("/api/auth/me", "GET"),
    ("/api/auth/logout", "POST"),
    ("/api/account/totp/enrolment", "POST"),
    ("/api/account/totp/enrolment/confirm", "POST"),
}
"""What a member who must enrol in 2FA first may call: see herself, log out, enrol."""


def test_a_member_who_must_enrol_may_only_see_herself_and_log_out(env: Env) -> None:
    owner = env.owner()
    env.require_two_factor(owner)
    ops = [op for op in operations(env.app) if not op.public and op.method not in {"OPTIONS", "HEAD"}]
    wrong: list[str] = []
    with client(env.app) as c:
        first = login(c, owner.email)
        assert first.json()["enrolment_required"] is True
        secret, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        for op in ops:
            if (op.path, op.method) in ENROLMENT_ROUTES:
                continue
            response = c.request(op.method, op.url(), headers=as_session(secret, csrf), json={}, follow_redirects=False)
            if not refused(op, response, "/account/2fa"):
                wrong.append(f"{op.method} {op.path}: {response.status_code}")
        me = c.get("/api/auth/me", headers=as_session(secret))
        out = c.post("/api/auth/logout", headers=as_session(secret, csrf))
    assert wrong == []
    assert me.status_code == 200
    assert out.status_code == 204


def test_every_unsafe_route_needs_the_csrf_token_of_a_cookie_session(env: Env) -> None:
    owner = env.owner()
    unsafe = [op for op in operations(env.app) if not op.public and op.method in UNSAFE]
    wrong: list[str] = []
    with client(env.app) as c:
        first = login(c, owner.email)
        secret, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        for op in unsafe:
            for token in (None, "", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
                response = c.request(op.method, op.url(), headers=as_session(secret, token), json={})
                if response.status_code != 403:
                    wrong.append(f"{op.method} {op.path} with {token!r}: {response.status_code}")
        ok = c.post("/test/items", headers=as_session(secret, csrf))
        still = c.get("/api/auth/me", headers=as_session(secret))
    assert len(unsafe) >= 5
    assert wrong == []
    assert ok.status_code == 201
    assert still.status_code == 200  # the refusals logged nobody out


def test_a_bearer_token_needs_no_csrf_token(env: Env) -> None:
    owner = env.owner()
    token = env.api_token(owner)
    with client(env.app) as c:
        response = c.post("/test/items", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


PUBLIC_UNSAFE = {
    ("/api/auth/login", "POST"),
    ("/api/invites/{token:str}/accept", "POST"),  # the invitation link is the credential (single use)
    ("/api/invites/{token:str}/connect", "POST"),  # a creator with no account starts connecting (same-site only)
    ("/webhooks/fanvue/{agency_id:str}/{event_type:str}", "POST"),  # Fanvue's signature is the credential
    ("/ops/heartbeat", "POST"),  # a scheduler's bearer secret (ONYX_HEARTBEAT_SECRET), never a cookie: no CSRF
}


def test_the_public_unsafe_routes_are_the_known_ones(env: Env) -> None:
    public_unsafe = {(op.path, op.method) for op in operations(env.app) if op.public and op.method in UNSAFE}
    assert public_unsafe == PUBLIC_UNSAFE


def test_no_get_route_changes_the_database(env: Env) -> None:
    owner = env.owner()
    gets = [op for op in operations(env.app) if op.method in {"GET", "HEAD"}]
    with client(env.app) as c:
        secret = set_cookie_secret(login(c, owner.email))
        before = asyncio.run(_snapshot(env.url))
        for op in gets:
            c.request(op.method, op.url(), headers=as_session(secret))
        after = asyncio.run(_snapshot(env.url))
    assert len(gets) >= 4
    # An export (a GET) is recorded in the audit log by design: a record of a read, not state a forged request
    # could abuse (a cross-site page cannot read the file). Those entries, and nothing else, may appear.
    recorded = [row for row in after["audit_log"] if row not in before["audit_log"]]
    assert [row[2] for row in recorded] == ["export"] * sum(op.path.startswith("/api/exports/") for op in gets)
    assert before == {**after, "audit_log": [row for row in after["audit_log"] if row not in recorded]}


async def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            meta = MetaData()
            await conn.run_sync(meta.reflect)
            return {
                name: sorted((tuple(row) for row in (await conn.execute(select(table))).all()), key=repr)
                for name, table in sorted(meta.tables.items())
            }
    finally:
        await engine.dispose()
