"""The pages in a real browser (headless Chromium) against the app served over HTTP on 127.0.0.1, on SQLite and
PostgreSQL: log in with a password, with a TOTP code, with a recovery code; wrong answers say so; log out kills
the session; the Secure ``__Host-`` cookie is kept on http://127.0.0.1; no page breaks its CSP. Screenshots of
each page go to $ONYX_SCREENSHOTS (default /tmp/onyx-pages)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from auth_kit import PASSWORD, Env
from browser_kit import expect, off_loop

from onyx_web.accounts.authentication import SESSION_COOKIE

SHOTS = Path(os.environ.get("ONYX_SCREENSHOTS") or Path(tempfile.gettempdir()) / "onyx-pages")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def session_cookie(page: Any) -> dict[str, Any] | None:
    return next((c for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def csp_violations(page: Any) -> list[str]:
    return [text for text in page.console_errors if "Content Security Policy" in text]


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_home_sends_an_anonymous_browser_to_the_login_page(page: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/login")
    assert page.locator("h1").inner_text() == "Log in"
    shot(page, "login")
    assert csp_violations(page) == []


def test_log_in_with_a_password_keeps_the_secure_cookie_and_log_out_ends_it(page: Any, env: Env) -> None:
    owner = off_loop(env.owner)
    log_in(page, owner.email)
    page.wait_for_url("**/overview")
    cookie = session_cookie(page)
    assert cookie is not None  # Chromium kept a Secure __Host- cookie on http://127.0.0.1
    assert cookie["secure"] is True
    assert cookie["httpOnly"] is True
    assert cookie["path"] == "/"
    expect(page.locator("#who")).to_have_text("Olga (owner)")
    assert page.evaluate("document.cookie") == ""  # HttpOnly: the script cannot read it
    shot(page, "overview-after-login")
    page.goto("/")
    assert page.url.endswith("/overview")  # logged in: / sends the browser on
    old = cookie["value"]
    page.click("#logout")
    page.wait_for_url("**/login")
    assert session_cookie(page) is None
    me = page.request.get("/api/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={old}"})
    assert me.status == 401  # the old id is dead on the server
    assert csp_violations(page) == []


def test_a_wrong_password_is_said_and_nothing_is_stored(page: Any, env: Env) -> None:
    owner = off_loop(env.owner)
    log_in(page, owner.email, "not the password")  # pragma: allowlist secret
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert message.inner_text() == "Wrong email or password."
    assert page.url.endswith("/login")
    assert session_cookie(page) is None
    shot(page, "login-wrong-password")


def test_log_in_with_a_totp_code(page: Any, env: Env) -> None:
    owner = off_loop(env.owner, totp=True)
    log_in(page, owner.email)
    page.wait_for_url("**/login/2fa")
    halfway = session_cookie(page)
    assert halfway is not None
    shot(page, "login-2fa")
    page.fill("#code", "000000" if env.code(owner) != "000000" else "111111")
    page.click("button[type=submit]")
    page.locator("#message").wait_for(state="visible")
    assert "did not work" in page.locator("#message").inner_text()
    shot(page, "login-2fa-wrong-code")
    env.clock.advance(30)  # the enrolment used this step's code: a code is good once
    page.fill("#code", env.code(owner))
    page.click("button[type=submit]")
    page.wait_for_url("**/overview")
    complete = session_cookie(page)
    assert complete is not None
    assert complete["value"] != halfway["value"]  # a new id after the second factor
    expect(page.locator("#who")).to_have_text("Olga (owner)")
    assert csp_violations(page) == []


def test_log_in_with_a_recovery_code(page: Any, env: Env) -> None:
    owner = off_loop(env.owner, totp=True)
    log_in(page, owner.email)
    page.wait_for_url("**/login/2fa")
    page.click("#use-recovery")
    assert page.locator("#code-label").inner_text() == "Recovery code"
    shot(page, "login-recovery")
    page.fill("#code", owner.recovery_codes[0])
    page.click("button[type=submit]")
    page.wait_for_url("**/overview")
    assert session_cookie(page) is not None


def test_the_2fa_page_without_a_login_goes_back_to_the_login_page(page: Any) -> None:
    page.goto("/account/2fa")
    page.wait_for_url("**/login")
    page.goto("/connections")
    page.wait_for_url("**/login")


def test_every_page_renders_without_a_csp_violation(page: Any) -> None:
    for path in ("/login", "/login/2fa", "/invite/no-such-invite"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert csp_violations(page) == []
    # the script ran: the invite page says the (unknown) invitation is not usable, or not available yet
    assert page.locator("#message").is_visible()
    shot(page, "invite-unknown")


@pytest.mark.parametrize("inline", ["script", "style"])
def test_the_csp_blocks_inline_code_in_the_browser(page: Any, inline: str) -> None:
    """The guard works in the browser: inline code a page might gain is refused (and reported) by Chromium."""
    page.goto("/login")
    code = "window.ran = true" if inline == "script" else "body { color: red }"
    page.evaluate(
        f"""() => {{ const e = document.createElement("{inline}"); e.textContent = {code!r};
        document.head.append(e); }}"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran === true") is False
    assert csp_violations(page) != []
