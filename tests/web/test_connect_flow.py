"""Connecting Fanvue from the browser, end to end against the in-process sandbox on SQLite and PostgreSQL: the
agency's grant stored encrypted and its creators imported, health active with its scopes, a reconnect that keeps
the same connection, a creator connecting her own account through an invite link, and failures that store
nothing and tell no secret."""

from __future__ import annotations

import asyncio

import pytest
from connect_kit import Connect, client, log_in, make_connect, query_of, start
from sqlalchemy import text

from onyx_adapters.sql.engine import create_engine
from onyx_fanvue.oauth import DEFAULT_SCOPES


@pytest.fixture
def kit(database_url: str) -> Connect:
    return make_connect(database_url)


def rows(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    async def read() -> list[tuple[object, ...]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def audit_actions(url: str, agency_id: str) -> list[str]:
    return [str(r[0]) for r in rows(url, "SELECT action FROM audit_log WHERE agency_id = :a ORDER BY id", a=agency_id)]


def test_connecting_stores_the_grant_imports_creators_and_shows_it_active(kit: Connect) -> None:
    owner = kit.env.owner()
    seen: list[str] = []
    kit.sandbox.first_use_hooks.append(lambda token, _info: seen.append(token))
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        answer = start(c, session, login_hint=kit.admin)
        assert answer.status_code == 200, answer.text
        callback = kit.authorize(answer.json()["authorize_url"])
        done = c.get(callback, headers=session.headers(csrf=False), follow_redirects=False)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/connections"
        listed = c.get("/api/connections", headers=session.headers(csrf=False))
        assert listed.status_code == 200, listed.text
        [health] = listed.json()
        one = c.get(f"/api/connections/{health['id']}", headers=session.headers(csrf=False))
        me = c.get("/api/auth/me", headers=session.headers(csrf=False)).json()
    admin_uuid = kit.sandbox.user(kit.admin)
    assert health["id"] == f"agency-{admin_uuid}"
    assert (health["kind"], health["status"], health["account_name"]) == ("agency", "active", "Acme")
    assert health["scopes_missing"] == []
    assert set(health["scopes_granted"]) >= set(DEFAULT_SCOPES) == set(health["scopes_needed"])
    assert (health["reconnect"], health["last_error"]) == (None, None)
    assert one.json() == health
    agency_id = rows(kit.env.url, "SELECT agency_id FROM members WHERE id = :m", m=me["member"]["id"])[0][0]
    creators = {r[0] for r in rows(kit.env.url, "SELECT handle FROM creators WHERE agency_id = :a", a=agency_id)}
    assert creators == set(kit.creator_handles())
    stored = rows(kit.env.url, "SELECT * FROM connections WHERE id = :i", i=health["id"])
    assert stored
    assert seen  # the grant was used (who is it? the creators) and is stored encrypted only
    assert all(token not in repr(stored) for token in seen)
    assert "connection_added" in audit_actions(kit.env.url, str(agency_id))
