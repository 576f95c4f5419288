"""The issue's "Done when": ``onyx serve`` against the demo database lets a person log in and connect from a browser.

Real processes, as a person runs them (docs/web-demo.md): ``onyx demo --database-url`` syncs the built-in sandbox
(seed 1) into the database under the key in ONYX_CIPHER_KEYS; ``onyx users create-owner --agency-id
sandbox-agency`` gives the demo's agency its first owner; ``onyx sandbox`` with the demo's seed (so the same Fanvue
users: connecting the agency admin again is a reconnect of the demo's own connection) and ``onyx serve`` with the
same cipher key. Then headless Chromium: ``/`` sends it to ``/login``; the owner logs in, lands on
``/connections`` and sees the demo's creators; "Connect Fanvue" goes to the sandbox's consent page, where she picks
the agency admin and approves; back on ``/connections`` the page says Fanvue is connected, the agency connection
is active, refreshed by this grant (its last use is now), and nothing was added twice.

The demo keeps its data in SQLite or PostgreSQL (``--database-url``): both engines run, a fresh database each.
Screenshots of every step go to ``tmp_path``; the last one is also copied to /tmp/onyx-demo-browser.png."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import expect
from test_e2e_serve import Process, _env, _free_port, _onyx, _wait_ready
from web_helpers import KEY, drop_postgresql_database, new_postgresql_database, sqlite_url

SEED = "1"  # the demo's default, said explicitly to both commands
OWNER_EMAIL = "olga@sandbox-talent.test"
OWNER_PASSWORD = "demo owner passphrase 1"  # pragma: allowlist secret
AGENCY = "sandbox-agency"
LAST_SCREENSHOT = Path("/tmp/onyx-demo-browser.png")  # noqa: S108 (a fixed place to look at, on purpose)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine: ``onyx demo`` migrates it."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    postgres_url = str(request.getfixturevalue("postgres_url"))
    url = new_postgresql_database(postgres_url)
    try:
        yield url
    finally:
        drop_postgresql_database(postgres_url, url)


def test_a_person_logs_in_and_connects_on_the_demo_database(browser: Any, demo_database: str, tmp_path: Path) -> None:
    url = demo_database
    keyed = _env(cipher_keys=KEY)
    demo = _onyx("demo", "--database-url", url, "--seed", SEED, env=keyed)
    assert "imported 3 creators" in demo, demo
    assert "ONYX_CIPHER_KEYS is not set" not in demo
    _onyx(
        "users", "create-owner", "--agency-id", AGENCY, "--email", OWNER_EMAIL, "--name", "Olga",
        "--password-stdin", "--database-url", url, env=keyed, stdin=OWNER_PASSWORD + "\n",
    )  # fmt: skip

    web_port = _free_port()
    web_base = f"http://127.0.0.1:{web_port}"
    callback = f"{web_base}/connections/fanvue/callback"
    sandbox = Process(
        ["sandbox", "--port", "0", "--seed", SEED, "--days", "90", "--redirect-uri", callback],
        _env(),
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
            _env(
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
            _wait_ready(http, web)
        _in_the_browser(browser, web_base, agency_admin, creators, tmp_path)
        served_log = web.log.read_text()
        assert "Traceback" not in served_log, served_log
        for secret in (OWNER_PASSWORD, client_secret, KEY):
            assert secret not in served_log
    finally:
        if web is not None:
            web.stop()
        sandbox.stop()


def _in_the_browser(browser: Any, base: str, agency_admin: str, creators: list[str], shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        # / sends a logged-out browser to the login page
        page.goto(f"{base}/")
        page.wait_for_url(f"{base}/login")
        page.fill("#email", OWNER_EMAIL)
        page.fill("#password", OWNER_PASSWORD)
        page.screenshot(path=shots / "1-login.png", full_page=True)
        page.click("#login-form button[type=submit]")

        # /connections: the demo's agency connection, and the creators the demo imported
        page.wait_for_url(f"{base}/connections")
        handles = page.locator("#creators tbody tr td:nth-child(2)")
        expect(handles).to_have_count(3)
        assert sorted(handles.all_inner_texts()) == sorted(f"@{handle}" for handle in creators)
        agency_row = page.locator("#connections tbody tr", has_text="Agency:")
        expect(agency_row).to_have_count(1)
        connections_before = page.locator("#connections tbody tr").count()
        used_before = _agency_connection(page, base)["last_used_at"]
        page.screenshot(path=shots / "2-connections-from-the-demo.png", full_page=True)

        # Connect Fanvue: the sandbox's consent page; the agency admin approves
        page.click("#connect")
        page.wait_for_url("**/oauth2/auth?**")
        expect(page.locator("h1")).to_contain_text("Authorize")
        page.select_option("select[name=user]", label=f"@{agency_admin}")
        page.screenshot(path=shots / "3-fanvue-consent.png", full_page=True)
        page.click("button[name=decision][value=approve]")

        # back on /connections, told so: the same agency connection, active, refreshed by this grant; nothing twice
        page.wait_for_url(f"{base}/connections?connected=agency")
        expect(page.locator("#connected")).to_contain_text("Fanvue is connected")
        expect(page).to_have_url(f"{base}/connections")  # a reload does not say it again
        expect(agency_row.locator("td.status")).to_have_text("active")
        expect(page.locator("#connections tbody tr")).to_have_count(connections_before)
        expect(handles).to_have_count(3)
        expect(page.locator("#message")).to_be_hidden()
        agency = _agency_connection(page, base)
        assert agency["status"] == "active"
        assert agency["last_used_at"] != used_before, "the callback stored a new grant on the demo's connection"
        final = shots / "4-connected.png"
        page.screenshot(path=final, full_page=True)
        shutil.copyfile(final, LAST_SCREENSHOT)
        assert page_errors == []
    finally:
        context.close()


def _agency_connection(page: Any, base: str) -> dict[str, Any]:
    """The agency connection as the page's own API call sees it (the browser's cookie, no CSRF needed: a GET)."""
    answer = page.request.get(f"{base}/api/connections")
    assert answer.status == 200, answer.text()
    body = answer.json()
    items = body["items"] if isinstance(body, dict) else body
    agency = [item for item in items if item["kind"] == "agency"]
    assert len(agency) == 1, items
    return dict(agency[0])
