"""Changing one's password on the web (POST /api/account/password): the old one no longer logs in, every other
session of the member ends (the core's rule) while this one stays, 2FA members also give a code, a weak new
password is 422, and the passwords sent are remembered by the log scrubber. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from account_kit import HASH_MARKERS, WRONG_PASSWORD, audit_actions, code_now, full_session, start, wrong_code
from auth_kit import PASSWORD, Env, client, login, make_env

from onyx_fanvue.redaction import scrub

NEW_PASSWORD = "a brand new and long passphrase"  # pragma: allowlist secret


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_the_old_password_stops_working_and_other_sessions_end(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        this = full_session(env, c, owner.email)
        other = full_session(env, c, owner.email)
        changed = this.post("/api/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert changed.status_code == 204, changed.text
        assert this.get("/api/auth/me").status_code == 200  # this session stays
        assert other.get("/api/auth/me").status_code == 401  # every other one ended
        assert login(c, owner.email).status_code == 401
        assert login(c, owner.email, NEW_PASSWORD).status_code == 200
    assert "password_changed" in audit_actions(env, owner.email, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        this = full_session(env, c, owner.email)
        other = full_session(env, c, owner.email)
        wrong = this.post("/api/account/password", {"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"
        assert other.get("/api/auth/me").status_code == 200
        assert login(c, owner.email, NEW_PASSWORD).status_code == 401
        assert login(c, owner.email).status_code == 200


def test_a_weak_new_password_is_refused(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        this = full_session(env, c, owner.email)
        for weak in ("short", " " * 20, "x" * 1025):
            refused = this.post("/api/account/password", {"current_password": PASSWORD, "new_password": weak})
            assert refused.status_code == 422, weak
        assert login(c, owner.email).status_code == 200


def test_with_2fa_on_the_change_needs_a_current_code(env: Env) -> None:
    owner = env.owner(totp=True)
    assert owner.totp_secret is not None
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    with client(env.app) as c:
        this = full_session(env, c, owner.email, owner.totp_secret)
        assert this.post("/api/account/password", body).status_code == 401  # no code
        env.clock.advance(30)
        assert (
            this.post("/api/account/password", {**body, "code": wrong_code(env, owner.totp_secret)}).status_code == 401
        )
        assert login(c, owner.email).status_code == 200  # unchanged
        env.clock.advance(30)
        changed = this.post("/api/account/password", {**body, "code": code_now(env, owner.totp_secret)})
        assert changed.status_code == 204, changed.text
        _, step = start(c, owner.email, NEW_PASSWORD)
        assert step["second_factor_due"] is True  # 2FA is untouched


def test_an_api_token_cannot_change_the_password(env: Env) -> None:
    owner = env.owner()
    bearer = {"Authorization": f"Bearer {env.api_token(owner)}"}
    with client(env.app) as c:
        refused = c.post(
            "/api/account/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=bearer
        )
        assert refused.status_code == 403
        assert login(c, owner.email).status_code == 200


def test_the_passwords_sent_are_scrubbed_from_logs(env: Env) -> None:
    owner = env.owner()
    new = "yet another passphrase for the log test"  # pragma: allowlist secret
    with client(env.app) as c:
        this = full_session(env, c, owner.email)
        changed = this.post("/api/account/password", {"current_password": PASSWORD, "new_password": new})
        assert changed.status_code == 204
        assert not any(marker in changed.text for marker in HASH_MARKERS)
    scrubbed = scrub(f"old {PASSWORD} new {new}")
    assert PASSWORD not in scrubbed
    assert new not in scrubbed


def test_a_password_typed_at_login_is_scrubbed_from_logs_right_or_wrong(env: Env) -> None:
    owner = env.owner()
    typed = "a mistyped password at the login form"  # pragma: allowlist secret
    with client(env.app) as c:
        assert login(c, owner.email, typed).status_code == 401
    assert typed not in scrub(f"login with {typed}")
