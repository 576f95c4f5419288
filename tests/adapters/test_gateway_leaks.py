"""A stale metric's stored detail is built from the SDK's error text: a Fanvue that echoes the token in its 401
body, with no "Bearer" to pattern-match on, must not get that token into ``Missing.detail`` (which the stats
repository stores in clear), nor into a refused grant's or a failed refresh's detail."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from onyx_adapters.gateway import FanvueGateway
from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ports import GrantRefusedError
from onyx_core.stats import Missing
from onyx_fanvue import AsyncFanvueClient, RetryPolicy
from onyx_fanvue.oauth import TOKEN_URL, AsyncMemoryTokenStore, AsyncOAuthClient, OAuthToken, RefreshingAuth
from onyx_fanvue.redaction import SecretFilter

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MARKER = "PLANTED"
CLIENT_SECRET = f"{MARKER}-client-secret-{secrets.token_urlsafe(16)}"
API = "https://api.fanvue.com"
CREATOR = Creator(CreatorId("c-1"), AgencyId("a-1"), "creator_1", "Creator One", T0)
AGENCY = Connection(
    ConnectionId("conn-1"), ConnectionKind.AGENCY, AgencyId("a-1"), None, "admin", ConnectionStatus.ACTIVE, None
)


def planted(kind: str) -> str:
    return f"ory_{kind}_{MARKER}{secrets.token_urlsafe(32)}"


def clock() -> datetime:
    return T0


def echo_401(request: httpx.Request) -> httpx.Response:
    sent = request.headers["Authorization"].partition(" ")[2]
    return httpx.Response(401, json={"message": f"token {sent} is not valid"})


def echo_invalid_grant(access: str) -> Callable[[httpx.Request], httpx.Response]:
    """``invalid_grant`` that names the refresh token sent, the client secret, and the access token of the grant
    (a value this request never carried, but which the process holds)."""

    def respond(request: httpx.Request) -> httpx.Response:
        sent = parse_qs(request.content.decode())["refresh_token"][0]
        said = f"refresh token {sent} (client {CLIENT_SECRET}) is spent; access {access} revoked"
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": said})

    return respond


def refreshed(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"access_token": planted("at"), "refresh_token": planted("rt"), "expires_in": 3600})


def stored(seconds_left: float) -> OAuthToken:
    return OAuthToken(
        access_token=planted("at"), refresh_token=planted("rt"), expires_at=T0 + timedelta(seconds=seconds_left)
    )


def gateway(token: OAuthToken) -> FanvueGateway:
    async def no_sleep(_seconds: float) -> None:
        return None

    oauth = AsyncOAuthClient("client-1", CLIENT_SECRET, "https://onyx.example/cb", clock=clock, sleep=no_sleep)
    auth = RefreshingAuth(oauth, AsyncMemoryTokenStore(token), clock=clock)
    client = AsyncFanvueClient(auth=auth, retry=RetryPolicy(max_retries=0), rate_limited=False)
    return FanvueGateway(lambda _connection: client)


@respx.mock
async def test_a_401_echo_without_bearer_never_reaches_a_stored_detail() -> None:
    respx.route(host="api.fanvue.com").mock(side_effect=echo_401)
    respx.post(TOKEN_URL).mock(side_effect=refreshed)
    observations = await gateway(stored(3600)).fetch_stats(AGENCY, CREATOR, T0)
    missing = [o for o in observations if isinstance(o, Missing)]
    assert missing
    echoed = [o.detail for o in missing if "is not valid" in o.detail]
    assert echoed, "the server's words are kept"
    for observation in missing:
        assert MARKER not in observation.detail


@respx.mock
async def test_a_refused_grant_detail_holds_no_echoed_secret() -> None:
    respx.route(host="api.fanvue.com").mock(return_value=httpx.Response(200, json={}))
    token = stored(10)  # within the leeway: refreshed before the first call
    respx.post(TOKEN_URL).mock(side_effect=echo_invalid_grant(token.access_token.get_secret_value()))
    with pytest.raises(GrantRefusedError) as caught:
        await gateway(token).fetch_stats(AGENCY, CREATOR, T0)
    assert "is spent" in str(caught.value)
    assert MARKER not in str(caught.value)


def test_the_adapters_loggers_scrub_what_they_write() -> None:
    from onyx_adapters import scheduler, workers  # noqa: PLC0415 - imported for their loggers

    for logger in (scheduler.log, workers.log):
        assert any(isinstance(f, SecretFilter) for f in logger.filters), logger.name
