"""Personal API tokens on the web (/api/account/tokens): made from a session, the secret shown once and stored as
a digest, used as ``Authorization: Bearer`` on /api/auth/me, revoked (then 401); another member's token is 404
and stays alive; no answer holds the secret again, a digest or a hash. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from account_kit import HASH_MARKERS, Session, audit_actions, full_session
from auth_kit import Env, client, make_env
from litestar import post
from sqlalchemy import text

from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts.tokens import digest
from onyx_fanvue.redaction import scrub


@post("/test/write")
async def private_write() -> dict[str, str]:
    return {"ok": "yes"}


@pytest.fixture
def env(database_url: str) -> Env:
    built = make_env(database_url)
    built.app.register(private_write)  # a change a write-scoped token may make
    return built


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _create(session: Session, name: str = "ci", scopes: tuple[str, ...] = ("read",)) -> Any:
    return session.post("/api/account/tokens", {"name": name, "scopes": list(scopes)})


async def _stored(url: str, token_id: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": token_id})
            return [str(value) for row in rows for value in row]
    finally:
        await engine.dispose()


def test_a_token_is_made_used_listed_and_revoked(env: Env) -> None:
    owner = env.owner()
    answers: list[str] = []
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        made = _create(session, "reporting", ("write", "read"))
        assert made.status_code == 201, made.text
        body = made.json()
        secret = body["secret"]
        assert secret.startswith("onyx_pat_")
        assert body["name"] == "reporting"
        assert body["scopes"] == ["read", "write"]

        me = c.get("/api/auth/me", headers=_bearer(secret))
        assert me.status_code == 200
        assert me.json()["member"]["email"] == owner.email
        assert me.json()["csrf_token"] is None

        listed = session.get("/api/account/tokens")
        assert listed.status_code == 200
        [view] = [t for t in listed.json() if t["id"] == body["id"]]
        assert view["revoked_at"] is None
        assert "secret" not in view
        assert "token_digest" not in view

        revoked = session.delete(f"/api/account/tokens/{body['id']}")
        assert revoked.status_code == 204
        assert c.get("/api/auth/me", headers=_bearer(secret)).status_code == 401
        assert session.delete(f"/api/account/tokens/{body['id']}").status_code == 204  # idempotent
        after = session.get("/api/account/tokens")
        [view] = [t for t in after.json() if t["id"] == body["id"]]
        assert view["revoked_at"] is not None
        answers += [made.text, me.text, listed.text, revoked.text, after.text]

    stored = asyncio.run(_stored(env.url, body["id"]))
    assert digest(secret) in stored  # hashed at rest ...
    assert secret not in stored  # ... never in clear
    assert not [a for a in answers[1:] if secret in a]  # shown once
    assert not [a for a in answers if digest(secret) in a or any(m in a for m in HASH_MARKERS)]
    assert secret not in scrub(f"token {secret}")  # a new token is remembered by the log scrubber
    actions = audit_actions(env, owner.email)
    assert {"api_token_created", "api_token_revoked"} <= set(actions)


def test_another_members_token_is_not_found_and_stays_alive(env: Env) -> None:
    owner, stranger = env.owner(), env.owner()  # two agencies
    with client(env.app) as c:
        theirs = _create(full_session(env, c, stranger.email)).json()
        session = full_session(env, c, owner.email)
        _create(session, "mine")
        refused = session.delete(f"/api/account/tokens/{theirs['id']}")
        assert refused.status_code == 404
        assert theirs["id"] not in refused.text
        assert theirs["name"] not in refused.text
        assert session.delete("/api/account/tokens/" + "0" * 32).status_code == 404
        assert session.delete("/api/account/tokens/not-an-id").status_code == 404
        assert theirs["id"] not in session.get("/api/account/tokens").text
        assert c.get("/api/auth/me", headers=_bearer(theirs["secret"])).status_code == 200


def test_a_token_cannot_make_list_or_revoke_tokens(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        made = _create(session, "ci", ("read", "write")).json()
        bearer = _bearer(made["secret"])
        assert c.get("/api/account/tokens", headers=bearer).status_code == 403
        assert c.post("/api/account/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer).status_code == 403
        assert c.delete(f"/api/account/tokens/{made['id']}", headers=bearer).status_code == 403
        assert c.get("/api/auth/me", headers=bearer).status_code == 200


@pytest.mark.parametrize(
    ("name", "scopes", "status"),
    [
        ("", ["read"], 422),
        ("   ", ["read"], 422),
        ("a\x00b", ["read"], 422),
        ("a\nb", ["read"], 422),
        ("x" * 101, ["read"], 422),
        ("ci", [], 422),
        ("ci", ["admin"], 400),
    ],
)
def test_a_token_needs_a_name_and_a_known_scope(env: Env, name: str, scopes: list[str], status: int) -> None:
    owner = env.owner()
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        refused = session.post("/api/account/tokens", {"name": name, "scopes": scopes})
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert session.get("/api/account/tokens").json() == []


def test_a_token_acts_only_within_its_scopes(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        reader = _bearer(_create(session, "reader", ("read",)).json()["secret"])
        writer = _bearer(_create(session, "writer", ("write",)).json()["secret"])
        both = _bearer(_create(session, "both", ("read", "write")).json()["secret"])
        assert c.get("/api/auth/me", headers=reader).status_code == 200
        assert c.post("/test/write", headers=reader).status_code == 403
        assert c.post("/api/auth/logout", headers=reader).status_code == 403
        assert c.get("/api/auth/me", headers=writer).status_code == 403
        assert c.post("/test/write", headers=writer).status_code == 201
        assert c.get("/api/auth/me", headers=both).status_code == 200
        assert c.post("/test/write", headers=both).status_code == 201
