"""Helpers of the operations tests that talk to Fanvue: an agency connected to an in-process sandbox (its own seed,
so its Fanvue accounts are new to the shared database) with its creators imported and a first owner, and apps on
it whose runtime is the sandbox's (virtual time), with the heartbeat secret and metrics token set."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from auth_kit import HASHER, PASSWORD, Env
from litestar import Litestar
from sqlalchemy.engine import make_url
from web_helpers import KEY, drop_postgresql_database, new_postgresql_database, sqlite_url, web_settings

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.migrate import upgrade
from onyx_core.accounts import create_owner
from onyx_core.ids import AgencyId
from onyx_core.testing.fakes import ManualClock
from onyx_core.usecases import import_creators
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec
from onyx_web.app import create_app

__all__ = [
    "FIXTURES",
    "OpsWorld",
    "fresh_url_fixture",
    "make_world",
    "postgresql_template_fixture",
    "sqlite_template_fixture",
    "world_fixture",
]

HEARTBEAT_SECRET = "hb-" + "s3cr3t" * 6  # pragma: allowlist secret
METRICS_TOKEN = "mt-" + "t0k3n" * 6  # pragma: allowlist secret
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@dataclass
class OpsWorld:
    url: str
    sandbox: FanvueSandbox
    agency: AgencyId
    creators: list[str]
    owner_email: str
    clock: ManualClock

    def app(self, **settings: Any) -> Litestar:
        """An app on the world's database whose Fanvue is the sandbox (a runtime of its own per app)."""
        sandbox = self.sandbox
        values = {
            "fanvue_client_id": sandbox.client_id,
            "fanvue_client_secret": sandbox.client_secret,
            "heartbeat_secret": HEARTBEAT_SECRET,
            "metrics_token": METRICS_TOKEN,
            **settings,
        }

        @asynccontextmanager
        async def on_sandbox(given: OnyxSettings) -> AsyncIterator[Runtime]:
            async with sandbox_runtime(sandbox, given.database_url, FernetCipher([KEY])) as runtime:
                yield runtime

        return create_app(web_settings(self.url, **values), clock=self.clock, hasher=HASHER, runtime_factory=on_sandbox)

    @property
    def env(self) -> Env:
        return Env(self.url, self.clock, self.app())

    def served_to(self, route_part: str) -> int:
        """Requests the sandbox answered whose route holds ``route_part``."""
        return sum(1 for served in self.sandbox.requests if route_part in served.route)


async def make_world(url: str, *, creators: int = 2, days: int = 7) -> OpsWorld:
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=random.randrange(1, 10**9), creators=creators, days=days), clock=SandboxClock(NOW)
    )
    agency = AgencyId(f"ops-{uuid.uuid4().hex[:10]}")
    email = f"owner-{agency}@ops.test"
    clock = ManualClock(NOW)

    async def setup() -> list[str]:
        async with sandbox_runtime(sandbox, url, FernetCipher([KEY])) as runtime:
            await connect_agency(runtime, sandbox, agency, f"Ops {agency}")
            report = await import_creators(runtime.ctx, agency)
            env = Env(url, clock, None)  # type: ignore[arg-type]
            await create_owner(
                env.deps(runtime.engine), agency_name="", email=email, display_name="Olga", password=PASSWORD,
                agency_id=agency,
            )  # fmt: skip
            return sorted(str(c) for c in report.added)

    found = await setup()
    sandbox.clear_requests()
    return OpsWorld(url, sandbox, agency, found, email, clock)


@pytest.fixture(scope="module", name="sqlite_template")
def sqlite_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ops-template")
    upgrade(sqlite_url(folder))
    return folder / "onyx.db"


@pytest.fixture(scope="module", name="postgresql_template")
def postgresql_template_fixture(postgres_url: str) -> Iterator[str]:
    url = new_postgresql_database(postgres_url)
    upgrade(url)
    try:
        yield str(make_url(url).database)
    finally:
        drop_postgresql_database(postgres_url, url)


@pytest.fixture(params=["sqlite", "postgresql"], name="fresh_url")
def fresh_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own: a copy of a template (no migration per test)."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "onyx.db")
        yield sqlite_url(tmp_path)
        return
    postgres_url, template = request.getfixturevalue("postgres_url"), request.getfixturevalue("postgresql_template")
    name = f"onyx_ops_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(name="world")
async def world_fixture(fresh_url: str) -> OpsWorld:
    """A sandbox agency on a fresh database, on each engine."""
    return await make_world(fresh_url)


FIXTURES = (sqlite_template_fixture, postgresql_template_fixture, fresh_url_fixture, world_fixture)
"""Import these into a test module to use ``world`` (pytest finds fixtures by the module's names)."""
