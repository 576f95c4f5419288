"""Helpers of the creators-and-stats tests: an app whose Fanvue is an in-process sandbox (its own seed per test, so
its Fanvue accounts are new to the shared database; a frozen sandbox clock that only the test moves), an agency
made by the core (owner, members) whose Fanvue connection and creators are stored by the composition root's own
``connect_agency`` + ``import_creators``, and the web process's background runs awaited through the test client's
portal (no sleeps)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auth_kit import HASHER, Env
from litestar import Litestar
from litestar.testing import TestClient
from tenancy_kit import Agency, Tenancy
from web_helpers import KEY, web_settings

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.stats import MetricRecord
from onyx_core.testing.fakes import ManualClock
from onyx_core.usecases import import_creators
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec
from onyx_web.app import create_app
from onyx_web.creators.state import STATE_KEY, CreatorsState

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@dataclass
class StatsWorld:
    env: Env
    sandbox: FanvueSandbox
    tenancy: Tenancy
    agency: Agency
    creators: list[str]
    """The agency's imported creators (Fanvue uuids)."""

    @property
    def app(self) -> Litestar:
        return self.env.app

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def records(self, creator_id: str) -> dict[str, MetricRecord]:
        async def read() -> dict[str, MetricRecord]:
            engine = create_engine(self.env.url)
            try:
                async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                    return await uow.stats.get(CreatorId(creator_id))
            finally:
                await engine.dispose()

        return self.run(read())

    def run_count(self) -> int:
        """Refresh runs stored for the agency."""

        async def count() -> int:
            from sqlalchemy import func, select  # noqa: PLC0415

            from onyx_adapters.sql.schema import refresh_runs  # noqa: PLC0415

            engine = create_engine(self.env.url)
            try:
                async with engine.connect() as conn:
                    query = select(func.count()).where(refresh_runs.c.agency_id == self.agency.id)
                    return int((await conn.execute(query)).scalar_one())
            finally:
                await engine.dispose()

        return self.run(count())


def state_of(c: TestClient[Litestar]) -> CreatorsState:
    state = c.app.state[STATE_KEY]
    assert isinstance(state, CreatorsState)
    return state


def drain(c: TestClient[Litestar]) -> None:
    """Wait, in the app's event loop, until every refresh the app started has ended."""
    assert c.blocking_portal is not None
    c.blocking_portal.call(state_of(c).runner.drain)


def make_world(url: str, *, creators: int = 3, **settings: Any) -> StatsWorld:
    """An agency (made by the core) connected to a fresh sandbox with ``creators`` creators, imported; the app
    (not started) on the same database and sandbox."""
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=random.randrange(1, 10**9), creators=creators, days=10, fans_per_creator=5),
        clock=SandboxClock(frozen_at=START),
    )
    cipher = FernetCipher([KEY])
    app_settings = web_settings(
        url, fanvue_client_id=sandbox.client_id, fanvue_client_secret=sandbox.client_secret, **settings
    )

    @asynccontextmanager
    async def on_sandbox(given: OnyxSettings) -> AsyncIterator[Runtime]:
        async with sandbox_runtime(sandbox, given.database_url, cipher) as runtime:
            yield runtime

    clock = ManualClock(START)
    env = Env(url, clock, create_app(app_settings, clock=clock, hasher=HASHER, runtime_factory=on_sandbox))
    tenancy = Tenancy(env)
    agency = tenancy.agency("Alpha")

    async def connect() -> list[str]:
        async with sandbox_runtime(sandbox, url, cipher) as runtime:
            await connect_agency(runtime, sandbox, AgencyId(agency.id), agency.name)
            await import_creators(runtime.ctx, AgencyId(agency.id))
            async with runtime.ctx.uow() as uow:
                return [str(c.id) for c in await uow.creators.for_agency(AgencyId(agency.id))]

    imported = asyncio.run(connect())
    assert len(imported) == creators
    agency.remember(*imported)
    return StatsWorld(env, sandbox, tenancy, agency, imported)


def advance(world: StatsWorld, minutes: float) -> None:
    world.sandbox.clock.advance(timedelta(minutes=minutes))
    world.env.clock.advance(timedelta(minutes=minutes))
