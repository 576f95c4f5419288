"""S6: the fault matrix. Every fault x every Fanvue endpoint the sync reads, on SQLite and PostgreSQL.

One world per engine (module scope: a full first sync, then every case in turn; each case leaves it current again).
Each case, for the job that reads its endpoint:

1. a clean sync of that job, which must store exactly Fanvue's truth (the case's own "first sync");
2. the fault on that one endpoint for one creator, and a sync: nothing stored is overwritten (no metric value
   changes, a failed metric keeps its ``observed_at``, no ledger, history, link or top-spender row is deleted or
   changed, none appears in the unchanged world), and no other creator is marked partial;
3. the fault cleared, the world changed a little (a new payment and a refund, more followers), the clock moved a
   minute, and one sync: the job's data equals the truth again, computed straight from the sandbox's world (the
   oracle below), not from an earlier sync;
4. the report of step 2 was ``partial`` exactly when a rerun can fix the fault (checked last, so a wrong flag
   does not hide a data problem).

The world: two creators, the first with her own connection too (reversals, posts and likes are read with it),
the second through the agency's connection only. Faults on ``/creators/{c}/...`` hit the agency-only creator
(her own connection cannot stand in), faults on the own-account paths hit the first creator.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from harness import AGENCY, NOW, SyncWorld
from sqlalchemy import select
from sqlalchemy.engine import make_url

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, connect_creator, sandbox_runtime
from onyx_adapters.sql import schema
from onyx_adapters.sql.migrate import upgrade
from onyx_core.ids import CreatorId
from onyx_core.schedule import SyncJob
from onyx_core.stats import Metric, MissingReason
from onyx_core.usecases import AgencySyncReport, import_creators, sync_agency
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.endpoints import route_of
from onyx_fanvue.sandbox.endpoints.chats import chats_of
from onyx_fanvue.sandbox.endpoints.users import account_json
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

pytestmark = pytest.mark.asyncio(loop_scope="module")

READ_TIMEOUT = 0.2
"""Seconds. A ``hang`` waits in real time until the client's read timeout fires (3 attempts with the SDK's
retries), so the matrix keeps it short; the in-process sandbox answers a healthy request in milliseconds."""

TINY = timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class SchemaSwap(httpx.AsyncBaseTransport):
    """In front of the sandbox transport: logs every attempt (a connect timeout or a hang never reaches the
    sandbox's own log) and answers chosen requests with well-formed JSON of another schema, a fault the sandbox
    does not have."""

    inner: httpx.AsyncBaseTransport
    rules: list[tuple[str, str]] = field(default_factory=list)  # (route template, creator uuid)
    attempts: list[tuple[str | None, str | None]] = field(default_factory=list)  # (route, subject)
    owners: dict[str, str] = field(default_factory=dict)  # access token -> user uuid

    def subject(self, request: httpx.Request) -> tuple[str | None, str | None]:
        route, creator = route_of(request.method, request.url.path)
        token = request.headers.get("authorization", "").partition(" ")[2]
        return route, creator or self.owners.get(token)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route, subject = self.subject(request)
        self.attempts.append((route, subject))
        response = await self.inner.handle_async_request(request)
        if response.status_code == 200 and (route, subject) in self.rules:
            return httpx.Response(200, json=UNKNOWN_SCHEMA, request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


UNKNOWN_SCHEMA = {"result": {"items": [], "schemaVersion": 2}, "status": "ok"}


@dataclass
class MatrixWorld(SyncWorld):
    swap: SchemaSwap


@asynccontextmanager
async def fault_world(database_url: str, *, days: int = 20) -> AsyncIterator[MatrixWorld]:
    """:func:`harness.synced_world` with two creators (the first connected personally too), short client timeouts
    and the :class:`SchemaSwap` transport in front of the sandbox. Nothing is synced yet."""
    sandbox = FanvueSandbox(spec=WorldSpec(seed=1, creators=2, days=days), clock=SandboxClock(NOW))
    cipher = FernetCipher([FernetCipher.generate_key()])
    swap = SchemaSwap(sandbox.transport())
    sandbox.first_use_hooks.append(lambda token, info: swap.owners.__setitem__(token, info.user_uuid))
    options = {"transport": swap, "timeout": httpx.Timeout(READ_TIMEOUT)}
    async with sandbox_runtime(sandbox, database_url, cipher, virtual_time=True, client_options=options) as runtime:
        await connect_agency(runtime, sandbox, AGENCY, "Test Agency")
        await import_creators(runtime.ctx, AGENCY)
        ordered = [CreatorId(c.person.uuid) for c in sandbox.world.creators]
        await connect_creator(runtime, sandbox, sandbox.world.creators[0].person.handle)
        yield MatrixWorld(sandbox, runtime, AGENCY, ordered, ordered[:1], swap)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per engine for the whole matrix (the harness's ``sync_database_url`` is per test)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fault_matrix') / 'onyx.db'}"
        upgrade(url)
        yield url
        return
    postgres_url = str(request.getfixturevalue("postgres_url"))
    template = str(request.getfixturevalue("postgresql_template"))
    name = f"onyx_matrix_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_url(postgres_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix(matrix_database_url: str) -> AsyncIterator[MatrixWorld]:
    async with fault_world(matrix_database_url) as world:
        first = await sync_agency(world.ctx, world.agency)
        assert not first.partial, first
        assert_current(world, await stored(world), set(PARTS))
        yield world


# ---------------------------------------------------------------------------------------------- what is stored

VOLATILE = {
    # bookkeeping that a healthy read moves forward; the values themselves are compared (``latest_at``: the newest
    # attempt, a column copy of the record's, which every read moves, failed or not)
    "creator_stats": {"observed_at", "source", "stale_since", "pending_value", "record", "recorded_at", "latest_at"},
    "top_spenders": {"as_of", "last_seen_at"},
}
DATA_TABLES = ("creator_stats", "ledger_entries", "subscriber_days", "top_spenders", "tracking_links")
Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


async def stored(world: SyncWorld) -> Rows:
    """Every row of the data tables, by primary key."""
    out: Rows = {}
    async with world.runtime.engine.connect() as conn:
        for name in DATA_TABLES:
            table = schema.metadata.tables[name]
            keys = [c.name for c in table.primary_key.columns]
            rows = (await conn.execute(select(table))).mappings().all()
            out[name] = {tuple(row[k] for k in keys): dict(row) for row in rows}
    return out


def comparable(rows: dict[tuple[Any, ...], dict[str, Any]], table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    skip = VOLATILE.get(table, set())
    return {key: {k: v for k, v in row.items() if k not in skip} for key, row in rows.items()}


def assert_nothing_overwritten(
    before: Rows, after: Rows, faulted: set[tuple[str, str]], *, skip_scopes: frozenset[str] = frozenset()
) -> None:
    """No row of ``before`` is gone or changed and none appeared (the world did not change); a metric whose read
    failed (``faulted``: (creator, metric)) keeps its ``observed_at`` too (S1: only the stale flag may change)."""
    for table in DATA_TABLES:
        old, new = comparable(before[table], table), comparable(after[table], table)
        if table == "top_spenders":
            old = {k: v for k, v in old.items() if k[0] not in skip_scopes}
            new = {k: v for k, v in new.items() if k[0] not in skip_scopes}
        missing = sorted(old.keys() - new.keys())
        assert not missing, f"{table}: {len(missing)} rows deleted, e.g. {missing[:3]}"
        changed = [(k, old[k], new[k]) for k in old if old[k] != new[k]]
        assert not changed, f"{table}: {len(changed)} rows changed, e.g. {changed[:2]}"
        assert len(new) == len(old), f"{table}: {len(new) - len(old)} rows appeared in an unchanged world"
    for key, row in before["creator_stats"].items():
        now = after["creator_stats"][key]
        if row["observed_at"] is None:  # never observed (posts and likes without the creator's own grant)
            assert now["observed_at"] is None
        elif key in faulted:
            assert now["observed_at"] == row["observed_at"], f"{key}: a failed read moved observed_at"
        else:
            assert now["observed_at"] >= row["observed_at"]


# ---------------------------------------------------------------------------------------------- the oracle


def _ms(moment: datetime) -> datetime:
    """Fanvue renders timestamps to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def truth(world: SyncWorld) -> dict[str, dict[Any, Any]]:
    """What a fault-free sync must have stored now, from the sandbox's own data (not through its API)."""
    data, now = world.sandbox.world, world.sandbox.clock.now()
    out: dict[str, dict[Any, Any]] = {part: {} for part in PARTS}
    agency: dict[str, list[int]] = {}
    for creator in world.creators:
        account = account_json(data, creator, now)["account"]
        out["stats"][(creator, Metric.REVENUE_TOTAL.value)] = account["earnings"]["total"]
        out["stats"][(creator, Metric.FOLLOWERS.value)] = account["fans"]["followers"]
        out["stats"][(creator, Metric.SUBSCRIBERS.value)] = account["fans"]["subscribers"]
        out["stats"][(creator, Metric.AVAILABLE_BALANCE.value)] = account["earnings"]["availableBalance"]
        out["stats"][(creator, Metric.CHATS.value)] = len(chats_of(data, creator))
        if creator in world.own:
            me = data.user_json(creator)
            out["stats"][(creator, Metric.POSTS.value)] = me["contentCounts"]["postCount"]
            out["stats"][(creator, Metric.LIKES.value)] = me["likesCount"]
        rows: Counter[tuple[Any, ...]] = Counter((_ms(r.date), r.gross, r.net) for r in data.iter_earnings(creator))
        if creator in world.own:  # reversals are readable with the creator's own token only
            rows.update((_ms(r.date), -r.gross, -r.net) for r in data.iter_reversals(creator, end=now + TINY))
        out["ledger"][creator] = rows
        spenders = data.top_spenders(creator, None, now + TINY, limit=50)
        out["spenders"][creator] = [(s.user.uuid, s.gross, s.net) for s in spenders]
        for s in spenders:
            total = agency.setdefault(s.user.uuid, [0, 0])
            total[0], total[1] = total[0] + s.gross, total[1] + s.net
        out["links"][creator] = sorted(
            (link.uuid, link.clicks, link.acquired_subscribers, link.acquired_followers)
            for link in data.tracking_links(creator)
        )
        for day in data.subscriber_trend(creator, None, now + TINY):
            out["history"][(creator, day.date.date())] = (day.new_subscribers_count, day.cancelled_subscribers_count)
    ranked = sorted(agency.items(), key=lambda kv: (-kv[1][0], kv[0]))[:50]
    out["spenders"][f"agency:{world.agency}"] = [(fan, gross, net) for fan, (gross, net) in ranked]
    return out


def found(rows: Rows, world: SyncWorld) -> dict[str, dict[Any, Any]]:
    """The same view of what is stored."""
    out: dict[str, dict[Any, Any]] = {part: {} for part in PARTS}
    out["stats"] = {key: row["value"] for key, row in rows["creator_stats"].items()}
    out["ledger"] = {c: Counter() for c in world.creators}
    for row in rows["ledger_entries"].values():
        out["ledger"][row["creator_id"]][(row["occurred_at"], row["gross_cents"], row["net_cents"])] += 1
    for (scope, _rank), row in sorted(rows["top_spenders"].items()):
        out["spenders"].setdefault(scope, []).append((row["fan_id"], row["gross_cents"], row["net_cents"]))
    for row in rows["tracking_links"].values():
        link = (row["id"], row["clicks"], row["acquired_subscribers"], row["acquired_followers"])
        out["links"].setdefault(row["creator_id"], []).append(link)
    out["links"] = {c: sorted(links) for c, links in out["links"].items()}
    out["history"] = {key: (row["new"], row["cancelled"]) for key, row in rows["subscriber_days"].items()}
    return out


PARTS = ("stats", "ledger", "history", "spenders", "links")
PART_OF_JOB = {
    SyncJob.STATS: "stats",
    SyncJob.LEDGER: "ledger",
    SyncJob.HISTORY: "history",
    SyncJob.TOP_SPENDERS: "spenders",
    SyncJob.LINKS: "links",
}


def _diff(expected: Any, got: Any) -> str:
    if isinstance(expected, Counter) and isinstance(got, Counter):
        return f"missing {list((expected - got).items())[:3]}, extra {list((got - expected).items())[:3]}"
    return f"stored {got!r:.300}, Fanvue {expected!r:.300}"


def assert_current(world: SyncWorld, rows: Rows, parts: set[str]) -> None:
    """The stored ``parts`` equal Fanvue's truth now, and no metric Onyx can read is stale."""
    expected, got = truth(world), found(rows, world)
    for part in parts:
        for key, value in expected[part].items():
            assert got[part].get(key) == value, f"{part} {key}: {_diff(value, got[part].get(key))}"
    if "stats" in parts:
        stale = {k: r["stale_since"] for k, r in rows["creator_stats"].items() if k in expected["stats"]}
        assert all(since is None for since in stale.values()), f"stale after a clean sync: {stale}"
    if "history" in parts:
        assert got["history"] == expected["history"]


# ---------------------------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Target:
    route: str
    creator: int  # index in the world's creators
    job: SyncJob
    metrics: frozenset[str] = frozenset()  # the stats this endpoint feeds for that creator
    unassigned: bool = False
    """Read only when the agency has lost the creator: the case takes her from the agency admin first (and gives
    her back at the end), so the stats fall back to her own connection."""


AGENCY_STATS = frozenset(
    {Metric.REVENUE_TOTAL.value, Metric.FOLLOWERS.value, Metric.SUBSCRIBERS.value, Metric.AVAILABLE_BALANCE.value}
)
ENDPOINTS = {
    "creator_account": Target("/creators/{creator}/account", 1, SyncJob.STATS, AGENCY_STATS),
    "creator_chats": Target("/creators/{creator}/chats", 1, SyncJob.STATS, frozenset({Metric.CHATS.value})),
    "users_me": Target("/users/me", 0, SyncJob.STATS, frozenset({Metric.POSTS.value, Metric.LIKES.value})),
    # The creator's own /users/account and /chats are read only when the agency cannot read her at all: a
    # normal sync asks her own connection for posts and likes alone (/users/me).
    "users_account": Target(
        "/users/account",
        0,
        SyncJob.STATS,
        frozenset({Metric.REVENUE_TOTAL.value, Metric.AVAILABLE_BALANCE.value}),
        True,
    ),
    "own_chats": Target("/chats", 0, SyncJob.STATS, frozenset({Metric.CHATS.value}), True),
    "earnings": Target("/creators/{creator}/insights/earnings", 1, SyncJob.LEDGER),
    "spending": Target("/insights/spending", 0, SyncJob.LEDGER),
    "subscribers": Target("/creators/{creator}/insights/subscribers", 1, SyncJob.HISTORY),
    "top_spenders": Target("/creators/{creator}/insights/top-spenders", 1, SyncJob.TOP_SPENDERS),
    "tracking_links": Target("/creators/{creator}/tracking-links", 1, SyncJob.LINKS),
}

FAULTS: dict[str, dict[str, Any]] = {
    "connect_timeout": {"kind": "connect_timeout"},
    "read_timeout": {"kind": "hang", "seconds": 5.0},
    "reset": {"kind": "reset"},
    "500": {"kind": "error", "status": 500},
    "502": {"kind": "error", "status": 502},
    "429": {"kind": "rate_limit", "retry_after": 5},  # a storm: every retry the SDK makes gets 429 too
    "malformed": {"kind": "malformed"},
    "empty": {"kind": "empty"},
    "unknown_schema": {},  # by SchemaSwap
}
EMPTY_IS_DATA = {"earnings", "spending", "subscribers", "top_spenders", "tracking_links"}
"""An empty ledger, trend, ranking or link page is a quiet day to every consumer (the gateway's rule): the sync
cannot tell it from a fault, so it completes, marks nothing partial and, above all, deletes and zeroes nothing.
(An empty chat list is different: the gateway reports a count of 0 as ``Missing(EMPTY)``, so it is partial.)"""


def expect_partial(fault: str, endpoint: str) -> bool:
    return not (fault == "empty" and endpoint in EMPTY_IS_DATA)


def cases() -> list[Any]:
    return [pytest.param(fault, endpoint, id=f"{fault}-{endpoint}") for fault in FAULTS for endpoint in ENDPOINTS]


def inject(world: MatrixWorld, fault: str, target: Target) -> None:
    creator = world.creators[target.creator]
    if fault == "unknown_schema":
        world.swap.rules.append((target.route, creator))
    else:
        world.sandbox.inject(route=target.route, creator=creator, **FAULTS[fault])


def clear(world: MatrixWorld) -> None:
    world.sandbox.clear_faults()
    world.swap.rules.clear()


def change_the_world(world: SyncWorld, creator: CreatorId) -> None:
    """A subscription paid after the faulted sync, a refund of it (own connection only), more followers: the
    restoring sync must pick each of them up."""
    sandbox = world.sandbox
    sandbox.advance(timedelta(seconds=1))
    paid = sandbox.add_earning(creator, gross=1499, source="subscription")
    sandbox.advance(timedelta(seconds=1))
    if creator in world.own:
        sandbox.add_refund(creator, paid.transaction_order_id, gross=499)
    sandbox.set_followers(creator, sandbox.world.followers(creator) + 7)


async def sync_job(world: SyncWorld, job: SyncJob) -> AgencySyncReport:
    return await sync_agency(world.ctx, world.agency, [job], import_first=False)


DIRTY: set[str] = set()
"""Set while a case runs: a case that stops half-way leaves it set, and the next case heals the world first."""


def partial_by_creator(report: AgencySyncReport) -> dict[CreatorId, bool]:
    return {c.creator_id: c.partial for c in report.creators}


@pytest.mark.parametrize(("fault", "endpoint"), cases())
async def test_a_fault_overwrites_nothing_and_the_next_clean_sync_restores_everything(
    matrix: MatrixWorld, fault: str, endpoint: str
) -> None:
    world, target = matrix, ENDPOINTS[endpoint]
    victim = world.creators[target.creator]
    admin = world.sandbox.world.admin.uuid
    clear(world)  # a failed earlier case may have left its fault on
    if target.unassigned:
        assert world.sandbox.unassign(admin, victim)
    try:
        await one_case(world, target, fault, endpoint)
    finally:
        if target.unassigned:
            world.sandbox.assign(admin, victim, "ADMIN")


async def one_case(world: MatrixWorld, target: Target, fault: str, endpoint: str) -> None:
    victim = world.creators[target.creator]
    part = {PART_OF_JOB[target.job]}
    if DIRTY:  # an earlier case failed half-way: heal everything, ledger lag included
        await sync_job(world, SyncJob.LEDGER)
        await sync_job(world, SyncJob.STATS)
    DIRTY.add(endpoint)

    first = await sync_job(world, target.job)
    assert not first.partial, first
    before = await stored(world)
    assert_current(world, before, part)

    # Syncs are apart in time: at one same instant the merge lets a success win over a failure (by design).
    world.sandbox.advance(timedelta(seconds=1))
    inject(world, fault, target)
    tried = len(world.swap.attempts)
    faulted = await sync_job(world, target.job)
    assert (target.route, victim) in world.swap.attempts[tried:], "the faulted endpoint was never called"
    assert_nothing_overwritten(before, await stored(world), {(victim, m) for m in target.metrics})
    others = {c: p for c, p in partial_by_creator(faulted).items() if c != victim}
    assert not any(others.values()), f"a fault for one creator marked another: {others}"

    clear(world)
    change_the_world(world, victim)
    world.sandbox.advance(timedelta(minutes=1))
    restored = await sync_job(world, target.job)
    assert not restored.partial, restored
    assert_current(world, await stored(world), part)

    DIRTY.clear()  # the world is current again; only the report's flag is left to check
    assert faulted.partial is expect_partial(fault, endpoint), faulted
    assert partial_by_creator(faulted)[victim] is expect_partial(fault, endpoint)


async def test_after_the_whole_matrix_a_full_sync_is_current_everywhere(matrix: MatrixWorld) -> None:
    """Every case left the world current for its own job; one full sync makes every table current at once."""
    clear(matrix)
    report = await sync_agency(matrix.ctx, matrix.agency)
    assert not report.partial, report
    assert_current(matrix, await stored(matrix), set(PARTS))


# ---------------------------------------------------------------------------------------------- not assigned


@pytest.mark.parametrize(
    "who",
    [
        "own_connection",
        "agency_only",
    ],
)
async def test_an_unassigned_creator_falls_back_to_her_own_connection_or_is_reported_not_assigned(
    sync_database_url: str, who: str
) -> None:
    """The agency loses a creator (``sandbox.unassign``): her ``/creators/{c}/...`` reads answer 404 "not assigned".

    A creator with her own connection is then read entirely with it (``with_connection`` falls back on
    ``NOT_ASSIGNED``): nothing is stale, nothing is partial, her values stay current. A creator without one cannot be
    read at all: each job reports ``not_assigned``, which is rightly *not* partial (a rerun cannot fix it; a person
    must reassign or connect her), and every stored value stays as it was. Reassigning restores everything.

    The agency-wide top 50 is left out of the "nothing overwritten" check: it is built from ``/creators``, which no
    longer lists her, so it is replaced by a ranking of the creators the agency still manages (a choice to review:
    the importer, by contrast, never lets a missing creator change anything).
    """
    async with fault_world(sync_database_url) as world:
        assert not (await sync_agency(world.ctx, world.agency)).partial
        before = await stored(world)
        victim = world.creators[0 if who == "own_connection" else 1]
        admin = world.sandbox.world.admin.uuid
        assert world.sandbox.unassign(admin, victim)
        world.sandbox.advance(timedelta(seconds=1))

        report = await sync_agency(world.ctx, world.agency)
        assert any(r.status == 404 and r.creator == victim for r in world.sandbox.requests), "never not-assigned"
        mine = next(c for c in report.creators if c.creator_id == victim)
        assert not report.partial, report
        faulted: set[tuple[str, str]] = set()
        if who == "own_connection":
            assert mine.failures == {}
            assert mine.stats is not None
            assert mine.stats.stale == {}
        else:
            assert mine.failures == {
                "ledger:earnings": MissingReason.NOT_ASSIGNED,
                "ledger:reversals": MissingReason.PERMISSION,  # never readable by an agency
                SyncJob.RECONCILE: MissingReason.NOT_ASSIGNED,
                SyncJob.HISTORY: MissingReason.NOT_ASSIGNED,
                SyncJob.TOP_SPENDERS: MissingReason.NOT_ASSIGNED,
                SyncJob.LINKS: MissingReason.NOT_ASSIGNED,
            }
            assert mine.stats is not None
            assert {m: r for m, r in mine.stats.stale.items() if r is not MissingReason.PERMISSION} == dict.fromkeys(
                (*AGENCY_STATS, Metric.CHATS.value), MissingReason.NOT_ASSIGNED
            )
            faulted = {(victim, m) for m in (*AGENCY_STATS, Metric.CHATS.value)}
        after = await stored(world)
        assert_nothing_overwritten(before, after, faulted, skip_scopes=frozenset({f"agency:{world.agency}"}))

        world.sandbox.assign(admin, victim, "ADMIN")
        change_the_world(world, victim)
        world.sandbox.advance(timedelta(minutes=1))
        assert not (await sync_agency(world.ctx, world.agency)).partial
        assert_current(world, await stored(world), set(PARTS))
