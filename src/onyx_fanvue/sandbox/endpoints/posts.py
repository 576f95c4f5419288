"""``/posts`` (+ ``/creators/{creator}/posts``) and ``/posts/{post}`` (api doc §1.6, §2.18).

Listings are pinned first, then newest ``createdAt`` first; scheduled posts (``publishAt`` still ahead of the
sandbox clock) appear only with ``includeUnpublished=true``. ``/posts/{post}`` has no creator mirror, so the
sandbox decides access from the post's owner: the creator themself, or a team member the access book lets see
that creator (the agency token reads a managed creator's post on the plain path). Anyone else gets the same 404 as
for an unknown post, so a post's existence does not leak. An account that is not a creator has no posts.
"""

from __future__ import annotations

from typing import Any

from onyx_fanvue.sandbox._http import check_uuid, not_found, page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.world import PostRow

__all__ = ["ENDPOINTS"]

POST_NOT_FOUND = "Post not found"


def _list(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    include_unpublished = ctx.query.boolean("includeUnpublished")
    now = ctx.now
    posts = ctx.world.posts(ctx.subject) if ctx.subject_is_creator() else ()
    rows = (p for p in posts if include_unpublished or p.is_published(now))
    return page_envelope(rows, page, size, lambda p: p.to_json(now))


def _get(ctx: Ctx) -> dict[str, Any]:
    post_uuid = check_uuid(ctx.params["post"], "postUuid")
    post: PostRow | None = ctx.world.post(post_uuid)
    if post is None:
        raise not_found(POST_NOT_FOUND)
    owner = post.creator_uuid
    if ctx.user != owner and not ctx.sandbox.access.can_access(ctx.user, owner):
        raise not_found(POST_NOT_FOUND)
    return post.to_json(ctx.now)


def _no_counts(body: Any) -> Any:
    """The post with its engagement withheld: zero likes, comments and tips."""
    return {**body, "likesCount": 0, "commentsCount": 0, "tips": {"count": 0, "totalGross": 0, "totalNet": 0}}


ENDPOINTS: list[Endpoint] = [
    *mirrored("GET", "/posts", ("read:post",), _list, Shape.PAGE),
    Endpoint("GET", "/posts/{post}", ("read:post",), _get, empty=_no_counts),
]
