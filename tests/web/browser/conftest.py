"""Browser tests: the app served by uvicorn (a thread, http://127.0.0.1:<free port>) and driven by headless
Chromium through Playwright. Chromium is Debian's (/usr/bin/chromium, ``apt-get install chromium``; never
``playwright install``). Without Chromium or Playwright these tests skip on a laptop and fail in CI (CI=true),
as the PostgreSQL tests do.

Chromium treats http://127.0.0.1 as a secure context, so it keeps the ``__Host-`` session cookie (Secure) there:
test_browser_pages.py checks it rather than assuming it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
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


SWITCHES = [
    # what Playwright's own launch passes (headless, no sandbox, nothing running in the background), so a page
    # behaves here as it did when each test launched its own Chromium
    "--headless",
    "--no-sandbox",
    "--hide-scrollbars",
    "--mute-audio",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-startup-window",
    "--no-service-autorun",
    "--password-store=basic",
    "--use-mock-keychain",
    "--force-color-profile=srgb",
    "--metrics-recording-only",
    "--disable-field-trial-config",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-back-forward-cache",
    "--disable-breakpad",
    "--disable-component-extensions-with-background-pages",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-sync",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-search-engine-choice-screen",
    "--allow-pre-commit-input",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider,AutofillServerCommunication",
]


class Chromium:
    """One headless Chromium per test process (per xdist worker), serving the DevTools protocol on a free port;
    started again if it died."""

    def __init__(self, profiles: Path) -> None:
        self._profiles = profiles
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint = ""

    def endpoint(self) -> str:
        """The DevTools websocket URL of the running Chromium (``ws://127.0.0.1:<port>/devtools/browser/<id>``)."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        return self._endpoint

    def _start(self) -> None:
        profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=self._profiles))
        self._process = subprocess.Popen(  # noqa: S603 - our own Chromium and switches
            [str(CHROMIUM), *SWITCHES, "--remote-debugging-port=0", f"--user-data-dir={profile}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends its helpers with it
        )
        active = profile / "DevToolsActivePort"  # Chromium writes "<port>\n<path>" there once it listens
        deadline = time.monotonic() + 30
        while True:
            lines = active.read_text().splitlines() if active.exists() else []
            if len(lines) >= 2:  # the port and the path
                self._endpoint = f"ws://127.0.0.1:{lines[0]}{lines[1]}"
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Chromium at {CHROMIUM} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """The worker's one Chromium, which every test's ``browser`` connects to."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only the browser tests need it
    except ImportError:
        _missing("Playwright for Python (pip install playwright; the dev extra has it)")
    if not CHROMIUM.exists():
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    running = Chromium(tmp_path_factory.mktemp("chromium"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser(chromium: Chromium) -> Iterator[Any]:
    """The worker's Chromium, as a Playwright ``Browser`` connected over the DevTools protocol for this test only.

    Chromium runs once per worker (launching it took about a second a test), but Playwright itself starts and stops
    inside each test: its sync API keeps an event loop running in the test's thread while it is started, which
    would break every later test that calls ``asyncio.run`` (a session-wide Playwright did). Contexts the test
    opens (``browser.new_context()``) are closed when it ends; the browser process lives on."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it

    with sync_playwright() as playwright:
        connected = playwright.chromium.connect_over_cdp(chromium.endpoint())
        try:
            yield connected
        finally:
            for context in connected.contexts[1:]:  # [0] is Chromium's default context, shared by every test
                context.close()
            connected.close()


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
