"""The agency's admin pages in Chromium, on SQLite and PostgreSQL, against the app's real routes (an in-process
Fanvue sandbox behind the refreshes): Refresh All shows its progress per creator and finishes; an invitation's
link is shown once; a new API token is shown once and listed; the audit log lists the API's entries; an export
link downloads the file the API gives. Every page loads with no console error and no failed request, and its
screenshot goes to build/screenshots/<page>.png."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from auth_kit import PASSWORD
from browser_kit import Served, expect, off_loop
from stats_kit import StatsWorld, make_world

SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
ADMIN_PAGES = ("creators", "connections", "team", "security", "audit", "exports")


@pytest.fixture
def world(database_url: str) -> StatsWorld:
    return off_loop(make_world, database_url, creators=3)


@pytest.fixture
def admin(browser: Any, world: StatsWorld) -> Iterator[Any]:
    """A tab logged in as the world's agency owner, recording console errors, failed requests and error answers."""
    served = Served(world.app)
    context = browser.new_context(base_url=served.base, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"pageerror {error}"))
    tab.on("console", lambda m: problems.append(f"console {m.text}") if m.type == "error" else None)
    tab.on("requestfailed", lambda r: problems.append(f"failed {r.url} {r.failure}"))
    tab.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.problems = problems  # type: ignore[attr-defined]
    tab.goto("/login?next=/security")  # not the overview: its live updates are another test's
    tab.fill("#email", world.agency.owner_email)
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(lambda url: urlsplit(url).path == "/security")  # not /login?next=/security
    tab.wait_for_load_state("networkidle")
    try:
        yield tab
    finally:
        context.close()
        served.stop()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api(page: Any, path: str) -> Any:
    answer = page.request.get(path)
    assert answer.ok, (path, answer.status)
    return answer.json()


def test_every_admin_page_loads_cleanly(admin: Any) -> None:
    for name in ADMIN_PAGES:
        admin.goto(f"/{name}")
        admin.wait_for_load_state("networkidle")
        expect(admin.locator(".tabs a[aria-current=page]")).to_have_attribute("href", f"/{name}")
        expect(admin.locator("[aria-busy=true]")).to_have_count(0)
        expect(admin.locator(".card-error:visible")).to_have_count(0)
        shot(admin, name)
        assert admin.problems == [], name  # no console error, no failed request, no error answer
    admin.set_viewport_size({"width": 375, "height": 800})  # a phone: no page scrolls sideways
    for name in ADMIN_PAGES:
        admin.goto(f"/{name}")
        admin.wait_for_load_state("networkidle")
        assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    assert admin.problems == []


def test_refresh_all_shows_progress_and_finishes_and_its_history_exports(admin: Any, world: StatsWorld) -> None:
    admin.goto("/creators")
    rows = admin.locator("table.creator-list tbody tr")
    expect(rows).to_have_count(len(world.creators))
    before = api(admin, "/api/creators?limit=200")
    assert all(c["refreshed_at"] is None for c in before)  # imported, never refreshed
    expect(admin.locator(".refresh-state").first).to_have_text("—")
    admin.click("#refresh-all")
    progress = admin.locator("#refresh-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("data-state", "succeeded", timeout=30_000)
    runs = [r for r in admin.problems if "refresh-runs" in r]
    assert runs == []
    expect(admin.locator("#refresh-count")).to_contain_text(f"{len(world.creators)} of {len(world.creators)}")
    after = api(admin, "/api/creators?limit=200&sort=name")
    assert all(c["refreshed_at"] is not None for c in after)
    said = ["refreshed, some numbers stale" if c["stale"] else "refreshed" for c in after]
    expect(admin.locator(".refresh-state")).to_have_text(said)
    shot(admin, "creators-refreshed")
    expect(admin.locator("#refresh-all")).to_be_enabled()  # usable again once the run finished
    assert admin.problems == []

    # the refresh wrote stats history: its export link downloads the CSV the API gives
    admin.goto("/exports")
    admin.check("input[name=dataset][value=stats-history]")
    creator = world.creators[0]
    admin.select_option("#export-creator", creator)
    expect(admin.locator("#export-metric")).to_be_visible()
    href = admin.locator("#export-download").get_attribute("href")
    assert href == f"/api/exports/stats-history?format=csv&creator_id={creator}"
    with admin.expect_download() as info:
        admin.click("#export-download")
    downloaded = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(downloaded)))
    from_api = api(admin, f"/api/exports/stats-history?format=json&creator_id={creator}")
    assert rows
    assert len(rows) == len(from_api)
    assert [r["id"] for r in rows] == [str(r["id"]) for r in from_api]
    assert {r["creator_id"] for r in rows} == {creator}
    assert admin.problems == []


def test_inviting_a_member_shows_the_link_once(admin: Any) -> None:
    admin.goto("/team")
    expect(admin.locator("table.members tbody tr")).to_have_count(1)  # the owner
    admin.select_option("#invite-role", "manager")
    admin.check("#invite-scope input[value=some]")
    admin.locator("#invite-creators input[type=checkbox]").first.check()
    admin.click("#invite-form button[type=submit]")
    expect(admin.locator("#invite-link")).to_be_visible()
    url = admin.locator("#invite-url").inner_text()
    assert "/invite/" in url
    token = url.rsplit("/", 1)[1]
    rows = admin.locator("table.invites tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("pending")
    expect(rows.first).to_contain_text("manager")
    invites = api(admin, "/api/agency/invites")
    assert len(invites) == 1
    assert len(invites[0]["creator_ids"]) == 1
    assert token not in json.dumps(invites)  # the list never holds the secret
    shot(admin, "team-invited")
    preview = admin.request.get(f"/api/invites/{token}")  # the link works
    assert preview.ok
    assert preview.json()["role"] == "manager"
    admin.reload()
    expect(admin.locator("table.invites tbody tr")).to_have_count(1)
    assert token not in admin.content()  # shown once: not after a reload
    admin.locator("table.invites button", has_text="Revoke").click()
    expect(admin.locator("table.invites tbody tr").first).to_contain_text("revoked")
    assert admin.request.get(f"/api/invites/{token}").status == 404
    assert [p for p in admin.problems if "/api/invites/" not in p] == []


def test_an_api_token_is_shown_once_and_listed_and_the_audit_log_lists_entries(admin: Any, world: StatsWorld) -> None:
    admin.goto("/security")
    expect(admin.locator("#two-factor-state")).to_have_text("Off")
    expect(admin.locator("#tokens .hint").last).to_have_text("No API tokens yet.")
    admin.fill("#token-name", "monthly report")
    admin.click("#token-form button[type=submit]")
    expect(admin.locator("#token-created")).to_be_visible()
    secret = admin.locator("#token-secret").inner_text()
    assert secret.startswith("onyx_pat_")
    rows = admin.locator("table.tokens tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("monthly report")
    expect(rows.first).to_contain_text("read")
    expect(rows.first).to_contain_text("active")
    listed = api(admin, "/api/account/tokens")
    assert [t["name"] for t in listed] == ["monthly report"]
    assert secret not in json.dumps(listed)
    shot(admin, "security-token")
    used = admin.context.request.get("/api/creators", headers={"Authorization": f"Bearer {secret}", "Cookie": ""})
    assert used.ok
    admin.reload()
    expect(admin.locator("table.tokens tbody tr")).to_have_count(1)
    assert secret not in admin.content()
    admin.locator("table.tokens button", has_text="Revoke").click()
    expect(admin.locator("table.tokens tbody tr").first).to_contain_text("revoked")
    assert admin.problems == []

    # the audit log lists the API's entries, these among them
    admin.goto("/audit")
    rows = admin.locator("table.audit tbody tr")
    rows.first.wait_for()
    entries = api(admin, "/api/agency/audit?limit=50")["entries"]
    assert entries
    expect(rows).to_have_count(len(entries))
    texts = rows.all_inner_texts()
    for text, entry in zip(texts, entries, strict=True):
        assert entry["action"].replace("_", " ") in text
    assert any("login" in text for text in texts)
    expect(rows.first).to_contain_text(world.agency.owner_name)  # who: her name, not only her id
    assert admin.problems == []
