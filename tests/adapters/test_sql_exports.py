"""SqlExports on SQLite and PostgreSQL: the rows come in chunks of at most CHUNK_ROWS (never the whole result at
once), the count is taken in the same snapshot as the rows (a row committed after the export opened is in
neither), and each dataset's query reads only the scope's creators."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.exports import CHUNK_ROWS, SqlExports
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.catalog import Agency, Creator
from onyx_core.exports import Dataset, ExportFilters, ExportScope
from onyx_core.ids import AgencyId, CreatorId, FanId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.testing.fakes import ReversibleCipher

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _agency_with_ledger(url: str, rows: int) -> tuple[AgencyId, CreatorId, CreatorId]:
    """An agency with two creators: one with ``rows`` ledger entries, the other with one."""
    engine = create_engine(url)
    tag = uuid.uuid4().hex[:8]
    agency, busy, quiet = AgencyId(f"agency-{tag}"), CreatorId(f"busy-{tag}"), CreatorId(f"quiet-{tag}")
    try:
        async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
            await uow.agencies.upsert(Agency(agency, "Exports"))
            for creator in (busy, quiet):
                await uow.creators.upsert(Creator(creator, agency, creator, creator, T0))
            entries = [
                LedgerEntry(
                    busy,
                    f"k{n:06d}",
                    T0 + timedelta(minutes=n),
                    "tip",
                    Money(100, "USD"),
                    Money(80, "USD"),
                    fan_id=FanId(f"fan-{n % 7}"),
                )
                for n in range(rows)
            ]
            entries.append(LedgerEntry(quiet, "q", T0, "tip", Money(5, "USD"), Money(4, "USD"), fan_id=FanId("fan-q")))
            await uow.ledger.upsert(entries)
            await uow.commit()
    finally:
        await engine.dispose()
    return agency, busy, quiet


async def test_rows_come_in_bounded_chunks_from_one_snapshot(database_url: str) -> None:
    rows = 2 * CHUNK_ROWS + 500
    agency, busy, _ = await _agency_with_ledger(database_url, rows)
    engine = create_engine(database_url)
    try:
        scope = ExportScope(Dataset.LEDGER, agency, (busy,), ExportFilters())
        async with SqlExports(engine).open(scope) as cursor:
            assert cursor.count == rows
            # committed after the snapshot began: neither counted nor exported
            async with SqlUnitOfWork(engine, ReversibleCipher()) as uow:
                late = LedgerEntry(busy, "late", T0, "tip", Money(1, "USD"), Money(1, "USD"))
                await uow.ledger.upsert([late])
                await uow.commit()
            sizes, keys = [], []
            async for chunk in cursor.chunks():
                sizes.append(len(chunk))
                keys += [row[1] for row in chunk]
        assert sizes == [CHUNK_ROWS, CHUNK_ROWS, 500]
        assert keys == [f"k{n:06d}" for n in range(rows)]
        assert "late" not in keys
    finally:
        await engine.dispose()


async def test_every_dataset_reads_only_the_scopes_creators(database_url: str) -> None:
    agency, busy, quiet = await _agency_with_ledger(database_url, 20)
    engine = create_engine(database_url)
    try:
        for dataset in Dataset:
            scope = ExportScope(dataset, agency, (quiet,), ExportFilters())
            async with SqlExports(engine).open(scope) as cursor:
                found = [row async for chunk in cursor.chunks() for row in chunk]
            assert cursor.count == len(found)
            assert all(busy not in row for row in found), dataset
            if dataset is not Dataset.STATS_HISTORY:  # the quiet creator has an entry, and no stats event
                assert found, dataset
            empty = ExportScope(dataset, agency, (), ExportFilters())
            async with SqlExports(engine).open(empty) as cursor:
                assert cursor.count == 0
                assert [row async for chunk in cursor.chunks() for row in chunk] == []
    finally:
        await engine.dispose()
