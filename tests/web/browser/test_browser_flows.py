"""The pages that read the JSON routes of the other web domains (2FA enrolment, connections, creators, invites),
in Chromium. Each flow is tested twice:

- against the API contract, with those routes answered by the test (Playwright's ``page.route``): what the page
  sends (path, body, ``X-CSRF-Token``) and how it shows the answers. These run on every branch;
- against the app's real routes (``@needs_routes``): skipped while the app lacks the route, i.e. until the branches
  that add them are merged; then they run, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import segno
from auth_kit import PASSWORD, Env
from browser_kit import expect, off_loop
from test_browser_pages import csp_violations, log_in, session_cookie, shot

from onyx_adapters.security import PyotpTotp
from onyx_adapters.security.totp import time_step

AUTHORIZE = "https://auth.fanvue.test/oauth2/auth?client_id=onyx&state=s"
CONNECTIONS = [  # as GET /api/connections answers (onyx_web.connections.routes.ConnectionView)
    {
        "id": "c-agency",
        "kind": "agency",
        "account_name": "Acme team",
        "status": "active",
        "stored_status": "active",
        "fanvue_user_uuid": "team-member-1",
        "creator_id": None,
        "scopes_granted": ["read:self", "read:creator", "read:insights"],
        "scopes_needed": ["read:self", "read:creator", "read:insights"],
        "scopes_missing": [],
        "last_used_at": "2026-12-03T08:58:00Z",
        "last_refreshed_at": "2026-12-03T08:58:00Z",
        "last_error": None,
        "reconnect": None,
        "reconnect_hint": None,
    },
    {
        "id": "c-agency-2",
        "kind": "agency",
        "account_name": "Second team account",
        "status": "needs_reconsent",
        "stored_status": "needs_reauth",
        "fanvue_user_uuid": "team-member-2",
        "creator_id": None,
        "scopes_granted": ["read:self"],
        "scopes_needed": ["read:self", "read:insights"],
        "scopes_missing": ["read:insights"],
        "last_used_at": None,
        "last_refreshed_at": None,
        "last_error": "invalid_grant: the grant was revoked",
        "reconnect": "reconnect",
        "reconnect_hint": "Reconnect: start Connect Fanvue again with this connection's id.",
    },
    {
        "id": "c-creator",
        "kind": "creator",
        "account_name": "Luna Park",
        "status": "needs_reconsent",
        "stored_status": "needs_reauth",
        "fanvue_user_uuid": "creator-luna",
        "creator_id": "cr-1",
        "scopes_granted": ["read:self"],
        "scopes_needed": ["read:self"],
        "scopes_missing": [],
        "last_used_at": None,
        "last_refreshed_at": None,
        "last_error": "invalid_grant",
        "reconnect": "creator_invite",
        "reconnect_hint": "Only the creator can grant access again: send her a new creator-connect invitation.",
    },
]
CREATORS = [  # as GET /api/creators answers (onyx_web.creators.routes.CreatorView)
    {
        "id": "cr-1",
        "handle": "luna",
        "display_name": "Luna Park",
        "has_own_connection": True,
        "own_connection_status": "needs_reauth",
    },
    {
        "id": "cr-2",
        "handle": "mira",
        "display_name": "Mira Stone",
        "has_own_connection": False,
        "own_connection_status": None,
    },
]
RECOVERY = [f"abcd-efgh-{n:04d}" for n in range(10)]


def answer(status: int, body: Any, sent: list[dict[str, Any]] | None = None) -> Any:
    """A route handler answering ``body`` with ``status`` (and keeping what the page sent)."""

    def handle(route: Any) -> None:
        request = route.request
        if sent is not None:
            sent.append({"method": request.method, "headers": request.headers, "body": request.post_data})
        kind = "application/problem+json" if status >= 400 else "application/json"
        route.fulfill(status=status, content_type=kind, body=json.dumps(body))

    return handle


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def app_has(env: Env, method: str, path: str) -> bool:
    """Whether the app has the route (path parameters compared by place, not by name)."""
    return any(
        _shape(route.path) == _shape(path) and method in handler.http_methods
        for route in env.app.routes
        for handler in route.route_handlers  # type: ignore[attr-defined]
    )


def needs_routes(env: Env, *routes: tuple[str, str]) -> None:
    """Skip until the app has these routes (added by the other web domains' branches)."""
    missing = [f"{method} {path}" for method, path in routes if not app_has(env, method, path)]
    if missing:
        pytest.skip(f"the app lacks {', '.join(missing)} (another branch adds it)")


def logged_in(page: Any, env: Env) -> Any:
    owner = off_loop(env.owner)
    log_in(page, owner.email)
    page.wait_for_url("**/overview")  # where a login lands
    page.goto("/connections")
    return owner


# ---------------------------------------------------------------- against the contract (routes answered here)


def test_connections_show_health_creators_and_reconnect(page: Any, env: Env) -> None:
    sent: list[dict[str, Any]] = []
    page.route("**/api/connections", answer(200, CONNECTIONS))
    page.route("**/api/creators", answer(200, CREATORS))
    page.route("**/api/connections/fanvue/start", answer(200, {"authorize_url": AUTHORIZE}, sent))
    page.route("https://auth.fanvue.test/**", lambda route: route.fulfill(content_type="text/html", body="Fanvue"))
    logged_in(page, env)
    rows = page.locator("#connections tbody tr")
    rows.first.wait_for()
    expect(rows).to_have_count(3)
    assert rows.nth(0).locator("button").count() == 0  # active, every scope: nothing to do
    assert "needs re-consent" in rows.nth(1).inner_text()
    assert "missing: read:insights" in rows.nth(1).inner_text()
    assert "invalid_grant" in rows.nth(1).inner_text()
    assert rows.nth(2).locator("button").count() == 0  # only the creator can: the page says so
    assert "creator-connect invitation" in rows.nth(2).inner_text()
    expect(page.locator("#creators tbody tr")).to_have_count(2)
    expect(page.locator("#creators")).to_contain_text("Luna Park")
    shot(page, "connections-list")
    csrf = page.evaluate("sessionStorage.getItem('onyx.csrf')")
    rows.nth(1).locator("button", has_text="Reconnect").click()
    page.wait_for_url(AUTHORIZE)
    assert json.loads(sent[0]["body"]) == {"reconnect_connection_id": "c-agency-2"}
    assert sent[0]["headers"]["x-csrf-token"] == csrf
    assert len(csrf) == 64
    page.go_back()
    page.locator("#connect").click()
    page.wait_for_url(AUTHORIZE)
    assert json.loads(sent[1]["body"]) == {}
    assert csp_violations(page) == []


def test_connect_says_why_it_cannot_start(page: Any, env: Env) -> None:
    problem = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "request_id": "r1",
        "detail": "Connecting Fanvue is not configured on this server.",
    }
    page.route("**/api/connections", answer(200, []))
    page.route("**/api/creators", answer(200, []))
    page.route("**/api/connections/fanvue/start", answer(503, problem))
    logged_in(page, env)
    page.locator("#connections-empty").wait_for()
    page.locator("#connect").click()
    page.locator("#message").wait_for()
    assert page.locator("#message").inner_text().startswith("Connecting Fanvue is not configured on this server.")
    assert page.url.endswith("/connections")
    shot(page, "connections-empty")


def test_back_from_fanvue_the_page_says_the_agency_is_connected(page: Any, env: Env) -> None:
    page.route("**/api/connections", answer(200, CONNECTIONS[:1]))
    page.route("**/api/creators", answer(200, CREATORS))
    logged_in(page, env)
    expect(page.locator("#connected")).to_be_hidden()  # only when the callback sent the browser here
    page.goto("/connections?connected=agency")
    expect(page.locator("#connected")).to_contain_text("Fanvue is connected")
    assert page.url.endswith("/connections")  # the address forgets it: a reload does not say it again
    expect(page.locator("#creator-connected")).to_be_hidden()
    shot(page, "connections-connected")


def test_a_creator_back_from_fanvue_is_thanked_not_sent_to_a_login_she_has_not(page: Any) -> None:
    page.goto("/connections?connected=creator")  # her invitation's callback; she has no Onyx session
    expect(page.locator("#creator-connected")).to_be_visible()
    expect(page.locator("#creator-connected")).to_contain_text("Your Fanvue account is connected")
    expect(page.locator("#connections-card")).to_be_hidden()
    expect(page.locator("#creators-card")).to_be_hidden()
    assert page.url.endswith("/connections")
    shot(page, "creator-connected")
    page.goto("/connections")  # without the callback's word: the login page, as before
    page.wait_for_url("**/login")
    assert csp_violations(page) == []


def test_enrolment_shows_the_qr_code_and_the_recovery_codes_once(page: Any, env: Env) -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # pragma: allowlist secret
    uri = f"otpauth://totp/Onyx:olga?secret={secret}&issuer=Onyx"
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    sent: list[dict[str, Any]] = []
    page.route("**/api/account/totp/enrolment", answer(200, {"otpauth_uri": uri, "secret": secret, "qr_svg": svg}))
    page.route("**/api/account/totp/enrolment/confirm", answer(200, {"recovery_codes": RECOVERY}, sent))
    page.route("**/api/connections", answer(200, []))
    page.route("**/api/creators", answer(200, []))
    logged_in(page, env)
    page.goto("/account/2fa")
    page.locator("#qr svg").wait_for()
    assert page.locator("#secret").inner_text() == secret
    box = page.locator("#qr svg path").bounding_box()
    assert box is not None
    assert box["width"] > 150  # the QR code is drawn, and fills its frame
    shot(page, "account-2fa")
    page.fill("#code", "123 456")
    page.click("#confirm-form button[type=submit]")
    page.locator("#recovery").wait_for()
    assert page.locator("#recovery-codes li").all_inner_texts() == RECOVERY
    assert json.loads(sent[0]["body"]) == {"code": "123456"}
    assert sent[0]["headers"]["x-csrf-token"] == page.evaluate("sessionStorage.getItem('onyx.csrf')")
    assert not page.locator("#enrol").is_visible()
    shot(page, "account-2fa-recovery-codes")
    page.click("#saved")
    page.wait_for_url("**/overview")
    assert csp_violations(page) == []


def test_the_qr_svg_is_shown_without_anything_active(page: Any, env: Env) -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="window.hit=1">'
        '<script>window.hit=2</script><path d="M0 0h1"/></svg>'
    )
    page.route("**/api/account/totp/enrolment", answer(200, {"otpauth_uri": "x", "secret": "S", "qr_svg": svg}))
    page.route("**/api/connections", answer(200, []))
    page.route("**/api/creators", answer(200, []))
    logged_in(page, env)
    page.goto("/account/2fa")
    page.locator("#qr svg path").wait_for(state="attached")
    assert page.locator("#qr script").count() == 0
    assert page.locator("#qr svg").get_attribute("onload") is None
    assert page.evaluate("window.hit === undefined")


def test_an_enrolled_member_is_told_so(page: Any, env: Env) -> None:
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "request_id": "r2"}
    page.route("**/api/account/totp/enrolment", answer(409, problem))
    page.route("**/api/connections", answer(200, []))
    page.route("**/api/creators", answer(200, []))
    logged_in(page, env)
    page.goto("/account/2fa")
    page.locator("#already").wait_for()


def test_a_member_invitation_is_accepted(page: Any) -> None:
    sent: list[dict[str, Any]] = []
    invite = {"kind": "member", "role": "viewer", "agency_name": "Acme Talent", "expires_at": "2026-12-10T09:00:00Z"}
    page.route("**/api/invites/tok123", answer(200, invite))
    page.route("**/api/invites/tok123/accept", answer(201, {"id": "m2", "email": "vic@acme.test"}, sent))
    page.goto("/invite/tok123")
    page.locator("#accept-form").wait_for()
    assert page.locator("h1").inner_text() == "Join Acme Talent"
    assert "as viewer" in page.locator("#invite-what").inner_text()
    page.fill("#email", "vic@acme.test")
    page.fill("#display-name", "Vic")
    page.fill("#password", PASSWORD)
    page.fill("#password-again", PASSWORD + "!")
    page.click("button[type=submit]")
    expect(page.locator("#message")).to_have_text("The two passwords differ.")
    assert sent == []
    page.fill("#password-again", PASSWORD)
    shot(page, "invite-member")
    page.click("button[type=submit]")
    page.locator("#accepted").wait_for()
    assert json.loads(sent[0]["body"]) == {"email": "vic@acme.test", "display_name": "Vic", "password": PASSWORD}
    shot(page, "invite-accepted")


def test_a_creator_connect_invitation_goes_to_fanvue(page: Any) -> None:
    sent: list[dict[str, Any]] = []
    invite = {
        "kind": "creator_connect",
        "role": None,
        "agency_name": "Acme Talent",
        "expires_at": "2026-12-10T09:00:00Z",
    }
    page.route("**/api/invites/tok456", answer(200, invite))
    page.route("**/api/invites/tok456/connect", answer(200, {"authorize_url": AUTHORIZE}, sent))
    page.route("https://auth.fanvue.test/**", lambda route: route.fulfill(content_type="text/html", body="Fanvue"))
    page.goto("/invite/tok456")
    page.locator("#connect-mine").wait_for()
    assert page.locator("#accept-form").is_hidden()
    shot(page, "invite-creator")
    page.click("#connect-mine")
    page.wait_for_url(AUTHORIZE)
    assert sent[0]["method"] == "POST"
    assert json.loads(sent[0]["body"]) == {}


# ---------------------------------------------------------------- against the real routes (after the merge)


def test_real_enrolment_turns_on_two_factor(page: Any, env: Env) -> None:
    needs_routes(env, ("POST", "/api/account/totp/enrolment"), ("POST", "/api/account/totp/enrolment/confirm"))
    owner = logged_in(page, env)
    page.goto("/account/2fa")
    page.locator("#qr svg").wait_for()
    secret = page.locator("#secret").inner_text()
    page.fill("#code", PyotpTotp().code_at(secret, time_step(env.clock.now())))
    page.click("#confirm-form button[type=submit]")
    page.locator("#recovery").wait_for()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.click("#logout")
    page.wait_for_url("**/login")
    env.clock.advance(30)
    log_in(page, owner.email)
    page.wait_for_url("**/login/2fa")
    page.fill("#code", PyotpTotp().code_at(secret, time_step(env.clock.now())))
    page.click("button[type=submit]")
    page.wait_for_url("**/overview")
    assert session_cookie(page) is not None


def test_real_connections_and_creators_lists_load(page: Any, env: Env) -> None:
    needs_routes(env, ("GET", "/api/connections"), ("GET", "/api/creators"))
    logged_in(page, env)
    page.locator("#connections-empty").wait_for()
    page.locator("#creators-empty").wait_for()
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("#creators-message")).to_be_hidden()


def test_real_unknown_invitation_says_it_is_not_valid(page: Any, env: Env) -> None:
    needs_routes(env, ("GET", "/api/invites/{token:str}"))
    page.goto("/invite/no-such-token")
    page.locator("#message").wait_for()
    assert "not valid" in page.locator("#message").inner_text()
