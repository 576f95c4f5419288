"""``/tracking-links``: list, create, delete, the link's users and a user's last impression, each with its
``/creators/{creator}`` mirror (api doc §1.5, §2.17).

Listings are newest ``createdAt`` first (uuid breaking ties), link users by fan uuid; both page with opaque
key-set cursors, so links created or deleted between pages neither repeat nor skip rows. An account that is not a
creator (an agency admin on the own-account paths) has no links: its lists are empty, its creates 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from onyx_fanvue.sandbox._http import ApiError, Reply, check_uuid, cursor_page, decode_cursor, invalid, not_found
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.world import LinkUserRow, TrackingLink

__all__ = ["ENDPOINTS", "PLATFORMS"]

PLATFORMS = ("facebook", "instagram", "other", "reddit", "snapchat", "tiktok", "twitter", "youtube")
LINK_NOT_FOUND = "Tracking link not found"
_BAD_CURSOR = "cursor is not valid"


def _links_of(ctx: Ctx) -> tuple[TrackingLink, ...]:
    return ctx.world.tracking_links(ctx.subject) if ctx.subject_is_creator() else ()


def _link(ctx: Ctx, *, validation: bool = False) -> TrackingLink:
    """The path's link among the subject's links, or Fanvue's 400 (not a uuid) / 404 (not theirs or unknown)."""
    link_uuid = check_uuid(ctx.params["link"], "trackingLinkUuid", validation=validation)
    link = ctx.world.tracking_link(ctx.subject, link_uuid) if ctx.subject_is_creator() else None
    if link is None:
        raise not_found(LINK_NOT_FOUND)
    return link


def _link_key(link: TrackingLink) -> Mapping[str, Any]:
    return {"createdAt": link.created_at.isoformat(), "uuid": link.uuid}


def _after_key(cursor: str | None) -> tuple[datetime, str] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    created, link_uuid = key.get("createdAt"), key.get("uuid")
    if not isinstance(created, str) or not isinstance(link_uuid, str):
        raise invalid(_BAD_CURSOR)
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        raise invalid(_BAD_CURSOR) from None
    if moment.tzinfo is None:
        raise invalid(_BAD_CURSOR)
    return moment, link_uuid


def _list(ctx: Ctx) -> dict[str, Any]:
    size = ctx.query.limit()
    after = ctx.query.instant("createdAfter")  # inclusive
    before = ctx.query.instant("createdBefore")  # exclusive
    key = _after_key(ctx.query.get("cursor"))
    newest_first = sorted(_links_of(ctx), key=lambda link: (link.created_at, link.uuid), reverse=True)
    rows = (
        link
        for link in newest_first
        if (after is None or link.created_at >= after)
        and (before is None or link.created_at < before)
        and (key is None or (link.created_at, link.uuid) < key)
    )
    return cursor_page(rows, size, _link_key, TrackingLink.to_json)


def _create(ctx: Ctx) -> Reply:
    if not ctx.subject_is_creator():
        raise ApiError(403, {"error": "Forbidden: only creators have tracking links"})
    body = ctx.body if isinstance(ctx.body, dict) else {}
    name, platform = body.get("name"), body.get("externalSocialPlatform")
    errors: list[str] = []
    if not isinstance(name, str) or len(name) < 1:
        errors.append("name must be a string of at least 1 character")
    if platform not in PLATFORMS:
        errors.append(f"externalSocialPlatform must be one of: {', '.join(PLATFORMS)}")
    if errors:
        raise invalid(*errors)
    link = ctx.world.add_tracking_link(ctx.subject, str(name), str(platform), ctx.now)
    return Reply(link.to_json(), 201)


def _delete(ctx: Ctx) -> Reply:
    link = _link(ctx, validation=ctx.creator is None)  # the own-account DELETE lists only the {errors} 400
    if not ctx.world.delete_tracking_link(ctx.subject, link.uuid):  # deleted by a concurrent request
        raise not_found(LINK_NOT_FOUND)
    return Reply(None, 204)


def _users(ctx: Ctx) -> dict[str, Any]:
    link = _link(ctx)
    size = ctx.query.limit()
    key = decode_cursor(ctx.query.get("cursor"))
    last = key.get("uuid") if key is not None else None
    if key is not None and not isinstance(last, str):
        raise invalid(_BAD_CURSOR)
    rows = ctx.world.link_users(ctx.subject, link.uuid)
    return cursor_page(
        (r for r in rows if last is None or r.fan.uuid > last),
        size,
        lambda r: {"uuid": r.fan.uuid},
        LinkUserRow.to_json,
    )


def _metadata(ctx: Ctx) -> dict[str, Any]:
    """The fan's last impression on the link; ``null`` for a fan of the creator who never came through it."""
    link = _link(ctx)
    fan_uuid = check_uuid(ctx.params["user"], "userUuid")
    if all(f.uuid != fan_uuid for f in ctx.world.creator(ctx.subject).fans):
        raise not_found("User not found")
    row = next((r for r in ctx.world.link_users(ctx.subject, link.uuid) if r.fan.uuid == fan_uuid), None)
    return {"metadata": None if row is None else dict(row.metadata)}


def _no_metadata(_: Any) -> Any:
    return {"metadata": None}


_READ = ("read:tracking_links",)
_WRITE = ("write:tracking_links",)

ENDPOINTS: list[Endpoint] = [
    *mirrored("GET", "/tracking-links", _READ, _list, Shape.CURSOR),
    *mirrored("POST", "/tracking-links", _WRITE, _create, creator_scope="write:creator"),
    *mirrored("DELETE", "/tracking-links/{link}", _WRITE, _delete, creator_scope="write:creator"),
    *mirrored("GET", "/tracking-links/{link}/users", _READ, _users, Shape.CURSOR),
    *mirrored("GET", "/tracking-links/{link}/users/{user}/metadata", _READ, _metadata, empty=_no_metadata),
]
