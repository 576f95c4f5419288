"""``/subscribers``, ``/followers`` and ``/chats/lists/smart`` (+ their creator mirrors) through the SDK: complete
shapes, paging walks, the disjoint split, sorting and its 400s, the counters behind the smart lists, access rules
and determinism."""

from __future__ import annotations

from typing import Any

import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import AsyncFanvueClient, CreatorNotAssignedError, FanvueClient, PermissionDeniedError, ValidationError
from onyx_fanvue.models.audience import SmartListId
from onyx_fanvue.models.common import FanUser, Page
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.endpoints.audience import current_followers, current_subscribers
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

SMART_IDS = [
    SmartListId.SUBSCRIBERS,
    SmartListId.AUTO_RENEWING,
    SmartListId.NON_RENEWING,
    SmartListId.FOLLOWERS,
    SmartListId.FREE_TRIAL_SUBSCRIBERS,
    SmartListId.EXPIRED_SUBSCRIBERS,
    SmartListId.SPENT_MORE_THAN_50,
]


def _creator(sandbox: FanvueSandbox, i: int = 0) -> str:
    return sandbox.world.creators[i].uuid


def _page(client: FanvueClient, path: str, **params: Any) -> Page[FanUser]:
    return Page[FanUser].model_validate(client.request("GET", path, params=params).json())


# ------------------------------------------------------------------------------------------ subscribers


def test_subscribers_walk_is_complete_and_newest_first(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    first = client.audience.subscribers(creator_uuid=creator, size=3)
    assert_complete(first)
    assert (first.pagination.page, first.pagination.size, first.pagination.has_more) == (1, 3, True)
    walked = [f.uuid for f in client.audience.iter_subscribers(creator_uuid=creator, size=3)]
    expected = current_subscribers(sandbox.world, creator)
    assert walked == [m.fan.uuid for m in expected]
    assert len(walked) == 8  # 12 named fans, two thirds subscribe
    since = [m.since for m in expected]
    assert since == sorted(since, reverse=True)
    last = client.audience.subscribers(creator_uuid=creator, page=3, size=3)
    assert_complete(last)
    assert (last.pagination.size, last.pagination.has_more) == (2, False)
    beyond = client.audience.subscribers(creator_uuid=creator, page=9, size=3)
    assert (beyond.data, beyond.pagination.has_more) == ([], False)


@pytest.mark.parametrize(
    ("field", "direction"),
    [("name", None), ("name", "asc"), ("name", "desc"), ("subscribedAt", "asc"), ("subscribedAt", "desc")],
)
def test_subscribers_sorting(sandbox: FanvueSandbox, client: FanvueClient, field: str, direction: str | None) -> None:
    creator = _creator(sandbox)
    params = {"sortField": field, "size": 50} | ({"sortDirection": direction} if direction else {})
    page = _page(client, f"/creators/{creator}/subscribers", **params)
    assert_complete(page)
    members = current_subscribers(sandbox.world, creator)
    if field == "name":
        expected = sorted(members, key=lambda m: (m.fan.display_name.casefold(), m.fan.uuid))
    else:
        expected = sorted(members, key=lambda m: (m.since, m.fan.uuid))
    if direction == "desc":
        expected.reverse()
    assert [f.uuid for f in page.data] == [m.fan.uuid for m in expected]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"sortField": "price"}, "sortField"),
        ({"sortField": "name", "sortDirection": "up"}, "sortDirection"),
        ({"sortDirection": "DESC"}, "sortDirection"),
        ({"size": 51}, "size"),
        ({"size": 0}, "size"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
    ],
)
def test_subscribers_bad_query_is_400(client: FanvueClient, params: dict[str, Any], name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/subscribers", params=params)
    assert caught.value.status_code == 400
    assert caught.value.body.keys() == {"errors"}
    assert any(name in e for e in caught.value.errors)


# ------------------------------------------------------------------------------------------ followers


def test_followers_walk_and_disjoint_from_subscribers(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    page = client.audience.followers(creator_uuid=creator, size=2)
    assert_complete(page)
    assert page.pagination.has_more
    followers = [f.uuid for f in client.audience.iter_followers(creator_uuid=creator, size=2)]
    subscribers = [f.uuid for f in client.audience.iter_subscribers(creator_uuid=creator)]
    assert followers == [m.fan.uuid for m in current_followers(sandbox.world, creator)]
    assert len(followers) == 4
    assert not set(followers) & set(subscribers)
    assert set(followers) | set(subscribers) == {f.uuid for f in sandbox.world.creators[0].fans}
    with pytest.raises(ValidationError):
        client.audience.followers(creator_uuid=creator, size=51)


def test_lists_never_exceed_the_counters(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    subscribers = sandbox.world.subscribers(creator)
    sandbox.set_followers(creator, subscribers + 1)  # room for one follower-only fan
    assert len(client.audience.followers(creator_uuid=creator, size=50).data) == 1
    sandbox.set_followers(creator, 0)
    empty = client.audience.followers(creator_uuid=creator)
    assert (empty.data, empty.pagination.size, empty.pagination.has_more) == ([], 0, False)
    assert len(client.audience.subscribers(creator_uuid=creator, size=50).data) == 8  # subscribers are unaffected


# ------------------------------------------------------------------------------------------ smart lists


def test_smart_lists_agree_with_the_world_counters(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    world = sandbox.world
    for creator in world.creators:
        lists = client.audience.smart_lists(creator_uuid=creator.uuid)
        assert_complete(lists)
        assert [s.uuid for s in lists] == SMART_IDS
        count = {s.uuid: s.count for s in lists}
        subs = world.subscribers(creator.uuid)
        assert count["subscribers"] == subs
        assert count["followers"] == world.followers(creator.uuid)
        assert count["auto_renewing"] + count["non_renewing"] == subs
        assert 0 <= count["free_trial_subscribers"] <= subs
        cancelled = sum(r.cancelled_subscribers_count for r in world.subscriber_trend(creator.uuid))
        assert count["expired_subscribers"] == cancelled
        big = [s for s in world.top_spenders(creator.uuid) if s.gross > 5000]
        assert count["spent_more_than_50"] == len(big)
        assert all(isinstance(s.name, str) and s.name for s in lists)


def test_smart_lists_match_the_creators_own_fan_counts(sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox, 1)
    sandbox.set_followers(creator, 4321)
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as own:
        counts = {s.uuid: s.count for s in own.audience.smart_lists()}
        me = own.users.me()
    assert me.fan_counts is not None
    assert counts["followers"] == me.fan_counts.followers_count == 4321
    assert counts["subscribers"] == me.fan_counts.subscribers_count


def test_smart_lists_need_read_chat(sandbox: FanvueSandbox) -> None:
    token = sandbox.token(scopes=["read:creator", "read:fan"])
    with sandbox.client(access_token=token, retry=NO_RETRY, rate_limited=False) as limited:
        limited.audience.subscribers(creator_uuid=_creator(sandbox))
        with pytest.raises(PermissionDeniedError):
            limited.audience.smart_lists(creator_uuid=_creator(sandbox))


def test_empty_fault_gives_a_bare_empty_array(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    sandbox.inject("empty", route="/creators/{creator}/chats/lists/smart")
    assert client.audience.smart_lists(creator_uuid=_creator(sandbox)) == []


# ------------------------------------------------------------------------------------------ who sees what


def test_a_non_creator_has_no_audience(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    for page in (client.audience.subscribers(), client.audience.followers()):
        assert_complete(page)
        assert (page.data, page.pagination.size, page.pagination.has_more) == ([], 0, False)
    lists = client.audience.smart_lists()
    assert [s.uuid for s in lists] == SMART_IDS
    assert all(s.count == 0 for s in lists)


def test_a_creators_own_token_sees_their_own_audience(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 2)
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as own:
        own_subs = list(own.audience.iter_subscribers(size=5))
        own_followers = list(own.audience.iter_followers(size=5))
        own_lists = own.audience.smart_lists()
    assert own_subs == list(client.audience.iter_subscribers(creator_uuid=creator, size=5))
    assert own_followers == list(client.audience.iter_followers(creator_uuid=creator, size=5))
    assert own_lists == client.audience.smart_lists(creator_uuid=creator)
    assert own_subs != list(client.audience.iter_subscribers(creator_uuid=_creator(sandbox, 0)))


def test_a_team_member_without_access_gets_not_assigned(sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[-1].uuid  # sees only the first creator
    with sandbox.client(member, retry=NO_RETRY, rate_limited=False) as chatter:
        assert chatter.audience.subscribers(creator_uuid=_creator(sandbox, 0)).data
        hidden = _creator(sandbox, 1)
        for call in (
            lambda: chatter.audience.subscribers(creator_uuid=hidden),
            lambda: chatter.audience.followers(creator_uuid=hidden),
            lambda: chatter.audience.smart_lists(creator_uuid=hidden),
        ):
            with pytest.raises(CreatorNotAssignedError) as caught:
                call()
            assert caught.value.status_code == 404
        sandbox.unassign(member, _creator(sandbox, 0))
        with pytest.raises(CreatorNotAssignedError):
            chatter.audience.subscribers(creator_uuid=_creator(sandbox, 0))


# ------------------------------------------------------------------------------------------ determinism, async


def test_same_seed_same_answers(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    twin = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    creator = _creator(sandbox)
    paths = [
        f"/creators/{creator}/subscribers",
        f"/creators/{creator}/followers",
        f"/creators/{creator}/chats/lists/smart",
    ]
    with twin.client(retry=NO_RETRY, rate_limited=False) as other:
        for path in paths:
            assert (
                client.request("GET", path, params={"size": 50}).json()
                == other.request("GET", path, params={"size": 50}).json()
            )


async def test_async_client_walks_the_same_lists(
    sandbox: FanvueSandbox, client: FanvueClient, async_client: AsyncFanvueClient
) -> None:
    creator = _creator(sandbox)
    subs = [f async for f in async_client.audience.iter_subscribers(creator_uuid=creator, size=4)]
    followers = [f async for f in async_client.audience.iter_followers(creator_uuid=creator, size=4)]
    assert subs == list(client.audience.iter_subscribers(creator_uuid=creator))
    assert followers == list(client.audience.iter_followers(creator_uuid=creator))
    assert await async_client.audience.smart_lists(creator_uuid=creator) == client.audience.smart_lists(
        creator_uuid=creator
    )
    page = await async_client.audience.subscribers(creator_uuid=creator, size=2)
    assert_complete(page)
