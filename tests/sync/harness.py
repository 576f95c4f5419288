"""A seeded sandbox agency synced by the real runtime: the shared setup of the sync tests.

    async with synced_world(database_url, creators=3, own=2) as world:
        report = await sync_agency(world.ctx, world.agency)

``own`` creators also connect their own account (reversals, posts and likes need it); the others are read
through the agency's connection only. Time is virtual: waits move the sandbox clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, connect_creator, sandbox_runtime
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.sync import SyncPolicy
from onyx_core.tokens import RefreshPolicy
from onyx_core.usecases import Context, import_creators
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AGENCY = AgencyId("test-agency")


@dataclass
class SyncWorld:
    sandbox: FanvueSandbox
    runtime: Runtime
    agency: AgencyId
    creators: list[CreatorId]
    """Every imported creator, in the sandbox world's order."""
    own: list[CreatorId]
    """The creators that connected their own account too."""

    @property
    def ctx(self) -> Context:
        return self.runtime.ctx


@asynccontextmanager
async def synced_world(
    database_url: str,
    *,
    seed: int = 1,
    creators: int = 3,
    days: int = 60,
    own: int | None = None,
    now: datetime = NOW,
    sync_policy: SyncPolicy | None = None,
    refresh_policy: RefreshPolicy | None = None,
    virtual_time: bool = True,
    **sandbox_options: Any,
) -> AsyncIterator[SyncWorld]:
    """A sandbox with ``creators`` creators and ``days`` of history, its agency connected and imported, and the
    first ``own`` creators (default: all) connected personally too. Nothing is synced yet."""
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=seed, creators=creators, days=days), clock=SandboxClock(now), **sandbox_options
    )
    cipher = FernetCipher([FernetCipher.generate_key()])
    async with sandbox_runtime(
        sandbox,
        database_url,
        cipher,
        virtual_time=virtual_time,
        sync_policy=sync_policy,
        refresh_policy=refresh_policy,
    ) as runtime:
        await connect_agency(runtime, sandbox, AGENCY, "Test Agency")
        await import_creators(runtime.ctx, AGENCY)
        ordered = [CreatorId(c.person.uuid) for c in sandbox.world.creators]
        for creator in sandbox.world.creators[: creators if own is None else own]:
            await connect_creator(runtime, sandbox, creator.person.handle)
        yield SyncWorld(sandbox, runtime, AGENCY, ordered, ordered[: creators if own is None else own])
