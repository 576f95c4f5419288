"""OAuth endpoints against respx: PKCE, the authorization URL, code exchange, refresh rotation, revocation, every
error shape, and the retry budget of the token endpoint (T9)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr

from onyx_fanvue.errors import InvalidClientError, InvalidGrantError, OAuthError, TimeoutError, TransportError
from onyx_fanvue.oauth import (
    AUTHORIZE_URL,
    DEFAULT_SCOPES,
    REVOKE_URL,
    TOKEN_URL,
    AsyncOAuthClient,
    InvalidTokenResponseError,
    OAuthClient,
    OAuthServerError,
    OAuthToken,
    PkcePair,
    generate_pkce,
    generate_state,
    pkce_challenge,
)

CLIENT_ID = "client-123"
CLIENT_SECRET = "s3cr3t-client-value"
REDIRECT = "https://onyx.example/oauth/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRETS = ("at-1", "rt-1", "rt-0", "the-code", CLIENT_SECRET, VERIFIER)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class AsyncSleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def token_body(n: int = 1, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": f"at-{n}",
        "refresh_token": f"rt-{n}",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "read:self offline_access",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}


def basic(request: httpx.Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return unquote_plus(user), unquote_plus(password)


def client(**kwargs: object) -> OAuthClient:
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("clock", Clock())
    return OAuthClient(CLIENT_ID, CLIENT_SECRET, REDIRECT, **kwargs)  # type: ignore[arg-type]


def async_client(**kwargs: object) -> AsyncOAuthClient:
    kwargs.setdefault("sleep", AsyncSleeps())
    kwargs.setdefault("clock", Clock())
    return AsyncOAuthClient(CLIENT_ID, CLIENT_SECRET, REDIRECT, **kwargs)  # type: ignore[arg-type]


def plain(secret: SecretStr | None) -> str | None:
    """A token field's value (they are secrets, never plain strings)."""
    return None if secret is None else secret.get_secret_value()


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# ------------------------------------------------------------------------------------------------ constants, PKCE


def test_endpoints_and_default_scopes():
    assert AUTHORIZE_URL == "https://auth.fanvue.com/oauth2/auth"
    assert TOKEN_URL == "https://auth.fanvue.com/oauth2/token"
    assert REVOKE_URL == "https://auth.fanvue.com/oauth2/revoke"
    assert set(DEFAULT_SCOPES) == {
        "read:self",
        "read:creator",
        "read:insights",
        "read:fan",
        "read:chat",
        "read:tracking_links",
        "read:post",
        "read:agency",
        "openid",
        "offline_access",
        "offline",
    }
    assert not any(scope.startswith("write:") for scope in DEFAULT_SCOPES)


def test_pkce_challenge_matches_rfc_7636_appendix_b():
    assert pkce_challenge(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("nbytes", [32, 64, 96])
def test_generated_pkce_is_well_formed(nbytes):
    pair = generate_pkce(nbytes)
    assert 43 <= len(pair.verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", pair.verifier.get_secret_value())
    assert pair.challenge == pkce_challenge(pair.verifier)
    assert len(pair.challenge) == 43
    assert "=" not in pair.challenge
    assert pair.method == "S256"
    assert pair.verifier.get_secret_value() not in repr(pair)


def test_pkce_rejects_bad_sizes_and_verifiers():
    with pytest.raises(ValueError, match="43-128"):
        generate_pkce(31)
    with pytest.raises(ValueError, match="43-128"):
        generate_pkce(97)
    with pytest.raises(ValueError, match="RFC 7636"):
        pkce_challenge("too-short")
    with pytest.raises(ValueError, match="RFC 7636"):
        pkce_challenge("x" * 129)
    with pytest.raises(ValueError, match="RFC 7636"):
        pkce_challenge("!" * 50)


def test_generated_pkce_pairs_differ():
    assert len({generate_pkce().verifier.get_secret_value() for _ in range(50)}) == 50


def test_state_has_at_least_128_bits_and_is_unique():
    state = generate_state()
    padded = state + "=" * (-len(state) % 4)
    assert len(base64.urlsafe_b64decode(padded)) >= 16
    assert len({generate_state() for _ in range(100)}) == 100
    assert len(base64.urlsafe_b64decode(generate_state(16) + "==")) == 16
    with pytest.raises(ValueError, match="128 bits"):
        generate_state(15)


def test_pkce_pair_is_frozen():
    pair = PkcePair(verifier=VERIFIER, challenge=pkce_challenge(VERIFIER))
    with pytest.raises(AttributeError):
        pair.verifier = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ OAuthToken


def test_token_expiry_counts_from_when_the_request_was_sent():
    token = OAuthToken.from_response(token_body(), requested_at=T0)
    assert token.expires_at == T0 + timedelta(seconds=3600)
    assert token.expires_at.tzinfo is UTC
    assert token.scope == frozenset({"read:self", "offline_access"})
    assert token.token_type == "bearer"
    assert token.id_token is None


def test_token_defaults_and_conversions():
    offset = datetime(2026, 5, 1, 14, 0, tzinfo=datetime.fromisoformat("2026-01-01T00:00+02:00").tzinfo)
    token = OAuthToken.from_response({"access_token": "a", "expires_in": "60"}, requested_at=offset)
    assert token.expires_at == T0 + timedelta(seconds=60)
    assert token.expires_at.tzinfo is UTC
    missing = OAuthToken.from_response({"access_token": "a"}, requested_at=T0)
    assert missing.expires_at == T0 + timedelta(seconds=3600)
    assert missing.refresh_token is None
    assert missing.scope == frozenset()
    assert plain(OAuthToken.from_response(token_body(id_token="idt"), requested_at=T0).id_token) == "idt"


def test_missing_refresh_token_and_scope_keep_the_previous_ones_byte_for_byte():
    previous = OAuthToken.from_response(token_body(0, refresh_token="ory_rt_ÄbC+/=="), requested_at=T0)
    token = OAuthToken.from_response(
        {"access_token": "at-1", "expires_in": 3600}, requested_at=T0 + timedelta(hours=1), previous=previous
    )
    assert plain(token.refresh_token) == "ory_rt_ÄbC+/=="
    assert token.refresh_token is previous.refresh_token
    assert token.scope == previous.scope
    assert plain(token.access_token) == "at-1"
    assert token.expires_at == T0 + timedelta(hours=2)
    rotated = OAuthToken.from_response(token_body(2, scope="read:self"), requested_at=T0, previous=previous)
    assert plain(rotated.refresh_token) == "rt-2"
    assert rotated.scope == frozenset({"read:self"})


def test_refresh_policy_boundaries():
    token = OAuthToken.from_response(token_body(), requested_at=T0)
    expiry = token.expires_at
    assert not token.needs_refresh(expiry - timedelta(seconds=301))
    assert token.needs_refresh(expiry - timedelta(seconds=300))
    assert token.needs_refresh(expiry - timedelta(seconds=299))
    assert not token.needs_refresh(expiry - timedelta(seconds=3599))
    assert not token.needs_refresh(expiry - timedelta(seconds=61), leeway=timedelta(seconds=60))
    assert token.is_expired(expiry)
    assert not token.is_expired(expiry - timedelta(seconds=1))
    assert token.remaining(expiry - timedelta(seconds=30)) == timedelta(seconds=30)


def test_token_repr_and_str_never_contain_token_values():
    token = OAuthToken.from_response(token_body(id_token="id-secret"), requested_at=T0)
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert "at-1" not in text
        assert "rt-1" not in text
        assert "id-secret" not in text
        assert "redacted" in text


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "access_token"),
        ({"access_token": ""}, "access_token"),
        ({"access_token": 5}, "access_token"),
        ({"access_token": "a", "expires_in": "soon"}, "expires_in"),
        ({"access_token": "a", "expires_in": True}, "expires_in"),
        ({"access_token": "a", "expires_in": 0}, "expires_in"),
        ({"access_token": "a", "expires_in": -5}, "expires_in"),
        ({"access_token": "a", "expires_in": float("inf")}, "expires_in"),
        ({"access_token": "a", "refresh_token": 7}, "refresh_token"),
        ({"access_token": "a", "scope": 3}, "scope"),
        ({"access_token": "a", "token_type": 1}, "token_type"),
    ],
)
def test_malformed_token_responses_name_the_field_not_the_value(payload, field):
    with pytest.raises(InvalidTokenResponseError, match=field) as caught:
        OAuthToken.from_response(payload, requested_at=T0)
    assert "soon" not in str(caught.value)


def test_token_response_must_be_an_object_and_time_aware():
    with pytest.raises(InvalidTokenResponseError, match="JSON object"):
        OAuthToken.from_response(["at-1"], requested_at=T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        OAuthToken.from_response(token_body(), requested_at=datetime(2026, 5, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        OAuthToken(access_token="a", expires_at=datetime(2026, 5, 1))


# ------------------------------------------------------------------------------------------------ authorization URL


def test_authorization_url_has_every_parameter():
    url = client().authorization_url("state-xyz", pkce_challenge(VERIFIER))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTHORIZE_URL
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": " ".join(DEFAULT_SCOPES),
        "state": "state-xyz",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    assert "+" not in parts.query  # spaces are %20
    assert CLIENT_SECRET not in url


def test_authorization_url_scopes_and_extra_params():
    url = client().authorization_url("s", "c" * 43, scopes=["read:self", "offline_access"], prompt="consent")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["scope"] == "read:self offline_access"
    assert params["prompt"] == "consent"
    with pytest.raises(ValueError, match="may not override"):
        client().authorization_url("s", "c" * 43, code_challenge_method="plain")
    with pytest.raises(ValueError, match="required"):
        client().authorization_url("", "c" * 43)


def test_client_requires_credentials_and_hides_the_secret():
    with pytest.raises(ValueError, match="required"):
        OAuthClient(CLIENT_ID, "", REDIRECT)
    oauth = client()
    assert CLIENT_SECRET not in repr(oauth)
    assert CLIENT_ID in repr(oauth)


# ------------------------------------------------------------------------------------------------ code exchange


@respx.mock
def test_exchange_code_sends_basic_auth_and_the_body():
    clock = Clock()
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body(id_token="idt")))
    with client(clock=clock) as oauth:
        token = oauth.exchange_code("the-code", VERIFIER)
    request = route.calls.last.request
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "code_verifier": VERIFIER,
    }
    assert plain(token.access_token) == "at-1"
    assert plain(token.refresh_token) == "rt-1"
    assert plain(token.id_token) == "idt"
    assert token.expires_at == T0 + timedelta(hours=1)


@respx.mock
def test_exchange_without_scope_in_the_answer_means_the_requested_scopes():
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body(scope=None)))
    assert client().exchange_code("the-code", VERIFIER).scope == frozenset(DEFAULT_SCOPES)
    assert client().exchange_code("the-code", VERIFIER, scopes=["read:self"]).scope == frozenset({"read:self"})


def test_exchange_validates_before_sending():
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(TOKEN_URL)
        with pytest.raises(ValueError, match="RFC 7636"):
            client().exchange_code("the-code", "short")
        with pytest.raises(ValueError, match="empty"):
            client().exchange_code("", VERIFIER)
        assert route.call_count == 0


@respx.mock
def test_basic_credentials_are_form_encoded_per_rfc_6749():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    OAuthClient("id:with space", "p@ss:w%rd", REDIRECT, sleep=Sleeps()).refresh("rt-0")
    header = route.calls.last.request.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(header).decode() == "id%3Awith+space:p%40ss%3Aw%25rd"
    assert basic(route.calls.last.request) == ("id:with space", "p@ss:w%rd")


@respx.mock
def test_the_expiry_uses_the_clock_when_the_request_was_sent():
    clock = Clock()

    def slow_server(request: httpx.Request) -> httpx.Response:
        clock.now += timedelta(seconds=20)  # the answer arrives 20 s later
        return httpx.Response(200, json=token_body())

    respx.post(TOKEN_URL).mock(side_effect=slow_server)
    token = client(clock=clock).refresh("rt-0")
    assert token.expires_at == T0 + timedelta(seconds=3600)


@respx.mock
def test_a_shared_http_client_does_not_apply_its_own_auth_to_token_requests():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    with httpx.Client(auth=("someone", "else"), headers={"X-Custom": "1"}) as http:
        client(http_client=http).refresh("rt-0")
        assert not http.is_closed  # not ours to close
    assert basic(route.calls.last.request) == (CLIENT_ID, CLIENT_SECRET)


# ------------------------------------------------------------------------------------------------ refresh, revoke


@respx.mock
def test_refresh_rotates_and_never_asks_for_scopes():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body(2)))
    previous = OAuthToken.from_response(token_body(1), requested_at=T0)
    token = client().refresh("rt-1", previous=previous)
    request = route.calls.last.request
    assert form(request) == {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": CLIENT_ID}
    assert "scope" not in form(request)
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    assert (plain(token.access_token), plain(token.refresh_token)) == ("at-2", "rt-2")


@respx.mock
def test_refresh_without_a_new_refresh_token_keeps_the_sent_one_byte_for_byte():
    previous = OAuthToken.from_response(token_body(1, refresh_token="ory_rt_x+y/z=="), requested_at=T0)
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": "at-2", "expires_in": 3600, "token_type": "bearer"})
    )
    token = client().refresh("ory_rt_x+y/z==", previous=previous)
    assert plain(token.refresh_token) == "ory_rt_x+y/z=="
    assert token.scope == previous.scope
    assert plain(token.access_token) == "at-2"
    assert plain(client().refresh("ory_rt_x+y/z==").refresh_token) == "ory_rt_x+y/z=="


@respx.mock
def test_revoke_posts_the_token_with_client_auth():
    route = respx.post(REVOKE_URL).mock(return_value=httpx.Response(200))
    assert client().revoke("rt-1") is None
    request = route.calls.last.request
    assert form(request) == {"token": "rt-1", "token_type_hint": "refresh_token", "client_id": CLIENT_ID}
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    client().revoke("at-1", token_type_hint="access_token")
    assert form(route.calls.last.request)["token_type_hint"] == "access_token"


@respx.mock
def test_revoke_errors_are_typed():
    respx.post(REVOKE_URL).mock(return_value=httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(InvalidClientError):
        client().revoke("rt-1")


# ------------------------------------------------------------------------------------------------ error shapes


USED = {"error": "invalid_grant", "error_description": "The refresh token was already used."}
BAD_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed."}
BAD_REQUEST = {"error": "invalid_request", "error_description": "missing code_verifier"}


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, USED, InvalidGrantError, "invalid_grant"),
        (401, BAD_CLIENT, InvalidClientError, "invalid_client"),
        (400, {"error": "invalid_client"}, InvalidClientError, "invalid_client"),
        (401, None, InvalidClientError, "invalid_client"),
        (400, BAD_REQUEST, OAuthError, "invalid_request"),
        (400, {"error": "invalid_scope"}, OAuthError, "invalid_scope"),
        (403, {"error": "unauthorized_client"}, OAuthError, "unauthorized_client"),
        (400, "<html>bad request</html>", OAuthError, "http_400"),
        (404, None, OAuthError, "http_404"),
        (400, {"message": "no oauth envelope"}, OAuthError, "http_400"),
    ],
)
@respx.mock
def test_token_errors_are_typed(status, body, kind, code):
    content = {"json": body} if isinstance(body, dict) else {"text": body or ""}
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(status, **content))
    with pytest.raises(kind) as caught:
        client().refresh("rt-1")
    error = caught.value
    assert type(error) is kind
    assert error.error == code
    assert error.status_code == status
    assert route.call_count == 1  # 4xx is never retried
    if isinstance(body, dict) and "error_description" in body:
        assert error.description == body["error_description"]
        assert body["error_description"] in str(error)
    assert_no_secret(str(error))


@respx.mock
def test_error_text_that_echoes_secrets_is_scrubbed():
    echo = f"bad refresh_token rt-1 for client {CLIENT_SECRET} (Authorization: Bearer at-1)"
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant", "error_description": echo})
    )
    with pytest.raises(InvalidGrantError) as caught:
        client().refresh("rt-1")
    assert_no_secret(str(caught.value))
    assert_no_secret(caught.value.description or "")
    assert "[redacted]" in str(caught.value)


@respx.mock
def test_code_and_verifier_are_scrubbed_from_exchange_errors():
    echo = f"code the-code does not match verifier {VERIFIER}"
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(400, json={"error": "invalid_grant", "error_description": echo})
    )
    with pytest.raises(InvalidGrantError) as caught:
        client().exchange_code("the-code", VERIFIER)
    assert_no_secret(str(caught.value))


@respx.mock
def test_unusable_2xx_bodies_raise_invalid_token_response():
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"token_type": "bearer"}))
    with pytest.raises(InvalidTokenResponseError, match="access_token"):
        client(max_ambiguous_retries=0).refresh("rt-1")


# ------------------------------------------------------------------------------------------------ retries (T9)


@respx.mock
def test_t9_503_timeout_and_429_are_retried_at_most_three_times_and_wait_for_retry_after():
    sleeps = Sleeps()
    route = respx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "temporarily_unavailable"}),
            httpx.Response(200, json=token_body(2)),
        ]
    )
    token = client(sleep=sleeps).refresh("rt-1")
    assert plain(token.access_token) == "at-2"
    assert route.call_count == 4  # 3 retries
    assert len(sleeps) == 3
    assert sleeps[2] >= 2.0  # the wait after the 429 honours Retry-After: 2
    assert all(s >= 0 for s in sleeps)


@respx.mock
def test_t9_a_fourth_retry_never_happens():
    sleeps = Sleeps()
    route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(503, json={"error": "server_error", "error_description": "db down"})
    )
    with pytest.raises(OAuthServerError) as caught:
        client(sleep=sleeps).refresh("rt-1")
    assert route.call_count == 4
    assert len(sleeps) == 3
    error = caught.value
    assert not isinstance(error, InvalidGrantError)  # the grant is fine: no re-auth
    assert (error.status_code, error.error, error.description) == (503, "server_error", "db down")


@respx.mock
def test_429_retry_after_is_kept_on_the_final_error():
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "2"}))
    sleeps = Sleeps()
    with pytest.raises(OAuthServerError) as caught:
        client(sleep=sleeps).refresh("rt-1")
    assert caught.value.retry_after == 2.0
    assert caught.value.error == "temporarily_unavailable"
    assert sleeps
    assert all(s >= 2.0 for s in sleeps)


@respx.mock
def test_a_retry_after_longer_than_the_cap_gives_up_at_once():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    sleeps = Sleeps()
    with pytest.raises(OAuthServerError) as caught:
        client(sleep=sleeps).refresh("rt-1")
    assert route.call_count == 1
    assert sleeps == []
    assert caught.value.retry_after == 120.0


@respx.mock
def test_a_timeout_after_sending_is_retried_once_only():
    route = respx.post(TOKEN_URL).mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(TimeoutError) as caught:
        client().refresh("rt-1")
    assert route.call_count == 2
    assert caught.value.sent is True
    assert_no_secret(str(caught.value))


@respx.mock
def test_an_ambiguous_failure_then_invalid_grant_is_terminal():
    route = respx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.RemoteProtocolError("peer closed connection"),
            httpx.Response(400, json={"error": "invalid_grant"}),
        ]
    )
    with pytest.raises(InvalidGrantError):
        client().refresh("rt-1")
    assert route.call_count == 2


@respx.mock
def test_failures_before_sending_are_retried_up_to_three_times():
    route = respx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ConnectTimeout("connect timed out"),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=token_body(2)),
        ]
    )
    assert plain(client().refresh("rt-1").access_token) == "at-2"
    assert route.call_count == 4
    route.side_effect = httpx.ConnectError("refused")
    with pytest.raises(TransportError) as caught:
        client().refresh("rt-1")
    assert caught.value.sent is False
    assert route.call_count == 8


@respx.mock
def test_an_unusable_2xx_body_is_ambiguous_and_retried_once():
    route = respx.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, text="<html>"), httpx.Response(200, json=token_body(2))]
    )
    assert plain(client().refresh("rt-1").access_token) == "at-2"
    route.side_effect = [httpx.Response(200, text="<html>"), httpx.Response(200, text="{")]
    with pytest.raises(InvalidTokenResponseError, match="not JSON"):
        client().refresh("rt-1")
    assert route.call_count == 4


@respx.mock
def test_retries_can_be_switched_off():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(500))
    with pytest.raises(OAuthServerError):
        client(max_retries=0).refresh("rt-1")
    assert route.call_count == 1


# ------------------------------------------------------------------------------------------------ async


@respx.mock
async def test_async_exchange_refresh_and_revoke():
    token_route = respx.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, json=token_body(1)), httpx.Response(200, json=token_body(2))]
    )
    revoke_route = respx.post(REVOKE_URL).mock(return_value=httpx.Response(200))
    async with async_client() as oauth:
        first = await oauth.exchange_code("the-code", VERIFIER)
        second = await oauth.refresh(first.refresh_token or "", previous=first)
        await oauth.revoke(second.refresh_token or "")
    assert form(token_route.calls[0].request)["grant_type"] == "authorization_code"
    assert form(token_route.calls[1].request) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "client_id": CLIENT_ID,
    }
    assert basic(token_route.calls[1].request) == (CLIENT_ID, CLIENT_SECRET)
    assert form(revoke_route.calls.last.request)["token"] == "rt-2"
    assert plain(second.refresh_token) == "rt-2"
    url = async_client().authorization_url("s", "c" * 43)
    assert "code_challenge_method=S256" in url


@respx.mock
async def test_async_t9_retry_budget_and_waits():
    sleeps = AsyncSleeps()
    route = respx.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503),
        ]
    )
    with pytest.raises(OAuthServerError):
        await async_client(sleep=sleeps).refresh("rt-1")
    assert route.call_count == 4
    assert len(sleeps) == 3
    assert sleeps[2] >= 2.0


@respx.mock
async def test_async_errors_are_typed_and_timeouts_retried_once():
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(InvalidGrantError):
        await async_client().refresh("rt-1")
    assert route.call_count == 1
    route.side_effect = httpx.ReadTimeout("read timed out")
    with pytest.raises(TimeoutError):
        await async_client().refresh("rt-1")
    assert route.call_count == 3
