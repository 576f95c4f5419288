"""The issue's "Done when": ``onyx serve`` against the demo database lets a person log in and connect from a browser.

Real processes, as a person runs them (docs/web-demo.md): ``onyx demo --once --database-url`` syncs the built-in sandbox
(seed 1) into the database under the key in ONYX_CIPHER_KEYS; ``onyx users create-owner --agency-id
sandbox-agency`` gives the demo's agency its first owner; ``onyx sandbox`` with the demo's seed (so the same Fanvue
users: connecting the agency admin again is a reconnect of the demo's own connection) and ``onyx serve`` with the
same cipher key. Then headless Chromium: ``/`` sends it to ``/login``; the owner logs in, lands on the overview,
opens ``/connections`` and sees the demo's creators; "Connect Fanvue" goes to the sandbox's consent page, where she
picks the agency admin and approves; back on ``/connections`` the page says Fanvue is connected, the agency connection
is active, refreshed by this grant (its last use is now), and nothing was added twice.

The demo keeps its data in SQLite or PostgreSQL (``--database-url``): both engines run, a fresh database each.
Screenshots of every step go to ``tmp_path``; the last one is also copied to /tmp/onyx-demo-browser.png."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import expect
from serve_kit import fresh_database, onyx, onyx_env, sandbox_and_web
from web_helpers import KEY

SEED = "1"  # the demo's default, said explicitly to both commands
OWNER_EMAIL = "olga@sandbox-talent.test"
OWNER_PASSWORD = "demo owner passphrase 1"  # pragma: allowlist secret
AGENCY = "sandbox-agency"
LAST_SCREENSHOT = Path("/tmp/onyx-demo-browser.png")  # noqa: S108 (a fixed place to look at, on purpose)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine: ``onyx demo`` migrates it."""
    yield from fresh_database(request, tmp_path)


def test_a_person_logs_in_and_connects_on_the_demo_database(browser: Any, demo_database: str, tmp_path: Path) -> None:
    url = demo_database
    keyed = onyx_env(cipher_keys=KEY)
    demo = onyx("demo", "--once", "--database-url", url, "--seed", SEED, env=keyed)
    assert "imported 3 creators" in demo, demo
    assert "ONYX_CIPHER_KEYS is not set" not in demo
    onyx(
        "users", "create-owner", "--agency-id", AGENCY, "--email", OWNER_EMAIL, "--name", "Olga",
        "--password-stdin", "--database-url", url, env=keyed, stdin=OWNER_PASSWORD + "\n",
    )  # fmt: skip
    with sandbox_and_web(url, tmp_path, seed=SEED, days="90") as stack:
        _in_the_browser(browser, stack.web_base, stack.agency_admin, stack.creators, tmp_path)
        assert OWNER_PASSWORD not in stack.web.log.read_text()


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
        page.wait_for_url(f"{base}/overview")  # where a login lands
        page.goto(f"{base}/connections")
        handles = page.locator("#creators tbody tr td:nth-child(2)")
        expect(handles).to_have_count(3)
        assert sorted(handles.all_inner_texts()) == sorted(f"@{handle}" for handle in creators)
        agency_row = page.locator("#connections tbody tr", has_text="Agency:")
        expect(agency_row).to_have_count(1)
        connections_before = page.locator("#connections tbody tr").count()
        refreshed_before = _agency_connection(page, base)["last_refreshed_at"]
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
        # storing a grant stamps last_refreshed_at (last_used_at moves only once a minute, when the connection answers)
        assert agency["last_refreshed_at"] != refreshed_before, "the callback stored no new grant on the connection"
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
