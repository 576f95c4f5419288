"""The dashboard through the app's response cache, on SQLite and PostgreSQL: a second identical request (however it
spells its query) is served from the cache without a read; a ledger write by another path (a polled upsert through
the repository, a webhook delivery, the poll that settles it) invalidates it, and an upsert that changes nothing
does not; every write of dashboard data moves the stamp, a rolled-back one does not; a member with another creator
scope never gets the other's entry; a foreign agency's creator stays 404."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Agency, Tenancy, leaks
from web_helpers import KEY
from webhook_kit import SECRET, sandbox_agency, signed, tip_body

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.repositories.versions import dashboard_stamp
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts.model import Role
from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import ChatterDay, Creator, TrackingLink, TrackingLinkCost
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.ports import UnitOfWork
from onyx_core.stats import MergePolicy, Metric, Ok, merge_all
from onyx_web.creators.state import STATE_KEY, CreatorsState

Write = Callable[[UnitOfWork], Awaitable[None]]


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The agency ids of every dashboard read (the costly part the cache saves)."""
    seen: list[str] = []
    original = SqlDashboardReader.read

    async def counted(self: SqlDashboardReader, agency_id: AgencyId, *args: Any) -> Any:
        seen.append(agency_id)
        return await original(self, agency_id, *args)

    monkeypatch.setattr(SqlDashboardReader, "read", counted)
    return seen


def _entry(creator: str, env: Env, n: int, gross: int = 1_000) -> LedgerEntry:
    at = env.clock.now() - timedelta(days=1, minutes=n)
    key = ledger_key(
        kind=EntryKind.EARNING, transaction_order_id=f"FV-cache-{creator}-{n}", occurred_at=at, source=Source.TIP,
        gross_cents=gross, net_cents=gross * 8 // 10, fan_id="fan-1", reference=None,
    )  # fmt: skip
    return LedgerEntry(
        CreatorId(creator), key, at, Source.TIP, Money(gross), Money(gross * 8 // 10), fan_id=FanId("fan-1")
    )


def _write(env: Env, write: Write, *, commit: bool = True) -> None:
    """``write`` in a unit of work of another engine (as another process would), committed or rolled back."""

    async def go() -> None:
        engine = create_engine(env.url)
        try:
            async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                await write(uow)
                if commit:
                    await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())


def _upsert(*entries: LedgerEntry) -> Write:
    async def write(uow: UnitOfWork) -> None:
        await uow.ledger.upsert(list(entries))

    return write


def _stamp(env: Env, agency: Agency) -> str:
    async def go() -> str:
        engine = create_engine(env.url)
        try:
            return await dashboard_stamp(engine, AgencyId(agency.id))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _gross(body: dict[str, Any]) -> int:
    return int(body["agency"]["revenue"]["gross"]["cents"])


def test_a_second_identical_request_is_served_from_the_one_cache(env: Env, reads: list[str]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x = t.creator(a, "xena")
    _write(env, _upsert(_entry(x, env, 1)))
    owner = t.session(a.owner_email).headers()
    with client(env.app) as c:
        first = c.get("/api/analytics", params={"range": "7d"}, headers=owner)
        again = c.get("/api/analytics", params={"range": "7d"}, headers=owner)
        spelled = c.get("/api/analytics", params={"range": "7d", "tz": "UTC", "top": 10}, headers=owner)
        assert reads == [a.id]  # one read for three spellings of one query
        other_top = c.get("/api/analytics", params={"range": "7d", "top": 3}, headers=owner)
        one = c.get(f"/api/creators/{x}/analytics", params={"range": "7d"}, headers=owner)
        one_again = c.get(f"/api/creators/{x}/analytics", params={"range": "7d"}, headers=owner)
        assert len(reads) == 3  # another top, one creator's: each its own entry, each read once
        listed = c.get("/api/creators", headers=owner)
        state = env.app.state[STATE_KEY]
        assert isinstance(state, CreatorsState)
        assert len(state.cache) == 4  # the dashboards and the creators list share the app's one cache
    for response in (first, again, spelled, other_top, one, one_again, listed):
        assert response.status_code == 200, response.text
    assert first.content == again.content == spelled.content
    assert again.headers["content-type"] == "application/json"
    assert _gross_of(first) == 1_000
    assert one.content == one_again.content


def _gross_of(response: Any) -> int:
    assert response.status_code == 200, response.text
    return _gross(response.json())


def test_a_polled_upsert_by_another_path_invalidates_and_a_no_op_does_not(env: Env, reads: list[str]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x = t.creator(a, "xena")
    first = _entry(x, env, 1)
    _write(env, _upsert(first))
    owner = t.session(a.owner_email).headers()
    with client(env.app) as c:

        def dashboard() -> int:
            return _gross_of(c.get("/api/analytics", params={"range": "30d"}, headers=owner))

        assert dashboard() == 1_000
        _write(env, _upsert(_entry(x, env, 2, gross=250)))  # a new polled row
        assert dashboard() == 1_250
        assert len(reads) == 2
        _write(env, _upsert(first, _entry(x, env, 2, gross=250)))  # the same page again: nothing changes
        assert dashboard() == 1_250
        assert len(reads) == 2  # served from the cache
        corrected = LedgerEntry(
            x, first.key, first.occurred_at, first.source, Money(1_100), Money(880), fan_id=first.fan_id
        )  # type: ignore[arg-type]
        _write(env, _upsert(corrected))  # a correction of an existing row
        assert dashboard() == 1_350
        _write(env, _upsert(_entry(x, env, 3)), commit=False)  # rolled back: nothing stored, nothing moves
        assert dashboard() == 1_350
        assert len(reads) == 3


def test_a_webhook_delivery_and_its_settlement_invalidate(env: Env, reads: list[str]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    owner = t.session(a.owner_email).headers()
    world = sandbox_agency(env, a)
    now = env.clock.now()
    announced = world.sandbox.add_earning(world.creator_id, gross=1234, source="tip", at=now - timedelta(minutes=3))
    body = tip_body(announced, world.creator_id)
    with client(env.app) as c:
        put = c.put(
            "/api/webhooks/secret", json={"secret": SECRET}, headers=t.session(a.owner_email).headers(unsafe=True)
        )
        assert put.status_code == 200, put.text

        def dashboard() -> dict[str, Any]:
            response = c.get("/api/analytics", params={"range": "7d"}, headers=owner)
            assert response.status_code == 200, response.text
            return response.json()

        before = dashboard()
        assert _gross(before) == 0
        delivered = c.post(f"/webhooks/fanvue/{a.id}/tip.new", content=body, headers=signed(body, now))
        assert delivered.json()["result"] == "recorded"
        provisional = dashboard()
        assert len(reads) == 2
        assert _gross(provisional) == 1234  # the provisional row shows at once
        replay = c.post(f"/webhooks/fanvue/{a.id}/tip.new", content=body, headers=signed(body, now))
        assert replay.json()["result"] == "duplicate"
        assert dashboard() == provisional
        assert len(reads) == 2  # a replay stores nothing: still the cached answer
        world.sync()  # the poll stores every row and settles the provisional one (net known now)
        polled = dashboard()
        assert len(reads) == 3
    expected = sum(row.gross for row in world.fanvue_earnings() if row.date >= now - timedelta(days=7))
    assert _gross(polled) == expected


def test_a_member_of_another_scope_never_gets_the_others_entry(env: Env, reads: list[str]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x, y = t.creator(a, "xena"), t.creator(a, "yara")
    _write(env, _upsert(_entry(x, env, 1, gross=700), _entry(y, env, 1, gross=300)))
    sees_x = t.session(t.member(a, Role.VIEWER, frozenset({x}))).headers()
    also_x = t.session(t.member(a, Role.MANAGER, frozenset({x}))).headers()
    sees_y = t.session(t.member(a, Role.VIEWER, frozenset({y}))).headers()
    owner = t.session(a.owner_email).headers()
    with client(env.app) as c:
        mine = c.get("/api/analytics", headers=sees_x)
        theirs = c.get("/api/analytics", headers=sees_y)
        everything = c.get("/api/analytics", headers=owner)
        assert len(reads) == 3  # three scopes, three reads
        shared = c.get("/api/analytics", headers=also_x)  # the same scope: the same entry
        assert len(reads) == 3
        hidden = c.get(f"/api/creators/{x}/analytics", headers=sees_y)  # x's entry exists (owner's) elsewhere
        c.get(f"/api/creators/{x}/analytics", headers=owner)
        hidden_after = c.get(f"/api/creators/{x}/analytics", headers=sees_y)
    assert (_gross_of(mine), _gross_of(theirs), _gross_of(everything)) == (700, 300, 1_000)
    assert x not in theirs.text
    assert y not in mine.text
    assert shared.content == mine.content
    assert hidden.status_code == hidden_after.status_code == 404


def test_a_foreign_agencys_creator_stays_not_found_with_a_cached_answer(env: Env, reads: list[str]) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    x = t.creator(a, "xena")
    _write(env, _upsert(_entry(x, env, 1)))
    with client(env.app) as c:
        mine = c.get(f"/api/creators/{x}/analytics", headers=t.session(a.owner_email).headers())
        foreign = c.get(f"/api/creators/{x}/analytics", headers=t.session(b.owner_email).headers())
        theirs = c.get("/api/analytics", headers=t.session(b.owner_email).headers())
    assert mine.status_code == 200, mine.text
    assert foreign.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    assert leaks(foreign.text, a) == []
    assert theirs.json()["creators"] == []
    assert leaks(theirs.text, a) == []
    assert reads == [a.id, b.id]


def _writes(env: Env, agency: Agency, x: str) -> dict[str, Write]:
    """Every write of data the dashboard reads, each through its repository."""
    now = env.clock.now()
    link = TrackingLink(
        TrackingLinkId(f"link-{x[:8]}"), CreatorId(x), "Bio", "https://x.test/bio", "instagram", now, 10, 1, 2,
        Money(500), Money(400),
    )  # fmt: skip

    async def links(uow: UnitOfWork) -> None:
        await uow.tracking_links.upsert([link])

    async def cost(uow: UnitOfWork) -> None:
        await uow.link_costs.save(TrackingLinkCost(link.id, Money(2_500), now))

    async def days(uow: UnitOfWork) -> None:
        await uow.history.upsert([SubscriberDay(CreatorId(x), now.date(), 3, 1)])

    async def chatters(uow: UnitOfWork) -> None:
        day = ChatterDay(AgencyId(agency.id), now.date(), "c1", "Cleo", 30, 10, 4, Money(4_000))
        await uow.chatter_days.upsert([day])

    async def stats(uow: UnitOfWork) -> None:
        records = await uow.stats.get_for_update(CreatorId(x))
        merged, events = merge_all(
            records, [Ok(Metric.SUBSCRIBERS, 400 + len(records), now, "test")], MergePolicy(), now
        )
        await uow.stats.save(CreatorId(x), {m: r for m, r in merged.items() if records.get(m) != r}, events, now)

    async def renamed(uow: UnitOfWork) -> None:
        creator = await uow.creators.get(CreatorId(x))
        assert creator is not None
        await uow.creators.upsert(
            Creator(creator.id, creator.agency_id, creator.handle, "Xena Renamed", creator.imported_at)
        )

    return {
        "ledger": _upsert(_entry(x, env, 9)),
        "tracking links": links,
        "link cost": cost,
        "subscriber days": days,
        "chatter days": chatters,
        "stats": stats,
        "creator names": renamed,
    }


def test_every_write_of_dashboard_data_moves_the_stamp_and_a_rollback_does_not(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    x = t.creator(a, "xena")
    for name, write in _writes(env, a, x).items():
        before, elsewhere = _stamp(env, a), _stamp(env, b)
        _write(env, write, commit=False)
        assert _stamp(env, a) == before, f"{name}: a rollback moved the stamp"
        _write(env, write)
        assert _stamp(env, a) != before, f"{name}: the stamp did not move"
        assert _stamp(env, b) == elsewhere, f"{name}: another agency's stamp moved"
