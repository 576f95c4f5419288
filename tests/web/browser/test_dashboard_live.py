"""The dashboard as a new user meets it: ``onyx demo`` (the README's main job) as a real process, on each engine,
serving the web app over its sandbox, and headless Chromium in front of it.

- The owner turns on TOTP, then logs in with a code; every tab renders, each card with values, 0 console errors
  and 0 failed requests, no horizontal scroll on a phone; a screenshot of each tab goes to build/screenshots/.
- The Overview's figures are the API's numbers (the exact value each figure carries).
- An earning added in the sandbox reaches the open page without a reload within 10 s: the demo's sync stores it,
  the store announces it (NOTIFY on PostgreSQL, in-process on SQLite) and the page's event stream reloads the
  cards. The time from the sandbox change to the screen is recorded (property ``sse_latency_s``).
- One route failing fails only its cards (each with its own error and a Retry that works); a Fanvue endpoint
  failing leaves the value it gave before on screen, never 0.
- A viewer limited to one creator sees that creator only, on every page she can open.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_kit import Process, free_port, fresh_database, onyx_env
from web_helpers import KEY

from onyx_adapters.security.totp import PyotpTotp, time_step

SHOTS = Path("build/screenshots")
SESSION = "__Host-onyx_session"
PHONE = {"width": 390, "height": 844}
LIVE_WITHIN_MS = 10_000


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request, tmp_path)


class Demo:
    """``onyx demo`` serving: the web's address, the printed login, the sandbox's address and control key."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.control_key = secrets.token_urlsafe(16)
        args = [
            "demo", "--port", str(free_port()), "--database-url", url,
            "--earn-every", "86400",  # no payments of its own during the test: the test adds them
            "--sync-every", "1", "--sandbox-control-key", self.control_key,
        ]  # fmt: skip
        self.process = Process(args, onyx_env(cipher_keys=KEY), tmp_path / "demo.log")
        self.base = self.process.wait_for(r"^Onyx web at (http://\S+?)/?\s").group(1)
        self.email = self.process.wait_for(r"^\s+email\s+(\S+)").group(1)
        self.password = self.process.wait_for(r"^\s+password\s+(\S+)").group(1)
        self.sandbox = self.process.wait_for(r"^Fanvue sandbox at (http://\S+)").group(1)
        self.http = httpx.Client(base_url=self.base, timeout=30.0)
        self.control = httpx.Client(base_url=f"{self.sandbox}/_sandbox", headers={"X-Sandbox-Key": self.control_key})

    def session(self, email: str, password: str, code: str | None = None) -> dict[str, str]:
        answer = self.http.post("/api/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        headers = {"cookie": f"{SESSION}={answer.cookies[SESSION]}", "x-csrf-token": answer.json()["csrf_token"]}
        if code is not None:
            step = self.http.post("/api/auth/totp", json={"code": code}, headers=headers)
            assert step.status_code == 200, step.text
            headers = {"cookie": f"{SESSION}={step.cookies[SESSION]}", "x-csrf-token": step.json()["csrf_token"]}
        return headers

    def stop(self) -> None:
        self.http.close()
        self.control.close()
        self.process.stop()


def _code(secret: str, ahead: int = 0) -> str:
    return PyotpTotp().code_at(secret, time_step(datetime.now(UTC)) + ahead)


def _enrol(demo: Demo, headers: dict[str, str]) -> str:
    setup = demo.http.post("/api/account/totp/enrolment", headers=headers)
    assert setup.status_code in (200, 201), setup.text
    secret = setup.json()["secret"]
    confirmed = demo.http.post("/api/account/totp/enrolment/confirm", json={"code": _code(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return str(secret)


class Watch:
    """What goes wrong on a page: console errors, uncaught errors, failed requests and error answers."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def _failed(self, request: Any) -> None:
        # the browser aborts what is still loading when the test moves on (the event stream, always): not a failure
        # of the page; a server that fails answers a status (counted above) or breaks the connection (counted here)
        if "ERR_ABORTED" not in str(request.failure):
            self.problems.append(f"failed: {request.url} {request.failure}")

    def take(self) -> list[str]:
        found = list(self.problems)
        self.problems.clear()
        return found


def _settled(page: Any) -> None:
    """Every card has loaded (or failed) and no skeleton is left."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('section.card[data-src], section.card[aria-busy]')]"
        ".every(c => c.getAttribute('aria-busy') === 'false' && !c.querySelector('.skeleton'))",
        timeout=20_000,
    )


def _tabs(page: Any) -> list[str]:
    return [
        str(href) for href in page.eval_on_selector_all("nav.tabs a", "links => links.map(a => a.getAttribute('href'))")
    ]


def _no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _log_in_with_totp(page: Any, demo: Demo, secret: str) -> None:
    page.goto(f"{demo.base}/overview")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#email", demo.email)
    page.fill("#password", demo.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/login/2fa$"))
    page.fill("#code", _code(secret, 1))  # the next step's code: the one the enrolment used is spent
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/overview$"))  # back where the login page was sent from


def _raw(page: Any, card: str, figure: str) -> str | None:
    value = page.get_attribute(f"#{card} [data-figure='{figure}']", "data-raw")
    return None if value is None else str(value)


def _every_tab(
    page: Any, watch: Watch, demo: Demo, owner: dict[str, str], creators: list[Any], engine: str
) -> list[str]:
    """Every tab renders with values, 0 console errors and 0 failed requests; the Overview's are the API's."""
    _settled(page)
    api = demo.http.get("/api/analytics", headers=owner).json()["agency"]
    assert _raw(page, "agency-totals", "revenue") == str(api["revenue"]["gross"]["cents"])
    assert _raw(page, "agency-totals", "net") == str(api["revenue"]["net"]["cents"])
    assert page.locator("#creator-cards .creator-card").count() == len(creators)
    tabs = _tabs(page)
    assert tabs == ["/overview", "/finance", "/social", "/creators", "/connections", "/team", "/security",
                    "/audit", "/exports"]  # fmt: skip
    pages = [*tabs, f"/creators/{creators[0]['id']}"]
    for path in pages:
        page.goto(f"{demo.base}{path}")
        _settled(page)
        assert page.locator("section.card.failed").count() == 0, path
        name = path.strip("/").replace("/", "-").replace(creators[0]["id"], "one")
        page.screenshot(path=str(SHOTS / f"dashboard-{name}-{engine}.png"), full_page=True)
        assert watch.take() == [], path
    return pages


def _on_a_phone(browser: Any, state: Any, demo: Demo, pages: list[str], engine: str) -> None:
    phone = browser.new_context(viewport=PHONE, storage_state=state)
    small = phone.new_page()
    watch = Watch(small)
    for path in pages:
        small.goto(f"{demo.base}{path}")
        _settled(small)
        assert _no_sideways_scroll(small), path
    small.goto(f"{demo.base}/overview")
    _settled(small)
    small.screenshot(path=str(SHOTS / f"dashboard-phone-overview-{engine}.png"), full_page=True)
    assert watch.take() == []
    phone.close()


def _live(page: Any, watch: Watch, demo: Demo, owner: dict[str, str], creators: list[Any]) -> tuple[int, float]:
    """A sandbox earning reaches the open Overview without a reload: the new total and the seconds it took."""
    page.goto(f"{demo.base}/overview")
    _settled(page)
    page.evaluate("window.onyxStayed = true")
    before = int(_raw(page, "agency-totals", "revenue") or "0")
    added = demo.control.post(f"/creators/{creators[0]['id']}/earnings", json={"gross": 12_345, "source": "tip"})
    assert added.status_code == 201, added.text
    changed_at = time.monotonic()
    page.wait_for_function(
        "before => Number(document.querySelector(\"#agency-totals [data-figure='revenue']\")?.dataset.raw) > before",
        arg=before,
        timeout=LIVE_WITHIN_MS,
    )
    latency = time.monotonic() - changed_at
    assert page.evaluate("window.onyxStayed === true")  # the same page: no reload
    after = demo.http.get("/api/analytics", headers=owner).json()["agency"]["revenue"]["gross"]["cents"]
    assert _raw(page, "agency-totals", "revenue") == str(after)
    assert after == before + 12_345
    assert watch.take() == []
    return after, latency


def _one_route_fails(page: Any, watch: Watch, creators: list[Any], total: int) -> None:
    """Only the cards of the failing route fail, the others keep their values; Retry recovers."""

    def fail(route: Any) -> None:
        route.fulfill(status=500, content_type="application/problem+json",
                      body='{"type":"about:blank","title":"Internal Server Error","status":500}')  # fmt: skip

    page.route("**/api/analytics*", fail)
    page.reload()
    _settled(page)
    assert page.locator("#agency-totals.failed .card-error").is_visible()
    assert page.locator("#top-creators.failed").count() == 1
    assert page.locator("#creator-cards.failed").count() == 0
    assert page.locator("#creator-cards [data-figure='subscribers'][data-raw]").count() == len(creators)
    assert "0" not in [t.strip() for t in page.locator("#creator-cards .value").all_inner_texts()]
    page.unroute("**/api/analytics*")
    page.click("#agency-totals .retry")
    page.wait_for_selector("#agency-totals:not(.failed) [data-figure='revenue'][data-raw]")
    assert _raw(page, "agency-totals", "revenue") == str(total)
    # the browser reports each failed answer twice: the response (with its address) and a console line (without)
    unexpected = [
        p for p in watch.take() if "/api/analytics" not in p and "status of 500 (Internal Server Error)" not in p
    ]
    assert unexpected == []


def _fanvue_fails(page: Any, demo: Demo, creators: list[Any]) -> None:
    """Every Fanvue endpoint failing: the followers shown before stay on screen (stale at worst), never 0."""
    followers = {c["id"]: str(c["stats"]["followers"]["value"]) for c in creators}
    fault = demo.control.post("/faults", json={"kind": "error", "status": 500})
    assert fault.status_code in (200, 201), fault.text
    try:
        time.sleep(3)  # a few of the demo's syncs meet the fault
        page.reload()
        _settled(page)
        cards = page.locator("#creator-cards .creator-card").all()
        shown = {c.get_attribute("data-creator-id"): c.locator("[data-figure='followers']").get_attribute("data-raw")
                 for c in cards}  # fmt: skip
        assert shown == followers
        assert page.locator("#agency-totals:not(.failed)").count() == 1  # Onyx's own numbers still load
    finally:
        demo.control.delete("/faults")


def _scoped_viewer(browser: Any, demo: Demo, owner: dict[str, str], creators: list[Any]) -> None:
    """A viewer limited to one creator sees her only, on every page she can open."""
    mine, others = creators[0], creators[1:]
    invite = demo.http.post("/api/agency/invites", headers=owner, json={"role": "viewer", "creator_ids": [mine["id"]]})
    assert invite.status_code == 201, invite.text
    token = invite.json()["url"].rsplit("/", 1)[-1]
    password = "viewer passphrase for the test"  # pragma: allowlist secret
    accepted = demo.http.post(
        f"/api/invites/{token}/accept", json={"email": "vera@viewer.test", "display_name": "Vera", "password": password}
    )
    assert accepted.status_code in (200, 201), accepted.text
    viewer = browser.new_context(viewport={"width": 1280, "height": 900})
    seen = viewer.new_page()
    watch = Watch(seen)
    seen.goto(f"{demo.base}/login")
    seen.fill("#email", "vera@viewer.test")
    seen.fill("#password", password)
    seen.click("button[type=submit]")
    seen.wait_for_url(re.compile(r"/overview$"))
    tabs = _tabs(seen)
    assert "/team" not in tabs
    assert "/audit" not in tabs
    for path in [*tabs, f"/creators/{mine['id']}"]:
        seen.goto(f"{demo.base}{path}")
        _settled(seen)
        text = seen.inner_text("body")
        assert mine["display_name"] in text or path == "/security", path
        for other in others:
            assert other["display_name"] not in text, (path, other["display_name"])
            assert other["handle"] not in text, (path, other["handle"])
    assert watch.take() == []
    seen.goto(f"{demo.base}/creators/{others[0]['id']}")
    assert seen.locator("h1").inner_text() == "Not found"
    viewer.close()


def test_the_live_dashboard(browser: Any, database: str, tmp_path: Path, record_property: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    engine = "postgresql" if database.startswith("postgresql") else "sqlite"
    demo = Demo(database, tmp_path)
    try:
        owner = demo.session(demo.email, demo.password)
        secret = _enrol(demo, owner)  # the API keeps this session; the browser logs in with a code
        creators = demo.http.get("/api/creators", headers=owner).json()
        assert len(creators) == 3
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        watch = Watch(page)
        _log_in_with_totp(page, demo, secret)
        pages = _every_tab(page, watch, demo, owner, creators, engine)
        _on_a_phone(browser, context.storage_state(), demo, pages, engine)
        total, latency = _live(page, watch, demo, owner, creators)
        record_property("sse_latency_s", f"{latency:.2f}")
        _one_route_fails(page, watch, creators, total)
        _fanvue_fails(page, demo, creators)
        _scoped_viewer(browser, demo, owner, creators)
        context.close()
    finally:
        demo.stop()
