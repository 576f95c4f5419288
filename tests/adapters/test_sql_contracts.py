"""The core's storage contract suite against the in-memory fakes (the reference), SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.schema import connections
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ledger import LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.ports import UpsertResult
from onyx_core.testing.contracts import ALL_CONTRACTS, T0, Contract
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ReversibleCipher
from onyx_core.tokens import TokenSet


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.__name__)
async def test_in_memory_fakes_meet_the_contract(contract: Contract) -> None:
    store = InMemoryStore()
    await contract(lambda: InMemoryUnitOfWork(store))


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.__name__)
async def test_sql_unit_of_work_meets_the_contract(engine: AsyncEngine, contract: Contract) -> None:
    await contract(sql_unit_of_work_factory(engine, ReversibleCipher()))


async def test_tokens_are_stored_only_encrypted(engine: AsyncEngine) -> None:
    """The ``tokens`` column holds ciphertext: neither token appears in any column of the row (T12's column half)."""
    cipher = ReversibleCipher()
    factory = sql_unit_of_work_factory(engine, cipher)
    now = datetime.now(UTC)
    access, refresh = f"access-{uuid4().hex}", f"refresh-{uuid4().hex}"
    agency = Agency(AgencyId(f"agency-{uuid4().hex}"), "Encrypted")
    connection = Connection(
        ConnectionId(f"conn-{uuid4().hex}"), ConnectionKind.AGENCY, agency.id, None, "fv-user",
        ConnectionStatus.ACTIVE, TokenSet(access, refresh, now + timedelta(hours=1), frozenset({"read:self"})), 1,
    )  # fmt: skip
    async with factory() as uow:
        await uow.agencies.upsert(agency)
        await uow.connections.save(connection)
        await uow.commit()
    async with engine.connect() as conn:
        row = (await conn.execute(select(connections).where(connections.c.id == connection.id))).one()
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row._mapping.values())
    assert access.encode() not in stored
    assert refresh.encode() not in stored
    assert row.expires_at == connection.tokens.expires_at  # not secret: kept in clear for maintenance queries
    async with factory() as uow:
        assert await uow.connections.get(connection.id) == connection


async def test_ledger_upsert_reports_like_the_fake_when_a_batch_repeats_keys(engine: AsyncEngine) -> None:
    """A batch that repeats a key (equal, then changed) reports what sequential upserts would: the fake's answer."""
    store = InMemoryStore()
    fake = lambda: InMemoryUnitOfWork(store)  # noqa: E731
    sql = sql_unit_of_work_factory(engine, ReversibleCipher())
    agency = Agency(AgencyId(f"agency-{uuid4().hex}"), "Repeats")
    creator = Creator(CreatorId(f"creator-{uuid4().hex}"), agency.id, "rep", "Rep", T0)
    at = T0 + timedelta(hours=1)

    def entry(key: str, cents: int) -> LedgerEntry:
        return LedgerEntry(creator.id, key, at, Source.TIP, Money(cents), Money(cents * 8 // 10))

    batches = [
        [entry("b", 100), entry("a", 100), entry("b", 100), entry("b", 150), entry("c", 5)],
        [entry("a", 100), entry("c", 6), entry("c", 6), entry("d", 1), entry("a", 101)],
    ]
    results: dict[str, list[UpsertResult]] = {}
    stored: dict[str, list[LedgerEntry]] = {}
    for name, factory in (("fake", fake), ("sql", sql)):
        async with factory() as uow:
            await uow.agencies.upsert(agency)
            await uow.creators.upsert(creator)
            await uow.commit()
        results[name] = []
        for batch in batches:
            async with factory() as uow:
                results[name].append(await uow.ledger.upsert(batch))
                await uow.commit()
        async with factory() as uow:
            stored[name] = await uow.ledger.entries(creator.id)
    assert results["sql"] == results["fake"]
    assert stored["sql"] == stored["fake"]
    assert [r.updated for r in results["sql"]] == [1, 2]
