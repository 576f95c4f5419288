"""A world with data for the dashboard's page tests: the stats kit's agency (made by the core, connected to its own
in-process sandbox, creators imported) synced once by the composition root's ``sync_agency`` (ledger, stats,
subscriber days, top spenders, tracking links, chatter days), the app on the same database and sandbox. Browser
helpers: log in through the login page, the page's failed requests and console errors, what a card shows."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from auth_kit import PASSWORD
from stats_kit import StatsWorld, make_world
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import sandbox_runtime
from onyx_core.ids import AgencyId
from onyx_core.usecases import sync_agency

SCREENSHOTS = Path(os.environ.get("ONYX_SCREENSHOTS_DIR", "build/screenshots"))
PHONE = {"width": 390, "height": 844}


def synced_world(url: str) -> StatsWorld:
    """Three creators with ten days of sandbox history, synced into ``url``'s database."""
    world = make_world(url, creators=3)

    async def sync() -> None:
        async with sandbox_runtime(world.sandbox, url, FernetCipher([KEY])) as runtime:
            report = await sync_agency(runtime.ctx, AgencyId(world.agency.id), import_first=False)
            assert not report.partial, report

    asyncio.run(sync())
    return world


class Watched:
    """A page's console errors and failed requests (an HTTP status of 400 or more, or no answer at all)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.failed.append(f"{r.url}: {r.status}") if r.status >= 400 else None)

    def _failed(self, request: Any) -> None:
        # the event stream (/api/events) is cut when the page goes away or reloads: not a failure of the page
        if "/api/events" not in request.url:
            self.failed.append(f"{request.url}: {request.failure}")


def log_in(page: Any, email: str, to: str) -> None:
    """Open the private page ``to`` (a path): the login page, then, logged in, back to ``to``."""
    page.goto(to)
    assert "/login?next=" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{to}")


def loaded(page: Any, card: str) -> Any:
    """The card ``#card`` once it holds its values (not its skeleton, not its error)."""
    locator = page.locator(f"#{card}")
    page.wait_for_function(
        "id => { const c = document.getElementById(id); return c && c.dataset.loadedAt &&"
        " c.getAttribute('aria-busy') === 'false'; }",
        arg=card,
    )
    assert locator.locator(".card-error").is_hidden(), locator.inner_text()
    return locator


def plotted(page: Any, card: str) -> list[dict[str, Any]]:
    """The traces plotly drew in the card's chart: name and the number of x and y values of each."""
    page.wait_for_function(
        "id => { const p = document.querySelector(`#${id} .plot`); return p && p.data && p._fullLayout; }", arg=card
    )
    return list(
        page.evaluate(
            "id => document.querySelector(`#${id} .plot`).data.map("
            "t => ({ name: t.name, x: t.x.length, y: t.y.length, ys: Array.from(t.y) }))",
            card,
        )
    )


def table_rows(page: Any, card: str, table: str = "table") -> list[list[str]]:
    """The cells' text of the first matching table in the card (a chart's text alternative included)."""
    return list(
        page.evaluate(
            "([id, sel]) => Array.from(document.querySelector(`#${id} ${sel}`).tBodies[0].rows)"
            ".map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
            [card, table],
        )
    )


def money_text(page: Any, cents: int, currency: str = "USD") -> str:
    """How the browser's locale writes an amount (the page uses the same ``Intl.NumberFormat``)."""
    return str(
        page.evaluate(
            "([cents, currency]) => new Intl.NumberFormat(undefined, { style: 'currency', currency })"
            ".format(cents / 100)",
            [cents, currency],
        )
    )


def count_text(page: Any, value: int) -> str:
    return str(page.evaluate("v => new Intl.NumberFormat(undefined).format(v)", value))


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (
        f"{page.url}: {width}px wide on a {page.viewport_size['width']}px screen"
    )


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
