"""httpx transports that carry requests into the sandbox app in-process, behaving like the network would.

``httpx.ASGITransport`` alone ignores timeouts and turns a dropped connection into the app's own exception. These
wrappers make an in-process run fail the way a real one does: a hang past the client's read timeout raises
``httpx.ReadTimeout``, a ``reset`` fault raises ``httpx.RemoteProtocolError``, a ``connect_timeout`` fault raises
``httpx.ConnectTimeout`` before the request reaches the app. Any host name works (``api.fanvue.com`` and
``auth.fanvue.com`` both land in the same app), so the SDK's default URLs need no change.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import anyio
import httpx

__all__ = ["ConnectionDropped", "SandboxTransport", "SyncSandboxTransport", "drop_aware"]

DROP_HEADER = b"x-sandbox-drop-connection"


class ConnectionDropped(Exception):  # noqa: N818 - it names the event, like ConnectionResetError
    """Raised inside the ASGI app to cut the connection after the status line."""


def drop_aware(app: Any) -> Any:
    """Wrap an ASGI app so a response marked with the drop header is cut after its status line: a real server
    (uvicorn) closes the socket, a client sees the connection reset mid-response."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        dropped = False

        async def guarded(message: Any) -> None:
            nonlocal dropped
            if dropped:
                return  # the rest of the answer never leaves
            if message["type"] == "http.response.start" and any(
                k.lower() == DROP_HEADER for k, _ in message.get("headers", [])
            ):
                dropped = True
                headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
                await send({"type": "http.response.start", "status": message["status"], "headers": headers})
                return
            await send(message)

        await app(scope, receive, guarded)
        if dropped:
            raise ConnectionDropped

    return wrapped


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


class SandboxTransport(httpx.AsyncBaseTransport):
    """Async transport into the sandbox app (see module docstring)."""

    def __init__(self, app: Any, *, before: Callable[[httpx.Request], None] | None = None) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        self._before = before

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._before is not None:
            self._before(request)
        limit = _read_timeout(request)
        try:
            with anyio.fail_after(limit):
                response = await self._inner.handle_async_request(request)
                await response.aread()
        except TimeoutError:
            raise httpx.ReadTimeout("The sandbox did not answer within the read timeout.", request=request) from None
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from None
        return response


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


class SyncSandboxTransport(httpx.BaseTransport):
    """Sync transport into the sandbox app: runs it on an event loop in a daemon helper thread, so a client that is
    never closed does not keep the process alive (``close`` stops the loop)."""

    def __init__(self, app: Any, *, before: Callable[[httpx.Request], None] | None = None) -> None:
        self._async = SandboxTransport(app, before=before)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=_serve, args=(loop,), name="fanvue-sandbox", daemon=True).start()
                self._loop = loop
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        inner = httpx.Request(
            request.method, request.url, headers=request.headers, content=content, extensions=request.extensions
        )

        async def go() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._async.handle_async_request(inner)
            return response.status_code, response.headers.raw, response.content

        status, headers, body = asyncio.run_coroutine_threadsafe(go(), self._running_loop()).result()
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
