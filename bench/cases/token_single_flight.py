"""Case 6: many concurrent calls on an expiring token make one token request, at what cost per call.

The production auth path: the runtime's :class:`~onyx_adapters.fanvue_clients.ConnectionClients` (one SDK client per
connection, :class:`~onyx_fanvue.oauth.RefreshingAuth` over the SQL token store, keeping the token in memory and
reading the row only when its generation moved, after ``revalidate_after``, after a 401 or inside the leeway, and
refreshing under the store's database lock), the agency's connection stored by the real connect flow, on a fresh
migrated database, against the in-process sandbox. ``calls`` concurrent ``users.me()`` (``asyncio.gather``) run
three times per repeat: with a fixed bearer token and no token store (the ceiling of a call), on a fresh token
(nothing to refresh) and with the sandbox clock moved so the token has half the leeway left (every call finds it
expiring; one must refresh, the others must use the new token).

Reported, per engine: the fresh burst vs the bearer burst (what the token store costs a call; target <= 1.2x), and
the expiring burst vs the fresh one (the single-flight's overhead) with the token-endpoint requests of every burst
(``sandbox.token_endpoint_hits``): met when each expiring burst made exactly one and each fresh burst none. The
sandbox's rate limit is raised so that Fanvue's 200 / 60 s bucket (which the runtime's budget would honour by
waiting) does not enter a measurement about tokens.
"""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.harness import Case, Row, Size, time_ratio
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.token_store import AsyncSqlTokenStore
from onyx_core.ids import AgencyId
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue.oauth import OAuthToken
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NUMBER = 6
TITLE = "Token single-flight"
CASE_NAME = f"{NUMBER} {TITLE}"

POSTGRES_URL = os.environ.get(
    "ONYX_BENCH_POSTGRES_URL", os.environ.get("ONYX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
AGENCY = AgencyId("bench-agency")
EXPIRES_IN = 3600
NO_RATE_LIMIT = 10_000_000
FRESH_LIMIT = 1.2
"""A call on a fresh token may cost at most this many times the same call with a fixed bearer token."""
FRESH_NOTE = (
    "Where the time goes: a call on a fresh token reads no row: RefreshingAuth holds the token in memory and checks "
    "the store's in-process generation (a dict read) and the token's 60 s re-validation age, so the call costs "
    "what a bearer-token call does (before, every call read the row: a connection and a transaction, on SQLite a "
    "new aiosqlite thread and BEGIN IMMEDIATE, queueing for the write lock)"
)
ENGINE_NOTES = {
    "sqlite": (
        "Where the time goes: the expiring burst reads the row three times in all (the first caller in the "
        "process's queue; again under the store's lock, BEGIN IMMEDIATE on its own aiosqlite connection, before "
        "the one refresh; once more after the save moved the generation) while the other callers wait in the "
        "queue and then take the new token from memory: its extra time is the refresh's round trips, not per call"
    ),
    "postgresql": (
        "Where the time goes: as on SQLite, three reads of the row per expiring burst (queue; lock: a connection, "
        "pg_advisory_lock, SELECT ... FOR UPDATE; after the save) and one token request, the other callers "
        "waiting in the process's queue and then taking the new token from memory"
    ),
}


@dataclass(frozen=True)
class Params:
    calls: int
    """Concurrent calls per burst."""
    repeats: dict[str, int]
    """Bursts per kind (fresh, expiring) on each engine, alternating; the fastest of each counts."""


PARAMS: dict[Size, Params] = {
    "smoke": Params(calls=20, repeats={"sqlite": 1}),
    # as many SQLite repeats as PostgreSQL's now that a burst on a fresh token reads no row (it took 7-10 s)
    "quick": Params(calls=1000, repeats={"sqlite": 4, "postgresql": 4}),
    "full": Params(calls=1000, repeats={"sqlite": 10, "postgresql": 10}),
}


@dataclass
class Bursts:
    fresh: list[float] = field(default_factory=list)
    expiring: list[float] = field(default_factory=list)
    fresh_hits: list[int] = field(default_factory=list)
    expiring_hits: list[int] = field(default_factory=list)
    bearer: list[float] = field(default_factory=list)
    """The same burst with a fixed bearer token (no token store): how much of a call is the store's read."""
    lockers: list[int] = field(default_factory=list)
    """Callers per expiring burst that took the store's database lock (one refreshed, the rest re-read)."""
    fresh_loads: list[int] = field(default_factory=list)
    """Token store reads per fresh burst (the token is held in memory: 0, or 1 when its age ran out)."""
    expiring_loads: list[int] = field(default_factory=list)


@contextmanager
def _sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="onyx_bench_") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'onyx.db'}"
        upgrade(url)
        yield url


@contextmanager
def _postgresql_database() -> Iterator[str]:
    name = f"onyx_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name)
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgresql_reachable() -> bool:
    with suppress(psycopg.Error), psycopg.connect(POSTGRES_URL, connect_timeout=3):
        return True
    return False


def _count_lockers(store: AsyncSqlTokenStore) -> Callable[[], int]:
    """Count who takes the store's refresh lock (RefreshingAuth uses this very store object): returns the count."""
    lock = store.lock
    taken = 0

    @asynccontextmanager
    async def counted() -> AsyncIterator[None]:
        nonlocal taken
        taken += 1
        async with lock():
            yield

    store.lock = counted  # type: ignore[method-assign]
    return lambda: taken


def _count_loads(store: AsyncSqlTokenStore) -> Callable[[], int]:
    """Count the store's reads of the row (``load``; RefreshingAuth uses this very store object)."""
    load = store.load
    loads = 0

    async def counted() -> OAuthToken | None:
        nonlocal loads
        loads += 1
        return await load()

    store.load = counted  # type: ignore[method-assign]
    return lambda: loads


async def _bursts(url: str, params: Params, repeats: int) -> Bursts:
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=1, creators=1, days=1),
        clock=SandboxClock(NOW),
        rate_limit=NO_RATE_LIMIT,
        expires_in=EXPIRES_IN,
    )
    cipher = FernetCipher([FernetCipher.generate_key()])
    bursts = Bursts()
    async with sandbox_runtime(sandbox, url, cipher) as runtime:
        await connect_agency(runtime, sandbox, AGENCY, "Bench Agency")
        async with runtime.ctx.uow() as uow:
            connection = await uow.connections.for_agency(AGENCY)
        assert connection is not None
        client = runtime.clients(connection)
        store = runtime.clients.store(connection.id)
        leeway = runtime.ctx.refresh_policy.leeway

        async def left() -> timedelta:
            token = await store.load()
            assert token is not None
            return token.expires_at - sandbox.clock.now()

        lockers, loads = _count_lockers(store), _count_loads(store)

        async def burst(client: AsyncFanvueClient = client) -> tuple[float, int, int, int]:
            hits, locks, reads = sandbox.token_endpoint_hits, lockers(), loads()
            gc.collect()
            started = time.perf_counter()
            answers = await asyncio.gather(*(client.users.me() for _ in range(params.calls)))
            elapsed = time.perf_counter() - started
            assert all(me.uuid == sandbox.admin for me in answers)
            return elapsed, sandbox.token_endpoint_hits - hits, lockers() - locks, loads() - reads

        await client.users.me()  # warm: the first call's one-off costs belong to neither side
        for _ in range(repeats):  # interleaved, so that the machine's noise falls on every kind alike
            # a new bearer token each time: the sandbox clock moves past the last one's expiry between repeats
            async with sandbox.async_client(rate_budget=runtime.clients.rate_budget) as bearer:
                await bearer.users.me()
                bursts.bearer.append((await burst(bearer))[0])
            assert await left() > leeway
            seconds, hits, locks, reads = await burst()
            bursts.fresh.append(seconds)
            bursts.fresh_hits.append(hits + locks)  # a fresh token needs neither a refresh nor the lock
            bursts.fresh_loads.append(reads)
            sandbox.advance(await left() - leeway / 2)  # inside the leeway, still valid at Fanvue
            seconds, hits, locks, reads = await burst()
            bursts.expiring.append(seconds)
            bursts.expiring_hits.append(hits)
            bursts.lockers.append(locks)
            bursts.expiring_loads.append(reads)
    return bursts


def _fresh_row(engine: str, bursts: Bursts, params: Params) -> Row:
    fresh, bearer = min(bursts.fresh), min(bursts.bearer)
    notes = (
        f"token store reads per fresh burst {bursts.fresh_loads}; "
        f"{fresh / params.calls * 1e6:,.0f} us per call on a fresh token, {bearer / params.calls * 1e6:,.0f} us "
        f"with a fixed bearer token; best of {params.repeats[engine]} bursts each, interleaved. {FRESH_NOTE}"
    )
    workload = (
        f"{engine}: a call on a fresh token vs the same call with a fixed bearer token "
        f"({params.calls:,} concurrent calls)"
    )
    return time_ratio(CASE_NAME, workload, fresh, bearer, FRESH_LIMIT, params.calls, notes)


def _row(engine: str, bursts: Bursts, params: Params) -> Row:
    repeats = params.repeats[engine]
    expiring, fresh = min(bursts.expiring), min(bursts.fresh)
    ratio = expiring / fresh if fresh > 0 else float("inf")
    single = all(h == 1 for h in bursts.expiring_hits) and not any(bursts.fresh_hits)
    per_call_us = (expiring - fresh) / params.calls * 1e6
    notes = (
        f"token requests per expiring burst {bursts.expiring_hits}, token requests + lock takers per fresh burst "
        f"{bursts.fresh_hits}; callers "
        f"that took the database lock per expiring burst {bursts.lockers} (1 refreshed, the rest only re-read); "
        f"token store reads per expiring burst {bursts.expiring_loads}; "
        f"single-flight overhead {per_call_us:,.0f} us per call ({fresh / params.calls * 1e6:,.0f} us per call "
        f"on a fresh token, {min(bursts.bearer) / params.calls * 1e6:,.0f} us with a fixed bearer token and no "
        f"token store); best of {repeats} bursts each; sandbox rate limit raised (not a token cost). "
        f"{ENGINE_NOTES[engine]}"
    )
    return Row(
        CASE_NAME,
        f"{engine}: {params.calls:,} concurrent calls, expiring token vs fresh token",
        expiring,
        fresh,
        "s",
        ratio,
        "1 token request per burst",
        single,
        params.calls,
        notes,
    )


def run(size: Size) -> list[Row]:
    params = PARAMS[size]
    rows = []
    for engine, repeats in params.repeats.items():
        if engine == "postgresql" and not _postgresql_reachable():
            print(f"   (no PostgreSQL at {POSTGRES_URL}: the postgresql row is skipped)", flush=True)
            continue
        database = _sqlite_database() if engine == "sqlite" else _postgresql_database()
        with database as url:
            bursts = asyncio.run(_bursts(url, params, repeats))
            rows += [_fresh_row(engine, bursts, params), _row(engine, bursts, params)]
    return rows


CASE = Case(NUMBER, TITLE, run)
