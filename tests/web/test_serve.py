"""``onyx serve``: a real process answering on a free port, and bad settings refused through the CLI's one error
boundary (one line, exit code 1, no traceback) before any server starts."""

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
from pathlib import Path

import httpx
import pytest
import uvicorn
from web_helpers import KEY, sqlite_url

from onyx_adapters.access_log import redact_target
from onyx_adapters.cli import main
from onyx_adapters.sql.migrate import upgrade

START_TIMEOUT = 30.0


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONYX_")}
    return {**env, "ONYX_DATABASE_URL": url, "ONYX_CIPHER_KEYS": KEY}


def _first_line(stream: object, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()  # type: ignore[attr-defined]
    return lines.get(timeout=timeout)


@contextmanager
def _serving(tmp_path: Path, *args: str) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """`onyx serve --port 0 ARGS` on a migrated SQLite file: its base URL, its log file and the process."""
    url = sqlite_url(tmp_path)
    upgrade(url)
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        process = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "onyx_adapters.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=_env(url),
        )
        try:
            line = _first_line(process.stdout, START_TIMEOUT)
            found = re.search(r"at (http://\S+)", line)
            assert found is not None, (line, log.read_text())
            yield found.group(1), log, process
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    with _serving(tmp_path) as serving:
        yield serving


def _get_when_up(client: httpx.Client, process: subprocess.Popen[str], log: Path, path: str) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # the banner comes once the socket listens; the app may still be starting
        try:
            return client.get(path)
        except httpx.TransportError:
            if process.poll() is not None:
                pytest.fail(f"onyx serve exited with {process.returncode}: {log.read_text()}")
            if time.monotonic() > deadline:
                raise


def test_onyx_serve_answers_as_a_real_process(served: tuple[str, Path, subprocess.Popen[str]]) -> None:
    base, log, process = served
    with httpx.Client(base_url=base, timeout=2.0) as client:
        health = _get_when_up(client, process, log, "/healthz")
        ready = client.get("/readyz")
        missing = client.get("/no/such/page")
    assert (health.status_code, health.json()) == (200, {"status": "ok"}), log.read_text()
    assert "max-age=31536000" in health.headers["strict-transport-security"]
    assert "server" not in health.headers  # no product banner
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = sqlite_url(tmp_path)
    upgrade(url)
    for name in list(os.environ):
        if name.startswith("ONYX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ONYX_DATABASE_URL", url)
    monkeypatch.setenv("ONYX_CIPHER_KEYS", KEY)

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused `onyx serve` started a server")

    monkeypatch.setattr(uvicorn.Server, "run", no_server)
    return url


def _refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(["serve", *args]) == 1
    out, err = capsys.readouterr()
    assert "Onyx web at" not in out  # no server was started
    assert err.count("\n") == 1
    assert err.startswith("onyx serve: ")
    assert "Traceback" not in err
    return err


def test_serve_without_cipher_keys_is_refused(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ONYX_CIPHER_KEYS")
    assert "ONYX_CIPHER_KEYS" in _refused(capsys, ["--port", "0"])


def test_serve_on_an_unmigrated_database_is_refused(
    tmp_path: Path, migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    older = sqlite_url(tmp_path / "older")
    upgrade(older, "0001")  # a database at the first schema: it answers, but is not at head
    monkeypatch.setenv("ONYX_DATABASE_URL", older)
    assert "onyx migrate" in _refused(capsys, ["--port", "0"])


def test_serve_on_a_busy_port_is_refused(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert "choose another --port" in _refused(capsys, ["--port", str(port)])


def test_the_access_log_shows_requests_but_not_the_secrets_in_their_urls(tmp_path: Path) -> None:
    invite_token = "inv1te-t0ken-" + "q" * 30  # pragma: allowlist secret
    code, state = "oauth-c0de-" + "z" * 20, "oauth-st4te-" + "w" * 30
    with _serving(tmp_path, "--access-log") as (base, log, process), httpx.Client(base_url=base) as client:
        _get_when_up(client, process, log, "/healthz")
        client.get(f"/api/invites/{invite_token}")
        client.get(f"/invite/{invite_token}")
        client.get(f"/connections/fanvue/callback?code={code}&state={state}")
        deadline = time.monotonic() + START_TIMEOUT
        while "/connections/fanvue/callback" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    written = log.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in written, written
    assert "GET /api/invites/… HTTP/1.1" in written
    assert "GET /connections/fanvue/callback?code=…&state=… HTTP/1.1" in written
    for secret in (invite_token, code, state):
        assert secret not in written


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/healthz", "/healthz"),
        ("/api/invites/abc/accept", "/api/invites/…/accept"),
        ("/invite/abc", "/invite/…"),
        ("/api/agency/invites", "/api/agency/invites"),
        ("/cb?code=1&state=2&code=3", "/cb?code=…&state=…&code=…"),
        ("/cb?garbage", "/cb?garbage=…"),
        ("/cb?", "/cb"),
    ],
)
def test_redact_target(target: str, shown: str) -> None:
    assert redact_target(target) == shown
