"""The sandbox OAuth server, driven in-process by the SDK's own AsyncOAuthClient."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest

from onyx_fanvue.errors import InvalidClientError, InvalidGrantError
from onyx_fanvue.oauth import AsyncOAuthClient, OAuthToken, generate_pkce, generate_state
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.oauth_server import (
    REFRESH_TOKEN_PREFIX,
    OAuthState,
    create_oauth_app,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASE = "https://auth.fanvue.test"
REDIRECT = "https://onyx.test/callback"
CLIENT_ID = "onyx-app"
SECRET = "s3cret+/="  # characters that Basic form-encoding must survive
ALICE = "0b6f1c1e-0000-4000-8000-000000000001"
# RFC 6749 §2.3.1: Basic carries the form-encoded id and secret (so "+" is sent as %2B), as fosite expects.
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{quote_plus(SECRET)}".encode()).decode()}
SCOPES = ("openid", "offline_access", "offline", "read:self", "read:creator", "read:insights")


@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(T0)


@pytest.fixture
def state(clock: SandboxClock) -> OAuthState:
    state = OAuthState(clock)
    state.register_client(CLIENT_ID, SECRET, [REDIRECT], [*SCOPES, "read:chat"])
    state.add_user(ALICE, "alice")
    state.add_user("0b6f1c1e-0000-4000-8000-000000000002", "bob")
    return state


@pytest.fixture
async def http(state: OAuthState) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_oauth_app(state)), base_url=BASE) as http:
        yield http


def make_client(http: httpx.AsyncClient, clock: SandboxClock, secret: str = SECRET) -> AsyncOAuthClient:
    return AsyncOAuthClient(
        CLIENT_ID,
        secret,
        REDIRECT,
        authorize_url=f"{BASE}/oauth2/auth",
        token_url=f"{BASE}/oauth2/token",
        revoke_url=f"{BASE}/oauth2/revoke",
        scopes=SCOPES,
        http_client=http,
        clock=clock.now,
        max_retries=0,
    )


@pytest.fixture
def client(http: httpx.AsyncClient, clock: SandboxClock) -> AsyncOAuthClient:
    return make_client(http, clock)


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def authorize(http: httpx.AsyncClient, client: AsyncOAuthClient, **extra: str) -> tuple[str, str]:
    """(code, verifier) after an auto-approved authorization."""
    pkce, st = generate_pkce(), generate_state()
    response = await http.get(client.authorization_url(st, pkce.challenge, login_hint="alice", **extra))
    assert response.headers["location"].startswith(REDIRECT + "?")
    query = query_of(response)
    assert query["state"] == st
    return query["code"], pkce.verifier.get_secret_value()


async def connect(http: httpx.AsyncClient, client: AsyncOAuthClient) -> OAuthToken:
    code, verifier = await authorize(http, client)
    return await client.exchange_code(code, verifier)


async def test_full_flow_with_rotation_and_reuse_revoking_the_family(
    http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState
):
    token = await connect(http, client)
    assert token.refresh_token is not None
    assert token.refresh_token.get_secret_value().startswith(REFRESH_TOKEN_PREFIX)
    assert token.scope == frozenset(SCOPES)
    assert token.expires_at == T0.replace(hour=13)
    info = state.introspect(token.access_token.get_secret_value())
    assert info is not None
    assert (info.user_uuid, info.client_id, info.scopes) == (ALICE, CLIENT_ID, frozenset(SCOPES))

    second = await client.refresh(token.refresh_token, previous=token)
    third = await client.refresh(second.refresh_token or "", previous=second)
    assert len({token.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert (
        state.introspect(token.access_token.get_secret_value()) is None
    )  # a refresh retires the earlier access tokens
    assert state.introspect(third.access_token.get_secret_value()) is not None

    with pytest.raises(InvalidGrantError) as reused:
        await client.refresh(token.refresh_token)
    assert reused.value.description == "The refresh token was already used."
    assert reused.value.status_code == 400
    assert state.introspect(third.access_token.get_secret_value()) is None  # the whole family is revoked
    with pytest.raises(InvalidGrantError):
        await client.refresh(third.refresh_token or "")


async def test_token_responses_are_not_cached_and_raw_shape(http: httpx.AsyncClient, client: AsyncOAuthClient):
    code, verifier = await authorize(http, client)
    response = await http.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        headers=BASIC,
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)


async def test_no_refresh_token_without_offline_access(http: httpx.AsyncClient, client: AsyncOAuthClient):
    pkce = generate_pkce()
    url = client.authorization_url(generate_state(), pkce.challenge, scopes=["read:self"], login_hint=ALICE)
    code = query_of(await http.get(url))["code"]
    token = await client.exchange_code(code, pkce.verifier, scopes=["read:self"])
    assert token.refresh_token is None
    assert token.scope == frozenset({"read:self"})


async def test_wrong_verifier_is_invalid_grant(http: httpx.AsyncClient, client: AsyncOAuthClient):
    code, _ = await authorize(http, client)
    with pytest.raises(InvalidGrantError, match="PKCE"):
        await client.exchange_code(code, generate_pkce().verifier)


async def test_a_code_is_single_use_and_its_reuse_revokes_its_tokens(
    http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState
):
    code, verifier = await authorize(http, client)
    token = await client.exchange_code(code, verifier)
    with pytest.raises(InvalidGrantError, match="already been used"):
        await client.exchange_code(code, verifier)
    assert state.introspect(token.access_token.get_secret_value()) is None


async def test_a_code_expires_after_ten_minutes(http: httpx.AsyncClient, client: AsyncOAuthClient, clock: SandboxClock):
    code, verifier = await authorize(http, client)
    clock.advance(601)
    with pytest.raises(InvalidGrantError, match="expired"):
        await client.exchange_code(code, verifier)


async def test_the_redirect_uri_must_match_the_authorization_request(
    http: httpx.AsyncClient, clock: SandboxClock, state: OAuthState
):
    state.register_client(CLIENT_ID, SECRET, [REDIRECT, "https://onyx.test/other"], SCOPES)
    code, verifier = await authorize(http, make_client(http, clock))
    other = make_client(http, clock)
    other.redirect_uri = "https://onyx.test/other"
    with pytest.raises(InvalidGrantError, match="redirect_uri"):
        await other.exchange_code(code, verifier)


async def test_an_unregistered_redirect_uri_is_refused_without_redirecting(
    http: httpx.AsyncClient, client: AsyncOAuthClient
):
    client.redirect_uri = "https://evil.test/callback"
    response = await http.get(client.authorization_url(generate_state(), generate_pkce().challenge))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_missing_pkce_redirects_back_with_an_error(http: httpx.AsyncClient):
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "state-1234"}
    query = query_of(await http.get("/oauth2/auth", params={**params, "scope": "read:self"}))
    assert (query["error"], query["state"]) == ("invalid_request", "state-1234")


async def test_a_wrong_client_secret_is_invalid_client(http: httpx.AsyncClient, clock: SandboxClock):
    code, verifier = await authorize(http, make_client(http, clock))
    with pytest.raises(InvalidClientError) as caught:
        await make_client(http, clock, secret="wrong").exchange_code(code, verifier)
    assert caught.value.status_code == 401


async def test_client_secret_post_is_accepted(http: httpx.AsyncClient, client: AsyncOAuthClient):
    token = await connect(http, client)
    assert token.refresh_token is not None
    form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token.get_secret_value()}
    ok = await http.post("/oauth2/token", data={**form, "client_id": CLIENT_ID, "client_secret": SECRET})
    assert ok.status_code == 200
    assert ok.json()["refresh_token"] != token.refresh_token.get_secret_value()
    anonymous = await http.post("/oauth2/token", data=form)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")


async def test_bad_requests(http: httpx.AsyncClient):
    auth = BASIC
    unsupported = await http.post("/oauth2/token", data={"grant_type": "password"}, headers=auth)
    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_grant_type")
    missing = await http.post("/oauth2/token", data={"grant_type": "authorization_code"}, headers=auth)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    unknown = await http.post("/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers=auth)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")
    garbled = await http.post(
        "/oauth2/token", data={"grant_type": "refresh_token"}, headers={"Authorization": "Basic %%"}
    )
    assert (garbled.status_code, garbled.json()["error"]) == (401, "invalid_client")


async def test_refresh_cannot_widen_the_grant(http: httpx.AsyncClient, client: AsyncOAuthClient):
    token = await connect(http, client)
    assert token.refresh_token is not None
    refresh = token.refresh_token.get_secret_value()
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "scope": "read:chat"}
    response = await http.post("/oauth2/token", data=form, headers=BASIC)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
    narrower = await http.post("/oauth2/token", data={**form, "scope": "read:self"}, headers=BASIC)
    assert (narrower.status_code, narrower.json()["scope"]) == (200, "read:self")


async def test_revoke_kills_the_family(http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState):
    token = await connect(http, client)
    await client.revoke(token.refresh_token or "")
    assert state.introspect(token.access_token.get_secret_value()) is None
    with pytest.raises(InvalidGrantError):
        await client.refresh(token.refresh_token or "")
    await client.revoke("never-issued")  # RFC 7009: 200 for an unknown token too
    bad = await http.post("/oauth2/revoke", data={"token": "x"}, auth=(CLIENT_ID, "wrong"))
    assert bad.status_code == 401


async def test_revoking_an_access_token_also_kills_the_family(
    http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState
):
    token = await connect(http, client)
    await client.revoke(token.access_token, "access_token")
    with pytest.raises(InvalidGrantError):
        await client.refresh(token.refresh_token or "")


async def test_access_tokens_expire(http: httpx.AsyncClient, client: AsyncOAuthClient, clock: SandboxClock, state):
    token = await connect(http, client)
    clock.advance(3599)
    assert state.introspect(token.access_token.get_secret_value()) is not None
    clock.advance(1)
    assert state.introspect(token.access_token.get_secret_value()) is None
    assert state.introspect("unknown") is None
    fresh = await client.refresh(token.refresh_token or "", previous=token)  # the refresh token outlives it
    assert state.introspect(fresh.access_token.get_secret_value()) is not None


async def test_expires_in_is_configurable(clock: SandboxClock):
    state = OAuthState(clock, expires_in=60)
    state.register_client(CLIENT_ID, SECRET, [REDIRECT], SCOPES)
    state.add_user(ALICE, "alice")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_oauth_app(state)), base_url=BASE) as http:
        token = await connect(http, make_client(http, clock))
    assert token.expires_at == T0.replace(minute=1)
    clock.advance(60)
    assert state.introspect(token.access_token.get_secret_value()) is None


async def test_reuse_grace_period(clock: SandboxClock):
    state = OAuthState(clock, reuse_grace_seconds=5)
    state.register_client(CLIENT_ID, SECRET, [REDIRECT], SCOPES)
    state.add_user(ALICE, "alice")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_oauth_app(state)), base_url=BASE) as http:
        client = make_client(http, clock)
        token = await connect(http, client)
        first = await client.refresh(token.refresh_token or "")
        clock.advance(4)
        again = await client.refresh(token.refresh_token or "")  # a lost response retried in time
        assert again.refresh_token != first.refresh_token
        # both refreshes' access tokens work: neither worker's token is revoked by the other's refresh
        assert state.introspect(first.access_token.get_secret_value()) is not None
        assert state.introspect(again.access_token.get_secret_value()) is not None
        assert (
            state.introspect(token.access_token.get_secret_value()) is None
        )  # the one issued with the used refresh token
        clock.advance(2)
        with pytest.raises(InvalidGrantError, match="already used"):
            await client.refresh(token.refresh_token or "")
        assert state.introspect(again.access_token.get_secret_value()) is None


async def test_consent_page_renders_and_its_post_approves(
    http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState
):
    pkce, st = generate_pkce(), generate_state()
    page = await http.get(client.authorization_url(st, pkce.challenge))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "@alice" in page.text
    assert "@bob" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert fields["state"] == st
    approved = await http.post("/oauth2/auth", data={**fields, "user": ALICE, "decision": "approve"})
    query = query_of(approved)
    assert query["state"] == st
    token = await client.exchange_code(query["code"], pkce.verifier)
    info = state.introspect(token.access_token.get_secret_value())
    assert info is not None
    assert info.user_uuid == ALICE
    denied = query_of(await http.post("/oauth2/auth", data={**fields, "user": ALICE, "decision": "deny"}))
    assert denied["error"] == "access_denied"


async def test_the_consent_page_escapes_what_it_echoes(http: httpx.AsyncClient, client: AsyncOAuthClient):
    page = await http.get(client.authorization_url('"><script>x</script>', generate_pkce().challenge))
    assert "<script>" not in page.text


async def test_revoke_user_removes_every_grant(http: httpx.AsyncClient, client: AsyncOAuthClient, state: OAuthState):
    token = await connect(http, client)
    assert state.revoke_user(ALICE) == 1
    assert state.introspect(token.access_token.get_secret_value()) is None


async def test_no_response_ever_shows_a_traceback(http: httpx.AsyncClient, state: OAuthState, monkeypatch):
    def boom(*_: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr(state, "revoke", boom)
    responses = [
        await http.post("/oauth2/revoke", data={"token": "x"}, headers=BASIC),
        await http.post("/oauth2/token", content=b"\xff\xfe", headers={"Content-Type": "multipart/form-data"}),
        await http.get("/oauth2/auth"),
        await http.get("/oauth2/nowhere"),
        await http.put("/oauth2/token"),
    ]
    assert responses[0].status_code == 500
    assert responses[0].json()["error"] == "server_error"
    for response in responses:
        assert response.status_code >= 400
        assert "Traceback" not in response.text
        assert "internal detail" not in response.text
