"""The ledger upsert's report and stored rows on both engines (SQLite decides new, changed and equal rows from a
read of the stored ones under its write lock; PostgreSQL by ``ON CONFLICT … RETURNING``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.repositories.versions import data_versions
from onyx_adapters.sql.schema import ledger_entries
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId, CreatorId, FanId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.testing.fakes import ReversibleCipher

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # no microseconds: stored as the ORM stores it, or an equal row looks changed


def _entry(creator: CreatorId, key: str, cents: int, at: datetime = T0, fan: str | None = "fan") -> LedgerEntry:
    return LedgerEntry(
        creator, key, at, "tip", Money(cents, "USD"), Money(cents * 8 // 10, "USD"),
        fan_id=None if fan is None else FanId(fan),
    )  # fmt: skip


async def _creator(engine: AsyncEngine) -> tuple[AgencyId, CreatorId]:
    tag = uuid.uuid4().hex[:8]
    agency, creator = AgencyId(f"agency-{tag}"), CreatorId(f"creator-{tag}")
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        await uow.agencies.upsert(Agency(agency, "Ledger"))
        await uow.creators.upsert(Creator(creator, agency, creator, creator, T0))
        await uow.commit()
    return agency, creator


async def test_a_mixed_batch_reports_exactly_and_stores_the_last_occurrence(engine: AsyncEngine) -> None:
    _, creator = await _creator(engine)
    kept, changed = _entry(creator, "kept", 100), _entry(creator, "changed", 200)
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        await uow.ledger.upsert([kept, changed])
        await uow.commit()
    corrected = _entry(creator, "changed", 250, fan=None)
    new, renewed = _entry(creator, "new", 300), _entry(creator, "new", 310, T0 + timedelta(microseconds=7))
    moved = _entry(creator, "kept", 100, T0 + timedelta(microseconds=1))
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        # a repeated key acts as sequential upserts would: inserted by its first occurrence, corrected by the next
        result = await uow.ledger.upsert([new, kept, corrected, renewed])
        again = await uow.ledger.upsert([moved])
        await uow.commit()
    assert (result.inserted, result.updated) == ((new,), 2)
    assert (again.inserted, again.updated) == ((), 1)
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        stored = {e.key: e for e in await uow.ledger.entries(creator)}
    assert stored == {"kept": moved, "changed": corrected, "new": renewed}


async def test_equal_rows_write_nothing_and_move_no_version(engine: AsyncEngine) -> None:
    agency, creator = await _creator(engine)
    rows = [_entry(creator, f"k{n}", 100 + n, T0 + timedelta(hours=n)) for n in range(5)]
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        await uow.ledger.upsert(rows)
        await uow.commit()
    before = await data_versions(engine, agency)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(ledger_entries).where(ledger_entries.c.creator_id == creator))).all()
    async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
        conn = await uow.writer()
        changes = "SELECT total_changes()" if engine.dialect.name == "sqlite" else "SELECT 0"
        written = (await conn.exec_driver_sql(changes)).scalar_one()
        result = await uow.ledger.upsert(rows)
        assert (await conn.exec_driver_sql(changes)).scalar_one() == written  # not even an equal row rewritten
        await uow.commit()
    assert (result.inserted, result.updated) == ((), 0)
    assert await data_versions(engine, agency) == before
    async with engine.connect() as conn:
        after = (await conn.execute(select(ledger_entries).where(ledger_entries.c.creator_id == creator))).all()
        if engine.dialect.name == "sqlite":  # the instant's text as the ORM writes it: microseconds always shown
            raw = await conn.execute(
                text("SELECT occurred_at FROM ledger_entries WHERE creator_id = :c AND key = 'k0'"), {"c": creator}
            )
            assert raw.scalar_one() == "2026-01-01 00:00:00.000000"
    assert after == stored
