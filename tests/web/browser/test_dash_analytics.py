"""Fanvue & Finance, Social and the creator page in headless Chromium, on SQLite and PostgreSQL, over an agency
synced from its sandbox (dash_world_kit): each page shows the JSON API's numbers (fetched with the page's own
session), each chart plots one point per bucket of the API's series and keeps its text alternative, the period
picker reloads the figures of the period chosen, a cost entered on a tracking link comes back with its ROI, a
metric's "Why?" lists its provenance events (reached with the keyboard), no console error and no failed request,
and no horizontal scroll on a phone. Screenshots go to build/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_kit import Served, off_loop
from dash_world_kit import (
    PHONE,
    Watched,
    count_text,
    loaded,
    log_in,
    money_text,
    no_horizontal_scroll,
    plotted,
    shoot,
    synced_world,
    table_rows,
)
from stats_kit import StatsWorld

from onyx_core.accounts.model import Role


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest) -> StatsWorld:
    return synced_world(str(request.getfixturevalue(f"{request.param}_database")))


@pytest.fixture(scope="module")
def site(world: StatsWorld) -> Iterator[Served]:
    server = Served(world.app)
    try:
        yield server
    finally:
        server.stop()


def _tab(browser: Any, site: Served, viewport: dict[str, int] | None = None) -> Any:
    context = browser.new_context(base_url=site.base, viewport=viewport or {"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def _clean(watched: Watched) -> None:
    assert watched.errors == []
    assert watched.failed == []


def _on_a_phone(page: Any, cards: tuple[str, ...], name: str) -> None:
    """The same page on a phone-sized screen: its cards load, nothing scrolls sideways."""
    page.set_viewport_size(PHONE)
    page.reload()
    for card in cards:
        loaded(page, card)
    no_horizontal_scroll(page)
    shoot(page, name)


def _api(page: Any, path: str) -> Any:
    answer = page.request.get(path)
    assert answer.status == 200, answer.text()
    return answer.json()


def _percent(value: str, *, signed: bool = False) -> str:
    """dashboard.js ``percent()``: one decimal under 10 %, none above."""
    shown = float(value) * 100
    text = f"{shown:.{1 if abs(shown) < 10 else 0}f}%"
    return f"+{text}" if signed and shown > 0 else text


def _chart_matches(page: Any, card: str, series: list[dict[str, Any]]) -> None:
    """One bar per bucket in every trace, the stack of each bucket is the API's gross, and the text alternative
    has a row per bucket with the same total."""
    traces = plotted(page, card)
    assert traces
    assert all(t["x"] == len(series) and t["y"] == len(series) for t in traces), traces
    for i, bucket in enumerate(series):
        assert sum(t["ys"][i] for t in traces) == pytest.approx(bucket["gross"]["cents"] / 100)
    rows = table_rows(page, card, ".chart-data table")
    assert [r[0] for r in rows] == [b["label"] for b in series]
    assert [r[-1] for r in rows] == [money_text(page, b["gross"]["cents"]) for b in series]


def _shares_match(page: Any, f: dict[str, Any]) -> None:
    loaded(page, "category-shares")
    shares = {r[0]: r[1:] for r in table_rows(page, "category-shares")}
    assert len(shares) == len(f["by_source"])
    names = page.evaluate("import('/static/dashboard.js').then(m => m.SOURCE_NAMES)")
    for s in f["by_source"]:
        gross, share, net = shares[names.get(s["source"], s["source"])]
        assert gross == money_text(page, s["gross"]["cents"])
        assert net == money_text(page, s["net"]["cents"])
        assert share == _percent(s["gross_share"]["value"])


def _payouts_match(page: Any, world: StatsWorld) -> None:
    """Each creator's balance available for payout, as the API has it (read by the sync from Fanvue's account
    answer); the pending balance, which Fanvue does not give, unknown with its reason."""
    payouts = loaded(page, "payouts")
    creators = _api(page, "/api/creators?limit=100&sort=-available_balance")
    assert payouts.locator("article.creator-card").count() == len(creators) == len(world.creators)
    for creator in creators:
        view = creator["stats"]["available_balance"]
        assert view["currency"] == "USD"
        assert view["value"] is not None, "the sync read each account's payable balance"
        shown = payouts.locator(f"article[data-creator-id='{creator['id']}'] [data-figure='available_balance']")
        assert shown.locator(".value").inner_text() == money_text(page, view["value"])
        assert shown.get_attribute("data-raw") == str(view["value"])
    pending = payouts.locator("[data-figure='pending']")
    assert pending.locator(".value").inner_text() == "unknown"  # Fanvue gives no pending total: never 0
    assert "no pending total" in pending.locator(".why").inner_text()


def test_finance_shows_the_apis_numbers_and_takes_a_link_cost(browser: Any, site: Served, world: StatsWorld) -> None:
    page = _tab(browser, site)
    watched = Watched(page)
    log_in(page, world.agency.owner_email, "/finance")
    data = _api(page, "/api/analytics?range=30d")
    f = data["agency"]
    assert all(f[name] for name in ("series", "by_source", "top_spenders", "tracking_links")), "the world has data"

    loaded(page, "revenue-by-source")
    _chart_matches(page, "revenue-by-source", f["series"])
    assert data["timezone"] in page.locator("#period-zone").inner_text()

    _shares_match(page, f)

    loaded(page, "top-spenders")
    spenders = table_rows(page, "top-spenders")
    assert [r[1] for r in spenders] == [money_text(page, s["gross"]["cents"]) for s in f["top_spenders"]]
    assert [r[3] for r in spenders] == [count_text(page, s["transactions"]) for s in f["top_spenders"]]

    _payouts_match(page, world)

    links = loaded(page, "tracking-links")
    listed = _api(page, "/api/tracking-links")
    rows = table_rows(page, "tracking-links")
    assert len(rows) == len(listed) == len(f["tracking_links"])
    assert [r[6] for r in rows] == [money_text(page, link["revenue_net"]["cents"]) for link in f["tracking_links"]]
    assert sorted((r[0], r[6]) for r in rows) == sorted(
        (f"{link['name']} ({link['platform']})", money_text(page, link["revenue_net"]["cents"])) for link in listed
    )
    assert all(r[8].startswith("unknown (no cost entered") for r in rows)
    shoot(page, "finance")

    # the owner enters the first link's cost: the card reloads with the API's ROI
    first = f["tracking_links"][0]
    form = links.locator(f"form.cost[data-link='{first['id']}']")
    form.locator("input").fill("25.00")
    form.locator("button").click()
    page.wait_for_function(
        "id => !document.querySelector(`#tracking-links form.cost[data-link='${id}']`)"
        "?.closest('tr').cells[8].innerText.startsWith('unknown')",
        arg=first["id"],
    )
    entered = next(link for link in _api(page, "/api/tracking-links") if link["id"] == first["id"])
    assert entered["cost"] == {"cents": 2_500, "currency": "USD"}
    row = links.locator(f"tr:has(form.cost[data-link='{first['id']}'])")
    assert row.locator("td").nth(8).inner_text() == _percent(entered["roi"]["value"], signed=True)
    assert row.locator("input").input_value() == "25.00"

    # another period: the chart is the API's series of that period
    page.get_by_label("7 days").check()
    page.wait_for_url("**/finance?range=7d")
    week = _api(page, "/api/analytics?range=7d")["agency"]["series"]
    page.wait_for_function(
        "n => document.querySelector('#revenue-by-source .plot')?.data?.[0]?.x.length === n", arg=len(week)
    )
    loaded(page, "revenue-by-source")
    _chart_matches(page, "revenue-by-source", week)
    _on_a_phone(
        page, ("revenue-by-source", "category-shares", "top-spenders", "payouts", "tracking-links"), "finance-phone"
    )
    _clean(watched)
    page.context.close()
    _a_viewer_sees_the_cost_without_an_input(browser, site, world)


def _a_viewer_sees_the_cost_without_an_input(browser: Any, site: Served, world: StatsWorld) -> None:
    """After the owner entered a cost: a viewer (who may not enter one) sees it, and no cost input."""
    viewer = off_loop(world.tenancy.member, world.agency, Role.VIEWER)
    page = _tab(browser, site)
    watched = Watched(page)
    log_in(page, viewer, "/finance")
    links = loaded(page, "tracking-links")
    assert links.locator("form.cost").count() == 0

    def cost(link: dict[str, Any]) -> str:
        return money_text(page, link["cost"]["cents"]) if link["cost"] else "not entered"

    ranked = _api(page, "/api/analytics")["agency"]["tracking_links"]
    rows = table_rows(page, "tracking-links")
    assert [r[7] for r in rows] == [cost(link) for link in ranked]
    assert "not entered" in [r[7] for r in rows]
    assert money_text(page, 2_500) in [r[7] for r in rows], "the owner's cost is shown"
    listed = _api(page, "/api/tracking-links")
    assert sorted((r[0], r[7]) for r in rows) == sorted((f"{x['name']} ({x['platform']})", cost(x)) for x in listed)
    _clean(watched)
    page.context.close()


def test_social_shows_each_creators_live_numbers_and_the_audience(
    browser: Any, site: Served, world: StatsWorld
) -> None:
    page = _tab(browser, site)
    watched = Watched(page)
    log_in(page, world.agency.owner_email, "/social")
    creators = _api(page, "/api/creators?limit=100&sort=-followers")
    data = _api(page, "/api/analytics?range=30d")["agency"]

    cards = loaded(page, "social-creators")
    assert cards.locator("article.creator-card").count() == len(creators) == len(world.creators)
    for creator in creators:
        card = cards.locator(f"article[data-creator-id='{creator['id']}']")
        for name in ("followers", "subscribers", "posts", "likes", "chats"):
            view = creator["stats"][name]
            shown = card.locator(f"[data-figure='{name}'] .value").inner_text()
            assert shown == ("unknown" if view["value"] is None else count_text(page, view["value"])), (name, view)
            if view["value"] is None:
                assert view["missing_reason"] in card.locator(f"[data-figure='{name}'] .why").inner_text()
    assert "unknown" in cards.inner_text(), "the agency's grant cannot read posts or likes: unknown, not 0"

    loaded(page, "audience-growth")
    traces = plotted(page, "audience-growth")
    assert [t["name"] for t in traces] == ["Subscribers", "Followers"]
    assert all(t["x"] == t["y"] == len(data["audience"]) for t in traces)
    assert [t["ys"] for t in traces] == [
        [p["subscribers"] for p in data["audience"]],
        [p["followers"] for p in data["audience"]],
    ]
    assert len(table_rows(page, "audience-growth", ".chart-data table")) == len(data["audience"])

    loaded(page, "subscriber-history")
    traces = plotted(page, "subscriber-history")
    assert all(t["x"] == len(data["subscriber_history"]) for t in traces)
    assert traces[0]["ys"] == [d["new"] for d in data["subscriber_history"]]
    shoot(page, "social")
    _on_a_phone(page, ("social-creators", "audience-growth", "subscriber-history"), "social-phone")
    _clean(watched)
    page.context.close()


def test_the_creator_page_shows_her_stats_with_their_provenance(browser: Any, site: Served, world: StatsWorld) -> None:
    creator = world.creators[0]
    page = _tab(browser, site)
    watched = Watched(page)
    log_in(page, world.agency.owner_email, f"/creators/{creator}")
    stats = loaded(page, "creator-stats")
    metrics = _api(page, f"/api/creators/{creator}/stats")["metrics"]
    assert metrics["available_balance"]["currency"] == "USD"
    assert metrics["available_balance"]["value"] is not None
    for name, view in metrics.items():
        shown = stats.locator(f"[data-figure='{name}'] .value").inner_text()
        if view["value"] is None:
            assert shown == "unknown"
        elif view["currency"]:
            assert shown == money_text(page, view["value"], view["currency"])
        else:
            assert shown == count_text(page, view["value"])

    # "Why?" of her subscribers, reached with the keyboard: the provenance events, newest first
    why = stats.locator("button.why[data-metric='subscribers']")
    page.locator("body").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset?.metric") == "subscribers":
            break
    else:
        pytest.fail("Tab never reached the subscribers' Why? button")
    page.keyboard.press("Enter")
    events = _api(page, f"/api/creators/{creator}/stats/events?metric=subscribers")["events"]
    assert events, "the sync recorded how her subscribers got their value"
    page.wait_for_function("() => document.querySelector('#provenance table.events')")
    assert why.get_attribute("aria-expanded") == "true"
    rows = table_rows(page, "provenance", "table.events")
    assert len(rows) == len(events)
    assert [r[3] for r in rows] == [e["source"] for e in events]
    newest = events[0]
    assert rows[0][2].endswith(count_text(page, newest["new_value"]))

    analytics = _api(page, f"/api/creators/{creator}/analytics?range=30d")
    f = analytics["agency"]
    revenue = loaded(page, "creator-revenue")
    assert revenue.locator("[data-figure='revenue'] .value").inner_text() == money_text(
        page, f["revenue"]["gross"]["cents"]
    )
    assert revenue.locator("[data-figure='net'] .value").inner_text() == money_text(page, f["revenue"]["net"]["cents"])
    assert revenue.locator("[data-figure='paying-fans'] .value").inner_text() == count_text(page, f["paying_fans"])
    loaded(page, "creator-sources")
    _chart_matches(page, "creator-sources", f["series"])
    loaded(page, "creator-audience")
    assert all(t["x"] == len(f["audience"]) for t in plotted(page, "creator-audience"))
    loaded(page, "creator-spenders")
    assert len(table_rows(page, "creator-spenders")) == len(f["top_spenders"])
    loaded(page, "creator-links")
    assert len(table_rows(page, "creator-links")) == len(f["tracking_links"])
    assert {link["creator_id"] for link in f["tracking_links"]} <= {creator}
    shoot(page, "creator")
    _on_a_phone(page, ("creator-stats", "creator-revenue", "creator-sources", "creator-links"), "creator-phone")
    _clean(watched)
    page.context.close()
