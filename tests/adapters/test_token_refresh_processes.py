"""T2 and T5 (``/work/shared/requirements.md``) on SQLite and PostgreSQL.

T2: 4 OS processes x 25 concurrent calls on a token with 30 s left, sharing one database and a real sandbox
server (``onyx sandbox``), make exactly 1 token-endpoint request and raise ``token_version`` by exactly 1.
T5: at the moment the sandbox first sees a new access token, the matching new refresh token is already committed
(checked on every refresh of several rounds, sync and async clients)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rows import new_connection

from onyx_adapters.sql.token_store import AsyncSqlTokenStore, SqlTokenStore
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue import RetryPolicy
from onyx_fanvue.oauth import AsyncOAuthClient, OAuthClient, OAuthToken, RefreshingAuth
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.oauth_server import TokenInfo
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

SECRET = "s"
KEY = "k"
CLIENT_ID = "onyx-sandbox-client"
WORKER = Path(__file__).with_name("refresh_worker.py")
PROCESSES, THREADS = 4, 25


@dataclass(frozen=True)
class Served:
    base: str
    admin: str

    def control(self, method: str, path: str, **options: Any) -> Any:
        response = httpx.request(method, f"{self.base}/_sandbox{path}", headers={"X-Sandbox-Key": KEY}, **options)
        response.raise_for_status()
        return response.json()

    def hits(self) -> int:
        return int(self.control("GET", "/stats")["tokenEndpointHits"])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    command = [
        sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", "0", "--days", "3", "--creators", "1",
        "--expires-in", "3600", "--rate-limit", "100000", "--client-secret", SECRET, "--control-key", KEY,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # noqa: S603
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if " creator " in line:  # the last user listed: the banner is complete
            break
    banner = "".join(lines)
    base = re.search(r"at (http://127\.0\.0\.1:\d+)", banner)
    admin = re.search(r"^\s+(\S+)\s+agency admin\s", banner, re.MULTILINE)
    assert base, banner
    assert admin, banner
    served = Served(base.group(1), admin.group(1))
    for _ in range(100):  # the socket is bound before the banner; wait until uvicorn answers on it
        try:
            served.control("GET", "/stats", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield served
    finally:
        process.terminate()
        process.communicate(timeout=20)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_t2_four_processes_share_one_refresh(served: Served, database_url: str) -> None:
    started = time.monotonic()
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, ReversibleCipher())
    try:
        issued = served.control("POST", "/tokens", json={"user": served.admin})
        expiring = OAuthToken.from_response(issued, datetime.now(UTC) - timedelta(seconds=3570))  # 30 s left
        store.save(expiring, expected=None)
        version_before, hits_before = store.version(), served.hits()
        assert version_before is not None

        config = {
            "url": database_url,
            "connection_id": connection_id,
            "base": served.base,
            "client_id": CLIENT_ID,
            "secret": SECRET,
            "threads": THREADS,
        }
        workers = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, str(WORKER), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read() if worker.stderr else ""
        for worker in workers:  # all at once: every process finds the token expiring
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))

        assert [r["errors"] for r in results] == [[]] * PROCESSES
        assert sum(r["ok"] for r in results) == PROCESSES * THREADS
        assert served.hits() - hits_before == 1
        assert store.version() == version_before + 1
        fresh = store.load()
        assert fresh is not None
        assert fresh.refresh_token != expiring.refresh_token
        sent = [digest for r in results for digest in r["sent"]]
        assert len(sent) == PROCESSES * THREADS
        # all 100 calls used the one new access token
        assert set(sent) == {_digest(fresh.access_token.get_secret_value())}
    finally:
        store.close()
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------------------------------------------- T5


class FirstUseChecker:
    """A sandbox first-use hook: when an access token is first used, the DB must already hold it together with
    the refresh token the token endpoint issued with it."""

    def __init__(self, reader: SqlTokenStore) -> None:
        self.reader = reader
        self.issued: dict[str, str] = {}  # access token -> the refresh token of the same token response
        self.checked: list[bool] = []
        self._lock = threading.Lock()

    def record_response(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("/oauth2/token") and response.status_code == 200:
            response.read()
            body = response.json()
            with self._lock:
                self.issued[body["access_token"]] = body["refresh_token"]

    async def arecord_response(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("/oauth2/token") and response.status_code == 200:
            await response.aread()
            body = response.json()
            with self._lock:
                self.issued[body["access_token"]] = body["refresh_token"]

    def __call__(self, access_token: str, _: TokenInfo) -> None:
        with self._lock:
            refresh = self.issued.get(access_token)
        if refresh is None:
            return  # the first token, minted without the token endpoint
        stored = self.reader.load()  # a separate connection: sees only what is committed
        ok = (
            stored is not None
            and stored.access_token.get_secret_value() == access_token
            and stored.refresh_token is not None
            and stored.refresh_token.get_secret_value() == refresh
        )
        with self._lock:
            self.checked.append(ok)


ROUNDS, CALLS = 5, 20


def _sandbox() -> FanvueSandbox:
    return FanvueSandbox(
        spec=WorldSpec(seed=3, creators=1, days=3),
        clock=SandboxClock(datetime(2026, 11, 1, 12, tzinfo=UTC)),
        rate_limit=100_000,
    )


def _seed(sandbox: FanvueSandbox, store: SqlTokenStore) -> None:
    store.save(OAuthToken.from_response(sandbox.tokens(), sandbox.clock.now()), expected=None)


def test_t5_sync_new_refresh_token_is_committed_before_first_use(database_url: str) -> None:
    sandbox = _sandbox()
    connection_id = new_connection(database_url)
    store = SqlTokenStore(database_url, connection_id, ReversibleCipher())
    reader = SqlTokenStore(database_url, connection_id, ReversibleCipher())
    checker = FirstUseChecker(reader)
    sandbox.first_use_hooks.append(checker)
    http = httpx.Client(transport=sandbox.sync_transport(), event_hooks={"response": [checker.record_response]})
    oauth = OAuthClient(
        sandbox.client_id, sandbox.client_secret, sandbox.redirect_uris[0], http_client=http, clock=sandbox.clock.now
    )
    try:
        _seed(sandbox, store)
        version = store.version()
        assert version is not None
        hits = sandbox.token_endpoint_hits
        with sandbox.client(auth=RefreshingAuth(oauth, store), retry=RetryPolicy(max_retries=0)) as client:
            for _ in range(ROUNDS):
                sandbox.advance(3600 - 200)  # 200 s left: inside the 300 s leeway
                threads = [threading.Thread(target=client.users.me) for _ in range(CALLS)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        assert sandbox.token_endpoint_hits - hits == ROUNDS
        assert store.version() == version + ROUNDS
        assert checker.checked == [True] * ROUNDS  # 100 % of the refreshes
    finally:
        http.close()
        store.close()
        reader.close()


async def test_t5_async_new_refresh_token_is_committed_before_first_use(database_url: str) -> None:
    sandbox = _sandbox()
    connection_id = new_connection(database_url)
    store = AsyncSqlTokenStore(database_url, connection_id, ReversibleCipher())
    reader = SqlTokenStore(database_url, connection_id, ReversibleCipher())
    checker = FirstUseChecker(reader)
    sandbox.first_use_hooks.append(checker)
    http = httpx.AsyncClient(transport=sandbox.transport(), event_hooks={"response": [checker.arecord_response]})
    oauth = AsyncOAuthClient(
        sandbox.client_id, sandbox.client_secret, sandbox.redirect_uris[0], http_client=http, clock=sandbox.clock.now
    )
    try:
        _seed(sandbox, reader)
        version = await store.version()
        assert version is not None
        hits = sandbox.token_endpoint_hits
        auth = RefreshingAuth(oauth, store)
        async with sandbox.async_client(auth=auth, retry=RetryPolicy(max_retries=0)) as client:
            for _ in range(ROUNDS):
                sandbox.advance(3600 - 200)
                async with asyncio.timeout(30):
                    await asyncio.gather(*(client.users.me() for _ in range(CALLS)))
        assert sandbox.token_endpoint_hits - hits == ROUNDS
        assert await store.version() == version + ROUNDS
        assert checker.checked == [True] * ROUNDS
    finally:
        await http.aclose()
        await store.aclose()
        reader.close()
