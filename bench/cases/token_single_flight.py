"""Case 6: many concurrent calls on an expiring token make one token request, at what cost per call.

The production auth path: the runtime's :class:`~onyx_adapters.fanvue_clients.ConnectionClients` (one SDK client per
connection, :class:`~onyx_fanvue.oauth.RefreshingAuth` reading the tokens from the SQL token store on every request,
refreshing under the store's database lock), the agency's connection stored by the real connect flow, on a fresh
migrated database, against the in-process sandbox. ``calls`` concurrent ``users.me()`` (``asyncio.gather``) run
twice per repeat: on a fresh token (Onyx's ceiling: nothing to refresh) and with the sandbox clock moved so the
token has half the leeway left (every call finds it expiring; one must refresh, the others must use the new token).

Reported: the wall time of the expiring burst vs the fresh one (the ratio is the single-flight's overhead) and the
token-endpoint requests of every burst (``sandbox.token_endpoint_hits``): met when each expiring burst made exactly
one and each fresh burst none. The sandbox's rate limit is raised so that Fanvue's 200 / 60 s bucket (which the
runtime's budget would honour by waiting) does not enter a measurement about tokens.
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

from bench.harness import Case, Row, Size
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.token_store import AsyncSqlTokenStore
from onyx_core.ids import AgencyId
from onyx_fanvue import AsyncFanvueClient
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
ENGINE_NOTES = {
    "sqlite": (
        "Where the time goes: every call's token read opens an aiosqlite connection (NullPool: a thread, PRAGMAs) "
        "in a BEGIN IMMEDIATE transaction (AsyncSqlTokenStore._read), so concurrent reads queue for SQLite's write "
        "lock through its sleeping busy handler; in the expiring burst most callers queue on the store's asyncio "
        "lock instead (FIFO, no sleeps), which is why that burst can be the faster one"
    ),
    "postgresql": (
        "Where the time goes: after the one refresh, every other caller that found the token expiring still takes "
        "the database lock in turn (a connection, pg_advisory_lock, SELECT ... FOR UPDATE, re-read, unlock) only to "
        "find the new token: RefreshingAuth re-checks under store.lock(), with no in-process single-flight first"
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
    "quick": Params(calls=1000, repeats={"sqlite": 2, "postgresql": 4}),
    "full": Params(calls=1000, repeats={"sqlite": 5, "postgresql": 10}),
}


@dataclass
class Bursts:
    fresh: list[float] = field(default_factory=list)
    expiring: list[float] = field(default_factory=list)
    fresh_hits: list[int] = field(default_factory=list)
    expiring_hits: list[int] = field(default_factory=list)
    bearer: list[float] = field(default_factory=list)
    lockers: list[int] = field(default_factory=list)
    """Callers per expiring burst that took the store's database lock (one refreshed, the rest re-read)."""
    """The same burst with a fixed bearer token (no token store): how much of a call is the store's read."""


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

        lockers = _count_lockers(store)

        async def burst(client: AsyncFanvueClient = client) -> tuple[float, int, int]:
            hits, locks = sandbox.token_endpoint_hits, lockers()
            gc.collect()
            started = time.perf_counter()
            answers = await asyncio.gather(*(client.users.me() for _ in range(params.calls)))
            elapsed = time.perf_counter() - started
            assert all(me.uuid == sandbox.admin for me in answers)
            return elapsed, sandbox.token_endpoint_hits - hits, lockers() - locks

        await client.users.me()  # warm: the first call's one-off costs belong to neither side
        async with sandbox.async_client(rate_budget=runtime.clients.rate_budget) as bearer:
            await bearer.users.me()
            bursts.bearer.append((await burst(bearer))[0])
        for _ in range(repeats):
            assert await left() > leeway
            seconds, hits, locks = await burst()
            bursts.fresh.append(seconds)
            bursts.fresh_hits.append(hits + locks)  # a fresh token needs neither a refresh nor the lock
            sandbox.advance(await left() - leeway / 2)  # inside the leeway, still valid at Fanvue
            seconds, hits, locks = await burst()
            bursts.expiring.append(seconds)
            bursts.expiring_hits.append(hits)
            bursts.lockers.append(locks)
    return bursts


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
            rows.append(_row(engine, asyncio.run(_bursts(url, params, repeats)), params))
    return rows


CASE = Case(NUMBER, TITLE, run)
