"""The command-line OAuth flow: the loopback redirect a browser comes back to, and every way it can go wrong."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from onyx_adapters.oauth_callback import GrantError, obtain_grant
from onyx_fanvue.sandbox.sandbox import FanvueSandbox


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{_free_port()}/callback"


async def _browser(urls: asyncio.Queue[str], sandbox: FanvueSandbox, *, forged_first: bool = False) -> None:
    """What a person's browser does: open the printed URL, sign in (login_hint), follow the redirect home.
    ``forged_first``: someone else's redirect (another state) reaches the loopback first."""
    url = (await urls.get()).split("\n")[1].strip() + "&login_hint=" + sandbox.world.admin.person.handle
    async with httpx.AsyncClient(transport=sandbox.transport()) as fanvue:
        location = (await fanvue.get(url)).headers["location"]
    async with httpx.AsyncClient() as loopback:
        if forged_first:
            forged = await loopback.get(location.replace("state=", "state=forged"))
            assert forged.status_code == 400
            assert "does not belong" in forged.text
        page = await loopback.get(location)
    assert "You can close this window" in page.text


async def test_the_browser_path_waits_on_the_loopback_redirect_and_exchanges_the_code(redirect_uri: str) -> None:
    sandbox = FanvueSandbox(redirect_uris=(redirect_uri,))
    shown: asyncio.Queue[str] = asyncio.Queue()
    async with sandbox.async_oauth_client(redirect_uri) as oauth:
        browser = asyncio.create_task(_browser(shown, sandbox))
        token = await obtain_grant(oauth, show=shown.put_nowait, timeout=10)
        await browser
    assert token.refresh_token
    assert sandbox.token_endpoint_hits == 1


async def test_a_redirect_with_another_state_is_ignored_and_the_real_one_still_completes(redirect_uri: str) -> None:
    sandbox = FanvueSandbox(redirect_uris=(redirect_uri,))
    shown: asyncio.Queue[str] = asyncio.Queue()
    async with sandbox.async_oauth_client(redirect_uri) as oauth:
        browser = asyncio.create_task(_browser(shown, sandbox, forged_first=True))
        token = await obtain_grant(oauth, show=shown.put_nowait, timeout=10)
        await browser
    assert token.access_token
    assert sandbox.token_endpoint_hits == 1, "only the code that came back with our state was exchanged"


async def test_an_idle_connection_to_the_loopback_does_not_block_the_flow(redirect_uri: str) -> None:
    sandbox = FanvueSandbox(redirect_uris=(redirect_uri,))
    shown: asyncio.Queue[str] = asyncio.Queue()
    port = int(redirect_uri.rsplit(":", 1)[1].split("/", maxsplit=1)[0])

    async def idle_then_browse() -> None:
        text = await shown.get()
        _, writer = await asyncio.open_connection("127.0.0.1", port)  # a browser's pre-connect, never used
        shown.put_nowait(text)
        await _browser(shown, sandbox)
        writer.close()

    async with sandbox.async_oauth_client(redirect_uri) as oauth:
        browser = asyncio.create_task(idle_then_browse())
        token = await asyncio.wait_for(obtain_grant(oauth, show=shown.put_nowait, timeout=10), 15)
        await browser
    assert token.access_token


async def test_no_answer_in_time_is_a_clear_error(redirect_uri: str) -> None:
    sandbox = FanvueSandbox(redirect_uris=(redirect_uri,))
    async with sandbox.async_oauth_client(redirect_uri) as oauth:
        with pytest.raises(GrantError, match="no answer"):
            await obtain_grant(oauth, show=lambda _: None, timeout=0.2)


async def test_a_redirect_uri_that_is_not_loopback_is_refused() -> None:
    sandbox = FanvueSandbox(redirect_uris=("https://app.example/callback",))
    async with sandbox.async_oauth_client("https://app.example/callback") as oauth:
        with pytest.raises(GrantError, match="not a loopback URI"):
            await obtain_grant(oauth, show=lambda _: None, timeout=1)


async def test_a_login_hint_connects_without_a_browser_when_the_server_approves_at_once() -> None:
    sandbox = FanvueSandbox()
    async with sandbox.async_oauth_client() as oauth:
        token = await obtain_grant(
            oauth,
            login_hint=sandbox.world.admin.person.handle,
            show=lambda text: pytest.fail(f"asked for a browser: {text}"),
            transport=sandbox.transport(),
        )
    assert token.access_token
