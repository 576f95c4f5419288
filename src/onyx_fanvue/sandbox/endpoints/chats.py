"""``/chats``, ``/chats/unread`` and ``/chats/{user}/messages``, with the ``/creators/{creator}`` mirrors of the
list and the messages (api doc §1.4, §2.13-2.15).

Chats come from ``world.chats[creator]`` (most recent message first); a conversation's messages are served newest
first. A caller who is not a creator has no inbox: empty pages and zero unread counts.

**Read state.** ``markAsRead=true`` on a messages request marks the whole conversation read (every message the fan
sent), for that sandbox, from then on: later chat rows, unread counts and message pages show it. The page that
carries the flag still shows the messages as they were when read. The state lives in the world, so a fresh sandbox
starts unread again.

**Unread notifications** count the creator's activity in the 7 days before now: ``newSubscriber``,
``newTip``, ``newPurchase`` (post and message sales) from the earnings rows, the others seeded from
``(seed, creator, day)``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

from onyx_fanvue.sandbox._http import check_uuid, not_found, page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.world import ChatRow, World

__all__ = ["ENDPOINTS", "NO_CONVERSATION", "chats_of"]

NO_CONVERSATION = "Chat not found"
_NOTIFICATION_WINDOW = timedelta(days=7)
_PURCHASE_SOURCES = frozenset({"post", "message"})


def _view(world: World, chat: ChatRow) -> ChatRow:
    """The chat as the sandbox's read state has it."""
    if not world.chat_marked_read(chat.creator_uuid, chat.fan.uuid):
        return chat
    messages = tuple(replace(m, is_read=True) if m.sender.uuid == chat.fan.uuid else m for m in chat.messages)
    return replace(chat, messages=messages)


def chats_of(world: World, creator_uuid: str) -> list[ChatRow]:
    """The creator's chats, most recent first, with the read state applied."""
    return [_view(world, c) for c in world.chats.get(creator_uuid, ())]


def _creator_of(ctx: Ctx) -> str | None:
    return ctx.subject if ctx.subject_is_creator() else None


def _list(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    creator_uuid = _creator_of(ctx)
    rows = chats_of(ctx.world, creator_uuid) if creator_uuid is not None else []
    return page_envelope(rows, page, size, ChatRow.to_json)


def _notifications(ctx: Ctx, creator_uuid: str | None) -> dict[str, int]:
    counts = dict.fromkeys(
        ("newFollower", "newPostComment", "newPostLike", "newPurchase", "newSubscriber", "newTip", "newPromotion"), 0
    )
    if creator_uuid is None:
        return counts
    world, now = ctx.world, ctx.now
    for row in world.iter_earnings(creator_uuid, now - _NOTIFICATION_WINDOW, now):
        if row.source == "subscription":
            counts["newSubscriber"] += 1
        elif row.source == "tip":
            counts["newTip"] += 1
        elif row.source in _PURCHASE_SOURCES:
            counts["newPurchase"] += 1
    creator = world.creator(creator_uuid)
    rng = random.Random(f"{world.spec.seed}:{creator.index}:{now.date().isoformat()}:notifications")  # noqa: S311
    counts.update(
        newFollower=rng.randint(0, 40),
        newPostComment=rng.randint(0, 15),
        newPostLike=rng.randint(0, 120),
        newPromotion=rng.randint(0, 2),
    )
    return counts


def _unread(ctx: Ctx) -> dict[str, Any]:
    creator_uuid = _creator_of(ctx)
    chats = chats_of(ctx.world, creator_uuid) if creator_uuid is not None else []
    return {
        "unreadChatsCount": sum(1 for c in chats if c.unread_messages_count > 0),
        "unreadMessagesCount": sum(c.unread_messages_count for c in chats),
        "unreadNotifications": _notifications(ctx, creator_uuid),
    }


def _zero_unread(body: Any) -> Any:
    """What a permission problem looks like: every counter zero."""
    notes = dict.fromkeys(body["unreadNotifications"], 0)
    return {"unreadChatsCount": 0, "unreadMessagesCount": 0, "unreadNotifications": notes}


def _messages(ctx: Ctx) -> dict[str, Any]:
    fan_uuid = check_uuid(ctx.params["user"], "userUuid")
    page, size = ctx.query.page()
    mark = ctx.query.boolean("markAsRead")
    creator_uuid = _creator_of(ctx)
    chat = None
    if creator_uuid is not None:
        chat = next((c for c in ctx.world.chats.get(creator_uuid, ()) if c.fan.uuid == fan_uuid), None)
    if chat is None or creator_uuid is None:
        raise not_found(NO_CONVERSATION)
    shown = _view(ctx.world, chat)
    if mark:
        ctx.world.mark_chat_read(creator_uuid, fan_uuid)
    return page_envelope(reversed(shown.messages), page, size, lambda m: m.to_json())


ENDPOINTS: list[Endpoint] = [
    *mirrored("GET", "/chats", ("read:chat",), _list, Shape.PAGE),
    Endpoint("GET", "/chats/unread", ("read:chat",), _unread, empty=_zero_unread),
    *mirrored("GET", "/chats/{user}/messages", ("read:chat",), _messages, Shape.PAGE),
]
