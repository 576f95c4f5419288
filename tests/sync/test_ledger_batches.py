"""Ledger batches on both engines (S7's promise, in process): a sync that dies in the middle of a batch, or inside
a batch's transaction, keeps every batch it committed, stores nothing twice, and the next run resumes after the
last committed batch and ends with exactly Fanvue's rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest
from harness import SyncWorld, synced_world

from onyx_core.ids import CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.ports import UnitOfWorkFactory, UpsertResult
from onyx_core.sync import Stream, SyncPolicy
from onyx_core.usecases import SyncOutcome, sync_ledger

BATCH = SyncPolicy(batch_rows=100)
"""With the sandbox's 50-row pages a batch commits every second page."""


class KilledError(Exception):
    """The process dying, as far as the run can tell."""


async def _keys(world: SyncWorld, creator: CreatorId) -> list[str]:
    async with world.ctx.uow() as uow:
        return [entry.key for entry in await uow.ledger.entries(creator)]


async def _resume_to_the_truth(world: SyncWorld, creator: CreatorId, committed: int) -> None:
    """The next run resumes after the committed batches and leaves exactly Fanvue's rows, each once."""
    expected = sum(1 for _ in world.sandbox.world.iter_earnings(creator, end=world.sandbox.clock.now()))
    assert expected > 4 * 50, "the world must hold more than the pages the test kills in"
    resumed = await sync_ledger(world.ctx, creator, Stream.EARNINGS)
    assert resumed.resumed
    assert (resumed.outcome, resumed.inserted, resumed.updated) == (SyncOutcome.COMPLETED, expected - committed, 0)
    keys = await _keys(world, creator)
    assert len(keys) == len(set(keys)) == expected


async def _stored_cursor_in_progress(world: SyncWorld, creator: CreatorId) -> None:
    async with world.ctx.uow() as uow:
        cursor = await uow.cursors.get(creator, Stream.EARNINGS)
    assert cursor is not None
    assert cursor.in_progress
    assert cursor.page_cursor is not None, "the committed batches' cursor is stored with them"


async def test_a_sync_killed_mid_batch_keeps_the_committed_batches_and_resumes(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1, days=90, sync_policy=BATCH) as world:
        creator = world.creators[0]

        def dies_after_page_5(_stream: Stream, pages: int, _rows: int) -> None:
            if pages == 5:  # pages 1-2 and 3-4 committed; page 5 fetched, its batch not
                raise KilledError

        with pytest.raises(KilledError):
            await sync_ledger(world.ctx, creator, Stream.EARNINGS, dies_after_page_5)
        keys = await _keys(world, creator)
        assert len(keys) == len(set(keys)) == 200
        await _stored_cursor_in_progress(world, creator)
        await _resume_to_the_truth(world, creator, committed=200)


def _dies_in_upsert(factory: UnitOfWorkFactory, at: int) -> Callable[[], Any]:
    """``factory``'s units, the ``at``-th ledger upsert of which writes its rows and then dies, uncommitted."""
    calls = 0

    def unit() -> Any:
        uow = factory()
        upsert = uow.ledger.upsert

        async def dying(entries: Sequence[LedgerEntry]) -> UpsertResult:
            nonlocal calls
            calls += 1
            result = await upsert(entries)
            if calls == at:
                raise KilledError("after the batch's rows were written, before its commit")
            return result

        uow.ledger.upsert = dying  # type: ignore[method-assign]
        return uow

    return unit


async def test_a_sync_killed_inside_a_batchs_transaction_stores_neither_its_rows_nor_its_cursor(
    sync_database_url: str,
) -> None:
    async with synced_world(sync_database_url, creators=1, days=90, sync_policy=BATCH) as world:
        creator = world.creators[0]
        dying = replace(world.ctx, uow=_dies_in_upsert(world.ctx.uow, at=2))
        with pytest.raises(KilledError):
            await sync_ledger(dying, creator, Stream.EARNINGS)
        keys = await _keys(world, creator)
        assert len(keys) == len(set(keys)) == 100, "the first batch only: the second's rows went with its cursor"
        await _stored_cursor_in_progress(world, creator)
        await _resume_to_the_truth(world, creator, committed=100)
