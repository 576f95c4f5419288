"""Helpers of the browser tests: the app served by uvicorn in a thread, and running the auth kit's helpers
(which call ``asyncio.run``) beside Playwright's event loop."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from litestar import Litestar

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails in CI) with the reason
    expect = None

T = TypeVar("T")


def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` (which may call ``asyncio.run``: the auth kit's helpers do) in another thread: Playwright's
    sync API keeps an event loop running in the test's own thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


class Served:
    """An app served on 127.0.0.1 by uvicorn in a thread (its own event loop), until :meth:`stop`."""

    def __init__(self, app: Litestar) -> None:
        import uvicorn  # noqa: PLC0415

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
