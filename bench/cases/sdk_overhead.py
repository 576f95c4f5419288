"""Case 1: what the SDK costs on top of raw httpx, for one page of earnings (list + parse).

The page is real: the sandbox answers ``GET /creators/{uuid}/insights/earnings?size=50`` once, and its bytes and
headers (``X-RateLimit-*`` included, the reset moved into the future so the rate budget reads them as live) are then
served by an ``httpx.MockTransport`` whose own cost is a few microseconds and the same for both sides.

Onyx: ``AsyncFanvueClient(...).insights.earnings(...)`` (and the sync ``FanvueClient``) with the defaults a user
gets: retry policy, the client-side rate budget (200 / 60 s per key), hooks, typed errors, pydantic models.
Ceilings: ``httpx.AsyncClient.get(...)`` + ``.json()`` with the same URL, query and headers on the same transport
(sync twin for the sync rows); and the same get with the page parsed into the SDK's own models the fastest way
pydantic offers: ``TypeAdapter(CursorPage[EarningRow]).validate_json(response.content)``, the adapter built once
outside the timed region (no ``json()`` on that side). The second ceiling does all the typed parsing the SDK does,
so Onyx over it is the SDK's plumbing alone.

Times are the process's CPU time (``time.process_time``), not wall time: all of this work is CPU in one thread
(no socket, no sleep), and the shared machine's preemption would otherwise land on either side at random.

The default rate budget allows 200 requests per key in any 60 s, as Fanvue does, so one measurement is at most 200
pages through a fresh client (built outside the timed region, like the ceiling's ``httpx`` client).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter

from bench.harness import Case, Row, Size, time_ratio
from onyx_fanvue import DEFAULT_API_VERSION, DEFAULT_BASE_URL, AsyncFanvueClient, FanvueClient
from onyx_fanvue.models.common import CursorPage
from onyx_fanvue.models.insights import EarningRow
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NUMBER = 1
TITLE = "SDK overhead"
CASE_NAME = f"{NUMBER} {TITLE}"
RAW_LIMIT = 1.5
"""Onyx per page over a bare get + ``json()`` (no typed parsing at all)."""
PARSED_LIMIT = 1.05
"""Onyx per page over a bare get + the same typed parse: the plumbing may add at most 5 %."""


@dataclass(frozen=True)
class Params:
    pages: int
    """Pages per measurement (at most 200: the default rate budget's burst per key)."""
    repeats: int
    """Measurements per side; the best counts."""


PARAMS: dict[Size, Params] = {
    "smoke": Params(pages=20, repeats=2),
    "quick": Params(pages=200, repeats=25),
    "full": Params(pages=200, repeats=100),
}

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
PAGE_SIZE = 50
START = "2026-09-01T00:00:00Z"
END = "2026-11-25T00:00:00Z"
TOKEN = "bench-access-token"  # noqa: S105 - a placeholder the canned responder never checks
PAGE_ADAPTER: TypeAdapter[CursorPage[EarningRow]] = TypeAdapter(CursorPage[EarningRow])


@dataclass(frozen=True)
class CannedPage:
    """One real page of earnings as the sandbox served it, and the request that fetches it."""

    creator: str
    body: bytes
    headers: list[tuple[str, str]]
    rows: int

    @property
    def path(self) -> str:
        return f"/creators/{self.creator}/insights/earnings"

    @property
    def url(self) -> str:
        return f"{DEFAULT_BASE_URL}{self.path}"

    @property
    def params(self) -> dict[str, Any]:
        return {"startDate": START, "endDate": END, "size": PAGE_SIZE}


def canned_page() -> CannedPage:
    """Ask the sandbox once for a full page of a creator's earnings."""
    sandbox = FanvueSandbox(spec=WorldSpec(seed=1, creators=1, days=60), clock=SandboxClock(NOW))
    creator = sandbox.world.creators[0].person.uuid
    page = CannedPage(creator, b"", [], 0)
    with sandbox.client() as client:
        response = client.request("GET", page.path, params=page.params)
    response.raise_for_status()
    # the sandbox's clock is frozen in the past: a live reset (a minute from now) keeps the budget's observe() path
    reset = str(int(time.time()) + 60)
    headers = [(k, reset if k.lower() == "x-ratelimit-reset" else v) for k, v in response.headers.items()]
    rows = len(response.json()["data"])
    assert rows == PAGE_SIZE, rows
    return CannedPage(creator, response.content, headers, rows)


def responder(page: CannedPage) -> httpx.MockTransport:
    """A transport that answers every request with the canned page (the same few microseconds for both sides)."""

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=page.headers, content=page.body)

    return httpx.MockTransport(answer)


RAW_HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Fanvue-API-Version": DEFAULT_API_VERSION}


@dataclass
class Timings:
    onyx: float = float("inf")
    raw: float = float("inf")
    parsed: float = float("inf")

    def take(self, name: str, seconds: float) -> None:
        setattr(self, name, min(getattr(self, name), seconds))


async def _measure_async(page: CannedPage, params: Params) -> Timings:
    transport = responder(page)
    timings = Timings()

    for repeat in range(params.repeats):
        sdk = AsyncFanvueClient(access_token=TOKEN, transport=transport)
        http = httpx.AsyncClient(transport=transport)

        async def onyx(sdk: AsyncFanvueClient = sdk) -> None:
            for _ in range(params.pages):
                result = await sdk.insights.earnings(
                    creator_uuid=page.creator, start_date=START, end_date=END, size=PAGE_SIZE
                )
                assert len(result.data) == page.rows

        async def raw(http: httpx.AsyncClient = http) -> None:
            for _ in range(params.pages):
                response = await http.get(page.url, params=page.params, headers=RAW_HEADERS)
                assert len(response.json()["data"]) == page.rows

        async def parsed(http: httpx.AsyncClient = http) -> None:
            for _ in range(params.pages):
                response = await http.get(page.url, params=page.params, headers=RAW_HEADERS)
                assert len(PAGE_ADAPTER.validate_json(response.content).data) == page.rows

        sides: list[tuple[str, Callable[[], Awaitable[None]]]] = [("onyx", onyx), ("raw", raw), ("parsed", parsed)]
        if repeat % 2:
            sides.reverse()  # neither side always runs first
        try:
            for name, side in sides:
                gc.collect()
                started = time.process_time()
                await side()
                timings.take(name, time.process_time() - started)
        finally:
            await sdk.aclose()
            await http.aclose()
    return timings


def _measure_sync(page: CannedPage, params: Params) -> Timings:
    transport = responder(page)
    timings = Timings()
    for repeat in range(params.repeats):
        with FanvueClient(access_token=TOKEN, transport=transport) as sdk, httpx.Client(transport=transport) as http:

            def onyx(sdk: FanvueClient = sdk) -> None:
                for _ in range(params.pages):
                    result = sdk.insights.earnings(
                        creator_uuid=page.creator, start_date=START, end_date=END, size=PAGE_SIZE
                    )
                    assert len(result.data) == page.rows

            def raw(http: httpx.Client = http) -> None:
                for _ in range(params.pages):
                    response = http.get(page.url, params=page.params, headers=RAW_HEADERS)
                    assert len(response.json()["data"]) == page.rows

            def parsed(http: httpx.Client = http) -> None:
                for _ in range(params.pages):
                    response = http.get(page.url, params=page.params, headers=RAW_HEADERS)
                    assert len(PAGE_ADAPTER.validate_json(response.content).data) == page.rows

            sides: list[tuple[str, Callable[[], None]]] = [("onyx", onyx), ("raw", raw), ("parsed", parsed)]
            if repeat % 2:
                sides.reverse()
            for name, side in sides:
                gc.collect()
                started = time.process_time()
                side()
                timings.take(name, time.process_time() - started)
    return timings


def _rows(flavour: str, timings: Timings, page: CannedPage, params: Params) -> list[Row]:
    per_page = timings.onyx / params.pages * 1e6
    plumbing = (timings.onyx - timings.parsed) / params.pages * 1e6
    parsing = (timings.parsed - timings.raw) / params.pages * 1e6
    workload = f"{flavour}: {params.pages} pages of {page.rows} earnings rows ({len(page.body) / 1024:.0f} KB)"
    common = (
        f"{per_page:.0f} us/page through the SDK. The ceilings: a bare get + json() (no typed parsing), and a bare "
        "get + TypeAdapter(CursorPage[EarningRow]).validate_json(content) with an adapter built once (the SDK's "
        f"own models, the fastest pydantic path, no json()); the typed parse costs {parsing:.0f} us/page more "
        f"than json(), and the SDK's plumbing {plumbing:.0f} us/page on top of the typed parse. The SDK validates "
        "the response bytes with one cached adapter per type; a Cents int is looked up in a table of Money per "
        "amount (here every amount after the first page is a hit; a new amount costs one Money(cents=...), as "
        "before) and a UTC timestamp is parsed by one fromisoformat; the first attempt runs outside tenacity; the "
        "User-Agent and the bucket key are computed once. On the httpx client the SDK makes, its headers "
        "(version, User-Agent, Accept) and a fixed access token are the client's defaults, set once: no per-request "
        "header merge (httpx replaced two of its own defaults per request) and no auth flow of ours (a refreshing "
        "auth stays a flow); X-RateLimit-* are read from the raw header bytes in one pass; the async rate budget "
        "takes a free token without a coroutine; a path's quoted creator uuid is remembered. Profile (cProfile, "
        "pyinstrument; CPU time): the typed parse is about 2x json.loads (model building in pydantic-core, one "
        "Python call per timestamp and per amount); the plumbing left (about 30-50 us/page at a load average of 5-8 "
        "on the 2 shared CPUs, from 60-70 us before these changes in back-to-back runs) is the rate budget "
        "(reading the three X-RateLimit-* values into a RateLimitInfo and a datetime, then observe() and "
        "acquire(), each under the budget's lock: together about half of it), building the "
        "Call (the params dict, iso(), clean_params) and the SDK's own frames (request, attempt, finish, parse: "
        "about a microsecond each), and keeping the fixed token remembered by scrub as in use (one unwrap per "
        "request). Default client settings (rate budget on), a fresh client per measurement; CPU time of the "
        "process"
    )
    return [
        time_ratio(
            CASE_NAME,
            f"{workload} vs httpx get + json()",
            timings.onyx,
            timings.raw,
            RAW_LIMIT,
            params.pages,
            notes=common,
        ),
        time_ratio(
            CASE_NAME,
            f"{workload} vs httpx get + the same pydantic parse (validate_json, adapter built once)",
            timings.onyx,
            timings.parsed,
            PARSED_LIMIT,
            params.pages,
        ),
    ]


def run(size: Size) -> list[Row]:
    params = PARAMS[size]
    page = canned_page()
    async_timings = asyncio.run(_measure_async(page, params))
    sync_timings = _measure_sync(page, params)
    return _rows("async", async_timings, page, params) + _rows("sync", sync_timings, page, params)


CASE = Case(NUMBER, TITLE, run)
