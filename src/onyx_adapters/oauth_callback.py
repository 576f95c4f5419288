"""The OAuth authorization-code flow for a command-line user (RFC 8252: a loopback redirect).

:func:`obtain_grant` prints the authorize URL (PKCE S256, a fresh ``state``), waits on the registered loopback
redirect URI for the browser to come back with the code, checks the state and exchanges the code. With a
``login_hint`` it first asks the authorization server directly: the Fanvue sandbox approves such a request at
once with a redirect, so scripts and tests connect without a browser. Fanvue itself answers with its sign-in
page, and the browser path follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx

from onyx_fanvue.oauth import AsyncOAuthClient, OAuthToken, generate_pkce, generate_state

__all__ = ["GrantError", "obtain_grant"]

_PAGE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
    b"<!doctype html><title>Onyx</title><p>Onyx received the answer. You can close this window.</p>"
)


class GrantError(Exception):
    """The flow did not produce a code: refused, state mismatch, timeout, or an unusable redirect URI."""


def _code_from(location: str, state: str) -> str:
    query = parse_qs(urlsplit(location).query)
    if "error" in query:
        raise GrantError(f"the authorization server refused: {query['error'][0]}")
    if query.get("state") != [state]:
        raise GrantError("the answer's state does not match the request's (a stale or forged redirect)")
    codes = query.get("code")
    if not codes:
        raise GrantError("the redirect carries no code")
    return codes[0]


async def _try_direct(url: str, redirect_uri: str, transport: httpx.AsyncBaseTransport | None) -> str | None:
    async with httpx.AsyncClient(transport=transport, timeout=15.0) as http:
        answer = await http.get(url)
    location = str(answer.headers.get("location", ""))
    if answer.status_code in (302, 303) and location.startswith(redirect_uri):
        return location
    return None


_WRONG = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
    b"<!doctype html><title>Onyx</title><p>This answer does not belong to the sign-in Onyx is waiting for.</p>"
)


@asynccontextmanager
async def _listening(redirect_uri: str, state: str) -> AsyncIterator[asyncio.Future[str]]:
    """Listen on the loopback ``redirect_uri``; the future resolves to the first request target on its path that
    carries ``state``. Anything else (a stray or forged request, a browser's idle pre-connect) is answered and
    ignored, so it cannot end the flow."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
        raise GrantError(f"{redirect_uri} is not a loopback URI with a port: set ONYX_FANVUE_REDIRECT_URI")
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request_line = (await reader.readline()).decode("latin-1").split()
            target = request_line[1] if len(request_line) > 1 else ""
            ours = urlsplit(target).path == parts.path and parse_qs(urlsplit(target).query).get("state") == [state]
            if ours and not arrived.done():
                arrived.set_result(target)
            writer.write(_PAGE if ours else _WRONG)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass  # an idle or broken connection is not an answer
        finally:
            writer.close()

    server = await asyncio.start_server(handle, parts.hostname, parts.port)
    try:
        yield arrived
    finally:
        server.close()
        await server.wait_closed()


async def obtain_grant(
    oauth: AsyncOAuthClient,
    *,
    login_hint: str | None = None,
    show: Callable[[str], None] = print,
    timeout: float = 300.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OAuthToken:
    """Run the flow with ``oauth``'s app registration and return the token response (see the module's doc).
    ``show`` tells the person what to do; ``transport`` reaches the authorization server (tests)."""
    pkce, state = generate_pkce(), generate_state()
    extra = {"login_hint": login_hint} if login_hint else {}
    url = oauth.authorization_url(state, pkce.challenge, **extra)
    location = await _try_direct(url, oauth.redirect_uri, transport) if login_hint else None
    if location is None:
        async with _listening(oauth.redirect_uri, state) as arrived:  # listening before anyone can be sent there
            show(f"Open this URL in a browser and approve Onyx:\n  {url}\nwaiting on {oauth.redirect_uri} ...")
            try:
                async with asyncio.timeout(timeout):
                    location = await arrived
            except TimeoutError:
                raise GrantError(f"no answer on {oauth.redirect_uri} within {timeout:.0f} s") from None
    return await oauth.exchange_code(_code_from(location, state), pkce.verifier)
