"""A ledger walk whose page cursor stops working starts its window over instead of failing forever."""

from __future__ import annotations

from dataclasses import replace

from harness import synced_world

from onyx_core.ids import CreatorId
from onyx_core.sync import Stream, SyncPolicy
from onyx_core.usecases import SyncOutcome, sync_ledger


async def _keys(world: object, creator: CreatorId) -> list[str]:
    async with world.ctx.uow() as uow:  # type: ignore[attr-defined]
        return [entry.key for entry in await uow.ledger.entries(creator)]


def _truth(world: object, creator: CreatorId) -> int:
    sandbox = world.sandbox  # type: ignore[attr-defined]
    return sum(1 for _ in sandbox.world.iter_earnings(creator, end=sandbox.clock.now()))


async def test_an_expired_page_cursor_restarts_the_window_and_completes(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1, days=60) as world:
        creator = world.creators[0]
        short = replace(world.ctx, sync_policy=SyncPolicy(max_pages=2))
        first = await sync_ledger(short, creator, Stream.EARNINGS)
        assert first.outcome is SyncOutcome.PARTIAL  # a run cut short, as by a crash: its cursor is stored
        async with world.ctx.uow() as uow:
            stored = await uow.cursors.get(creator, Stream.EARNINGS)
            assert stored is not None
            assert stored.page_cursor is not None
            await uow.cursors.save(replace(stored, page_cursor="expired-cursor"))
            await uow.commit()

        resumed = await sync_ledger(world.ctx, creator, Stream.EARNINGS)
        assert resumed.outcome is SyncOutcome.COMPLETED
        assert resumed.resumed
        keys = await _keys(world, creator)
        assert len(keys) == len(set(keys)) == _truth(world, creator)
        refused = [r for r in world.sandbox.requests if r.status == 400]
        assert len(refused) == 1, "the refused cursor is sent once, then the walk starts over"


async def test_a_walk_that_moves_to_the_creators_own_connection_starts_over(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1, days=60) as world:
        creator = world.creators[0]
        admin = world.sandbox.world.admin.person.handle
        seen = len(world.sandbox.requests)

        def unassign_after_the_first_page(stream: Stream, pages: int, rows: int) -> None:
            if pages == 1:
                world.sandbox.unassign(admin, str(creator))

        report = await sync_ledger(world.ctx, creator, Stream.EARNINGS, unassign_after_the_first_page)
        assert report.outcome is SyncOutcome.COMPLETED
        walks = [r for r in world.sandbox.requests[seen:] if r.path.endswith("/insights/earnings")]
        own = [r for r in walks if r.path == "/insights/earnings"]
        assert len(own) >= 2, "the creator's own connection took over"
        # its first answer (to the agency walk's cursor) is dropped, and its own walk starts at the beginning
        assert "cursor=" in own[0].query
        assert "cursor=" not in own[1].query
        keys = await _keys(world, creator)
        assert len(keys) == len(set(keys)) == _truth(world, creator)
