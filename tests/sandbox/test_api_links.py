"""Tracking links through the SDK: the list (cursor + ``limit``, date filters, newest first), create and delete,
the link's users, a user's last impression, the mirrors' scopes and the 400/403/404 answers."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import (
    AsyncFanvueClient,
    CreatorNotAssignedError,
    FanvueClient,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from onyx_fanvue.errors import BadRequestError
from onyx_fanvue.models.tracking_links import TrackingLinkMetadata, TrackingLinkUserStatus
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
VERSION = "2025-06-26"
STATUSES = {
    TrackingLinkUserStatus.SUBSCRIBER,
    TrackingLinkUserStatus.FOLLOWER,
    TrackingLinkUserStatus.EXPIRED,
    TrackingLinkUserStatus.DELETED,
    None,
}


def _scoped_client(sandbox: FanvueSandbox, who: str | None, scopes: tuple[str, ...]) -> FanvueClient:
    token = sandbox.token(who, scopes)
    return FanvueClient(token, transport=sandbox.sync_transport(), retry=NO_RETRY, rate_limited=False)


def _raw(sandbox: FanvueSandbox, who: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {sandbox.token(who)}", "X-Fanvue-API-Version": VERSION}
    return httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers)


def _busiest_link(sandbox: FanvueSandbox) -> tuple[str, str]:
    """(creator, link) of the seeded link with the most users."""
    world = sandbox.world
    pairs = [(c.uuid, link.uuid) for c in world.creators for link in world.tracking_links(c.uuid)]
    return max(pairs, key=lambda p: len(world.link_users(*p)))


# ------------------------------------------------------------------------------------------ list


def test_list_is_the_world_newest_first_and_complete(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    for c in sandbox.world.creators:
        page = client.tracking_links.list(creator_uuid=c.uuid)
        assert_complete(page)
        assert page.next_cursor is None
        expected = sorted(sandbox.world.tracking_links(c.uuid), key=lambda x: (x.created_at, x.uuid), reverse=True)
        assert [link.uuid for link in page.data] == [x.uuid for x in expected]
        for got, want in zip(page.data, expected, strict=True):
            assert got.model_dump(mode="json", by_alias=True) | {"createdAt": None} == want.to_json() | {
                "createdAt": None
            }
            assert got.created_at == want.created_at
        fresh = [link for link in page.data if link.clicks == 0]
        assert fresh
        assert all(link.earnings is None for link in fresh)


def test_own_list_equals_the_mirror(own: FanvueClient, client: FanvueClient, creator: str) -> None:
    mine = own.tracking_links.list()
    assert_complete(mine)
    assert mine == client.tracking_links.list(creator_uuid=creator)


def test_cursor_walk_with_limit_one_visits_every_link_once(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    for c in sandbox.world.creators:
        for k in range(3):
            sandbox.world.add_tracking_link(c.uuid, f"extra {k}", "tiktok", NOW - timedelta(days=k))
        walked = list(client.tracking_links.iter_list(creator_uuid=c.uuid, limit=1))
        whole = client.tracking_links.list(creator_uuid=c.uuid, limit=50).data
        assert walked == whole
        assert len({link.uuid for link in walked}) == len(sandbox.world.tracking_links(c.uuid))
    first = client.tracking_links.list(creator_uuid=sandbox.world.creators[0].uuid, limit=2)
    assert len(first.data) == 2
    assert first.next_cursor is not None


def test_cursor_survives_a_link_made_between_pages(client: FanvueClient, sandbox: FanvueSandbox, creator: str) -> None:
    first = client.tracking_links.list(creator_uuid=creator, limit=1)
    sandbox.world.add_tracking_link(creator, "late", "reddit", NOW)  # newest: sorts before the cursor
    rest = list(client.tracking_links.iter_list(creator_uuid=creator, cursor=first.next_cursor, limit=1))
    before = [x.uuid for x in sandbox.world.tracking_links(creator) if x.name != "late"]
    assert sorted([first.data[0].uuid, *(x.uuid for x in rest)]) == sorted(before)


def test_created_after_is_inclusive_and_created_before_exclusive(client: FanvueClient, creator: str) -> None:
    links = client.tracking_links.list(creator_uuid=creator).data
    pivot = links[1].created_at
    after = client.tracking_links.list(creator_uuid=creator, created_after=pivot).data
    before = client.tracking_links.list(creator_uuid=creator, created_before=pivot).data
    assert [x.uuid for x in after] == [x.uuid for x in links if x.created_at >= pivot]
    assert links[1].uuid in {x.uuid for x in after}
    assert [x.uuid for x in before] == [x.uuid for x in links if x.created_at < pivot]
    assert len(after) + len(before) == len(links)
    assert client.tracking_links.list(creator_uuid=creator, created_after=pivot, created_before=pivot).data == []
    by_day = client.tracking_links.list(creator_uuid=creator, created_after=pivot.date())
    assert {x.uuid for x in after} <= {x.uuid for x in by_day.data}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "2.5"}, "limit"),  # an integer; the spec sets no maximum
        ({"limit": "ten"}, "limit"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        ({"createdBefore": "2026-13-01"}, "createdBefore"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"cursor": "eyJ4IjoxfQ"}, "cursor"),  # valid base64 JSON, but not a link key
    ],
)
def test_bad_list_queries_are_400_with_errors(
    sandbox: FanvueSandbox, creator: str, params: dict[str, str], needle: str
) -> None:
    with _raw(sandbox) as http:
        response = http.get(f"/creators/{creator}/tracking-links", params=params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(needle in e for e in errors)


def test_limit_out_of_range_raises_the_sdks_validation_error(client: FanvueClient, creator: str) -> None:
    with pytest.raises(ValidationError) as caught:
        client.tracking_links.list(creator_uuid=creator, limit=0)
    assert caught.value.status_code == 400
    assert caught.value.errors


def test_an_account_that_is_not_a_creator_has_no_links(client: FanvueClient) -> None:
    page = client.tracking_links.list()
    assert page.data == []
    assert page.next_cursor is None


# ------------------------------------------------------------------------------------------ create / delete


def test_created_link_is_listed_first_and_deleting_removes_it(
    client: FanvueClient, sandbox: FanvueSandbox, creator: str
) -> None:
    sandbox.advance(60)
    made = client.tracking_links.create(name="Spring promo", platform="instagram", creator_uuid=creator)
    assert_complete(made)
    assert made.name == "Spring promo"
    assert made.external_social_platform == "instagram"
    assert made.clicks == 0
    assert made.earnings is None
    assert made.engagement is not None
    assert made.engagement.acquired_followers == 0
    assert made.created_at == sandbox.clock.now()
    assert made.link_url.startswith("fv-")
    urls = [x.link_url for c in sandbox.world.creators for x in sandbox.world.tracking_links(c.uuid)]
    assert urls.count(made.link_url) == 1
    listed = client.tracking_links.list(creator_uuid=creator).data
    assert listed[0] == made
    assert client.tracking_links.users(made.uuid, creator_uuid=creator).data == []

    client.tracking_links.delete(made.uuid, creator_uuid=creator)
    assert made.uuid not in {x.uuid for x in client.tracking_links.list(creator_uuid=creator).data}
    with pytest.raises(NotFoundError) as caught:
        client.tracking_links.delete(made.uuid, creator_uuid=creator)
    assert caught.value.body == {"message": "Tracking link not found"}


def test_creator_creates_and_deletes_on_the_own_paths(own: FanvueClient, sandbox: FanvueSandbox, creator: str) -> None:
    made = own.tracking_links.create(name="x", platform="other")
    assert_complete(made)
    assert sandbox.world.tracking_link(creator, made.uuid) is not None
    seeded = sandbox.world.tracking_links(creator)[0]
    own.tracking_links.delete(seeded.uuid)
    own.tracking_links.delete(made.uuid)
    assert {x.uuid for x in own.tracking_links.list().data}.isdisjoint({seeded.uuid, made.uuid})


def test_created_links_are_named_deterministically(creator: str) -> None:
    def make() -> list[str]:
        sb = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
        with sb.client(retry=NO_RETRY, rate_limited=False) as c:
            return [
                c.tracking_links.create(name=f"n{k}", platform="tiktok", creator_uuid=creator).model_dump_json()
                for k in range(2)
            ]

    first, second = make(), make()
    assert first == second
    assert len(set(first)) == 2


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ({"name": "", "externalSocialPlatform": "tiktok"}, ["name"]),
        ({"externalSocialPlatform": "tiktok"}, ["name"]),
        ({"name": 5, "externalSocialPlatform": "tiktok"}, ["name"]),
        ({"name": "ok", "externalSocialPlatform": "myspace"}, ["externalSocialPlatform"]),
        ({"name": "ok"}, ["externalSocialPlatform"]),
        ({}, ["name", "externalSocialPlatform"]),
        (["not", "an", "object"], ["name", "externalSocialPlatform"]),
    ],
)
def test_create_validates_the_body(sandbox: FanvueSandbox, creator: str, body: object, needles: list[str]) -> None:
    with _raw(sandbox) as http:
        response = http.post(f"/creators/{creator}/tracking-links", json=body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == len(needles)
    assert all(any(n in e for e in errors) for n in needles)
    assert len(sandbox.world.tracking_links(creator)) == len(sandbox.world.links[creator])


def test_unknown_platform_through_the_sdk_is_a_validation_error(client: FanvueClient, creator: str) -> None:
    before = client.tracking_links.list(creator_uuid=creator).data
    with pytest.raises(ValidationError) as caught:
        client.tracking_links.create(name="x", platform="threads", creator_uuid=creator)
    assert "externalSocialPlatform" in caught.value.errors[0]
    assert client.tracking_links.list(creator_uuid=creator).data == before


def test_create_needs_write_scopes_and_a_creator(sandbox: FanvueSandbox, creator: str, client: FanvueClient) -> None:
    read_only = ("read:self", "read:creator", "read:tracking_links", "write:creator")
    with _scoped_client(sandbox, None, read_only) as c, pytest.raises(PermissionDeniedError):
        c.tracking_links.create(name="x", platform="tiktok", creator_uuid=creator)
    no_creator_write = ("read:creator", "read:tracking_links", "write:tracking_links")
    with _scoped_client(sandbox, None, no_creator_write) as c:
        with pytest.raises(PermissionDeniedError):
            c.tracking_links.create(name="x", platform="tiktok", creator_uuid=creator)
        with pytest.raises(PermissionDeniedError):
            c.tracking_links.delete(sandbox.world.tracking_links(creator)[0].uuid, creator_uuid=creator)
    with pytest.raises(PermissionDeniedError) as caught:
        client.tracking_links.create(name="x", platform="tiktok")  # the admin's own account: not a creator
    assert "error" in caught.value.body
    with _scoped_client(sandbox, creator, ("write:tracking_links",)) as c:
        assert c.tracking_links.create(name="x", platform="tiktok").name == "x"  # own path: no write:creator


def test_delete_unknown_malformed_or_other_creators_link(
    client: FanvueClient, sandbox: FanvueSandbox, creator: str
) -> None:
    other = sandbox.world.tracking_links(sandbox.world.creators[1].uuid)[0].uuid
    for link in (other, "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotFoundError) as caught:
            client.tracking_links.delete(link, creator_uuid=creator)
        assert caught.value.body == {"message": "Tracking link not found"}
    assert sandbox.world.tracking_link(sandbox.world.creators[1].uuid, other) is not None
    with pytest.raises(BadRequestError) as bad:
        client.tracking_links.delete("not-a-uuid", creator_uuid=creator)
    assert "message" in bad.value.body  # the creator mirror lists {message} for an invalid uuid
    own = sandbox.client(creator, retry=NO_RETRY, rate_limited=False)
    with own, pytest.raises(ValidationError) as own_bad:  # the own-account DELETE lists only {errors}
        own.tracking_links.delete("not-a-uuid")
    assert own_bad.value.body.keys() == {"errors"}


def test_unassigned_member_gets_not_assigned(sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[-1]
    hidden = next(c.uuid for c in sandbox.world.creators if not sandbox.access.can_access(member.uuid, c.uuid))
    with sandbox.client(member.uuid, retry=NO_RETRY, rate_limited=False) as c:
        with pytest.raises(CreatorNotAssignedError):
            c.tracking_links.list(creator_uuid=hidden)
        with pytest.raises(CreatorNotAssignedError):
            c.tracking_links.create(name="x", platform="tiktok", creator_uuid=hidden)
    assert all(x.name != "x" for x in sandbox.world.tracking_links(hidden))


# ------------------------------------------------------------------------------------------ users


def test_link_users_are_fans_with_statuses_within_the_engagement(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    seen: set[str] = set()
    statuses: set[str | None] = set()
    for c in world.creators:
        fans = {f.uuid for f in c.fans}
        for link in world.tracking_links(c.uuid):
            page = client.tracking_links.users(link.uuid, creator_uuid=c.uuid, limit=50)
            assert_complete(page)
            assert page.next_cursor is None
            uuids = [u.uuid for u in page.data]
            assert uuids == sorted(uuids)
            assert set(uuids) <= fans
            assert seen.isdisjoint(uuids)  # first-click attribution: one link per fan
            seen.update(uuids)
            assert len(uuids) <= max(link.acquired_followers, link.acquired_subscribers)
            subscribed = sum(u.status == TrackingLinkUserStatus.SUBSCRIBER for u in page.data)
            assert subscribed <= link.total_subscribers
            statuses.update(u.status for u in page.data)
            if link.clicks == 0:
                assert uuids == []
    assert statuses <= STATUSES
    assert {TrackingLinkUserStatus.FOLLOWER, TrackingLinkUserStatus.EXPIRED} <= statuses
    assert seen


def test_link_users_cursor_walk(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    creator, link = _busiest_link(sandbox)
    whole = client.tracking_links.users(link, creator_uuid=creator, limit=50).data
    assert len(whole) >= 3
    walked, cursor, pages = [], None, 0
    while True:
        page = client.tracking_links.users(link, creator_uuid=creator, cursor=cursor, limit=2)
        assert_complete(page)
        walked += page.data
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == whole
    assert pages == -(-len(whole) // 2)
    default = client.tracking_links.users(link, creator_uuid=creator)
    assert default.data == whole[:20]


def test_link_users_own_path_and_errors(own: FanvueClient, client: FanvueClient, sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    link = sandbox.world.tracking_links(creator)[0].uuid
    assert own.tracking_links.users(link) == client.tracking_links.users(link, creator_uuid=creator)
    other = sandbox.world.tracking_links(sandbox.world.creators[1].uuid)[0].uuid
    for missing in (other, "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotFoundError):
            own.tracking_links.users(missing)
    with pytest.raises(ValidationError):
        own.tracking_links.users(link, limit=0)
    with pytest.raises(BadRequestError):
        own.tracking_links.users("nope")
    with pytest.raises(ValidationError):
        own.tracking_links.users(link, cursor="eyJ1dWlkIjoxfQ")  # {"uuid": 1}


def test_deleted_link_has_no_users_and_others_keep_theirs(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    creator, link = _busiest_link(sandbox)
    others = {
        x.uuid: client.tracking_links.users(x.uuid, creator_uuid=creator) for x in sandbox.world.tracking_links(creator)
    }
    client.tracking_links.delete(link, creator_uuid=creator)
    with pytest.raises(NotFoundError):
        client.tracking_links.users(link, creator_uuid=creator)
    for uuid, page in others.items():
        if uuid != link:
            assert client.tracking_links.users(uuid, creator_uuid=creator) == page


def test_user_metadata_is_the_last_impression(sandbox: FanvueSandbox) -> None:
    creator, link = _busiest_link(sandbox)
    users = sandbox.world.link_users(creator, link)
    came = users[0].fan.uuid
    never = next(f.uuid for f in sandbox.world.creator(creator).fans if f.uuid not in {u.fan.uuid for u in users})
    with _raw(sandbox) as http:
        base = f"/creators/{creator}/tracking-links/{link}/users"
        hit = http.get(f"{base}/{came}/metadata")
        miss = http.get(f"{base}/{never}/metadata")
        stranger = http.get(f"{base}/00000000-0000-4000-8000-000000000000/metadata")
        malformed = http.get(f"{base}/nope/metadata")
    assert hit.status_code == 200
    parsed = TrackingLinkMetadata.model_validate(hit.json())
    assert_complete(parsed)
    assert parsed.metadata is not None
    assert parsed.metadata["source"]
    assert miss.json() == {"metadata": None}
    assert stranger.status_code == 404
    assert "message" in stranger.json()
    assert malformed.status_code == 400
    assert "message" in malformed.json()
    with _raw(sandbox, creator) as http:
        own = http.get(f"/tracking-links/{link}/users/{came}/metadata")
    assert own.json() == hit.json()


# ------------------------------------------------------------------------------------------ determinism, async


def test_same_seed_same_links_and_users(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    twin = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with twin.client(retry=NO_RETRY, rate_limited=False) as other:
        for c in sandbox.world.creators:
            mine = client.tracking_links.list(creator_uuid=c.uuid)
            assert mine == other.tracking_links.list(creator_uuid=c.uuid)
            for link in mine.data:
                a = client.tracking_links.users(link.uuid, creator_uuid=c.uuid)
                assert a == other.tracking_links.users(link.uuid, creator_uuid=c.uuid)


async def test_async_client_lists_creates_and_deletes(
    async_client: AsyncFanvueClient, client: FanvueClient, creator: str
) -> None:
    walked = [x async for x in async_client.tracking_links.iter_list(creator_uuid=creator, limit=1)]
    assert walked == client.tracking_links.list(creator_uuid=creator).data
    made = await async_client.tracking_links.create(name="async", platform="youtube", creator_uuid=creator)
    assert_complete(made)
    users = await async_client.tracking_links.users(walked[-1].uuid, creator_uuid=creator)
    assert_complete(users)
    await async_client.tracking_links.delete(made.uuid, creator_uuid=creator)
    assert [x.uuid for x in (await async_client.tracking_links.list(creator_uuid=creator)).data] == [
        x.uuid for x in walked
    ]
