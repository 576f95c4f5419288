"""``onyx demo`` is the main job, live: a real process syncs the sandbox agency, prints its table and a one-time
owner login, and serves the dashboard while the in-process sandbox keeps earning and the in-process sync keeps
storing. Nothing in the test acts on the sandbox: the agency's revenue still grows. Ctrl-C (SIGINT) stops it with
exit code 0 and a goodbye, no traceback, and the password is in no log. A second run on the same database resets
the owner: a new password that works, the old one refused; SIGTERM stops it the same way.

Both engines, a fresh database each; a one-second cadence keeps the wall time small."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from serve_kit import Process, free_port, fresh_database, onyx_env
from web_helpers import KEY

SESSION = "__Host-onyx_session"
GROWTH_TIMEOUT = 45.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine: ``onyx demo`` migrates it."""
    yield from fresh_database(request, tmp_path)


def _start(url: str, port: int, log: Path) -> Process:
    args = ["demo", "--port", str(port), "--database-url", url, "--earn-every", "1", "--sync-every", "1"]
    return Process(args, onyx_env(cipher_keys=KEY), log)


def _login_of(demo: Process) -> tuple[str, str, str, str]:
    """What the demo printed: the web's URL, whether the owner was created or reset, her email and password."""
    url = demo.wait_for(r"^Onyx web at (http://\S+?)/?\s").group(1)
    how = demo.wait_for(r"^demo owner (created|reset)").group(1)
    email = demo.wait_for(r"^\s+email\s+(\S+)").group(1)
    password = demo.wait_for(r"^\s+password\s+(\S+)").group(1)
    return url, how, email, password


def _session(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    answer = http.post("/api/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    assert answer.json()["second_factor_due"] is False
    return {"cookie": f"{SESSION}={answer.cookies[SESSION]}", "x-csrf-token": answer.json()["csrf_token"]}


def _transactions(http: httpx.Client, headers: dict[str, str]) -> int:
    answer = http.get("/api/analytics", headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["agency"]["revenue"]["transactions"])


def _reconnect(http: httpx.Client, headers: dict[str, str], agency_admin: str) -> None:
    """The web reaches the demo's sandbox: Reconnect goes through its consent page (served on loopback) and back."""
    started = http.post("/api/connections/fanvue/start", json={"login_hint": agency_admin}, headers=headers)
    assert started.status_code in {200, 201}, started.text
    with httpx.Client(timeout=30.0) as fanvue:
        approved = fanvue.get(started.json()["authorize_url"], follow_redirects=False)
    assert approved.status_code in {302, 303}, approved.text
    back = urlsplit(approved.headers["location"])
    landed = http.get(f"{back.path}?{back.query}", headers=headers, follow_redirects=False)
    assert (landed.status_code, urlsplit(landed.headers["location"]).path) == (303, "/connections"), landed.text
    connections = http.get("/api/connections", headers=headers).json()
    connections = connections["items"] if isinstance(connections, dict) else connections
    assert sorted(c["status"] for c in connections) == ["active"] * 3


def _stop(demo: Process, signum: int) -> str:
    """Send ``signum``; the rest of the demo's output once it has exited 0."""
    demo.popen.send_signal(signum)
    try:
        code = demo.popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 30 s after signal {signum}: {demo.log.read_text()}")
    assert code == 0, demo.log.read_text()
    demo.stop()  # closes the pipes
    rest = []
    while not demo.lines.empty():
        rest.append(demo.lines.get())
    return "".join(rest)


def test_onyx_demo_serves_a_live_dashboard_and_stops_cleanly(database: str, tmp_path: Path) -> None:
    port = free_port()
    first = _start(database, port, tmp_path / "demo-1.log")
    try:
        agency_admin = first.wait_for(r"^connected (\S+) \(agency admin\)").group(1)
        assert "imported 3 creators" in first.wait_for(r"^imported \d+ creators").group(0)
        first.wait_for(r"stored stats at")  # the table, as --once prints it
        base, how, email, password = _login_of(first)
        assert (base, how) == (f"http://127.0.0.1:{port}", "created")
        with httpx.Client(base_url=base, timeout=30.0) as http:
            headers = _session(http, email, password)
            creators = http.get("/api/creators", headers=headers)
            assert creators.status_code == 200, creators.text
            assert sorted(c["handle"] for c in creators.json()) == ["kaicreator2", "noracreator1", "skyecreator0"]
            # nobody acts: the sandbox earns, the demo syncs, the agency's revenue grows
            before = _transactions(http, headers)
            deadline = time.monotonic() + GROWTH_TIMEOUT
            while (now := _transactions(http, headers)) <= before and time.monotonic() < deadline:
                time.sleep(0.5)
            assert now > before, f"no new transaction in {GROWTH_TIMEOUT} s"
            _reconnect(http, headers, agency_admin)
        rest = _stop(first, signal.SIGINT)
    finally:
        first.stop()
    assert re.search(r"^Stopped after .*Goodbye\.$", rest, re.MULTILINE), rest
    log = first.log.read_text()
    assert "Traceback" not in log, log
    assert password not in log

    # a re-run on the same database resets the demo's owner: the new password works, the old one no longer
    second = _start(database, free_port(), tmp_path / "demo-2.log")
    try:
        base, how, email_again, new_password = _login_of(second)
        assert (how, email_again) == ("reset", email)
        assert new_password != password
        with httpx.Client(base_url=base, timeout=30.0) as http:
            refused = http.post("/api/auth/login", json={"email": email, "password": password})
            assert refused.status_code == 401, refused.text
            _session(http, email, new_password)
        rest = _stop(second, signal.SIGTERM)
    finally:
        second.stop()
    assert "Goodbye." in rest, rest
    log = second.log.read_text()
    assert "Traceback" not in log, log
    for secret in (password, new_password):
        assert secret not in log
