"""Browser tests: the app served by uvicorn (a thread, http://127.0.0.1:<free port>) and driven by headless
Chromium through Playwright. Chromium is Debian's (/usr/bin/chromium, ``apt-get install chromium``; never
``playwright install``). Without Chromium or Playwright these tests skip on a laptop and fail in CI (CI=true),
as the PostgreSQL tests do.

Chromium treats http://127.0.0.1 as a secure context, so it keeps the ``__Host-`` session cookie (Secure) there:
test_browser_pages.py checks it rather than assuming it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_kit import Env, make_env
from browser_kit import Served

CHROMIUM = Path(os.environ.get("ONYX_TEST_CHROMIUM", "/usr/bin/chromium"))


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI needs the browser tests' {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test: Playwright's sync API keeps an event loop running in the test's thread
    while it is started, which would break every later test that calls ``asyncio.run`` (a session-wide browser
    did)."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it
    except ImportError:
        _missing("Playwright for Python (pip install playwright; the dev extra has it)")
    if not CHROMIUM.exists():
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def env(database_url: str) -> Env:
    """The app on each engine (movable clock, cheap hasher), as the auth tests build it."""
    return make_env(database_url)


@pytest.fixture
def served(env: Env) -> Iterator[Served]:
    server = Served(env.app)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage) on the served app; page.goto("/login") works."""
    context = browser.new_context(base_url=served.base, viewport={"width": 1100, "height": 760})
    context.set_default_timeout(10_000)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.console_errors = errors  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        context.close()
