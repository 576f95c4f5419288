"""Helpers of the operations tests that talk to Fanvue: an agency connected to an in-process sandbox (its own seed,
so its Fanvue accounts are new to the shared database) with its creators imported and a first owner, and apps on
it whose runtime is the sandbox's (virtual time), with the heartbeat secret and metrics token set."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth_kit import HASHER, PASSWORD, Env
from litestar import Litestar
from web_helpers import KEY, web_settings

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.settings import OnyxSettings
from onyx_core.accounts import create_owner
from onyx_core.ids import AgencyId
from onyx_core.testing.fakes import ManualClock
from onyx_core.usecases import import_creators
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec
from onyx_web.app import create_app

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
