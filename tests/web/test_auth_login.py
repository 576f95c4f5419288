"""Logging in over HTTP (A6, W4, W5): the cookie's attributes, a new id at each step, the throttle with the same
answer for unknown emails, idle and absolute expiry and logout by a moved clock. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from auth_kit import Env, as_session, client, login, make_env, set_cookie_secret

from onyx_web.accounts.authentication import SESSION_COOKIE


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_login_sets_a_host_cookie_with_every_attribute(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        response = login(c, owner.email)
    assert response.status_code == 200
    body = response.json()
    assert body["second_factor_due"] is False
    assert body["enrolment_required"] is False
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes
    assert "path=/" in header.replace(" ", "").lower().split(";")
    assert "samesite=lax" in header.replace(" ", "").lower().split(";")
    secret = set_cookie_secret(response)
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) * 8 >= 128


def test_a_session_reaches_me_and_logout_kills_the_id(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        first = login(c, owner.email)
        secret, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        me = c.get("/api/auth/me", headers=as_session(secret))
        assert me.status_code == 200
        assert me.json()["member"]["email"] == owner.email
        assert me.json()["role"] == "owner"
        assert me.json()["csrf_token"] == csrf
        second = login(c, owner.email)
        assert set_cookie_secret(second) != secret  # a new id at every login
        out = c.post("/api/auth/logout", headers=as_session(secret, csrf))
        assert out.status_code == 204
        assert c.get("/api/auth/me", headers=as_session(secret)).status_code == 401
        assert c.get("/api/auth/me", headers=as_session(set_cookie_secret(second))).status_code == 200


def test_the_second_factor_gives_a_new_id_and_the_old_one_dies(env: Env) -> None:
    owner = env.owner(totp=True)
    with client(env.app) as c:
        first = login(c, owner.email)
        assert first.json()["second_factor_due"] is True
        old, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        env.clock.advance(30)  # the enrolment used this step's code: a code is good once
        done = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=as_session(old, csrf))
        assert done.status_code == 200, done.text
        assert done.json()["second_factor_due"] is False
        new = set_cookie_secret(done)
        assert new != old
        assert c.get("/api/auth/me", headers=as_session(old)).status_code == 401
        assert c.get("/api/auth/me", headers=as_session(new)).status_code == 200


def test_a_recovery_code_finishes_login_once(env: Env) -> None:
    owner = env.owner(totp=True)
    with client(env.app) as c:
        first = login(c, owner.email)
        old, csrf = set_cookie_secret(first), first.json()["csrf_token"]
        done = c.post("/api/auth/recovery", json={"code": owner.recovery_codes[0]}, headers=as_session(old, csrf))
        assert done.status_code == 200, done.text
        assert c.get("/api/auth/me", headers=as_session(set_cookie_secret(done))).status_code == 200
        again = login(c, owner.email)
        secret, csrf = set_cookie_secret(again), again.json()["csrf_token"]
        reused = c.post("/api/auth/recovery", json={"code": owner.recovery_codes[0]}, headers=as_session(secret, csrf))
        assert reused.status_code == 401


def test_ten_failures_throttle_known_and_unknown_emails_alike(env: Env) -> None:
    owner = env.owner()
    unknown = "nobody-" + owner.email
    with client(env.app) as c:
        for _ in range(10):
            wrong = login(c, owner.email, "a wrong password here")
            nobody = login(c, unknown, "a wrong password here")
            assert wrong.status_code == nobody.status_code == 401
            assert _body(wrong) == _body(nobody)
        locked, locked_unknown = login(c, owner.email), login(c, unknown)
        right_after = login(c, owner.email)  # even the right password
        assert locked.status_code == locked_unknown.status_code == right_after.status_code == 429
        assert _body(locked) == _body(locked_unknown)
        assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
        assert int(locked_unknown.headers["retry-after"]) == int(locked.headers["retry-after"])
        env.clock.advance(timedelta(minutes=15, seconds=1))
        assert login(c, owner.email).status_code == 200


def _body(response: object) -> dict[str, object]:
    body = dict(response.json())  # type: ignore[attr-defined]
    body.pop("request_id")
    return body


@pytest.mark.parametrize(
    "typed",
    ["olga\x00@agency.test", "x" * 500 + "@agency.test", "no-at-sign-" + "y" * 600, "\x00"],
    ids=["NUL", "long", "long-not-an-email", "only-NUL"],
)
def test_whatever_is_typed_as_email_is_a_plain_401(env: Env, typed: str) -> None:
    """Not an address: the same 401 as a wrong password (never a 500 from a database refusing the text), and
    throttled like any email."""
    owner = env.owner()
    with client(env.app) as c:
        wrong = login(c, owner.email, "a wrong password here")
        answers = [login(c, typed, "a wrong password here") for _ in range(10)]
        assert [a.status_code for a in answers] == [401] * 10
        assert _body(answers[0]) == _body(wrong)
        assert login(c, typed).status_code == 429


def test_idle_sessions_die_after_thirty_minutes(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        secret = set_cookie_secret(login(c, owner.email))
        env.clock.advance(timedelta(minutes=29, seconds=59))
        assert c.get("/api/auth/me", headers=as_session(secret)).status_code == 200
        env.clock.advance(timedelta(minutes=30, seconds=1))
        assert c.get("/api/auth/me", headers=as_session(secret)).status_code == 401


def test_active_sessions_die_after_twelve_hours(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        secret = set_cookie_secret(login(c, owner.email))
        for _ in range(12 * 3 - 1):  # busy all day: never idle
            env.clock.advance(timedelta(minutes=20))
            assert c.get("/api/auth/me", headers=as_session(secret)).status_code == 200
        env.clock.advance(timedelta(minutes=20, seconds=1))  # 12 h 1 s after the login
        assert c.get("/api/auth/me", headers=as_session(secret)).status_code == 401


def test_a_cross_site_login_is_refused(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        body = {"email": owner.email, "password": "correct horse battery staple"}  # pragma: allowlist secret
        evil = c.post("/api/auth/login", json=body, headers={"Origin": "https://evil.example"})
        fetched = c.post("/api/auth/login", json=body, headers={"Sec-Fetch-Site": "cross-site"})
        ours = c.post("/api/auth/login", json=body, headers={"Origin": "https://testserver.local"})
    assert evil.status_code == fetched.status_code == 403
    assert "set-cookie" not in evil.headers
    assert ours.status_code == 200
