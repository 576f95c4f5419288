"""Helpers of the webhook tests: a sandbox agency imported into a tenancy agency of the web's database, Fanvue-shaped
deliveries signed with ``onyx_fanvue.webhooks.sign`` (what the sandbox uses), the normal ledger sync, and raw row
counts read straight from the tables."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth_kit import Env
from sqlalchemy import func, select
from tenancy_kit import Agency
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import ledger_entries, webhook_payments, webhook_secrets
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.sync import Stream
from onyx_core.usecases import import_creators, sync_ledger
from onyx_core.usecases.sync_ledger import LedgerSyncReport
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import EarningRow, Person, WorldSpec
from onyx_fanvue.webhooks import sign

SECRET = "whsec_test_0123456789abcdefghij"  # pragma: allowlist secret


def signed(body: bytes, at: datetime, secret: str = SECRET) -> dict[str, str]:
    return {"content-type": "application/json", "X-Fanvue-Signature": sign(body, secret, int(at.timestamp()))}


def sender(fan: Person) -> dict[str, Any]:
    return {"uuid": fan.uuid, "handle": fan.handle, "displayName": fan.display_name, "avatarUrl": None}


def tip_body(row: EarningRow, creator_id: str) -> bytes:
    """``tip.new`` as Fanvue sends it for the sandbox's earnings row ``row`` (a tip)."""
    assert row.user is not None
    return json.dumps({
        "context": "post", "recipientUuid": creator_id, "senderUuid": row.user.uuid, "price": row.gross,
        "sender": sender(row.user), "timestamp": row.date.isoformat().replace("+00:00", "Z"),
    }).encode()  # fmt: skip


def payment_body(creator_id: str, fan: Person, at: datetime, price: int = 500, **extra: Any) -> bytes:
    """A payment delivery (tip, purchase or subscription: ``extra`` adds their own fields)."""
    return json.dumps({
        "recipientUuid": creator_id, "senderUuid": fan.uuid, "price": price, "sender": sender(fan),
        "timestamp": at.isoformat().replace("+00:00", "Z"), **extra,
    }).encode()  # fmt: skip


@dataclass
class SandboxAgency:
    """Agency ``agency`` of the web's database, connected to a sandbox world of one creator and imported."""

    env: Env
    agency: Agency
    sandbox: FanvueSandbox
    creator_id: str

    @property
    def fan(self) -> Person:
        return self.sandbox.world.creators[0].fans[0]

    def sync(self) -> LedgerSyncReport:
        """The normal ledger sync of the creator's earnings (what `onyx sync` runs)."""

        async def run() -> LedgerSyncReport:
            async with sandbox_runtime(self.sandbox, self.env.url, FernetCipher([KEY])) as runtime:
                return await sync_ledger(runtime.ctx, CreatorId(self.creator_id), Stream.EARNINGS)

        return asyncio.run(run())

    def fanvue_earnings(self) -> list[EarningRow]:
        return list(self.sandbox.world.iter_earnings(self.creator_id, end=self.sandbox.clock.now()))


def sandbox_agency(env: Env, agency: Agency, days: int = 3) -> SandboxAgency:
    # a seed of its own: the world's uuids follow it, and the test database is shared by the session
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=random.randrange(10**9), creators=1, days=days), clock=SandboxClock(env.clock.now())
    )

    async def connect() -> None:
        async with sandbox_runtime(sandbox, env.url, FernetCipher([KEY])) as runtime:
            await connect_agency(runtime, sandbox, AgencyId(agency.id), agency.name)
            await import_creators(runtime.ctx, AgencyId(agency.id))

    asyncio.run(connect())
    return SandboxAgency(env, agency, sandbox, sandbox.world.creators[0].person.uuid)


@dataclass(frozen=True)
class Counts:
    ledger: int
    provisional: int
    deliveries: int


def counts(url: str, creator_id: str) -> Counts:
    async def read() -> Counts:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                mine = ledger_entries.c.creator_id == creator_id
                ledger = (await conn.execute(select(func.count()).where(mine))).scalar_one()
                provisional = (
                    await conn.execute(select(func.count()).where(mine, ledger_entries.c.key.like("webhook:%")))
                ).scalar_one()
                deliveries = (
                    await conn.execute(select(func.count()).where(webhook_payments.c.creator_id == creator_id))
                ).scalar_one()
                return Counts(ledger, provisional, deliveries)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def rows(url: str, creator_id: str) -> list[Any]:
    async def read() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(ledger_entries).where(ledger_entries.c.creator_id == creator_id)
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def deliveries(url: str, creator_id: str) -> list[Any]:
    async def read() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(webhook_payments).where(webhook_payments.c.creator_id == creator_id)
                return list((await conn.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def stored_secret(url: str, agency_id: str) -> bytes | None:
    """The raw bytes of the agency's secret column."""

    async def read() -> bytes | None:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(webhook_secrets.c.secret).where(webhook_secrets.c.agency_id == agency_id)
                value = (await conn.execute(query)).scalar_one_or_none()
                return None if value is None else bytes(value)
        finally:
            await engine.dispose()

    return asyncio.run(read())
