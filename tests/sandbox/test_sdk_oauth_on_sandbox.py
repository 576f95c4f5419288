"""The SDK's OAuth client and refreshing auth against the sandbox in-process: connect with PKCE and ``login_hint``,
then three hours of calls every ten minutes. The token-endpoint counter shows the SDK refreshes only when it must."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import NOW, SPEC
from onyx_fanvue import FanvueClient, RetryPolicy
from onyx_fanvue.errors import InvalidGrantError
from onyx_fanvue.oauth import MemoryTokenStore, RefreshingAuth, generate_pkce, generate_state
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox


def _connect(sandbox: FanvueSandbox, oauth_http: httpx.Client) -> MemoryTokenStore:
    oauth = sandbox.oauth_client()
    pkce, state = generate_pkce(), generate_state()
    url = oauth.authorization_url(state, pkce.challenge, login_hint=sandbox.world.admin.person.handle)
    approved = oauth_http.get(url)
    assert approved.status_code == 302
    query = parse_qs(urlsplit(approved.headers["location"]).query)
    assert query["state"] == [state]
    return MemoryTokenStore(oauth.exchange_code(query["code"][0], pkce.verifier))


def test_three_hours_of_calls_refresh_twice() -> None:
    sandbox = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with httpx.Client(transport=sandbox.sync_transport()) as oauth_http:
        store = _connect(sandbox, oauth_http)
        assert sandbox.token_endpoint_hits == 1
        auth = RefreshingAuth(sandbox.oauth_client(), store, clock=sandbox.clock.now)
        with FanvueClient(auth=auth, transport=sandbox.sync_transport(), retry=RetryPolicy(max_retries=0)) as client:
            for _ in range(18):  # a call every 10 minutes for 3 hours
                assert client.users.me().uuid == sandbox.admin
                sandbox.advance(timedelta(minutes=10))
    # expires_in 3600, leeway 300 s: renewed at the calls of minute 60 and 120; at minute 170 ten minutes are
    # still left, more than the leeway, so no third refresh
    assert sandbox.token_endpoint_hits == 1 + 2
    assert all(r.status == 200 for r in sandbox.requests)


def test_a_revoked_grant_surfaces_as_invalid_grant() -> None:
    sandbox = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with httpx.Client(transport=sandbox.sync_transport()) as oauth_http:
        store = _connect(sandbox, oauth_http)
    sandbox.revoke_grant(sandbox.admin)
    auth = RefreshingAuth(sandbox.oauth_client(), store, clock=sandbox.clock.now)
    with (
        FanvueClient(auth=auth, transport=sandbox.sync_transport(), retry=RetryPolicy(max_retries=0)) as client,
        pytest.raises(InvalidGrantError),
    ):
        client.users.me()  # 401, one forced refresh, and the grant is gone
    assert sandbox.token_endpoint_hits == 2
