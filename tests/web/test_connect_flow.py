"""Connecting Fanvue from the browser, end to end against the in-process sandbox on SQLite and PostgreSQL: the
agency's grant stored encrypted and its creators imported, health active with its scopes, a reconnect that keeps
the same connection, a creator connecting her own account through an invite link, and failures that store
nothing and tell no secret."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from connect_kit import Connect, client, log_in, make_connect, start
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
        assert done.headers["location"] == "/connections?connected=agency"  # the page says it is connected
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


def connect(kit: Connect, c, session, as_user: str | None = None, **body):
    answer = start(c, session, login_hint=as_user or kit.admin, **body)
    assert answer.status_code == 200, answer.text
    return c.get(kit.authorize(answer.json()["authorize_url"]), headers=session.headers(csrf=False),
                 follow_redirects=False)  # fmt: skip


def test_reconnecting_keeps_the_same_connection_and_mends_it(kit: Connect) -> None:
    owner = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        assert connect(kit, c, session).status_code == 303
        [first] = c.get("/api/connections", headers=session.headers(csrf=False)).json()
        kit.sandbox.revoke_grant(kit.admin)  # she removed the app at Fanvue; Onyx learns it at its next refresh
        asyncio.run(_mark_needs_reauth(kit.env.url, first["id"]))
        [broken] = c.get("/api/connections", headers=session.headers(csrf=False)).json()
        member = next(u.handle for u in kit.sandbox.users if u.role == "team member")
        wrong = connect(kit, c, session, as_user=member, reconnect_connection_id=first["id"])
        again = connect(kit, c, session, reconnect_connection_id=first["id"])
        [mended] = c.get("/api/connections", headers=session.headers(csrf=False)).json()
        me = c.get("/api/auth/me", headers=session.headers(csrf=False)).json()
    assert (broken["status"], broken["reconnect"]) == ("needs_reconsent", "reconnect")
    assert broken["reconnect_hint"]
    assert wrong.status_code == 409  # another Fanvue account cannot "reconnect" this one
    assert again.status_code == 303, again.text
    assert (mended["id"], mended["status"], mended["reconnect"]) == (first["id"], "active", None)
    agency_id = rows(kit.env.url, "SELECT agency_id FROM members WHERE id = :m", m=me["member"]["id"])[0][0]
    actions = audit_actions(kit.env.url, str(agency_id))
    assert [a for a in actions if a.startswith("connection_")] == [
        "connection_added", "connection_failed", "connection_reconnected",
    ]  # fmt: skip
    assert len(rows(kit.env.url, "SELECT id FROM connections WHERE agency_id = :a", a=agency_id)) == 1


async def _mark_needs_reauth(url: str, connection_id: str) -> None:
    from web_helpers import KEY  # noqa: PLC0415

    from onyx_adapters.crypto import FernetCipher  # noqa: PLC0415
    from onyx_adapters.sql.uow import sql_unit_of_work_factory  # noqa: PLC0415
    from onyx_core.ids import ConnectionId  # noqa: PLC0415

    engine = create_engine(url)
    try:
        uow_factory = sql_unit_of_work_factory(engine, FernetCipher([KEY]))
        async with uow_factory() as uow:
            stored = await uow.connections.get_for_update(ConnectionId(connection_id))
            assert stored is not None
            await uow.connections.save(
                stored.marked_needs_reauth("invalid_grant"), expected_version=stored.token_version
            )
            await uow.commit()
    finally:
        await engine.dispose()


def _creator_invite_begun(kit: Connect, c: Any) -> tuple[str, Any, str, Any]:
    """The agency connected by its owner, then a creator starting through an invite link: the creator's handle,
    the owner's session, the invitation secret and the start's answer."""
    owner = kit.env.owner()
    creator = kit.creator_handles()[0]
    session = log_in(c, owner.email)
    assert connect(kit, c, session).status_code == 303
    secret = kit.invite_secret(owner)
    return creator, session, secret, c.post(f"/api/invites/{secret}/connect", json={"login_hint": creator})


def test_a_creator_connects_her_own_account_through_an_invite_link(kit: Connect) -> None:
    with client(kit.app) as c:
        creator, session, secret, begun = _creator_invite_begun(kit, c)
        assert begun.status_code == 200, begun.text
        invite_cookie = begun.headers["set-cookie"]
        assert invite_cookie.startswith("__Host-onyx_invite_connect=")
        assert "HttpOnly" in invite_cookie
        assert "Secure" in invite_cookie
        cookie = invite_cookie.split(";", 1)[0]
        path = kit.authorize(begun.json()["authorize_url"])
        done = c.get(path, headers={"Cookie": cookie}, follow_redirects=False)
        again = c.post(f"/api/invites/{secret}/connect", json={"login_hint": creator})
        listed = c.get("/api/connections", headers=session.headers(csrf=False)).json()
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/connections?connected=creator"
    assert again.status_code == 404  # the invitation is used up
    by_kind = {h["kind"]: h for h in listed}
    mine = by_kind["creator"]
    assert (mine["id"], mine["account_name"], mine["status"]) == (
        f"creator-{kit.sandbox.user(creator)}", creator, "active",
    )  # fmt: skip


def test_a_creator_attempt_needs_the_browser_that_started_it(kit: Connect) -> None:
    with client(kit.app) as c:
        creator, session, secret, begun = _creator_invite_begun(kit, c)
        c.cookies.clear()
        before = kit.sandbox.token_endpoint_hits
        elsewhere = c.get(kit.authorize(begun.json()["authorize_url"]), follow_redirects=False)
        again = c.post(f"/api/invites/{secret}/connect", json={"login_hint": creator})
        c.cookies.clear()
        with_session = c.get(kit.authorize(again.json()["authorize_url"]), headers=session.headers(csrf=False),
                             follow_redirects=False)  # fmt: skip
    assert elsewhere.status_code == 400
    assert with_session.status_code == 400  # a member's session is not the creator's invitation
    assert kit.sandbox.token_endpoint_hits == before


def test_a_failed_code_exchange_stores_nothing_and_tells_no_secret(kit: Connect) -> None:
    owner = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        answer = start(c, session, login_hint=kit.admin)
        path = kit.authorize(answer.json()["authorize_url"])
        kit.sandbox.advance(timedelta(minutes=11))  # Fanvue's code expired (Onyx's state has not: its clock stands)
        expired = c.get(path, headers=session.headers(csrf=False), follow_redirects=False)
        kit.sandbox.inject("error", route="/users/me", status=500)  # the grant works, asking whose it is fails
        path = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        broken = c.get(path, headers=session.headers(csrf=False), follow_redirects=False)
        listed = c.get("/api/connections", headers=session.headers(csrf=False)).json()
    assert expired.status_code == 400, expired.text
    assert broken.status_code == 502, broken.text
    for problem in (expired, broken):
        assert problem.headers["content-type"].startswith("application/problem+json")
        assert kit.sandbox.client_secret not in problem.text
        assert "ory_" not in problem.text
        assert "Traceback" not in problem.text
    assert listed == []
    assert (
        rows(kit.env.url, "SELECT id FROM connections WHERE fanvue_user_uuid = :u", u=kit.sandbox.user(kit.admin)) == []
    )


def test_an_account_connected_by_one_agency_cannot_be_taken_over_by_another(kit: Connect) -> None:
    first, second = kit.env.owner(), kit.env.owner()
    with client(kit.app) as c:
        ours = log_in(c, first.email)
        assert connect(kit, c, ours).status_code == 303
        [before] = c.get("/api/connections", headers=ours.headers(csrf=False)).json()
        theirs = log_in(c, second.email)
        taken = connect(kit, c, theirs)
        peek = c.get(f"/api/connections/{before['id']}", headers=theirs.headers(csrf=False))
        listed = c.get("/api/connections", headers=theirs.headers(csrf=False))
        [after] = c.get("/api/connections", headers=ours.headers(csrf=False)).json()
    assert taken.status_code == 409
    assert (peek.status_code, peek.headers["content-type"].split(";")[0]) == (404, "application/problem+json")
    assert before["id"] not in peek.text
    assert listed.json() == []
    assert after["last_refreshed_at"] == before["last_refreshed_at"]  # its tokens were not replaced
