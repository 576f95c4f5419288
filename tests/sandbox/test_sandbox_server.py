"""``onyx sandbox`` as a real server on a loopback socket: a standard OAuth client library (Authlib) completes the
authorization-code + PKCE flow with nothing sandbox-specific but ``login_hint``, and the SDK reads the API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from onyx_fanvue import FanvueClient, RetryPolicy

REDIRECT = "http://127.0.0.1:9/callback"
SECRET = "sandbox-secret"
KEY = "control-key"


@dataclass(frozen=True)
class Served:
    base: str
    banner: str
    process: subprocess.Popen[str]

    def handle(self, role: str) -> str:
        match = re.search(rf"^\s+(\S+)\s+{role}\s", self.banner, re.MULTILINE)
        assert match, self.banner
        return match.group(1)


def _start(*extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", "0", "--days", "20", *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # noqa: S603


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    process = _start("--client-secret", SECRET, "--redirect-uri", REDIRECT, "--control-key", KEY)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "creator" in line and line.startswith("    ") and len([x for x in lines if " creator " in x]) == 3:
            break
    text = "".join(lines)
    match = re.search(r"at (http://127\.0\.0\.1:\d+)", text)
    assert match, text + (process.stderr.read() if process.stderr else "")
    base = match.group(1)
    for _ in range(100):  # the socket is bound before the banner; wait until uvicorn answers on it
        try:
            httpx.get(f"{base}/_sandbox/", headers={"X-Sandbox-Key": KEY}, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield Served(base, text, process)
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_banner_names_client_urls_key_and_users(served: Served) -> None:
    for needed in ("onyx-sandbox-client", SECRET, KEY, f"{served.base}/oauth2/token", REDIRECT):
        assert needed in served.banner
    assert served.handle("agency admin")


def test_authlib_completes_the_pkce_flow_and_refresh_rotates(served: Served) -> None:
    scope = "openid offline_access read:self read:creator read:insights"
    with OAuth2Client(
        "onyx-sandbox-client",
        SECRET,
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as oauth:
        verifier = generate_token(64)
        url, _ = oauth.create_authorization_url(
            f"{served.base}/oauth2/auth", code_verifier=verifier, login_hint=served.handle("agency admin")
        )
        approved = httpx.get(url, follow_redirects=False)
        assert approved.status_code in (302, 303)
        callback = approved.headers["location"]
        assert callback.startswith(REDIRECT)
        token = oauth.fetch_token(
            f"{served.base}/oauth2/token", authorization_response=callback, code_verifier=verifier
        )
        assert token["expires_in"] == 3600
        assert token["refresh_token"].startswith("ory_rt_")

        with FanvueClient(token["access_token"], base_url=served.base, retry=RetryPolicy(max_retries=0)) as api:
            me = api.users.me()
            assert me.handle == served.handle("agency admin")
            assert len(api.creators.list().data) == 3

        rotated = oauth.refresh_token(f"{served.base}/oauth2/token", refresh_token=token["refresh_token"])
        assert rotated["refresh_token"] != token["refresh_token"]
        with pytest.raises(OAuthError) as caught:  # the old one was single-use: reuse kills the family
            oauth.refresh_token(f"{served.base}/oauth2/token", refresh_token=token["refresh_token"])
        assert caught.value.error == "invalid_grant"
        with pytest.raises(OAuthError):
            oauth.refresh_token(f"{served.base}/oauth2/token", refresh_token=rotated["refresh_token"])

    stats = httpx.get(f"{served.base}/_sandbox/stats", headers={"X-Sandbox-Key": KEY}).json()
    assert stats["tokenEndpointHits"] == 4


def test_a_reset_fault_drops_the_real_connection(served: Served) -> None:
    control = {"X-Sandbox-Key": KEY}
    token = httpx.post(f"{served.base}/_sandbox/tokens", json={"user": served.handle("agency admin")}, headers=control)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}", "X-Fanvue-API-Version": "2025-06-26"}
    fault = httpx.post(f"{served.base}/_sandbox/faults", json={"kind": "reset", "times": 1}, headers=control)
    assert fault.status_code == 201
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{served.base}/users/me", headers=headers)
    assert httpx.get(f"{served.base}/users/me", headers=headers).status_code == 200


def test_a_busy_port_is_a_clear_error(served: Served) -> None:
    port = served.base.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", port, "--days", "5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert done.returncode == 1
    assert "cannot listen" in done.stderr
    assert "Traceback" not in done.stderr


def test_start_fixes_the_dates_whatever_the_day() -> None:
    from onyx_adapters.cli import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(["sandbox", "--start", "2026-01-05", "--days", "30"])
    assert args.start.isoformat() == "2026-01-05T00:00:00+00:00"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--start", "5 Jan"])


def test_an_unclosed_sync_client_does_not_keep_the_process_alive() -> None:
    script = (
        "from onyx_fanvue.sandbox.sandbox import FanvueSandbox\n"
        "from onyx_fanvue.sandbox.world import WorldSpec\n"
        "client = FanvueSandbox(spec=WorldSpec(days=5)).client()\n"
        "print(client.users.me().handle)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
