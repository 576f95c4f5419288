"""W8 over HTTP on SQLite and PostgreSQL, against the in-process sandbox: the OAuth ``state`` carries >= 128 bits,
works once, expires after 10 minutes and belongs to the session that started it; the PKCE verifier is 43-128
characters and the challenge is its S256; a callback with a missing, unknown, mismatched, reused or expired state
answers 400 and makes 0 requests to the sandbox's token endpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import timedelta

import pytest
from connect_kit import Connect, client, log_in, make_connect, query_of, start
from sqlalchemy import text
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine

PROBLEM = "application/problem+json"


@pytest.fixture
def kit(database_url: str) -> Connect:
    return make_connect(database_url)


def bits_of(secret: str) -> int:
    """Random bits a URL-safe base64 secret can carry: 6 a character, in whole bytes (43 characters: 256)."""
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return len(secret) * 6 // 8 * 8


def stored_verifiers(url: str) -> list[str]:
    """The PKCE verifiers of the attempts in flight (decrypted: they are encrypted at rest)."""

    async def read() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                found = (await conn.execute(text("SELECT code_verifier FROM oauth_attempts"))).all()
        finally:
            await engine.dispose()
        cipher = FernetCipher([KEY])
        return [cipher.decrypt(bytes(row[0])).decode() for row in found]

    return asyncio.run(read())


def test_state_and_pkce_are_strong_and_the_challenge_is_s256_of_the_stored_verifier(
    kit: Connect, record_property: pytest.RecordProperty
) -> None:
    owner = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        url = start(c, session, login_hint=kit.admin).json()["authorize_url"]
    params = query_of(url)
    assert bits_of(params["state"]) >= 128
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "https://testserver.local/connections/fanvue/callback"
    assert set(params["scope"].split()) >= {"read:creator", "read:agency", "offline_access"}
    challenges = {}
    for verifier in stored_verifiers(kit.env.url):
        assert 43 <= len(verifier) <= 128
        s256 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        challenges[s256] = verifier
    assert params["code_challenge"] in challenges
    verifier = challenges[params["code_challenge"]]
    record_property(
        "W8", f"state {len(params['state'])} chars = {bits_of(params['state'])} bits; verifier {len(verifier)} chars"
    )


def test_bad_states_answer_400_and_make_no_token_request(kit: Connect) -> None:
    owner = kit.env.owner()
    other = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        stranger = log_in(c, other.email)

        def callback(path: str, who=session):
            return c.get(path, headers=who.headers(csrf=False), follow_redirects=False)

        fresh = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        code = query_of(fresh)["code"]
        before = kit.sandbox.token_endpoint_hits
        refused = {
            "missing": callback(f"/connections/fanvue/callback?code={code}"),
            "empty": callback(f"/connections/fanvue/callback?code={code}&state="),
            "unknown": callback(f"/connections/fanvue/callback?code={code}&state=" + "A" * 43),
            "mismatched (another session)": callback(fresh, stranger),
        }
        assert kit.sandbox.token_endpoint_hits == before
        # the other session's try used the attempt up: its owner cannot finish it either
        refused["used by the other session"] = callback(fresh)
        good = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        assert callback(good).status_code == 303
        after_good = kit.sandbox.token_endpoint_hits
        assert after_good == before + 1
        refused["reused"] = callback(good)
        late = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        kit.env.clock.advance(timedelta(minutes=10, seconds=1))
        refused["expired"] = callback(late)
        no_cookie = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        refused["no session"] = c.get(no_cookie, follow_redirects=False)
        assert kit.sandbox.token_endpoint_hits == after_good
    wrong = {why: r.status_code for why, r in refused.items() if r.status_code != 400}
    assert wrong == {}
    for answer in refused.values():
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert code not in answer.text


def test_a_state_lives_ten_minutes(kit: Connect) -> None:
    owner = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        path = kit.authorize(start(c, session, login_hint=kit.admin).json()["authorize_url"])
        kit.env.clock.advance(timedelta(minutes=9, seconds=59))
        answer = c.get(path, headers=session.headers(csrf=False), follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_refusal_at_fanvue_answers_400_without_a_token_request(kit: Connect) -> None:
    owner = kit.env.owner()
    with client(kit.app) as c:
        session = log_in(c, owner.email)
        url = start(c, session, login_hint=kit.admin).json()["authorize_url"]
        state = query_of(url)["state"]
        before = kit.sandbox.token_endpoint_hits
        denied = c.get(
            f"/connections/fanvue/callback?error=access_denied&state={state}",
            headers=session.headers(csrf=False), follow_redirects=False,
        )  # fmt: skip
        odd = c.get(
            "/connections/fanvue/callback?error=%3Cscript%3E&state=x",
            headers=session.headers(csrf=False), follow_redirects=False,
        )  # fmt: skip
    assert (denied.status_code, odd.status_code) == (400, 400)
    assert "access_denied" in denied.json()["detail"]
    assert "<script>" not in odd.text
    assert kit.sandbox.token_endpoint_hits == before


def test_only_a_browser_session_of_a_manager_of_connections_may_start(kit: Connect) -> None:
    owner = kit.env.owner()
    token = kit.env.api_token(owner)
    with client(kit.app) as c:
        by_token = c.post("/api/connections/fanvue/start", headers={"Authorization": f"Bearer {token}"}, json={})
        session = log_in(c, owner.email)
        foreign = start(c, session, reconnect_connection_id="agency-not-ours")
    assert by_token.status_code == 401
    assert foreign.status_code == 404
