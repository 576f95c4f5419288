"""GET /api/tracking-links and PUT /api/tracking-links/{link_id}/cost on SQLite and PostgreSQL: links ranked by net
revenue, ROI = (net revenue - cost) / cost when a cost was entered and null with a reason otherwise (never 0); a
cost entered by an owner, admin or manager within her scope (audited) and kept by the next sync; a viewer gets 403;
another agency's link, or one outside the scope, 404; a negative cost or a bad currency 422 with nothing written."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Tenancy, leaks

from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts.model import Role
from onyx_core.catalog import TrackingLinkCost
from onyx_core.ids import TrackingLinkId


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _cost(env: Env, link_id: str) -> TrackingLinkCost | None:
    async def read() -> TrackingLinkCost | None:
        engine = create_engine(env.url)
        try:
            async with env.deps(engine).uow() as uow:
                return await uow.link_costs.get(TrackingLinkId(link_id))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_links_are_ranked_by_revenue_with_roi_once_a_cost_is_entered(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    luna = t.creator(a, "luna")
    big = t.tracking_link(a, luna, gross=5_000, net=4_000)
    small = t.tracking_link(a, gross=1_000, net=800)
    never = t.tracking_link(a, luna, gross=None, net=None)
    t.tracking_link(b)
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        entered = c.put(f"/api/tracking-links/{big}/cost", json={"cents": 2_500}, headers=owner.headers(unsafe=True))
        c.put(
            f"/api/tracking-links/{never}/cost",
            json={"cents": 0, "currency": "USD"},
            headers=owner.headers(unsafe=True),
        )
        listed = c.get("/api/tracking-links", headers=owner.headers())
        only_luna = c.get("/api/tracking-links", params={"creator_id": luna}, headers=owner.headers())
        audit = c.get("/api/agency/audit", headers=owner.headers())
    assert entered.status_code == 200
    assert entered.json()["cost"] == {"cents": 2_500, "currency": "USD"}
    # (4000 - 2500) / 2500 = 0.6, the integers exact
    assert entered.json()["roi"] == {"value": "0.6", "numerator": 1_500, "denominator": 2_500}
    assert entered.json()["roi_undefined"] is None
    body = listed.json()
    assert [link["id"] for link in body] == [big, small, never]
    by_id = {link["id"]: link for link in body}
    assert by_id[big]["revenue_net"] == {"cents": 4_000, "currency": "USD"}
    assert by_id[small]["cost"] is None
    assert (by_id[small]["roi"], by_id[small]["roi_undefined"]) == (None, "no cost entered for this link")
    assert by_id[never]["revenue_gross"] == {"cents": 0, "currency": "USD"}
    assert (by_id[never]["roi"], by_id[never]["roi_undefined"]) == (None, "the link's cost is 0")
    assert leaks(listed.text, b) == []
    assert [link["id"] for link in only_luna.json()] == [big, never]
    logged = [e for e in audit.json()["entries"] if e["action"] == "link_cost_set"]
    assert {(e["target"], e["details"]["cost_cents"]) for e in logged} == {(big, "2500"), (never, "0")}


def test_a_sync_of_the_link_keeps_its_cost(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    luna = t.creator(a, "luna")
    link = t.tracking_link(a, luna, gross=3_000, net=2_400)
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        c.put(f"/api/tracking-links/{link}/cost", json={"cents": 1_200}, headers=owner.headers(unsafe=True))

    async def sync_again() -> None:  # the sync upserts the link with Fanvue's newer counters
        engine = create_engine(env.url)
        try:
            async with env.deps(engine).uow() as uow:
                stored = await uow.tracking_links.get(TrackingLinkId(link))
                assert stored is not None
                await uow.tracking_links.upsert([replace(stored, clicks=stored.clicks + 50)])
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(sync_again())
    with client(env.app) as c:
        listed = c.get("/api/tracking-links", headers=owner.headers()).json()
    assert listed[0]["clicks"] == 150
    assert listed[0]["cost"] == {"cents": 1_200, "currency": "USD"}
    assert listed[0]["roi"]["numerator"] == 1_200  # 2400 - 1200


def test_who_may_enter_a_cost(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x, y = t.creator(a, "xena"), t.creator(a, "yara")
    on_x, on_y = t.tracking_link(a, x), t.tracking_link(a, y)
    manager = t.session(t.member(a, Role.MANAGER, frozenset({x})))
    viewer = t.session(t.member(a, Role.VIEWER))
    admin = t.session(t.member(a, Role.ADMIN))
    with client(env.app) as c:
        mine = c.put(f"/api/tracking-links/{on_x}/cost", json={"cents": 100}, headers=manager.headers(unsafe=True))
        outside = c.put(f"/api/tracking-links/{on_y}/cost", json={"cents": 100}, headers=manager.headers(unsafe=True))
        unknown = c.put("/api/tracking-links/nope/cost", json={"cents": 100}, headers=manager.headers(unsafe=True))
        refused = c.put(f"/api/tracking-links/{on_y}/cost", json={"cents": 100}, headers=viewer.headers(unsafe=True))
        by_admin = c.put(f"/api/tracking-links/{on_y}/cost", json={"cents": 300}, headers=admin.headers(unsafe=True))
        manager_sees = c.get("/api/tracking-links", headers=manager.headers())
        viewer_reads = c.get("/api/tracking-links", headers=viewer.headers())
    assert mine.status_code == 200
    assert (outside.status_code, unknown.status_code) == (404, 404)
    assert y not in outside.text
    assert outside.json().keys() == unknown.json().keys()
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert by_admin.status_code == 200
    assert [link["id"] for link in manager_sees.json()] == [on_x]  # her scope only
    assert viewer_reads.status_code == 200
    assert {link["id"] for link in viewer_reads.json()} == {on_x, on_y}
    cost_y = _cost(env, on_y)
    assert cost_y is not None
    assert cost_y.cost.cents == 300  # the refused and the out-of-scope attempts wrote nothing


@pytest.mark.parametrize(
    "body",
    [
        {"cents": -1},
        {"cents": 100, "currency": "usd"},
        {"cents": 100, "currency": "X"},
        {"cents": 1, "currency": "EUR"},
    ],
)
def test_a_negative_cost_or_a_bad_currency_is_422_and_nothing_is_written(env: Env, body: dict[str, object]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    link = t.tracking_link(a)
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        response = c.put(f"/api/tracking-links/{link}/cost", json=body, headers=owner.headers(unsafe=True))
        audit = c.get("/api/agency/audit", headers=owner.headers())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _cost(env, link) is None
    assert [e for e in audit.json()["entries"] if e["action"] == "link_cost_set"] == []


def test_another_agencys_creator_filter_is_not_found(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    theirs = t.creator(a, "luna")
    t.tracking_link(a, theirs)
    with client(env.app) as c:
        response = c.get(
            "/api/tracking-links", params={"creator_id": theirs}, headers=t.session(b.owner_email).headers()
        )
    assert response.status_code == 404
    assert leaks(response.text, a) == []


def test_a_creator_filter_with_a_nul_is_a_400_problem(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        response = c.get(
            "/api/tracking-links", params={"creator_id": "a\x00b"}, headers=t.session(a.owner_email).headers()
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
