"""S8: syncing 50 creators against Fanvue's 200 requests / 60 s buckets never overruns a bucket and meets no 429.

Fanvue counts requests per ``clientId:userUuid`` bucket, plus ``:creatorUuid`` on ``/creators/{uuid}/*``: one
bucket per managed creator. For the budget to bind, a creator's backfill must need more than 200 requests, so two
of the 50 creators get 10,500 extra payments over the past year (210 earnings pages of 50 on top of their other
jobs). The sandbox keeps Fanvue's real limit (200 per 60 s); time is virtual, so the client's waits for its budget
move the sandbox clock instead of the test's.

From the sandbox's log of served requests (time on the sandbox clock, user, creator of the path) the test rebuilds
Fanvue's buckets and counts the most requests any bucket saw in any rolling 60 s.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from harness import synced_world

from onyx_core.sync import Stream
from onyx_core.usecases import SyncOutcome, sync_agency
from onyx_fanvue.sandbox.sandbox import Served

LIMIT = 200
WINDOW = timedelta(seconds=60)
HEAVY = 2
EXTRA_PAYMENTS = 10_500


def _busiest_windows(log: list[Served]) -> dict[tuple[str | None, str | None], int]:
    """Per bucket (user, creator of the path), the most requests served in any half-open 60 s window."""
    times: dict[tuple[str | None, str | None], list[datetime]] = defaultdict(list)
    for served in log:
        times[(served.user, served.creator)].append(served.at)
    busiest: dict[tuple[str | None, str | None], int] = {}
    for bucket, ats in times.items():
        ats.sort()
        most = first = 0
        for last, at in enumerate(ats):
            while ats[first] <= at - WINDOW:  # the window (at - 60 s, at] ends with this request
                first += 1
            most = max(most, last - first + 1)
        busiest[bucket] = most
    return busiest


async def test_fifty_creators_stay_inside_every_bucket(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=50, own=0, days=30) as world:
        sandbox = world.sandbox
        now = sandbox.clock.now()
        heavy = world.creators[:HEAVY]
        for creator in heavy:
            for n in range(EXTRA_PAYMENTS):
                at = now - timedelta(days=365) + n * timedelta(days=360) / EXTRA_PAYMENTS
                sandbox.add_earning(str(creator), gross=500 + n % 97, at=at)
        sandbox.clear_requests()

        report = await sync_agency(world.ctx, world.agency)
        log = sandbox.requests
        elapsed = sandbox.clock.now() - now

        assert not report.partial, report.failures
        assert len(report.creators) == 50
        for creator in report.creators:
            earnings = next(r for r in creator.ledger if r.stream is Stream.EARNINGS)
            assert earnings.outcome is SyncOutcome.COMPLETED, creator
        inserted = {c.creator_id: r.inserted for c in report.creators for r in c.ledger if r.stream is Stream.EARNINGS}
        assert all(inserted[c] > EXTRA_PAYMENTS for c in heavy)

        statuses = [served.status for served in log]
        assert statuses.count(429) == 0, "the sandbox had to refuse requests: the client overran a bucket"
        assert len(log) < 10_000, "the sandbox log is cut at 10,000 entries; every request must be in it"
        busiest = _busiest_windows(log)
        creator_buckets = {bucket: n for bucket, n in busiest.items() if bucket[1] is not None}
        assert len(creator_buckets) == 50
        assert max(busiest.values()) <= LIMIT, sorted(busiest.values())[-5:]
        # the budget really bound: each heavy creator needed more than a bucket, a bucket filled up to the limit
        # and the sync waited for it (one wait moves the shared virtual clock for every bucket at once, so the
        # other heavy creator may find its tokens back without waiting itself)
        for creator in heavy:
            assert sum(1 for served in log if served.creator == str(creator)) > LIMIT
        assert max(busiest.values()) == LIMIT
        assert elapsed >= WINDOW
