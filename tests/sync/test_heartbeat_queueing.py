"""The heartbeat queues the due creators a few at a time (one round trip each, with its own queueing lock): not one
after the other (a tick outlasted its minute at about 3,000 creators), and never more than the job queue's pool can
serve beside the worker's own jobs. Every creator ends up deferred or waiting, as each defer answered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from onyx_adapters import workers
from onyx_core.ids import CreatorId
from onyx_core.schedule import Schedule, SyncJob

CREATORS = [CreatorId(f"creator-{n:02}") for n in range(12)]
QUEUED_ALREADY = {CREATORS[3], CREATORS[7]}
TIMESTAMP = 7 * 60 + 30  # a minute's tick that starts no maintenance or import interval


async def test_the_due_creators_are_queued_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    in_flight = peak = 0
    asked: list[tuple[CreatorId, tuple[SyncJob, ...], bool]] = []

    async def due(ctx: Any, schedule: Schedule) -> list[tuple[CreatorId, tuple[SyncJob, ...]]]:
        return [(creator, (SyncJob.STATS,) if n % 2 else tuple(SyncJob)) for n, creator in enumerate(CREATORS)]

    async def defer(app: Any, creator_id: CreatorId, jobs: tuple[SyncJob, ...], *, only_due: bool) -> int | None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)  # a round trip to the queue
        in_flight -= 1
        asked.append((creator_id, jobs, only_due))
        return None if creator_id in QUEUED_ALREADY else len(asked)

    monkeypatch.setattr(workers, "due_work", due)
    monkeypatch.setattr(workers, "defer_sync", defer)
    report = await workers.defer_due_work(object(), object(), Schedule(), timestamp=TIMESTAMP)  # type: ignore[arg-type]

    assert peak == workers.QUEUE_CONCURRENCY > 1
    assert sorted(c for c, _, _ in asked) == CREATORS
    assert all(only_due for _, _, only_due in asked)
    assert set(report.waiting) == QUEUED_ALREADY
    assert report.deferred == {
        creator: (SyncJob.STATS,) if n % 2 else tuple(SyncJob)
        for n, creator in enumerate(CREATORS)
        if creator not in QUEUED_ALREADY
    }
    assert (report.maintenance, report.imports) == (False, ())
