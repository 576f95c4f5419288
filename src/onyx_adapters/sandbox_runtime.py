"""A :class:`~onyx_adapters.runtime.Runtime` wired to an in-process Fanvue sandbox, for the demo and the tests.

The SDK clients reach the sandbox through its in-process transport and keep time by its clock, so moving the
sandbox clock moves token expiry. With ``virtual_time`` every wait (the rate budget's, the SDK's retry backoff,
the scheduler's ticks) advances the sandbox clock instead of sleeping: a simulated hour of syncing takes seconds,
and Fanvue's 200 requests / 60 s budget is honoured in the sandbox's time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.connect import StoredGrant, store_agency_grant, store_creator_grant
from onyx_adapters.oauth_callback import GrantError, obtain_grant
from onyx_adapters.runtime import Runtime
from onyx_core.ids import AgencyId
from onyx_core.ports import Cipher
from onyx_core.sync import SyncPolicy
from onyx_core.tokens import RefreshPolicy
from onyx_fanvue.oauth import OAuthToken
from onyx_fanvue.ratelimit import RateBudget
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["SandboxTime", "authorize", "connect_agency", "connect_creator", "sandbox_runtime"]


class SandboxTime:
    """The core's :class:`~onyx_core.ports.Clock` on the sandbox clock. ``virtual``: :meth:`sleep` moves the
    sandbox clock forward by the time asked (never back) instead of waiting."""

    def __init__(self, sandbox: FanvueSandbox, *, virtual: bool = False) -> None:
        self._clock = sandbox.clock
        self.virtual = virtual

    def now(self) -> datetime:
        return self._clock.now()

    def timestamp(self) -> float:
        return self._clock.timestamp()

    async def sleep(self, seconds: float) -> None:
        if not self.virtual:
            await asyncio.sleep(seconds)
            return
        if seconds > 0:
            self._clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)  # let the other tasks run, as a real wait would


@asynccontextmanager
async def sandbox_runtime(
    sandbox: FanvueSandbox,
    engine_or_url: AsyncEngine | str,
    cipher: Cipher,
    *,
    virtual_time: bool = True,
    sync_policy: SyncPolicy | None = None,
    refresh_policy: RefreshPolicy | None = None,
    client_options: dict[str, Any] | None = None,
) -> AsyncIterator[Runtime]:
    """A runtime whose Fanvue is ``sandbox`` (see the module's doc for ``virtual_time``). Without virtual time
    the sandbox clock must run (not frozen): the rate budget waits for it to move."""
    time = SandboxTime(sandbox, virtual=virtual_time)
    budget = RateBudget(
        capacity=sandbox.limiter.limit,
        period=sandbox.limiter.window.total_seconds(),
        clock=time.timestamp,
        wall_clock=time.timestamp,
        async_sleep=time.sleep,
    )
    options: dict[str, Any] = {"transport": sandbox.transport(), "sleep": time.sleep, **(client_options or {})}
    async with (
        sandbox.async_oauth_client(sleep=time.sleep) as oauth,
        Runtime.open(
            engine_or_url,
            cipher,
            oauth,
            clock=time,
            client_options=options,
            rate_budget=budget,
            sync_policy=sync_policy,
            refresh_policy=refresh_policy,
        ) as runtime,
    ):
        yield runtime


async def authorize(sandbox: FanvueSandbox, login_hint: str) -> OAuthToken:
    """The authorization-code flow with PKCE, as a browser would run it; ``login_hint`` approves at once."""

    def no_browser(text: str) -> None:
        raise GrantError(f"the sandbox did not approve {login_hint!r} at once: {text.splitlines()[0]}")

    async with sandbox.async_oauth_client() as oauth:
        return await obtain_grant(oauth, login_hint=login_hint, show=no_browser, transport=sandbox.transport())


async def connect_agency(
    runtime: Runtime,
    sandbox: FanvueSandbox,
    agency_id: AgencyId,
    name: str,
    handle: str | None = None,
    *,
    replace: bool = False,
) -> StoredGrant:
    """Connect ``handle`` (default: the sandbox agency's admin) as ``agency_id``'s connection (``replace``: even
    over stored tokens the key ring cannot read)."""
    token = await authorize(sandbox, handle or sandbox.world.admin.person.handle)
    return await store_agency_grant(
        runtime.ctx, token, agency_id, name, client_options={"transport": sandbox.transport()}, replace=replace
    )


async def connect_creator(
    runtime: Runtime, sandbox: FanvueSandbox, handle: str, *, replace: bool = False
) -> StoredGrant:
    """Connect an imported creator's own account (reversals, posts and likes are read with it); ``replace`` as
    :func:`connect_agency`."""
    token = await authorize(sandbox, handle)
    return await store_creator_grant(
        runtime.ctx, token, client_options={"transport": sandbox.transport()}, replace=replace
    )
