"""S6 extended to a creator's FIRST ledger backfill (issue 12, item 1), on SQLite and PostgreSQL.

The fault matrix (``test_fault_matrix.py``) faults incremental syncs of a world synced once already. Here the faults
hit the first sync itself, while the whole history is being walked: one page in five of ``/insights/earnings``
(both creators, through the agency) and ``/insights/spending`` (the first creator's own grant) answers with the
fault, for every fault kind the matrix knows. Two things must hold:

1. the faulted sync never says "complete" with rows missing: either its report is partial, or the ledger already
   equals the sandbox's (a failed page is retried, an empty page where more was promised is not the end, and the
   reconciliation against Fanvue's daily totals fetches again the days that lost rows);
2. after the faults are cleared, the next clean sync leaves the ledger equal to the sandbox's, to the row.

And a page that is *cut short* (some rows, then ``nextCursor: null`` in the middle of the history: no page-level
check can see it) is healed by the reconciliation in the same sync, which says so.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from test_fault_matrix import FAULTS, UNKNOWN_SCHEMA, MatrixWorld, fault_world, found, stored, truth

from onyx_core.ids import CreatorId
from onyx_core.schedule import SyncJob
from onyx_core.usecases import ReconcileOutcome, sync_agency
from onyx_fanvue.sandbox.endpoints import route_of

DAYS = 150
"""Long enough for a dozen pages of 50 earnings per creator: one in five hits several of them."""
LEDGER_ROUTES = ("*/insights/earnings", "/insights/spending")
RATE = 0.2


def ledger_truth(world: MatrixWorld) -> dict[CreatorId, Counter[tuple[Any, ...]]]:
    return truth(world)["ledger"]


async def ledger_found(world: MatrixWorld) -> dict[CreatorId, Counter[tuple[Any, ...]]]:
    return found(await stored(world), world)["ledger"]


def missing_rows(expected: dict[CreatorId, Counter[Any]], got: dict[CreatorId, Counter[Any]]) -> dict[str, int]:
    return {str(c): sum((expected[c] - got.get(c, Counter())).values()) for c in expected}


@dataclass
class SometimesOtherSchema(httpx.AsyncBaseTransport):
    """A well-formed JSON answer of another schema for one ledger page in five (seeded), as the matrix's
    ``unknown_schema`` fault, which the sandbox itself has no switch for."""

    inner: httpx.AsyncBaseTransport
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        route, _ = route_of(request.method, request.url.path)
        if response.status_code == 200 and _is_ledger(route) and self.rng.random() < RATE:
            return httpx.Response(200, json=UNKNOWN_SCHEMA, request=request)
        return response


def _is_ledger(route: str | None) -> bool:
    return route is not None and (route.endswith("/insights/earnings") or route == "/insights/spending")


def inject(world: MatrixWorld, fault: str) -> None:
    if fault == "unknown_schema":
        world.swap.inner = SometimesOtherSchema(world.swap.inner)
        return
    for route in LEDGER_ROUTES:
        world.sandbox.inject(route=route, rate=RATE, **FAULTS[fault])


def heal(world: MatrixWorld) -> None:
    world.sandbox.clear_faults()
    if isinstance(world.swap.inner, SometimesOtherSchema):
        world.swap.inner = world.swap.inner.inner


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_faults_during_a_first_backfill_lose_no_row(sync_database_url: str, fault: str) -> None:
    async with fault_world(sync_database_url, days=DAYS) as world:
        expected = ledger_truth(world)
        assert sum(sum(rows.values()) for rows in expected.values()) > 4 * 50  # several pages per stream
        inject(world, fault)
        faulted = await sync_agency(world.ctx, world.agency)
        got = await ledger_found(world)
        lost = missing_rows(expected, got)
        assert faulted.partial or not any(lost.values()), f"{fault}: 'complete' with rows missing: {lost}"

        heal(world)
        world.sandbox.advance(timedelta(minutes=1))
        clean = await sync_agency(world.ctx, world.agency)
        assert not clean.partial, clean
        assert await ledger_found(world) == ledger_truth(world), missing_rows(expected, await ledger_found(world))


@dataclass
class CutShort(httpx.AsyncBaseTransport):
    """Cuts one earnings page of the first creator to its first ``keep`` rows and says the history ends there:
    a page no page-level check can tell from a real last page."""

    inner: httpx.AsyncBaseTransport
    creator: str
    at_page: int = 3
    keep: int = 7
    seen: int = 0
    cut: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        route, creator = route_of(request.method, request.url.path)
        if route is None or not route.endswith("/insights/earnings") or creator != self.creator:
            return response
        self.seen += 1
        if self.seen != self.at_page:
            return response
        body = json.loads(await response.aread())
        self.cut = len(body["data"]) - self.keep
        return httpx.Response(200, json={"data": body["data"][: self.keep], "nextCursor": None}, request=request)


async def test_a_page_cut_short_is_healed_by_the_reconciliation_and_said(sync_database_url: str) -> None:
    async with fault_world(sync_database_url, days=DAYS) as world:
        victim = world.creators[1]  # read through the agency: /creators/{c}/insights/earnings
        cut = CutShort(world.swap.inner, victim)
        world.swap.inner = cut
        ledger_only = await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER], import_first=False)
        assert not ledger_only.partial  # the walk cannot know: a short page with no cursor is a last page
        expected = ledger_truth(world)[victim]
        lost = expected - (await ledger_found(world))[victim]
        assert cut.cut > 0
        assert sum(lost.values()) > cut.cut  # the cut page's rest, and every newer page after it
        today = world.sandbox.clock.now().date()
        before_today = sum(n for (at, *_), n in lost.items() if at.date() < today)

        report = await sync_agency(world.ctx, world.agency, [SyncJob.RECONCILE], import_first=False)
        assert not report.partial, report
        mine = next(c for c in report.creators if c.creator_id == victim)
        assert mine.reconcile is not None
        assert mine.reconcile.outcome is ReconcileOutcome.HEALED
        assert mine.reconcile.recovered == before_today  # today is not over: the look-back re-reads it
        assert "healed" in mine.reconcile.summary
        others = [c.reconcile for c in report.creators if c.creator_id != victim]
        assert all(r is not None and r.outcome is ReconcileOutcome.AGREED for r in others), others
        still = expected - (await ledger_found(world))[victim]
        assert all(at.date() == today for at, *_ in still), still

        world.sandbox.advance(timedelta(minutes=5))
        assert not (await sync_agency(world.ctx, world.agency, [SyncJob.LEDGER], import_first=False)).partial
        assert await ledger_found(world) == ledger_truth(world)
