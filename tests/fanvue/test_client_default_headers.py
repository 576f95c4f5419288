"""The SDK's headers and a fixed bearer token live on the httpx client the SDK owns (set once, not per request),
while a caller's own client is left as it was and every per-request header or auth flow still wins."""

from __future__ import annotations

import secrets
from collections.abc import Generator
from typing import Any

import httpx
import pytest
import respx

from onyx_fanvue import AsyncFanvueClient, BearerToken, FanvueClient, redaction
from onyx_fanvue.redaction import REDACTED, Secret, _Registry, scrub

API = "https://api.fanvue.com"
TOKEN = "secret-access-token-123"
ME = {
    "uuid": "u",
    "email": "e",
    "handle": "h",
    "bio": "",
    "displayName": "d",
    "isCreator": False,
    "createdAt": "2025-01-01T00:00:00Z",
}


def sent_headers(route: respx.Route) -> httpx.Headers:
    return route.calls.last.request.headers


class PerRequestHeaders:
    """Wraps a client's ``build_request`` to record the ``headers=`` each request was built with."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient) -> None:
        self.seen: list[Any] = []
        build = http.build_request

        def spy(*args: Any, **kwargs: Any) -> httpx.Request:
            self.seen.append(kwargs.get("headers"))
            return build(*args, **kwargs)

        http.build_request = spy  # type: ignore[method-assign]


@respx.mock
def test_an_owned_client_carries_the_sdks_headers_and_token_as_defaults_and_requests_add_none() -> None:
    route = respx.get(f"{API}/users/me").respond(200, json=ME)
    with FanvueClient(access_token=TOKEN) as fanvue:
        spy = PerRequestHeaders(fanvue._http)
        fanvue.users.me()
        fanvue.users.me()
        defaults = fanvue._http.headers
        assert defaults["X-Fanvue-API-Version"] == "2025-06-26"
        assert defaults["User-Agent"].startswith("onyx-fanvue")
        assert defaults["Accept"] == "application/json"
        assert defaults["Authorization"] == f"Bearer {TOKEN}"
        assert fanvue._http.auth is None  # no auth flow of ours runs per request
    assert spy.seen == [None, None]  # nothing merged per request: httpx copies the defaults as they are
    sent = sent_headers(route)
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["X-Fanvue-API-Version"] == "2025-06-26"
    assert sent["User-Agent"].startswith("onyx-fanvue")
    assert sent.get_list("Accept") == ["application/json"]
    assert sent.get_list("User-Agent") == [sent["User-Agent"]]


@respx.mock
async def test_the_async_client_sets_them_once_too() -> None:
    route = respx.get(f"{API}/users/me").respond(200, json=ME)
    async with AsyncFanvueClient(access_token=TOKEN, api_version="2027-01-01") as fanvue:
        spy = PerRequestHeaders(fanvue._http)
        await fanvue.users.me()
        assert fanvue._http.auth is None
    assert spy.seen == [None]
    assert sent_headers(route)["X-Fanvue-API-Version"] == "2027-01-01"
    assert sent_headers(route)["Authorization"] == f"Bearer {TOKEN}"


@respx.mock
def test_a_callers_http_client_is_not_changed_and_the_sdks_headers_win_per_request() -> None:
    route = respx.get(f"{API}/users/me").respond(200, json=ME)
    own = {"User-Agent": "mine/1.0", "X-Fanvue-API-Version": "1999-01-01", "X-Trace": "kept"}
    with httpx.Client(headers=own) as http:
        before = list(http.headers.multi_items())
        with FanvueClient(access_token=TOKEN, http_client=http) as fanvue:
            spy = PerRequestHeaders(http)
            fanvue.users.me()
        assert list(http.headers.multi_items()) == before  # the caller's defaults are theirs
        assert isinstance(http.auth, BearerToken)  # a flow on a client the SDK does not own, as before
    assert spy.seen[0] is not None
    assert spy.seen[0]["X-Fanvue-API-Version"] == "2025-06-26"
    sent = sent_headers(route)
    assert sent["X-Fanvue-API-Version"] == "2025-06-26"
    assert sent["User-Agent"].startswith("onyx-fanvue")
    assert sent["X-Trace"] == "kept"
    assert sent["Authorization"] == f"Bearer {TOKEN}"


class Rotated(BearerToken):
    """A subclass may do anything in its flow: it must stay a flow."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer rotated-token-456"
        yield request


class Signed(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Signed abc"
        request.headers["X-Fanvue-API-Version"] = "per-request"
        yield request


@pytest.mark.parametrize(
    ("auth", "authorization", "version"),
    [(Rotated(TOKEN), "Bearer rotated-token-456", "2025-06-26"), (Signed(), "Signed abc", "per-request")],
)
@respx.mock
def test_any_other_auth_stays_a_flow_and_its_headers_win_over_the_defaults(
    auth: httpx.Auth, authorization: str, version: str
) -> None:
    route = respx.get(f"{API}/users/me").respond(200, json=ME)
    with FanvueClient(auth=auth) as fanvue:
        assert "Authorization" not in fanvue._http.headers
        fanvue.users.me()
    assert sent_headers(route)["Authorization"] == authorization
    assert sent_headers(route).get_list("X-Fanvue-API-Version") == [version]


@respx.mock
def test_a_fixed_token_used_by_requests_stays_remembered_by_scrub(monkeypatch: pytest.MonkeyPatch) -> None:
    respx.get(f"{API}/users/me").respond(200, json=ME)
    monkeypatch.setattr(redaction, "_REGISTRY", _Registry(capacity=2))
    token = f"fixed-{secrets.token_hex(8)}"
    with FanvueClient(access_token=token) as fanvue:
        Secret(f"other-{secrets.token_hex(8)}")  # the registry is full: the token, then this one
        fanvue.users.me()  # the token is in use again: the most recent
        Secret(f"other-{secrets.token_hex(8)}")  # one more: the least recently used (not the token) goes
    assert scrub(f"echoed {token}") == f"echoed {REDACTED}"
