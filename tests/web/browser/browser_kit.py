"""Helpers of the browser tests: the app served by uvicorn in a thread (``web_helpers.Served``), and running the
auth kit's helpers (which call ``asyncio.run``) beside Playwright's event loop."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from web_helpers import Served

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    expect = None

__all__ = ["Served", "expect", "off_loop"]  # Served is the web tests' (web_helpers), named here as before

T = TypeVar("T")


def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` (which may call ``asyncio.run``: the auth kit's helpers do) in another thread: Playwright's
    sync API keeps an event loop running in the test's own thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()
