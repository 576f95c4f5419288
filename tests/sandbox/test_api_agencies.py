"""``/agencies/*`` through the SDK: the admin-only aggregates agree with independent sums over the seeded world,
page, filter, validate their parameters like Fanvue, and follow access changes at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import AsyncFanvueClient, FanvueClient, PermissionDeniedError, ValidationError
from onyx_fanvue.models.chats import ChatRow as SdkChatRow
from onyx_fanvue.models.common import Page
from onyx_fanvue.pagination import PageIterator
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import ChatRow, MessageRow, World

OCT_1 = datetime(2026, 10, 1, tzinfo=UTC)
OCT_21 = datetime(2026, 10, 21, tzinfo=UTC)


def _walk(fetch: Callable[[int], Page[Any]]) -> list[Any]:
    return list(PageIterator(fetch, start_page=1, max_pages=100))


def _earning_sums(
    world: World, creators: list[str], start: datetime, end: datetime
) -> list[tuple[str, date, int, int]]:
    """``(creator, day, gross, net)`` summed straight from the earning rows: newest day first, creators in order."""
    sums: dict[tuple[str, date], list[int]] = {}
    for creator in creators:
        for row in world.iter_earnings(creator, start, end):
            acc = sums.setdefault((creator, row.date.date()), [0, 0])
            acc[0] += row.gross
            acc[1] += row.net
    order = {c: i for i, c in enumerate(creators)}
    keys = sorted(sums, key=lambda k: (-k[1].toordinal(), order[k[0]]))
    return [(c, d, sums[(c, d)][0], sums[(c, d)][1]) for c, d in keys]


def _got(rows: list[Any]) -> list[tuple[str, date, int, int]]:
    return [(r.creator_uuid, r.date.date(), r.gross.cents, r.net.cents) for r in rows]


# ------------------------------------------------------------------------------------------ team members


def test_team_members_lists_every_member_admin_first(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    members = client.agencies.team_members()
    assert_complete(members)
    world = sandbox.world
    assert [m.uuid for m in members] == [m.uuid for m in world.members()]
    assert members[0].is_admin
    assert not any(m.is_admin for m in members[1:])
    assert {a.uuid for a in members[0].creator_access} == {c.uuid for c in world.creators}
    last = members[-1]
    assert [a.uuid for a in last.creator_access] == [world.creators[0].uuid]
    assert {a.role for m in members for a in m.creator_access} <= {"ADMIN", "CHATTER"}


def test_team_members_reflect_an_unassign_at_once(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    member, creator = sandbox.world.team[0], sandbox.world.creators[1]
    before = {a.uuid for a in client.agencies.team_members()[1].creator_access}
    assert creator.uuid in before
    assert sandbox.unassign(member.uuid, creator.uuid)
    after = {a.uuid for a in client.agencies.team_members()[1].creator_access}
    assert after == before - {creator.uuid}
    sandbox.assign(member.uuid, creator.uuid, "CHATTER")
    access = client.agencies.team_members()[1].creator_access
    assert next(a.role for a in access if a.uuid == creator.uuid) == "CHATTER"


# ------------------------------------------------------------------------------------------ permissions


CALLS: dict[str, Callable[[FanvueClient], Any]] = {
    "team-members": lambda c: c.agencies.team_members(),
    "earnings": lambda c: c.agencies.earnings(start_date=OCT_1, end_date=OCT_21),
    "subscribers-history": lambda c: c.agencies.subscribers_history(start_date=OCT_1, end_date=OCT_21),
    "subscribers": lambda c: c.agencies.subscribers(),
    "chatter-leaderboard": lambda c: c.agencies.chatter_leaderboard(),
    "chats": lambda c: c.agencies.chats(),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_team_members_who_are_not_admins_get_403(sandbox: FanvueSandbox, name: str) -> None:
    for who in (sandbox.world.team[0].uuid, sandbox.world.creators[0].uuid):
        with sandbox.client(who, retry=NO_RETRY) as member, pytest.raises(PermissionDeniedError) as caught:
            CALLS[name](member)
        assert caught.value.body == {"error": "Forbidden: agency admin access required"}


@pytest.mark.parametrize("name", list(CALLS))
def test_admin_without_read_agency_gets_403(sandbox: FanvueSandbox, name: str) -> None:
    token = sandbox.token(scopes=["read:self", "read:creator", "read:chat", "read:insights", "read:fan"])
    with sandbox.client(access_token=token, retry=NO_RETRY) as admin, pytest.raises(PermissionDeniedError) as caught:
        CALLS[name](admin)
    assert "read:agency" in caught.value.body["error"]


# ------------------------------------------------------------------------------------------ earnings


def test_earnings_are_day_sums_of_the_earning_rows_newest_first(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    first = client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, size=50)
    assert_complete(first)
    assert first.pagination.has_more
    assert {r.currency for r in first.data} == {"USD"}
    assert {r.gross.currency for r in first.data} == {"USD"}
    rows = _walk(lambda p: client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, page=p, size=7))
    creators = [c.uuid for c in sandbox.world.creators]
    expected = _earning_sums(sandbox.world, creators, OCT_1, OCT_21)
    assert _got(rows) == expected
    assert len(rows) > 3 * 7  # several pages
    assert all(r.gross.cents > 0 for r in rows)  # days without payments are omitted
    assert rows[0].date.date() == date(2026, 10, 20)
    assert rows[-1].date.date() == date(2026, 10, 1)


def test_earnings_dates_are_utc_days_and_default_paging(client: FanvueClient) -> None:
    raw = client.request("GET", "/agencies/earnings", params={"startDate": "2026-10-01", "endDate": "2026-10-21"})
    body = raw.json()
    assert body["pagination"] == {"page": 1, "size": 15, "hasMore": True}
    assert all(len(r["date"]) == 10 for r in body["data"])  # YYYY-MM-DD


def test_earnings_filter_by_creator_and_partial_days(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    picked = [world.creators[2].uuid, world.creators[0].uuid]
    start = datetime(2026, 10, 5, 13, 30, tzinfo=UTC)
    end = datetime(2026, 10, 9, 8, tzinfo=UTC)
    rows = client.agencies.earnings(start_date=start, end_date=end, creator_uuids=picked, size=50).data
    in_world_order = [world.creators[0].uuid, world.creators[2].uuid]
    assert _got(rows) == _earning_sums(world, in_world_order, start, end)
    # a date-time with an offset is the same instant: days stay UTC days
    shifted = start.astimezone(timezone(timedelta(hours=5)))
    again = client.agencies.earnings(start_date=shifted, end_date=end, creator_uuids=picked, size=50).data
    assert _got(again) == _got(rows)


def test_earnings_unknown_creators_are_ignored(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    stranger = str(uuid.uuid4())
    page = client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, creator_uuids=[stranger])
    assert page.data == []
    assert not page.pagination.has_more
    mixed = [stranger, sandbox.world.creators[1].uuid]
    rows = client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, creator_uuids=mixed, size=50).data
    assert {r.creator_uuid for r in rows} == {sandbox.world.creators[1].uuid}


def test_earnings_follow_world_changes_and_ignore_reversals(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    creator = world.creators[0].uuid
    everything: dict[str, Any] = {
        "start_date": date(2020, 1, 1),
        "end_date": date(2030, 1, 1),
        "creator_uuids": [creator],
    }
    before = client.agencies.earnings(**everything, size=50).data
    assert before[0].date.date() == date(2026, 10, 31)
    sandbox.add_earning(creator, gross=1234, at=NOW)  # after the generated world: today
    sandbox.add_earning(creator, gross=999, at=datetime(2025, 3, 3, 9, tzinfo=UTC))  # long before it
    rows = _walk(lambda p: client.agencies.earnings(**everything, page=p, size=50))
    assert (rows[0].date.date(), rows[0].gross.cents, rows[0].net.cents) == (date(2026, 11, 1), 1234, 987)
    assert (rows[-1].date.date(), rows[-1].gross.cents) == (date(2025, 3, 3), 999)
    assert _got(rows) == _earning_sums(world, [creator], datetime(2020, 1, 1, tzinfo=UTC), NOW + timedelta(days=1))
    order = next(iter(world.iter_earnings(creator, OCT_1, OCT_21))).transaction_order_id
    sandbox.add_refund(creator, order, at=datetime(2026, 10, 25, tzinfo=UTC))
    assert _got(_walk(lambda p: client.agencies.earnings(**everything, page=p, size=50))) == _got(rows)


def test_earnings_validation(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    for params, message in (
        ({}, ["startDate is required", "endDate is required"]),
        ({"startDate": "2026-10-01"}, ["endDate is required"]),
        ({"startDate": "2026-10-05", "endDate": "2026-10-05"}, ["endDate must be after startDate"]),
        ({"startDate": "yesterday", "endDate": "2026-10-05"}, ["startDate must be an ISO 8601 date-time"]),
    ):
        with pytest.raises(ValidationError) as caught:
            client.request("GET", "/agencies/earnings", params=params)
        assert caught.value.body == {"errors": message}
    dates = {"startDate": "2026-10-01", "endDate": "2026-10-05"}
    too_many = ",".join(str(uuid.uuid4()) for _ in range(51))
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/agencies/earnings", params={**dates, "creatorUuids": too_many})
    assert caught.value.errors == ["creatorUuids accepts at most 50 values"]
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/agencies/earnings", params={**dates, "creatorUuids": "not-a-uuid"})
    assert caught.value.errors == ["creatorUuids must be UUIDs (got not-a-uuid)"]
    fifty = ",".join([sandbox.world.creators[0].uuid] + [str(uuid.uuid4()) for _ in range(49)])
    assert client.request("GET", "/agencies/earnings", params={**dates, "creatorUuids": fifty}).status_code == 200
    with pytest.raises(ValidationError):
        client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, size=51)


# ------------------------------------------------------------------------------------------ subscribers history


def test_subscribers_history_matches_each_creators_trend(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    end = datetime(2026, 10, 8, tzinfo=UTC)
    first = client.agencies.subscribers_history(start_date=OCT_1, end_date=end)
    assert_complete(first)
    rows = _walk(lambda p: client.agencies.subscribers_history(start_date=OCT_1, end_date=end, page=p, size=4))
    assert len(rows) == 7 * len(world.creators)
    expected = []
    trends = {c.uuid: world.subscriber_trend(c.uuid, OCT_1, end) for c in world.creators}
    for back in range(1, 8):
        for c in world.creators:
            t = trends[c.uuid][-back]
            expected.append((c.uuid, t.date, t.new_subscribers_count, t.cancelled_subscribers_count, t.total))
    got = [(r.creator_uuid, r.date, r.new_subscribers_count, r.cancelled_subscribers_count, r.total) for r in rows]
    assert got == expected
    for c in world.creators:  # total is the running net change from the range's first day
        mine = [r for r in reversed(rows) if r.creator_uuid == c.uuid]
        running = 0
        for r in mine:
            running += r.new_subscribers_count - r.cancelled_subscribers_count
            assert r.total == running


def test_subscribers_history_filter_and_range_rules(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[1].uuid
    year = client.agencies.subscribers_history(
        start_date=NOW - timedelta(days=365), end_date=NOW, creator_uuids=[creator], size=50
    )
    assert {r.creator_uuid for r in year.data} == {creator}
    assert year.data[0].date.date() == date(2026, 11, 1)  # today so far, newest first
    assert year.data[1].date.date() == date(2026, 10, 31)  # the last generated day
    with pytest.raises(ValidationError) as caught:
        client.agencies.subscribers_history(start_date=NOW - timedelta(days=366), end_date=NOW)
    assert caught.value.errors == ["The date range cannot exceed 365 days"]
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/agencies/subscribers-history", params={"endDate": "2026-10-05"})
    assert caught.value.errors == ["startDate is required"]


# ------------------------------------------------------------------------------------------ subscribers


def _subscribers(client: FanvueClient, **filters: Any) -> list[Any]:
    return _walk(lambda p: client.agencies.subscribers(page=p, size=9, **filters))


def test_subscribers_are_active_fans_of_the_agencys_creators_newest_first(
    client: FanvueClient, sandbox: FanvueSandbox
) -> None:
    first = client.agencies.subscribers()
    assert_complete(first)
    rows = _subscribers(client)
    world = sandbox.world
    fans = {c.uuid: {f.uuid: f for f in c.fans} for c in world.creators}
    assert len(rows) > 9 * 2
    assert 0 < len(rows) < sum(len(c.fans) for c in world.creators)
    assert len({(r.creator_uuid, r.uuid) for r in rows}) == len(rows)
    for r in rows:
        fan = fans[r.creator_uuid][r.uuid]
        assert (r.handle, r.display_name, r.registered_at) == (fan.handle, fan.display_name, fan.registered_at)
        assert fan.registered_at <= r.subscribed_at < world.end
        assert r.expires_at is None or r.expires_at > NOW
    assert [r.subscribed_at for r in rows] == sorted((r.subscribed_at for r in rows), reverse=True)
    assert any(r.expires_at is None for r in rows)
    assert any(r.expires_at is not None for r in rows)
    picked = world.creators[2].uuid
    only = _subscribers(client, creator_uuids=[picked])
    assert only == [r for r in rows if r.creator_uuid == picked]


def test_subscribers_expire_when_the_clock_passes_expires_at(sandbox: FanvueSandbox) -> None:
    with sandbox.client(retry=NO_RETRY) as client:
        before = _subscribers(client)
    sandbox.advance(timedelta(days=31))
    with sandbox.client(retry=NO_RETRY) as client:
        after = _subscribers(client)
    assert after == [r for r in before if r.expires_at is None]


def test_subscribers_are_deterministic_per_seed(client: FanvueClient) -> None:
    other = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with other.client(retry=NO_RETRY) as twin:
        assert _subscribers(twin) == _subscribers(client)
    reseeded = FanvueSandbox(spec=replace(SPEC, seed=8), clock=SandboxClock(NOW))
    with reseeded.client(retry=NO_RETRY) as stranger:
        assert [r.uuid for r in _subscribers(stranger)] != [r.uuid for r in _subscribers(client)]


# ------------------------------------------------------------------------------------------ chatter leaderboard


def _leaderboard(world: World, lo: datetime, hi: datetime) -> dict[str, dict[str, Any]]:
    """The leaderboard computed straight from the chats, per chatter."""
    out: dict[str, dict[str, Any]] = {}
    team = {m.uuid for m in world.members()}
    for chats in world.chats.values():
        for chat in chats:
            for k, m in enumerate(chat.messages):
                if m.sent_by_user_id not in team or not lo <= m.sent_at < hi:
                    continue
                row = out.setdefault(m.sent_by_user_id, {"messages": 0, "sent": 0, "unlocked": 0, "revenue": 0})
                row["messages"] += 1
                row["sent"] += m.price is not None
                row["unlocked"] += m.purchased_at is not None
                row["revenue"] += m.price if m.purchased_at is not None and m.price else 0
                row.setdefault("hours", set()).add((m.sent_at.date(), m.sent_at.hour))
                if k and chat.messages[k - 1].sender.uuid == chat.fan.uuid:
                    row.setdefault("waits", []).append(
                        (m.sent_at - chat.messages[k - 1].sent_at) / timedelta(milliseconds=1)
                    )
    return out


def test_chatter_leaderboard_counts_team_messages(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    board = client.agencies.chatter_leaderboard()
    assert_complete(board)
    world = sandbox.world
    expected = _leaderboard(world, world.start - timedelta(days=400), NOW)
    assert expected  # the seeded world has a chatter
    assert {r.chatter_uuid for r in board.data} == set(expected)
    assert [r.revenue.cents for r in board.data] == sorted((r.revenue.cents for r in board.data), reverse=True)
    for r in board.data:
        e = expected[r.chatter_uuid]
        member = next(m for m in world.members() if m.uuid == r.chatter_uuid)
        assert r.chatter_name == (member.person.nickname or member.person.display_name)
        assert r.avatar_url == member.person.avatar_url
        assert (r.messages, r.ppvs_sent, r.ppvs_unlocked, r.revenue.cents) == (
            e["messages"],
            e["sent"],
            e["unlocked"],
            e["revenue"],
        )
        assert r.golden_ratio == pytest.approx(e["unlocked"] / e["messages"])
        assert r.unlock_ratio == pytest.approx(e["unlocked"] / e["sent"] if e["sent"] else 0.0)
        assert r.active_hours == len(e["hours"])
        assert r.eph == pytest.approx(e["revenue"] / len(e["hours"]))
        waits = e.get("waits")
        assert r.avg_response_ms == (pytest.approx(sum(waits) / len(waits)) if waits else None)


def test_chatter_leaderboard_filters_by_day_and_chatter(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    chatter = world.team[0].uuid
    start = datetime(2026, 10, 20, 15, tzinfo=UTC)  # whole UTC days: the 20th counts from midnight
    end = datetime(2026, 10, 28, 9, tzinfo=UTC)  # ...and the 28th, which starts before endDate
    rows = client.agencies.chatter_leaderboard(start_date=start, end_date=end).data
    expected = _leaderboard(world, datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 29, tzinfo=UTC))
    assert {r.chatter_uuid: r.messages for r in rows} == {k: e["messages"] for k, e in expected.items()}
    everything = client.agencies.chatter_leaderboard().data
    assert sum(r.messages for r in rows) < sum(r.messages for r in everything)
    assert client.agencies.chatter_leaderboard(chatter_uuids=[chatter]).data[0].chatter_uuid == chatter
    assert client.agencies.chatter_leaderboard(chatter_uuids=[world.admin.uuid]).data == []
    assert client.agencies.chatter_leaderboard(start_date=NOW - timedelta(hours=1)).data == []
    hundred_and_one = ",".join(str(uuid.uuid4()) for _ in range(101))
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/agencies/insights/chatter-leaderboard", params={"chatterUuids": hundred_and_one})
    assert caught.value.errors == ["chatterUuids accepts at most 100 values"]


def test_chatter_leaderboard_lags_a_day(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    creator = world.creators[0]
    chat: ChatRow = world.chats[creator.uuid][0]
    sale = MessageRow(
        uuid=str(uuid.uuid4()),
        text="just for you",
        sent_at=NOW - timedelta(hours=2),
        sender=creator.person,
        recipient=chat.fan,
        type="SINGLE_RECIPIENT",
        is_read=True,
        price=5000,
        purchased_at=NOW - timedelta(hours=1),
        sent_by_user_id=world.team[0].uuid,
    )
    before = client.agencies.chatter_leaderboard().data
    world.chats[creator.uuid] = (replace(chat, messages=(*chat.messages, sale)), *world.chats[creator.uuid][1:])
    assert client.agencies.chatter_leaderboard().data == before  # today is not aggregated yet
    sandbox.advance(timedelta(days=1))
    with sandbox.client(retry=NO_RETRY) as tomorrow:
        after = tomorrow.agencies.chatter_leaderboard().data
    assert after[0].revenue.cents == before[0].revenue.cents + 5000
    assert after[0].messages == before[0].messages + 1


# ------------------------------------------------------------------------------------------ chats


def test_agency_chats_span_every_creator_newest_first(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    first = client.agencies.chats()
    assert_complete(first)
    rows = _walk(lambda p: client.agencies.chats(page=p, size=8))
    world = sandbox.world
    assert len(rows) == sum(len(world.chats[c.uuid]) for c in world.creators) > 8 * 2
    for row in rows:
        assert row.creator_uuid is not None
        seeded = next(ch for ch in world.chats[row.creator_uuid] if ch.fan.uuid == row.user.uuid)
        assert row.model_dump(by_alias=True, mode="json", exclude={"creator_uuid"}) == _as_parsed(seeded.to_json())
    stamps = [r.last_message_at for r in rows]
    assert stamps == sorted(stamps, reverse=True)


def _as_parsed(chat: dict[str, Any]) -> dict[str, Any]:
    """The seeded JSON parsed and dumped the SDK's way, to compare with a row that went through the API."""
    return SdkChatRow.model_validate(chat).model_dump(by_alias=True, mode="json", exclude={"creator_uuid"})


def test_agency_aggregates_drop_a_creator_the_admin_lost(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    gone = world.creators[1].uuid
    sandbox.unassign(world.admin.uuid, gone)
    assert gone not in {r.creator_uuid for r in _walk(lambda p: client.agencies.chats(page=p, size=50))}
    assert gone not in {r.creator_uuid for r in _subscribers(client)}
    earnings = client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, creator_uuids=[gone])
    assert earnings.data == []


# ------------------------------------------------------------------------------------------ faults, async


def test_empty_fault_gives_each_endpoints_empty_form(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    sandbox.inject("empty", route="/agencies/team-members")
    sandbox.inject("empty", route="/agencies/insights/chatter-leaderboard")
    assert client.agencies.team_members() == []
    assert client.agencies.chatter_leaderboard().data == []


async def test_async_client_reads_the_same_aggregates(async_client: AsyncFanvueClient, client: FanvueClient) -> None:
    assert await async_client.agencies.team_members() == client.agencies.team_members()
    page = await async_client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, page=2, size=5)
    assert page == client.agencies.earnings(start_date=OCT_1, end_date=OCT_21, page=2, size=5)
    assert (await async_client.agencies.subscribers(page=2)).pagination.page == 2
    assert (await async_client.agencies.chats(size=3)).pagination.size == 3
