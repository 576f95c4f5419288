"""Onyx as a person runs it, for the end-to-end tests: the ``onyx`` commands as child processes, a fresh database of
each engine, and ``onyx sandbox`` with ``onyx serve`` configured on it (the sandbox's banner gives the client id and
secret and the seeded users; the web's callback is registered at the sandbox)."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web_helpers import KEY, drop_postgresql_database, new_postgresql_database, sqlite_url

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def onyx_env(**onyx: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONYX_")}
    return {**env, **{f"ONYX_{k.upper()}": v for k, v in onyx.items()}}


def onyx(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 (our own CLI)
        [sys.executable, "-m", "onyx_adapters.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


class Process:
    """A child process whose standard output is read line by line in the background."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self._err = log.open("w")
        self.log = log
        self.popen = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "onyx_adapters.cli", *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._pumping = threading.Thread(target=self._pump, daemon=True)
        self._pumping.start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + START_TIMEOUT
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.popen.poll() is not None:
                    break
                continue
            seen.append(line)
            found = re.search(pattern, line)
            if found is not None:
                return found
        pytest.fail(f"no {pattern!r} from {self.popen.args}: {''.join(seen)} {self.log.read_text()}")

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
        self._pumping.join(timeout=10)  # the pipe reached its end with the process
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._err.close()


def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the engine ``request.param`` names (for a fixture parametrised over both)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    postgres_url = str(request.getfixturevalue("postgres_url"))
    url = new_postgresql_database(postgres_url)
    try:
        yield url
    finally:
        drop_postgresql_database(postgres_url, url)


def wait_ready(http: httpx.Client, web: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            if web.popen.poll() is not None:
                break
        time.sleep(0.2)
    pytest.fail(f"onyx serve never became ready: {web.log.read_text()}")


@dataclass(frozen=True)
class Stack:
    """``onyx sandbox`` and ``onyx serve`` running, and what the sandbox's banner said."""

    web: Process
    web_base: str
    client_secret: str
    agency_admin: str
    creators: list[str]


@contextmanager
def sandbox_and_web(url: str, tmp_path: Path, *, seed: str, days: str) -> Iterator[Stack]:
    """``onyx sandbox --seed SEED --days DAYS`` and ``onyx serve`` on ``url`` (key :data:`KEY`), ready."""
    web_port = free_port()
    web_base = f"http://127.0.0.1:{web_port}"
    callback = f"{web_base}/connections/fanvue/callback"
    sandbox = Process(
        ["sandbox", "--port", "0", "--seed", seed, "--days", days, "--redirect-uri", callback],
        onyx_env(),
        tmp_path / "sandbox.log",
    )
    web: Process | None = None
    try:
        sandbox_base = sandbox.wait_for(r"at (http://\S+)").group(1)
        client_id = sandbox.wait_for(r"client id\s+(\S+)").group(1)
        client_secret = sandbox.wait_for(r"client secret\s+(\S+)").group(1)
        agency_admin = sandbox.wait_for(r"^\s+(\S+)\s+agency admin\b").group(1)
        creators = [sandbox.wait_for(r"^\s+(\S+)\s+creator\s").group(1) for _ in range(3)]
        web = Process(
            ["serve", "--host", "127.0.0.1", "--port", str(web_port)],
            onyx_env(
                database_url=url,
                cipher_keys=KEY,
                fanvue_client_id=client_id,
                fanvue_client_secret=client_secret,
                fanvue_redirect_uri=callback,
                fanvue_api_url=sandbox_base,
                fanvue_auth_url=f"{sandbox_base}/oauth2",
            ),
            tmp_path / "serve.log",
        )
        web.wait_for(r"Onyx web at")
        with httpx.Client(base_url=web_base, timeout=30.0) as http:
            wait_ready(http, web)
        yield Stack(web, web_base, client_secret, agency_admin, creators)
        served_log = web.log.read_text()
        assert "Traceback" not in served_log, served_log
        assert client_secret not in served_log
        assert KEY not in served_log
    finally:
        if web is not None:
            web.stop()
        sandbox.stop()
