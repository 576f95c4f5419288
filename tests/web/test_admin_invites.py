"""Invitations over HTTP on SQLite and PostgreSQL: an owner invites a viewer limited to one creator, the link is
accepted through the public routes and the new member logs in as that viewer; a link works once and not after its
expiry (the clock moved) or revocation (404, alike); lists and logs never hold the link's secret or the password."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from admin_kit import agency_of, creator, new_email, session
from auth_kit import PASSWORD, Env, client, make_env

NEW_PASSWORD = "a long passphrase for the viewer"  # pragma: allowlist secret


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _token(url: str) -> str:
    path = urlsplit(url).path
    assert path.startswith("/invite/")
    return path.removeprefix("/invite/")


def test_an_invited_viewer_limited_to_one_creator_joins_and_logs_in(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    owner = env.owner()
    luna = creator(env, agency_of(env, owner), "luna")
    email = new_email("viewer")
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        made = c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer", "creator_ids": [luna]})
        assert made.status_code == 201, made.text
        url = made.json()["url"]
        token = _token(url)
        listed = c.get("/api/agency/invites", headers=as_owner)
        preview = c.get(f"/api/invites/{token}")
        joined = c.post(
            f"/api/invites/{token}/accept", json={"email": email, "display_name": "Vera", "password": NEW_PASSWORD}
        )
        as_viewer = session_with(c, email, NEW_PASSWORD)
        me = c.get("/api/auth/me", headers=as_viewer)
        members = {m["email"]: m for m in c.get("/api/agency/members", headers=as_owner).json()}
        after = c.get("/api/agency/invites", headers=as_owner)
    assert url.startswith("https://testserver.local/invite/")
    assert len(token) >= 43
    assert made.json()["expires_at"].startswith("2026-12-10T09:00:00")  # 7 days from the test clock
    assert listed.status_code == 200
    assert [(i["kind"], i["role"], i["creator_ids"], i["status"]) for i in listed.json()] == [
        ("member", "viewer", [luna], "pending")
    ]
    assert preview.status_code == 200
    assert preview.json() == {
        "kind": "member", "role": "viewer", "agency_name": "Acme", "expires_at": made.json()["expires_at"]
    }  # fmt: skip
    assert joined.status_code == 201, joined.text
    assert (joined.json()["email"], joined.json()["role"], joined.json()["creator_ids"]) == (email, "viewer", [luna])
    assert (me.status_code, me.json()["role"], me.json()["member"]["email"]) == (200, "viewer", email)
    assert members[email]["creator_ids"] == [luna]
    assert [i["status"] for i in after.json()] == ["used"]
    for text in (listed.text, after.text, joined.text, me.text, caplog.text):
        assert token not in text
        assert NEW_PASSWORD not in text


def session_with(c, email: str, password: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from auth_kit import as_session, login, set_cookie_secret  # noqa: PLC0415

    response = login(c, email, password)
    assert response.status_code == 200, response.text
    return as_session(set_cookie_secret(response), response.json()["csrf_token"])


def _accept(c, token: str, email: str):  # type: ignore[no-untyped-def]
    body = {"email": email, "display_name": "New", "password": PASSWORD}
    return c.post(f"/api/invites/{token}/accept", json=body)


def test_a_link_works_once(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        token = _token(
            c.post("/api/agency/invites", headers=session(c, owner.email), json={"role": "viewer"}).json()["url"]
        )
        first = _accept(c, token, new_email("first"))
        second = _accept(c, token, new_email("second"))
        preview = c.get(f"/api/invites/{token}")
    assert first.status_code == 201
    assert (second.status_code, preview.status_code) == (404, 404)
    assert second.headers["content-type"] == "application/problem+json"
    same = {key: value for key, value in second.json().items() if key != "request_id"}
    assert same == {key: value for key, value in preview.json().items() if key != "request_id"}
    assert same == {"type": "about:blank", "title": "Not Found", "status": 404}


def test_a_link_expires_after_seven_days(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        early = _token(c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer"}).json()["url"])
        late = _token(c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer"}).json()["url"])
        env.clock.advance(timedelta(days=7) - timedelta(seconds=1))
        still = c.get(f"/api/invites/{early}")
        in_time = _accept(c, early, new_email("early"))
        env.clock.advance(1)
        expired_preview = c.get(f"/api/invites/{late}")
        expired = _accept(c, late, new_email("late"))
    assert (still.status_code, in_time.status_code) == (200, 201)
    assert (expired_preview.status_code, expired.status_code) == (404, 404)


def test_a_revoked_unknown_or_malformed_link_is_404_and_a_creator_link_makes_no_member(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        made = c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer"}).json()
        revoked = c.delete(f"/api/agency/invites/{made['id']}", headers=as_owner)
        creator_link = c.post("/api/agency/creator-invites", headers=as_owner)
        creator_token = _token(creator_link.json()["url"])
        answers = {
            "revoked": _accept(c, _token(made["url"]), new_email("r")).status_code,
            "revoked preview": c.get(f"/api/invites/{_token(made['url'])}").status_code,
            "unknown": _accept(c, "A" * 43, new_email("u")).status_code,
            "malformed": c.get("/api/invites/not%20a%20token").status_code,
            "creator link accepted as a member": _accept(c, creator_token, new_email("c")).status_code,
        }
        creator_preview = c.get(f"/api/invites/{creator_token}")
        statuses = {i["id"]: i["status"] for i in c.get("/api/agency/invites", headers=as_owner).json()}
    assert revoked.status_code == 204
    assert creator_link.status_code == 201
    assert answers == dict.fromkeys(answers, 404)
    assert (creator_preview.json()["kind"], creator_preview.json()["role"]) == ("creator_connect", None)
    assert statuses[made["id"]] == "revoked"


def test_accepting_checks_the_password_and_the_address(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        token = _token(c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer"}).json()["url"])
        weak = c.post(
            f"/api/invites/{token}/accept", json={"email": new_email("w"), "display_name": "W", "password": "short"}
        )
        not_email = c.post(
            f"/api/invites/{token}/accept", json={"email": "nobody", "display_name": "W", "password": PASSWORD}
        )
        taken = _accept(c, token, owner.email)
        works = _accept(c, token, new_email("ok"))
    assert (weak.status_code, not_email.status_code, taken.status_code) == (422, 422, 409)
    assert works.status_code == 201  # the refusals did not use the link up
