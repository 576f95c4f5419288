"""Helpers of the worker tests: a served sandbox in a subprocess, connected over real HTTP OAuth, and workers.

The in-process helpers (:mod:`onyx_adapters.sandbox_runtime`) reach the sandbox through its in-process transport;
worker processes cannot, so here everything goes over the socket the way a deployment talks to Fanvue.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from onyx_adapters.connect import store_agency_grant, store_creator_grant
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.oauth_callback import obtain_grant
from onyx_adapters.runtime import FanvueApp, Runtime
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.usecases import import_creators
from onyx_fanvue.oauth import OAuthToken

ONYX = str(Path(sys.executable).with_name("onyx"))
CLIENT_ID = "onyx-sandbox-client"
CLIENT_SECRET = "worker-test-secret"
CONTROL_KEY = "worker-test-control"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
AGENCY = AgencyId("worker-agency")

_URL = re.compile(r"^Fanvue sandbox \(seed \d+: (\d+) creators, .* at (http://\S+)$")
_USER = re.compile(r"^\s{4}(\S+)\s+(agency admin|team member|creator)\s+([0-9a-f-]{36})$")


@dataclass
class ServedSandbox:
    """An ``onyx sandbox`` subprocess and what its banner said."""

    process: subprocess.Popen[str]
    url: str
    admin: str
    creators: dict[str, CreatorId] = field(default_factory=dict)
    """handle -> uuid, in banner order."""

    @property
    def app(self) -> FanvueApp:
        return FanvueApp(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, api_url=self.url, auth_url=f"{self.url}/oauth2")

    def env(self, database_url: str, cipher_key: str) -> dict[str, str]:
        """The environment of an Onyx process pointed at this sandbox and ``database_url``."""
        return {
            **os.environ,
            "ONYX_DATABASE_URL": database_url,
            "ONYX_CIPHER_KEYS": cipher_key,
            "ONYX_FANVUE_CLIENT_ID": CLIENT_ID,
            "ONYX_FANVUE_CLIENT_SECRET": CLIENT_SECRET,
            "ONYX_FANVUE_REDIRECT_URI": REDIRECT_URI,
            "ONYX_FANVUE_API_URL": self.url,
            "ONYX_FANVUE_AUTH_URL": f"{self.url}/oauth2",
        }


def stop(process: subprocess.Popen[str], *, grace: float = 15.0) -> int:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code. Safe on a process already gone."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return process.returncode


@contextmanager
def served_sandbox(*, creators: int, days: int, start: datetime, latency: float = 0.0) -> Iterator[ServedSandbox]:
    """``onyx sandbox --port 0`` with fixed credentials; stopped (SIGTERM, then SIGKILL) on the way out."""
    command = [
        ONYX,
        "sandbox",
        "--port=0",
        "--seed=1",
        f"--creators={creators}",
        f"--days={days}",
        f"--start={start.date().isoformat()}",
        f"--latency={latency}",
        "--rate-limit=100000",  # the test is about the queue; the rate budget has tests of its own
        f"--client-secret={CLIENT_SECRET}",
        f"--control-key={CONTROL_KEY}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    watchdog = threading.Timer(30, process.kill)  # a banner that never comes must not hang the test
    watchdog.start()
    try:
        banner = _read_banner(process)
        watchdog.cancel()
        yield banner
    finally:
        watchdog.cancel()
        stop(process, grace=5)


def _read_banner(process: subprocess.Popen[str]) -> ServedSandbox:
    """Parse the banner; it ends with the creators, as many as its first line announces."""
    assert process.stdout is not None
    url = admin = None
    expected: int | None = None
    creators: dict[str, CreatorId] = {}
    while expected is None or len(creators) < expected:
        line = process.stdout.readline().rstrip()
        if not line and process.poll() is not None:
            raise RuntimeError(f"the sandbox exited ({process.returncode}) before printing its banner")
        if match := _URL.match(line):
            expected, url = int(match.group(1)), match.group(2)
        elif match := _USER.match(line):
            handle, role, uuid = match.groups()
            if role == "agency admin":
                admin = handle
            elif role == "creator":
                creators[handle] = CreatorId(uuid)
    if url is None or admin is None:
        raise RuntimeError("could not read the sandbox banner")
    _wait_until_serving(url)
    return ServedSandbox(process, url, admin, creators)


def _wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_sandbox/stats", headers={"X-Sandbox-Key": CONTROL_KEY}, timeout=2)
        except httpx.TransportError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"the sandbox at {url} does not answer")


async def authorize_http(sandbox: ServedSandbox, login_hint: str) -> OAuthToken:
    """The authorization-code flow with PKCE over HTTP, as a browser would run it (``login_hint`` approves)."""
    async with sandbox.app.oauth_client() as oauth:
        return await obtain_grant(oauth, login_hint=login_hint, show=pytest.fail)


async def connect_served(
    database_url: str, sandbox: ServedSandbox, cipher_key: str
) -> tuple[list[CreatorId], list[str]]:
    """Connect the agency admin and every creator (own grants) into ``database_url`` and import the creators.
    Returns the imported creators and the tokens granted (to check that nothing logs them)."""
    cipher = FernetCipher([cipher_key])
    app = sandbox.app
    options = app.client_options()
    async with (
        app.oauth_client() as oauth,
        Runtime.open(database_url, cipher, oauth, client_options=options) as runtime,
    ):
        tokens = [await authorize_http(sandbox, sandbox.admin)]
        await store_agency_grant(runtime.ctx, tokens[0], AGENCY, "Worker Agency", client_options=options)
        report = await import_creators(runtime.ctx, AGENCY)
        for handle in sandbox.creators:
            tokens.append(await authorize_http(sandbox, handle))
            await store_creator_grant(runtime.ctx, tokens[-1], client_options=options)
    secrets = [t.access_token.get_secret_value() for t in tokens]
    secrets += [t.refresh_token.get_secret_value() for t in tokens if t.refresh_token is not None]
    return list(report.added), secrets


def start_worker(
    sandbox: ServedSandbox, database_url: str, cipher_key: str, name: str, log: Path, *, concurrency: int
) -> subprocess.Popen[str]:
    """``onyx worker`` as a subprocess, its output (the worker's log) in ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "onyx_adapters.cli", "worker", f"--concurrency={concurrency}", f"--name={name}"],
            env=sandbox.env(database_url, cipher_key),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
