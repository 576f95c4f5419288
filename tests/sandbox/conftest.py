"""Fixtures for the sandbox API tests: a small frozen-clock sandbox and SDK clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from onyx_fanvue import AsyncFanvueClient, FanvueClient, RetryPolicy
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NO_RETRY = RetryPolicy(max_retries=0)
SPEC = WorldSpec(seed=7, creators=3, fans_per_creator=12, days=60, earnings_per_day=3.0, team_members=2)


@pytest.fixture
def sandbox() -> FanvueSandbox:
    """A fresh sandbox per test (faults, rate buckets and world changes do not leak between tests)."""
    return FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))


@pytest.fixture
def client(sandbox: FanvueSandbox) -> Iterator[FanvueClient]:
    """The agency admin's sync client (retries off so each fault shows as it is)."""
    with sandbox.client(retry=NO_RETRY, rate_limited=False) as c:
        yield c


@pytest_asyncio.fixture
async def async_client(sandbox: FanvueSandbox) -> AsyncIterator[AsyncFanvueClient]:
    async with sandbox.async_client(retry=NO_RETRY, rate_limited=False) as c:
        yield c


@pytest.fixture
def creator(sandbox: FanvueSandbox) -> str:
    """The first seeded creator (every team member may see it)."""
    return sandbox.world.creators[0].uuid


@pytest.fixture
def own(sandbox: FanvueSandbox, creator: str) -> Iterator[FanvueClient]:
    """The first creator's own client (the non-mirrored paths)."""
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as c:
        yield c
