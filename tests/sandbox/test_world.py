"""The seeded sandbox world: determinism, laziness, consistency, overlays."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from onyx_fanvue.sandbox.world import (
    EARNING_SOURCES,
    EarningRow,
    World,
    WorldSpec,
    build_world,
)

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(WorldSpec(seed=7, earnings_per_day=12.0), NOW)


def _dump(w: World) -> list[dict[str, object]]:
    return [r.to_json() for c in w.creators for r in w.iter_earnings(c.uuid)]


def test_same_seed_same_world_and_rows() -> None:
    a = build_world(WorldSpec(seed=3, days=60), NOW)
    b = build_world(WorldSpec(seed=3, days=60), NOW)
    assert _dump(a) == _dump(b)
    assert [c.uuid for c in a.creators] == [c.uuid for c in b.creators]
    assert [m.to_json() for m in a.members()] == [m.to_json() for m in b.members()]
    assert [ch.to_json() for ch in a.chats[a.creators[0].uuid]] == [ch.to_json() for ch in b.chats[b.creators[0].uuid]]
    c = a.creators[0].uuid
    assert [r.to_json() for r in a.iter_reversals(c)] == [r.to_json() for r in b.iter_reversals(c)]


def test_different_seed_different_world() -> None:
    a = build_world(WorldSpec(seed=3, days=60), NOW)
    b = build_world(WorldSpec(seed=4, days=60), NOW)
    assert _dump(a) != _dump(b)
    assert {c.uuid for c in a.creators}.isdisjoint({c.uuid for c in b.creators})


def test_rows_shape_and_sources(world: World) -> None:
    rows = list(world.iter_earnings(world.creators[0].uuid))
    assert {r.source for r in rows} == set(EARNING_SOURCES)
    for r in rows:
        j = r.to_json()
        assert j["transactionOrderId"].startswith("FV-ORDER-")
        assert j["transactionOrderStatus"] in {"availableForPayout", "pendingBalance"}
        assert j["date"].endswith("Z")
        assert r.date.tzinfo is not None
        assert world.start <= r.date < world.end <= NOW
        assert 0 < r.net <= r.gross
        assert r.net == r.gross * 80 // 100
        assert (r.user is None) == (r.source in {"referral", "affiliate", "giveaway"})
        assert ("messageUuid" in j) == (r.source == "message")
        assert ("postUuid" in j) == (r.source == "post")
        if r.post_uuid is not None:
            assert r.post_uuid in world.creators[0].post_uuids
    assert [r.date for r in rows] == sorted(r.date for r in rows)


def test_order_ids_unique_across_creators(world: World) -> None:
    ids = [r.transaction_order_id for c in world.creators for r in world.iter_earnings(c.uuid)]
    assert len(ids) == len(set(ids))


def test_reversals_consistent(world: World) -> None:
    for c in world.creators:
        originals = {r.transaction_order_id: r for r in world.iter_earnings(c.uuid)}
        revs = list(world.iter_reversals(c.uuid))
        assert revs, "a year at 12 rows a day has some reversals"
        assert 0.002 < len(revs) / len(originals) < 0.04
        assert [r.date for r in revs] == sorted(r.date for r in revs)
        for rev in revs:
            orig = originals[rev.reversed_order_id]
            assert rev.source in {"refund", "chargeback"}
            assert 0 < rev.gross <= orig.gross
            assert 0 <= rev.net <= orig.net
            assert rev.date > orig.date
            assert rev.date < orig.date + timedelta(days=91)
            assert rev.user == orig.user
            assert "reversedOrderId" not in rev.to_json()


def test_reversals_range_is_a_slice(world: World) -> None:
    c = world.creators[1].uuid
    everything = list(world.iter_reversals(c))
    lo, hi = world.start + timedelta(days=150), world.start + timedelta(days=250)
    assert list(world.iter_reversals(c, lo, hi)) == [r for r in everything if lo <= r.date < hi]


def test_single_day_regenerates_identically(world: World) -> None:
    c = world.creators[2].uuid
    day = 123
    lo = world.start + timedelta(days=day)
    whole = [r for r in world.iter_earnings(c) if lo <= r.date < lo + timedelta(days=1)]
    assert whole == list(world.iter_earnings(c, lo, lo + timedelta(days=1)))
    fresh = build_world(WorldSpec(seed=7, earnings_per_day=12.0), NOW)
    assert fresh.earnings_for_day(c, day) == whole
    partial = [r for r in whole if r.date < lo + timedelta(hours=12)]
    assert list(world.iter_earnings(c, lo, lo + timedelta(hours=12))) == partial


def test_stream_peak_does_not_grow_with_row_count() -> None:
    w = build_world(WorldSpec(seed=11, creators=1, earnings_per_day=2000.0, days=20), NOW)
    c = w.creators[0].uuid

    def peak(days: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            n = sum(1 for _ in w.iter_earnings(c, w.start, w.start + timedelta(days=days)))
            return n, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small_n, small_peak = peak(2)
    big_n, big_peak = peak(10)
    assert big_n > 4 * small_n
    # Laziness, not a memory target (those live in bench/): five times the rows, about the same peak.
    assert big_peak < 2 * small_peak + 1024 * 1024


def test_subscriber_trend_matches_subscription_rows(world: World) -> None:
    c = world.creators[0].uuid
    per_day = Counter(world.day_index(r.date) for r in world.iter_earnings(c) if r.source == "subscription")
    trend = world.subscriber_trend(c)
    assert len(trend) == world.spec.days
    running = 0
    for i, row in enumerate(trend):
        assert row.date == world.start + timedelta(days=i)
        assert row.new_subscribers_count == per_day.get(i, 0)
        assert row.cancelled_subscribers_count >= 0
        running += row.new_subscribers_count - row.cancelled_subscribers_count
        assert row.total == running
        assert set(row.to_json()) == {"date", "newSubscribersCount", "cancelledSubscribersCount", "total"}


def test_counts_non_negative_and_consistent(world: World) -> None:
    for c in world.creators:
        j = world.user_json(c.uuid)
        assert j["isCreator"] is True
        assert j["fanCounts"]["followersCount"] >= j["fanCounts"]["subscribersCount"] >= 0
        assert j["likesCount"] >= 0
        counts = j["contentCounts"]
        assert all(v >= 0 for v in counts.values())
        assert counts["postCount"] == len(c.post_uuids)
        assert counts["payToViewPostCount"] <= counts["postCount"]
        assert c.person.handle
        assert c.person.display_name
        assert c.person.bio
        assert c.person.registered_at < world.start
    admin = world.user_json(world.admin.uuid)
    assert admin["isCreator"] is False
    assert "fanCounts" not in admin


def test_top_spenders_sorted_and_sum_to_rows(world: World) -> None:
    c = world.creators[0].uuid
    rows = list(world.iter_earnings(c))
    top = world.top_spenders(c)
    grosses = [t.gross for t in top]
    assert grosses == sorted(grosses, reverse=True)
    for t in top:
        mine = [r for r in rows if r.user is not None and r.user.uuid == t.user.uuid]
        assert t.gross == sum(r.gross for r in mine)
        assert t.net == sum(r.net for r in mine)
        assert t.messages == sum(r.source == "message" for r in mine)
        assert t.net <= t.gross
    assert world.top_spenders(c, limit=5) == top[:5]
    assert set(top[0].to_json()["user"]) >= {"uuid", "handle", "avatarUrl", "registeredAt"}


def test_team_has_an_unassigned_member(world: World) -> None:
    assert world.admin.is_admin
    assert world.admin.to_json()["isAdmin"] is True
    creators = {c.uuid for c in world.creators}
    assert all(not m.is_admin for m in world.team)
    partial = [m for m in world.team if {u for u, _ in m.creator_access} != creators]
    assert partial
    member = partial[0]
    missing = next(iter(creators - {u for u, _ in member.creator_access}))
    assert not world.can_access(member.uuid, missing)
    assert world.can_access(world.admin.uuid, missing)
    for m in world.team:
        assert all(role in {"ADMIN", "CHATTER"} for _, role in m.creator_access)


def test_tracking_links_and_chats(world: World) -> None:
    for c in world.creators:
        links = world.links[c.uuid]
        assert any(link.earnings is None and link.clicks == 0 for link in links)
        for link in links:
            j = link.to_json()
            assert j["linkUrl"].startswith("fv-")
            assert j["engagement"]["acquiredSubscribers"] <= j["clicks"]
            if link.earnings is not None:
                assert j["earnings"]["totalNet"] <= j["earnings"]["totalGross"]
        chats = world.chats[c.uuid]
        assert chats
        for chat in chats:
            j = chat.to_json()
            assert 2 <= len(chat.messages) <= 5
            assert j["lastMessage"]["uuid"] == chat.messages[-1].uuid
            assert j["unreadMessagesCount"] >= 0
            assert {m.sender.uuid for m in chat.messages} <= {c.uuid, chat.fan.uuid}
            assert all(m.to_json()["sender"]["handle"] for m in chat.messages)


def test_overlays_appear_in_iteration() -> None:
    w = build_world(WorldSpec(seed=5, days=30), NOW)
    c = w.creators[0]
    fan = c.fans[0]
    before_subs = w.subscribers(c.uuid)
    at = w.start + timedelta(days=10, hours=3)
    added = w.add_earning(
        c.uuid,
        EarningRow(
            date=at,
            gross=1000,
            net=800,
            source="subscription",
            transaction_order_id="",
            transaction_order_status="pendingBalance",
            user=fan,
        ),
    )
    assert added.transaction_order_id.startswith("FV-ORDER-")
    rows = list(w.iter_earnings(c.uuid))
    assert added in rows
    assert [r.date for r in rows] == sorted(r.date for r in rows)
    ids = [r.transaction_order_id for r in rows]
    assert len(ids) == len(set(ids))
    assert w.subscriber_trend(c.uuid)[10].new_subscribers_count == sum(
        1 for r in rows if r.source == "subscription" and w.day_index(r.date) == 10
    )
    assert w.subscribers(c.uuid) >= before_subs
    top = {t.user.uuid: t for t in w.top_spenders(c.uuid)}
    assert top[fan.uuid].gross >= 1000

    rev = w.add_refund(c.uuid, added, at + timedelta(days=2))
    assert rev in list(w.iter_reversals(c.uuid))
    assert (rev.gross, rev.net, rev.source) == (1000, 800, "refund")
    with pytest.raises(ValueError, match="after"):
        w.add_refund(c.uuid, added, at)
    with pytest.raises(ValueError, match="at most"):
        w.add_refund(c.uuid, added, at + timedelta(days=1), gross=2000)

    w.set_followers(c.uuid, 4242)
    assert w.followers(c.uuid) == 4242
    assert w.user_json(c.uuid)["fanCounts"]["followersCount"] == 4242
    other = build_world(WorldSpec(seed=5, days=30), NOW)
    assert added not in list(other.iter_earnings(c.uuid))


def test_start_and_naive_times() -> None:
    start = datetime(2025, 1, 1, 15, tzinfo=UTC)
    w = build_world(WorldSpec(days=10, start=start), NOW)
    assert w.start == datetime(2025, 1, 1, tzinfo=UTC)
    assert w.end == datetime(2025, 1, 11, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        build_world(WorldSpec(), datetime(2026, 1, 1))
