"""Posts through the SDK: the page listing (pinned first, then newest; scheduled posts only on request), one post by
uuid for its owner and the agency members who may see the owner, and the generated posts' consistency with the
creator's counts."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import AsyncFanvueClient, FanvueClient, NotFoundError, PermissionDeniedError, ValidationError
from onyx_fanvue.errors import BadRequestError
from onyx_fanvue.models.posts import Post, PostAudience
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
VERSION = "2025-06-26"


def _all(client: FanvueClient, creator: str | None, *, unpublished: bool | None = None) -> list[Post]:
    return list(client.posts.iter_list(creator_uuid=creator, size=50, include_unpublished=unpublished))


def _listing_order(posts: list[Post]) -> list[tuple[bool, float]]:
    return [(not p.is_pinned, -p.created_at.timestamp()) for p in posts]


# ------------------------------------------------------------------------------------------ list


def test_list_is_complete_pinned_first_then_newest(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    for c in sandbox.world.creators:
        page = client.posts.list(creator_uuid=c.uuid)
        assert_complete(page)
        assert page.pagination.page == 1
        assert page.pagination.size == len(page.data) == 15
        assert page.pagination.has_more
        posts = _all(client, c.uuid, unpublished=True)
        assert_complete(posts)
        assert _listing_order(posts) == sorted(_listing_order(posts))
        assert posts[0].is_pinned
        assert 1 <= sum(p.is_pinned for p in posts) <= 2


def test_page_walk_equals_one_big_page(client: FanvueClient, creator: str) -> None:
    walked = list(client.posts.iter_list(creator_uuid=creator, size=7, include_unpublished=True))
    big = [p for n in (1, 2, 3, 4, 5) for p in client.posts.list(creator_uuid=creator, page=n, size=50).data]
    everything = _all(client, creator, unpublished=True)
    assert walked == everything
    assert len({p.uuid for p in walked}) == len(walked)
    assert {p.uuid for p in big} <= {p.uuid for p in everything}
    last = client.posts.list(creator_uuid=creator, page=100, size=50)
    assert last.data == []
    assert not last.pagination.has_more
    assert last.pagination.size == 0


def test_counts_agree_with_the_creators_profile(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    for c in sandbox.world.creators:
        with sandbox.client(c.uuid, retry=NO_RETRY, rate_limited=False) as mine:
            counts = mine.users.me().content_counts
            posts = _all(mine, None, unpublished=True)
        assert counts is not None
        assert len(posts) == counts.post_count == len(c.post_uuids)
        assert {p.uuid for p in posts} == set(c.post_uuids)
        assert sum(p.price is not None for p in posts) == counts.pay_to_view_post_count
        assert sum(p.likes_count for p in posts) <= c.likes


def test_generated_posts_are_plausible(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    audiences = {PostAudience.SUBSCRIBERS, PostAudience.FOLLOWERS_AND_SUBSCRIBERS}
    for c in world.creators:
        for post in _all(client, c.uuid, unpublished=True):
            assert world.start <= post.created_at < world.end
            assert post.audience in audiences
            if post.price is not None:
                assert post.price.cents > 0
                assert post.media_preview_uuid is not None
                assert post.media_uuids
                assert post.audience == PostAudience.SUBSCRIBERS
            else:
                assert post.media_preview_uuid is None
            assert post.text is not None or post.media_uuids
            assert post.tips.total_net.cents <= post.tips.total_gross.cents
            assert (post.tips.count == 0) == (post.tips.total_gross.cents == 0)
            if post.publish_at is None:
                assert post.published_at == post.created_at
            if post.expires_at is not None:
                assert post.expires_at > (post.publish_at or post.created_at)
            assert len({x.uuid for x in post.collections}) == len(post.collections)


def test_scheduled_posts_only_with_include_unpublished(
    client: FanvueClient, sandbox: FanvueSandbox, creator: str
) -> None:
    published = _all(client, creator)
    everything = _all(client, creator, unpublished=True)
    scheduled = [p for p in everything if p.published_at is None]
    assert scheduled
    assert all(p.publish_at is not None and p.publish_at > NOW for p in scheduled)
    assert all(p.likes_count == p.comments_count == p.tips.count == 0 and not p.is_pinned for p in scheduled)
    assert [p.uuid for p in published] == [p.uuid for p in everything if p.published_at is not None]
    assert _all(client, creator, unpublished=False) == published

    first = min(p.publish_at for p in scheduled if p.publish_at is not None)
    sandbox.advance(first - NOW)
    with sandbox.client(retry=NO_RETRY, rate_limited=False) as later:  # the first token expired meanwhile
        now_live = next(p for p in later.posts.iter_list(creator_uuid=creator) if p.publish_at == first)
        assert now_live.published_at == first
        assert len(_all(later, creator)) == len(published) + 1


def test_own_list_equals_the_mirror(own: FanvueClient, client: FanvueClient, creator: str) -> None:
    mine = own.posts.list(size=50, include_unpublished=True)
    assert_complete(mine)
    assert mine == client.posts.list(creator_uuid=creator, size=50, include_unpublished=True)


def test_an_account_that_is_not_a_creator_has_no_posts(client: FanvueClient) -> None:
    page = client.posts.list()
    assert page.data == []
    assert not page.pagination.has_more


@pytest.mark.parametrize(
    ("params", "needle"),
    [({"size": "0"}, "size"), ({"size": "51"}, "size"), ({"page": "0"}, "page"), ({"includeUnpublished": "y"}, "incl")],
)
def test_bad_list_queries_are_400_with_errors(
    sandbox: FanvueSandbox, creator: str, params: dict[str, str], needle: str
) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token()}", "X-Fanvue-API-Version": VERSION}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers) as http:
        response = http.get(f"/creators/{creator}/posts", params=params)
    assert response.status_code == 400
    assert any(needle in e for e in response.json()["errors"])


def test_size_out_of_range_raises_the_sdks_validation_error(client: FanvueClient, creator: str) -> None:
    with pytest.raises(ValidationError):
        client.posts.list(creator_uuid=creator, size=51)


def test_listing_needs_read_post(sandbox: FanvueSandbox, creator: str) -> None:
    token = sandbox.token(creator, ("read:self", "read:creator"))
    with FanvueClient(token, transport=sandbox.sync_transport(), retry=NO_RETRY, rate_limited=False) as c:
        with pytest.raises(PermissionDeniedError):
            c.posts.list()
        with pytest.raises(PermissionDeniedError):
            c.posts.get(sandbox.world.creator(creator).post_uuids[0])


# ------------------------------------------------------------------------------------------ one post


def test_get_returns_the_listed_post_to_owner_and_agency(own: FanvueClient, client: FanvueClient, creator: str) -> None:
    posts = _all(client, creator, unpublished=True)
    for post in (posts[0], posts[len(posts) // 2], next(p for p in posts if p.published_at is None)):
        got = own.posts.get(post.uuid)
        assert_complete(got)
        assert got == post == client.posts.get(post.uuid)
    assert own.posts.get(posts[0].uuid.upper()) == posts[0]


def test_get_is_404_for_unknown_and_for_callers_who_may_not_see_the_owner(sandbox: FanvueSandbox) -> None:
    world = sandbox.world
    member = world.team[-1]
    seen = next(c for c in world.creators if sandbox.access.can_access(member.uuid, c.uuid))
    hidden = next(c for c in world.creators if not sandbox.access.can_access(member.uuid, c.uuid))
    with sandbox.client(member.uuid, retry=NO_RETRY, rate_limited=False) as c:
        assert c.posts.get(seen.post_uuids[0]).uuid == seen.post_uuids[0]
        with pytest.raises(NotFoundError) as caught:
            c.posts.get(hidden.post_uuids[0])
        assert caught.value.body == {"message": "Post not found"}
        sandbox.unassign(member.uuid, seen.uuid)
        with pytest.raises(NotFoundError):
            c.posts.get(seen.post_uuids[0])
    with sandbox.client(world.creators[1].uuid, retry=NO_RETRY, rate_limited=False) as other_creator:
        with pytest.raises(NotFoundError):
            other_creator.posts.get(world.creators[0].post_uuids[0])
        with pytest.raises(NotFoundError) as unknown:
            other_creator.posts.get("00000000-0000-4000-8000-000000000000")
        assert unknown.value.body == {"message": "Post not found"}
        with pytest.raises(BadRequestError) as malformed:
            other_creator.posts.get("not-a-uuid")
        assert "message" in malformed.value.body


# ------------------------------------------------------------------------------------------ determinism, async


def test_same_seed_same_posts(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    twin = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with twin.client(retry=NO_RETRY, rate_limited=False) as other:
        for c in sandbox.world.creators:
            assert _all(client, c.uuid, unpublished=True) == _all(other, c.uuid, unpublished=True)
    reseeded = FanvueSandbox(spec=replace(SPEC, seed=SPEC.seed + 1), clock=SandboxClock(NOW))
    a = sandbox.world.posts(sandbox.world.creators[0].uuid)
    b = reseeded.world.posts(reseeded.world.creators[0].uuid)
    assert [p.uuid for p in a] != [p.uuid for p in b]


async def test_async_client_walks_and_gets(async_client: AsyncFanvueClient, client: FanvueClient, creator: str) -> None:
    walked = [p async for p in async_client.posts.iter_list(creator_uuid=creator, size=9)]
    assert walked == _all(client, creator)
    got = await async_client.posts.get(walked[-1].uuid)
    assert_complete(got)
    assert got == walked[-1]
