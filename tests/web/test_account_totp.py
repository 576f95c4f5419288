"""TOTP on the web (/api/account): enrolment (A5: a secret of >= 160 bits, 0 activations on a wrong code, then
login needs a code), also for a member whose agency requires 2FA; new recovery codes invalidate the old ones;
turning 2FA off needs the password and a code (a wrong one: 401, 2FA stays on). The TOTP secret, recovery codes
and passwords sent are remembered by the log scrubber. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from account_kit import HASH_MARKERS, WRONG_PASSWORD, Session, audit_actions, code_now, full_session, start, wrong_code
from auth_kit import PASSWORD, Env, client, make_env

from onyx_fanvue.redaction import REDACTED, scrub


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _enrol(env: Env, session: Session) -> tuple[str, list[str]]:
    begun = session.post("/api/account/totp/enrolment")
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secret"]
    env.clock.advance(30)
    done = session.post("/api/account/totp/enrolment/confirm", {"code": code_now(env, secret)})
    assert done.status_code == 200, done.text
    return secret, done.json()["recovery_codes"]


def test_enrolment_activates_only_after_one_correct_code(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        begun = session.post("/api/account/totp/enrolment")
        assert begun.status_code == 200, begun.text
        body = begun.json()
        secret = body["secret"]
        assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) * 8 >= 160
        uri = urlsplit(body["otpauth_uri"])
        assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
        assert parse_qs(uri.query)["secret"] == [secret]
        assert body["qr_svg"].startswith("<svg")
        assert "<script" not in body["qr_svg"]
        assert "href" not in body["qr_svg"]  # nothing external to load

        for _ in range(3):
            refused = session.post("/api/account/totp/enrolment/confirm", {"code": wrong_code(env, secret)})
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
        _, step = start(c, owner.email)
        assert step["second_factor_due"] is False  # nothing was activated (A5)

        done = session.post("/api/account/totp/enrolment/confirm", {"code": code_now(env, secret)})
        assert done.status_code == 200, done.text
        codes = done.json()["recovery_codes"]
        assert len(codes) == len(set(codes)) == 10

        again = session.post("/api/account/totp/enrolment")
        assert again.status_code == 409  # on already: disable it first

        partial, step = start(c, owner.email)
        assert step["second_factor_due"] is True  # login now needs a code
        assert partial.get("/api/account/tokens").status_code == 401
        env.clock.advance(30)
        assert partial.post("/api/auth/totp", {"code": code_now(env, secret)}).status_code == 200
    assert "two_factor_enrolled" in audit_actions(env, owner.email)


def test_a_new_enrolment_replaces_an_unconfirmed_one(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        first = session.post("/api/account/totp/enrolment").json()["secret"]
        second = session.post("/api/account/totp/enrolment").json()["secret"]
        assert first != second
        stale = session.post("/api/account/totp/enrolment/confirm", {"code": code_now(env, first)})
        if code_now(env, first) not in {code_now(env, second, offset) for offset in (-1, 0, 1)}:
            assert stale.status_code == 401


def test_a_member_whose_agency_requires_2fa_can_enrol_from_the_enrolment_step(env: Env) -> None:
    owner = env.owner()
    env.require_two_factor(owner)
    with client(env.app) as c:
        session, step = start(c, owner.email)
        assert step["enrolment_required"] is True
        assert session.get("/api/account/tokens").status_code == 401  # nothing else yet
        secret, codes = _enrol(env, session)
        assert len(codes) == 10
        assert session.get("/api/account/tokens").status_code == 200  # enrolled: the session is a full one
        _, step = start(c, owner.email)
        assert step == {**step, "second_factor_due": True, "enrolment_required": False}
        assert full_session(env, c, owner.email, secret).get("/api/auth/me").status_code == 200


def test_new_recovery_codes_invalidate_the_old_ones(env: Env) -> None:
    owner = env.owner(totp=True)
    assert owner.totp_secret is not None
    with client(env.app) as c:
        session = full_session(env, c, owner.email, owner.totp_secret)
        env.clock.advance(30)
        wrong = session.post(
            "/api/account/recovery-codes",
            {"password": WRONG_PASSWORD, "code": code_now(env, owner.totp_secret)},
        )
        assert wrong.status_code == 401
        env.clock.advance(30)
        fresh = session.post(
            "/api/account/recovery-codes", {"password": PASSWORD, "code": code_now(env, owner.totp_secret)}
        )
        assert fresh.status_code == 200, fresh.text
        new_codes = fresh.json()["recovery_codes"]
        assert len(set(new_codes)) == 10
        assert not set(new_codes) & set(owner.recovery_codes)
        for old in owner.recovery_codes[:3]:
            partial, _ = start(c, owner.email)
            assert partial.post("/api/auth/recovery", {"code": old}).status_code == 401
        partial, _ = start(c, owner.email)
        assert partial.post("/api/auth/recovery", {"code": new_codes[0]}).status_code == 200
    assert "recovery_codes_regenerated" in audit_actions(env, owner.email)


def test_disabling_2fa_needs_the_password_and_a_current_code(env: Env) -> None:
    owner = env.owner(totp=True)
    assert owner.totp_secret is not None
    with client(env.app) as c:
        session = full_session(env, c, owner.email, owner.totp_secret)
        env.clock.advance(30)
        wrong_password = session.post(
            "/api/account/totp/disable",
            {"password": WRONG_PASSWORD, "code": code_now(env, owner.totp_secret)},
        )
        assert wrong_password.status_code == 401
        env.clock.advance(30)
        wrong = session.post(
            "/api/account/totp/disable", {"password": PASSWORD, "code": wrong_code(env, owner.totp_secret)}
        )
        assert wrong.status_code == 401
        no_code = session.post("/api/account/totp/disable", {"password": PASSWORD, "code": ""})
        assert no_code.status_code == 401
        _, step = start(c, owner.email)
        assert step["second_factor_due"] is True  # 2FA stays on

        env.clock.advance(30)
        off = session.post(
            "/api/account/totp/disable", {"password": PASSWORD, "code": code_now(env, owner.totp_secret)}
        )
        assert off.status_code == 204, off.text
        _, step = start(c, owner.email)
        assert step["second_factor_due"] is False
        gone = session.post("/api/account/totp/disable", {"password": PASSWORD, "code": "123456"})
        assert gone.status_code == 409  # off already
    assert "two_factor_disabled" in audit_actions(env, owner.email)


def test_an_api_token_cannot_change_the_second_factor(env: Env) -> None:
    owner = env.owner()
    bearer = {"Authorization": f"Bearer {env.api_token(owner)}"}
    body = {"password": PASSWORD, "code": "123456"}
    with client(env.app) as c:
        assert c.post("/api/account/totp/enrolment", headers=bearer).status_code == 403
        assert c.post("/api/account/totp/enrolment/confirm", json={"code": "123456"}, headers=bearer).status_code == 403
        assert c.post("/api/account/recovery-codes", json=body, headers=bearer).status_code == 403
        assert c.post("/api/account/totp/disable", json=body, headers=bearer).status_code == 403


def test_secrets_of_enrolment_are_scrubbed_from_logs_and_answers_hold_no_hash(env: Env) -> None:
    owner = env.owner()
    answers: list[str] = []
    with client(env.app) as c:
        session = full_session(env, c, owner.email)
        begun = session.post("/api/account/totp/enrolment")
        secret = begun.json()["secret"]
        env.clock.advance(30)
        done = session.post("/api/account/totp/enrolment/confirm", {"code": code_now(env, secret)})
        codes = done.json()["recovery_codes"]
        typed = "a password typed into the disable form"  # pragma: allowlist secret
        env.clock.advance(30)
        refused = session.post("/api/account/totp/disable", {"password": typed, "code": code_now(env, secret)})
        answers += [begun.text, done.text, refused.text]
    line = f"otpauth secret={secret} uri={begun.json()['otpauth_uri']} code {codes[0]} typed {typed}"
    scrubbed = scrub(line)
    assert secret not in scrubbed
    assert codes[0] not in scrubbed
    assert typed not in scrubbed
    assert scrubbed.count(REDACTED) >= 4
    assert not [text for text in answers if any(marker in text for marker in HASH_MARKERS)]
    assert not [text for text in answers if re.search(r"\b[0-9a-f]{64}\b", text)]  # no digest of anything
