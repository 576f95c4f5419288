"""No token leaves the SDK in error text: a hostile Fanvue echoes tokens in 401 bodies (without the word
"Bearer"), in ``invalid_grant`` descriptions and in unusable token responses, and every exception's ``str``,
``repr``, attributes and ``traceback`` formatted WITH LOCALS (what error reporters send away) must hold none of
them. Recognisable values are planted; the scan looks for each value and for the marker itself."""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import respx
from pydantic import SecretStr

from onyx_fanvue import AsyncFanvueClient, FanvueClient, RetryPolicy
from onyx_fanvue.errors import (
    AuthenticationError,
    InvalidGrantError,
    InvalidTokenResponseError,
    MalformedResponseError,
    PermissionDeniedError,
)
from onyx_fanvue.oauth import (
    TOKEN_URL,
    AsyncMemoryTokenStore,
    AsyncOAuthClient,
    MemoryTokenStore,
    OAuthClient,
    OAuthToken,
    RefreshingAuth,
    generate_pkce,
)

MARKER = "PLANTED"
CLIENT_SECRET = f"{MARKER}-client-secret-{secrets.token_urlsafe(16)}"
ME = "https://api.fanvue.com/users/me"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NO_RETRY = RetryPolicy(max_retries=0)


def planted(kind: str) -> str:
    """A fresh token that a scan can recognise (Ory's shape, the marker inside)."""
    return f"ory_{kind}_{MARKER}{secrets.token_urlsafe(32)}"


class Issued(list[str]):
    """Every planted value of one test. Its ``repr`` hides them: the tests' own frames are part of the tracebacks
    under scan, and only what the SDK holds is under test."""

    def new(self, kind: str) -> str:
        self.append(planted(kind))
        return self[-1]

    def __repr__(self) -> str:
        return f"Issued({len(self)} values)"


def clock() -> datetime:
    return T0


def stored_token(issued: Issued, seconds_left: float) -> OAuthToken:
    return OAuthToken(
        access_token=issued.new("at"),
        refresh_token=issued.new("rt"),
        expires_at=T0 + timedelta(seconds=seconds_left),
        scope=frozenset({"read:self"}),
    )


def echo_401(request: httpx.Request) -> httpx.Response:
    """Fanvue-like 401 that repeats the token it was sent, without the word "Bearer" anywhere."""
    sent = request.headers["Authorization"].partition(" ")[2]
    return httpx.Response(401, json={"error": "Unauthorized", "message": f"token {sent} is not valid"})


def rotating(issued: Issued) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        body = {"access_token": issued.new("at"), "refresh_token": issued.new("rt"), "expires_in": 3600}
        return httpx.Response(200, json=body)

    return respond


def echo_invalid_grant(request: httpx.Request) -> httpx.Response:
    sent = parse_qs(request.content.decode())["refresh_token"][0]
    description = f"refresh token {sent} of client {CLIENT_SECRET} was revoked"
    return httpx.Response(400, json={"error": "invalid_grant", "error_description": description})


def unusable(issued: Issued) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        body = {"access_token": issued.new("at"), "refresh_token": issued.new("rt"), "expires_in": "soon"}
        return httpx.Response(200, json=body)

    return respond


def exposures(error: BaseException) -> str:
    """Everything an error reporter could send about ``error``: message, repr, attributes and the formatted
    traceback with every frame's locals (the cause/context chain included)."""
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    attributes = repr(vars(error)) if hasattr(error, "__dict__") else ""
    return "\n".join([str(error), repr(error), attributes, "".join(shown.format())])


def assert_nothing_planted(text: str, issued: Issued) -> None:
    for value in (*issued, CLIENT_SECRET):
        assert value not in text
    assert MARKER not in text


async def raised(call: Awaitable[object]) -> BaseException:
    """The exception ``call`` raises, caught in a frame whose locals hold no secret."""
    try:
        await call
    except Exception as error:
        return error
    raise AssertionError("expected the call to fail")


def raised_sync(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("expected the call to fail")


def async_oauth() -> AsyncOAuthClient:
    async def no_sleep(seconds: float) -> None:
        return None

    return AsyncOAuthClient("client-1", CLIENT_SECRET, "https://onyx.example/cb", clock=clock, sleep=no_sleep)


def async_client(store: AsyncMemoryTokenStore) -> AsyncFanvueClient:
    auth = RefreshingAuth(async_oauth(), store, clock=clock)
    return AsyncFanvueClient(auth=auth, retry=NO_RETRY, rate_limited=False)


@respx.mock
async def test_a_401_that_echoes_the_token_without_bearer_leaks_nowhere() -> None:
    issued = Issued()
    respx.get(ME).mock(side_effect=echo_401)
    respx.post(TOKEN_URL).mock(side_effect=rotating(issued))
    store = AsyncMemoryTokenStore(stored_token(issued, 3600))
    async with async_client(store) as fanvue:
        error = await raised(fanvue.users.me())
    assert isinstance(error, AuthenticationError)  # the one forced refresh was answered 401 too
    assert len(issued) == 4  # the stored pair and the refreshed pair were both sent and echoed
    assert "is not valid" in str(error)  # the server's words stay readable
    assert_nothing_planted(exposures(error), issued)


@respx.mock
async def test_an_invalid_grant_that_echoes_the_refresh_token_and_client_secret_leaks_nowhere() -> None:
    issued = Issued()
    respx.get(ME).mock(return_value=httpx.Response(200, json={"uuid": "me"}))
    respx.post(TOKEN_URL).mock(side_effect=echo_invalid_grant)
    store = AsyncMemoryTokenStore(stored_token(issued, 10))  # within the leeway: refreshed first
    async with async_client(store) as fanvue:
        error = await raised(fanvue.users.me())
    assert isinstance(error, InvalidGrantError)
    assert "was revoked" in str(error)
    assert_nothing_planted(exposures(error), issued)


@respx.mock
async def test_an_unusable_token_response_never_shows_its_tokens() -> None:
    issued = Issued()
    respx.get(ME).mock(return_value=httpx.Response(200, json={"uuid": "me"}))
    respx.post(TOKEN_URL).mock(side_effect=unusable(issued))
    store = AsyncMemoryTokenStore(stored_token(issued, 10))
    async with async_client(store) as fanvue:
        error = await raised(fanvue.users.me())
    assert isinstance(error, InvalidTokenResponseError)
    assert "expires_in" in str(error)
    assert_nothing_planted(exposures(error), issued)


@respx.mock
def test_the_sync_client_leaks_nothing_either() -> None:
    issued = Issued()
    respx.get(ME).mock(side_effect=echo_401)
    respx.post(TOKEN_URL).mock(side_effect=echo_invalid_grant)
    oauth = OAuthClient("client-1", CLIENT_SECRET, "https://onyx.example/cb", clock=clock, sleep=lambda _: None)
    auth = RefreshingAuth(oauth, MemoryTokenStore(stored_token(issued, 3600)), clock=clock)
    with FanvueClient(auth=auth, retry=NO_RETRY, rate_limited=False) as fanvue:
        error = raised_sync(fanvue.users.me)  # 401 echo, then the forced refresh refused with an echo
    assert isinstance(error, InvalidGrantError)
    assert_nothing_planted(exposures(error), issued)


@respx.mock
def test_an_exchange_error_that_echoes_code_and_verifier_leaks_nowhere() -> None:
    issued = Issued()
    issued.new("ac")
    issued.append(f"{MARKER}{secrets.token_urlsafe(40)}")  # a PKCE verifier

    def echo(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        said = f"code {form['code'][0]} does not match verifier {form['code_verifier'][0]}"
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": said})

    respx.post(TOKEN_URL).mock(side_effect=echo)
    oauth = OAuthClient("client-1", CLIENT_SECRET, "https://onyx.example/cb", clock=clock, sleep=lambda _: None)
    error = raised_sync(lambda: oauth.exchange_code(issued[0], issued[1]))
    assert isinstance(error, InvalidGrantError)
    assert "does not match" in str(error)
    assert_nothing_planted(exposures(error), issued)


def test_tokens_and_verifiers_are_held_as_secrets_never_as_plain_strings() -> None:
    issued = Issued()
    token = OAuthToken(
        access_token=issued.new("at"), refresh_token=issued.new("rt"), id_token=issued.new("id"), expires_at=T0
    )
    for value in (token.access_token, token.refresh_token, token.id_token, generate_pkce().verifier):
        assert isinstance(value, SecretStr)
        assert not isinstance(value, str)
    assert token.access_token.get_secret_value() == issued[0]
    oauth = OAuthClient("client-1", CLIENT_SECRET, "https://onyx.example/cb")
    auth = RefreshingAuth(oauth, MemoryTokenStore(token))
    assert_nothing_planted(repr(vars(oauth)) + repr(token) + repr(vars(auth)) + repr(vars(auth._store)), issued)


@respx.mock
async def test_an_api_error_keeps_its_body_and_headers_only_scrubbed() -> None:
    issued = Issued()

    def echo_everywhere(request: httpx.Request) -> httpx.Response:
        sent = request.headers["Authorization"].partition(" ")[2]
        body = {"errors": [f"token {sent} lacks read:insights"], "detail": {"seen": [sent]}}
        return httpx.Response(403, json=body, headers={"www-authenticate": f'error="insufficient_scope" {sent}'})

    respx.get(ME).mock(side_effect=echo_everywhere)
    store = AsyncMemoryTokenStore(stored_token(issued, 3600))
    async with async_client(store) as fanvue:
        error = await raised(fanvue.users.me())
    assert isinstance(error, PermissionDeniedError)
    assert error.body["detail"]["seen"] == ["[redacted]"]  # the shape stays, the secret goes
    assert "insufficient_scope" in error.headers["www-authenticate"]
    assert_nothing_planted(exposures(error), issued)


@respx.mock
async def test_an_unusable_2xx_body_never_shows_what_it_held() -> None:
    issued = Issued()
    respx.get(ME).mock(side_effect=lambda request: httpx.Response(200, json={"uuid": issued.new("at")}))
    respx.get("https://api.fanvue.com/users/account").mock(
        side_effect=lambda request: httpx.Response(200, text=f"not JSON {issued.new('rt')}")
    )
    store = AsyncMemoryTokenStore(stored_token(issued, 3600))
    async with async_client(store) as fanvue:
        wrong_shape = await raised(fanvue.users.me())  # pydantic's own text would quote the input
        not_json = await raised(fanvue.users.account())
    for error in (wrong_shape, not_json):
        assert isinstance(error, MalformedResponseError)
        assert_nothing_planted(exposures(error), issued)
    assert "email" in str(wrong_shape)  # the message still says which field was wrong


def test_a_broken_token_response_read_from_a_mapping_keeps_no_trace_of_it() -> None:
    """A caller's own dict of tokens is in the caller's frames (pass the ``httpx.Response`` to avoid even that);
    the error itself holds nothing of it, not even as its context."""
    issued = Issued()
    payload = {"access_token": issued.new("at"), "refresh_token": issued.new("rt"), "expires_in": "soon"}
    error = raised_sync(lambda: OAuthToken.from_response(payload, requested_at=T0))
    assert isinstance(error, InvalidTokenResponseError)
    assert error.__context__ is None  # the validation error, which holds the input, is not reachable
    assert error.__cause__ is None
    assert_nothing_planted("\n".join([str(error), repr(error), repr(vars(error))]), issued)
