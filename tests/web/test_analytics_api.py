"""GET /api/analytics and GET /api/creators/{creator_id}/analytics on SQLite and PostgreSQL: the answer is H1's pure
reference (onyx_core.analytics.dashboard.agency_dashboard) over the same data, serialised; undefined ratios are
null with a reason; a scoped member's dashboard (agency figures included) covers her creators only; another
agency's creator is 404; bad ranges are 422 problems (and an unknown range name 400)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Agency, Tenancy, leaks
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts.model import Role
from onyx_core.accounts.usecases.analytics import AnalyticsAnswer
from onyx_core.analytics.dashboard import DashboardQuery, Figure, agency_dashboard
from onyx_core.analytics.periods import Period, Window
from onyx_core.catalog import ChatterDay, TrackingLink, TrackingLinkCost
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.ratio import Ratio
from onyx_web.analytics.dashboard_views import analytics_view

SOURCES = (Source.SUBSCRIPTION, Source.RENEWAL, Source.MESSAGE, Source.POST, Source.TIP, Source.REFERRAL)


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _entries(creator: str, now: datetime, seed: int) -> list[LedgerEntry]:
    """About 40 entries over the last 60 days: every purchase type, PPV unlocks, fans repeating, a refund."""
    out = []
    for n in range(40):
        at = now - timedelta(days=(n * 7 + seed) % 60, hours=n % 24, minutes=seed)
        source = SOURCES[(n + seed) % len(SOURCES)]
        fan = None if source == Source.REFERRAL else f"fan-{(n * 3 + seed) % 9}"
        reference = f"post-{n}" if source in (Source.MESSAGE, Source.POST) and n % 2 else None
        gross = 300 + 97 * ((n * 5 + seed) % 40)
        key = ledger_key(
            kind=EntryKind.EARNING, transaction_order_id=f"FV-{creator}-{n}", occurred_at=at, source=source,
            gross_cents=gross, net_cents=gross * 8 // 10, fan_id=fan, reference=reference,
        )  # fmt: skip
        out.append(
            LedgerEntry(
                CreatorId(creator),
                key,
                at,
                source,
                Money(gross),
                Money(gross * 8 // 10),
                fan_id=None if fan is None else FanId(fan),
                reference=reference,
            )
        )
    at = now - timedelta(days=3)
    key = ledger_key(
        kind=EntryKind.REFUND, transaction_order_id=None, occurred_at=at, source=Source.REFUND, gross_cents=-500,
        net_cents=-400, fan_id="fan-1", reference="r-1",
    )  # fmt: skip
    out.append(
        LedgerEntry(
            CreatorId(creator),
            key,
            at,
            Source.REFUND,
            Money(-500),
            Money(-400),
            EntryKind.REFUND,
            FanId("fan-1"),
            "r-1",
        )
    )
    return out


def _store(env: Env, ledger: list[LedgerEntry], *, links: list[TrackingLink] = (), costs=(), chatters=()) -> None:  # type: ignore[assignment]
    async def go() -> None:
        engine = create_engine(env.url)
        try:
            async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                await uow.ledger.upsert(ledger)
                await uow.tracking_links.upsert(list(links))
                for cost in costs:
                    await uow.link_costs.save(cost)
                await uow.chatter_days.upsert(list(chatters))
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())


def _link(creator: str, tag: str, net: int | None, now: datetime) -> TrackingLink:
    money = None if net is None else Money(net * 5 // 4)
    return TrackingLink(
        TrackingLinkId(f"link-{tag}-{creator[:8]}"), CreatorId(creator), f"Link {tag}", f"https://x.test/{tag}",
        "instagram", now, 10, 1, 2, money, None if net is None else Money(net),
    )  # fmt: skip


class Book:
    """An agency with two creators, their ledgers, links (one with a cost) and chatter days."""

    def __init__(self, env: Env, t: Tenancy, label: str = "Alpha") -> None:
        self.agency: Agency = t.agency(label)
        self.x, self.y = t.creator(self.agency, "xena"), t.creator(self.agency, "yara")
        now = env.clock.now()
        self.ledger = {self.x: _entries(self.x, now, 1), self.y: _entries(self.y, now, 4)}
        self.links = [_link(self.x, "bio", 4_000, now), _link(self.y, "story", None, now)]
        self.costs = [TrackingLinkCost(self.links[0].id, Money(2_500), now)]
        day = now.date() - timedelta(days=2)
        self.chatters = [ChatterDay(AgencyId(self.agency.id), day, "c1", "Cleo", 30, 10, 4, Money(4_000))]
        _store(env, [e for rows in self.ledger.values() for e in rows], links=self.links, costs=self.costs,
               chatters=self.chatters)  # fmt: skip

    def reference(self, env: Env, query: DashboardQuery, unlock: Figure, tz: str, only: set[str] | None = None) -> Any:
        """The pure reference, serialised as the API serialises its own answer."""
        ledger = {CreatorId(c): rows for c, rows in self.ledger.items() if only is None or c in only}
        dashboard = agency_dashboard(
            AgencyId(self.agency.id), ledger, query, env.clock.now(), tracking_links=self.links
        )
        names = {CreatorId(self.x): ("xena", ""), CreatorId(self.y): ("yara", "")}
        view = analytics_view(AnalyticsAnswer(dashboard, tz, unlock, names))
        return msgspec.json.decode(msgspec.json.encode(view))


def _without_names(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "creators": [{**c, "display_name": ""} for c in body["creators"]]}


def test_the_dashboard_is_the_pure_reference_over_the_same_data(env: Env) -> None:
    t = Tenancy(env)
    book = Book(env, t)
    owner = t.session(book.agency.owner_email)
    with client(env.app) as c:
        r30 = c.get("/api/analytics", params={"range": "30d", "top": 5}, headers=owner.headers())
        custom = c.get(
            "/api/analytics",
            params={"start": "2026-10-20", "end": "2026-11-20", "tz": "Europe/Berlin"},
            headers=owner.headers(),
        )
    assert r30.status_code == 200, r30.text
    costs = {book.links[0].id: Money(2_500)}
    unlock = Figure.of(Ratio(4, 10), "")
    q30 = DashboardQuery(Window.D30, "UTC", top_spenders_limit=5, link_costs=costs)
    assert _without_names(r30.json()) == book.reference(env, q30, unlock, "UTC")
    body = r30.json()
    assert body["agency"]["revenue"]["gross"]["currency"] == "USD"
    assert body["unlock_rate"] == {"value": "0.4", "numerator": 4, "denominator": 10}
    assert [c["id"] for c in body["creators"]] == sorted([book.x, book.y])
    links = body["agency"]["tracking_links"]
    assert links[0]["roi"] == {"value": "0.6", "numerator": 1_500, "denominator": 2_500}
    assert links[1]["roi"] is None
    assert links[1]["roi_undefined"]

    assert custom.status_code == 200, custom.text
    berlin = Period(datetime(2026, 10, 19, 22, tzinfo=UTC), datetime(2026, 11, 19, 23, tzinfo=UTC))
    qc = DashboardQuery(berlin, "Europe/Berlin", top_spenders_limit=10, link_costs=costs)
    expected = book.reference(
        env, qc, Figure.undefined("no chatter leaderboard stored for this period"), "Europe/Berlin"
    )
    got = _without_names(custom.json())
    assert got["unlock_rate"] is None
    assert got["unlock_rate_undefined"].startswith("no chatter leaderboard")
    assert {**got, "unlock_rate_undefined": None} == {**expected, "unlock_rate_undefined": None}
    assert got["granularity"] == "week"  # 32 local days


def test_undefined_ratios_are_null_with_a_reason_never_zero(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Empty")
    t.creator(a, "quiet")
    with client(env.app) as c:
        body = c.get("/api/analytics", params={"range": "7d"}, headers=t.session(a.owner_email).headers()).json()
    figures = body["agency"]
    assert figures["revenue"]["gross"] == {"cents": 0, "currency": "USD"}  # a real zero
    for name in ("arpu", "ltv", "tip_average", "golden_ratio", "gross_growth", "net_growth", "message_purchase_rate",
                 "legacy_arpu_per_audience", "legacy_golden_ratio_gross"):  # fmt: skip
        assert figures[name] is None, name
        assert isinstance(figures[f"{name}_undefined"], str), name
        assert figures[f"{name}_undefined"], name
    assert body["unlock_rate"] is None
    assert body["unlock_rate_undefined"]


def test_a_scoped_member_sees_her_creators_only_agency_figures_included(env: Env) -> None:
    t = Tenancy(env)
    book = Book(env, t)
    viewer = t.session(t.member(book.agency, Role.VIEWER, frozenset({book.x})))
    with client(env.app) as c:
        mine = c.get("/api/analytics", params={"range": "90d"}, headers=viewer.headers())
        other = c.get(f"/api/creators/{book.y}/analytics", headers=viewer.headers())
        one = c.get(f"/api/creators/{book.x}/analytics", params={"range": "90d"}, headers=viewer.headers())
    body = mine.json()
    assert [creator["id"] for creator in body["creators"]] == [book.x]
    assert body["agency"]["revenue"] == body["creators"][0]["figures"]["revenue"]  # her scope's total
    assert book.y not in mine.text
    assert "yara" not in mine.text
    assert body["unlock_rate"] is None
    assert "agency-wide" in body["unlock_rate_undefined"]
    q = DashboardQuery(Window.D90, "UTC", top_spenders_limit=10, creator_ids=frozenset({CreatorId(book.x)}),
                       link_costs={book.links[0].id: Money(2_500)})  # fmt: skip
    assert _without_names(body)["agency"] == book.reference(env, q, Figure.undefined("x"), "UTC", {book.x})["agency"]
    assert other.status_code == 404
    assert one.status_code == 200
    assert one.json()["agency"] == body["agency"]


def test_another_agencys_creator_is_not_found(env: Env) -> None:
    t = Tenancy(env)
    book = Book(env, t)
    b = t.agency("Bravo")
    with client(env.app) as c:
        response = c.get(f"/api/creators/{book.x}/analytics", headers=t.session(b.owner_email).headers())
        theirs = c.get("/api/analytics", headers=t.session(b.owner_email).headers())
    assert response.status_code == 404
    assert leaks(response.text, book.agency) == []
    assert theirs.json()["creators"] == []
    assert leaks(theirs.text, book.agency) == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "2026-11-20", "end": "2026-11-20"}, 422),
        ({"start": "2026-11-21", "end": "2026-11-20"}, 422),
        ({"start": "2020-01-01", "end": "2026-01-01"}, 422),
        ({"range": "30d", "start": "2026-11-01", "end": "2026-11-20"}, 422),
        ({"start": "2026-11-01"}, 422),
        ({"start": "2026-11-01T00:00:00", "end": "2026-11-20T00:00:00"}, 422),
        ({"start": "yesterday", "end": "2026-11-20"}, 422),
        ({"start": "1900-01-01", "end": "1900-02-01"}, 422),
        ({"range": "30d", "tz": "Mars/Base"}, 422),
        ({"range": "5d"}, 400),
        ({"top": "101"}, 400),
    ],
)
def test_bad_ranges_are_problems(env: Env, params: dict[str, str], status: int) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        response = c.get("/api/analytics", params=params, headers=t.session(a.owner_email).headers())
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_agencys_time_zone_is_the_default_and_tz_overrides_it(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        c.patch("/api/agency", json={"timezone": "Asia/Tokyo"}, headers=owner.headers(unsafe=True))
        tokyo = c.get("/api/analytics", params={"start": "2026-11-01", "end": "2026-11-02"}, headers=owner.headers())
        utc = c.get(
            "/api/analytics", params={"start": "2026-11-01", "end": "2026-11-02", "tz": "UTC"}, headers=owner.headers()
        )
    assert tokyo.json()["timezone"] == "Asia/Tokyo"
    assert tokyo.json()["period"] == {"start": "2026-10-31T15:00:00Z", "end": "2026-11-01T15:00:00Z"}
    assert utc.json()["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}
    assert date.fromisoformat(tokyo.json()["agency"]["series"][0]["label"]) == date(2026, 11, 1)
