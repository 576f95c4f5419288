"""``/chats``, ``/chats/unread`` and ``/chats/{user}/messages``, with the ``/creators/{creator}`` mirrors of the
list and the messages (api doc §1.4, §2.13-2.15).

Chats come from ``world.chats[creator]`` (most recent message first); a conversation's messages are served newest
first. A caller who is not a creator has no inbox: empty pages and zero unread counts.

**Read state.** ``markAsRead=true`` on a messages request (Fanvue's default when it is not sent) marks the whole
conversation read (every message the fan sent), for that sandbox, from then on: later chat rows, unread counts and
message pages show it. The page that carries the flag still shows the messages as they were when read. The state
lives in the world, so a fresh sandbox starts unread again.

**List parameters** (``/chats`` and its mirror, which Fanvue documents with ``page``/``size`` only: the sandbox
serves both alike). Every value is validated (400 ``{errors}``) and applied:

* ``sortBy``: ``most_recent_messages`` (default), ``online_now`` (nobody is online in the sandbox, so the default
  order), ``most_unanswered_chats`` (most unread messages first, then most recent);
* ``filter`` (repeated; all must hold): ``unread`` (unread messages), ``not_muted``, ``not_answered`` (the fan
  wrote last), ``subscribers`` / ``followers`` / ``recent_subscribers`` (subscribed in the last 30 days) /
  ``spenders`` / ``spent_more_than_50`` / ``has_tipped`` as the fan's ``/insights/fans`` answer says,
  ``exclude_creators`` (no fan is a creator), and ``online``, ``subscribed_to``, ``archived``, ``on_free_trial``,
  which nobody matches (presence, a creator's own subscriptions, archiving and free trials are not modelled). The
  creator-only filters are 403 ``{error}`` for a caller who is not a creator, as Fanvue documents;
* ``smartListIds`` (repeated; any may hold): ``subscribers``, ``auto_renewing``, ``non_renewing``,
  ``followers`` (follower-only, as ``/followers``), ``expired_subscribers``, ``spent_more_than_50`` by the same fan
  facts, ``muted`` by the chat, ``free_trial_subscribers`` nobody;
* ``search`` (at most 100 characters): a case-insensitive part of the fan's handle or display name;
* ``customListId`` (a uuid): custom lists are not modelled, so no chat is in one: an empty page.

**Unread notifications** count the creator's activity in the 7 days before now: ``newSubscriber``,
``newTip``, ``newPurchase`` (post and message sales) from the earnings rows, the others seeded from
``(seed, creator, day)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from onyx_fanvue.sandbox._http import ApiError, check_uuid, invalid, not_found, page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.endpoints.insights import fan_insight
from onyx_fanvue.sandbox.world import ChatRow, World

__all__ = [
    "CHAT_FILTERS",
    "CHAT_SMART_LISTS",
    "CHAT_SORTS",
    "CREATOR_ONLY_FILTERS",
    "ENDPOINTS",
    "NO_CONVERSATION",
    "chats_of",
]

NO_CONVERSATION = "Chat not found"
_NOTIFICATION_WINDOW = timedelta(days=7)
_PURCHASE_SOURCES = frozenset({"post", "message"})
CHAT_SORTS = ("most_recent_messages", "online_now", "most_unanswered_chats")
CHAT_FILTERS = (
    "unread",
    "subscribers",
    "followers",
    "online",
    "recent_subscribers",
    "not_answered",
    "spent_more_than_50",
    "on_free_trial",
    "has_tipped",
    "spenders",
    "exclude_creators",
    "subscribed_to",
    "not_muted",
    "archived",
)
CREATOR_ONLY_FILTERS = frozenset(
    {
        "subscribers",
        "followers",
        "recent_subscribers",
        "not_answered",
        "spent_more_than_50",
        "on_free_trial",
        "has_tipped",
        "spenders",
        "exclude_creators",
    }
)
CHAT_SMART_LISTS = (
    "subscribers",
    "auto_renewing",
    "non_renewing",
    "followers",
    "free_trial_subscribers",
    "expired_subscribers",
    "spent_more_than_50",
    "muted",
)
MAX_SEARCH = 100
_RECENT = timedelta(days=30)
_SPENT_THRESHOLD = 5000  # cents: "spent more than $50"
_FAN_FACTS = frozenset(CREATOR_ONLY_FILTERS | set(CHAT_SMART_LISTS)) - {"not_answered", "exclude_creators", "muted"}


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


@dataclass(frozen=True, slots=True)
class _ChatQuery:
    sort: str
    filters: tuple[str, ...]
    smart_lists: tuple[str, ...]
    search: str | None
    custom_list: str | None


def _chat_query(ctx: Ctx) -> _ChatQuery:
    """The list parameters, validated (400 ``{errors}``) before anything else is looked at."""
    query = ctx.query
    sort = query.get("sortBy") or "most_recent_messages"
    if sort not in CHAT_SORTS:
        raise invalid(f"sortBy must be one of: {', '.join(CHAT_SORTS)}")
    filters = query.list("filter", allowed=CHAT_FILTERS) or []
    smart = query.list("smartListIds", allowed=CHAT_SMART_LISTS) or []
    search = query.get("search") or None
    if search is not None and len(search) > MAX_SEARCH:
        raise invalid(f"search must be at most {MAX_SEARCH} characters")
    custom = query.get("customListId") or None
    if custom is not None:
        check_uuid(custom, "customListId", validation=True)
    return _ChatQuery(sort, tuple(dict.fromkeys(filters)), tuple(dict.fromkeys(smart)), search, custom)


@dataclass(frozen=True, slots=True)
class _Fan:
    """What the fan's ``/insights/fans`` answer says, for the filters that depend on it."""

    status: str
    since: datetime | None
    auto_renews: bool
    gross: int
    sources: frozenset[str]


def _fan_facts(ctx: Ctx, creator_uuid: str, chats: list[ChatRow]) -> dict[str, _Fan]:
    insights = fan_insight(ctx.world, creator_uuid, [c.fan.uuid for c in chats], ctx.now)
    facts = {}
    for fan_uuid, insight in insights.items():
        created = insight["subscription"]["createdAt"]
        facts[fan_uuid] = _Fan(
            status=insight["status"],
            since=datetime.fromisoformat(created) if created else None,
            auto_renews=insight["subscription"]["autoRenewalEnabled"],
            gross=insight["spending"]["total"]["gross"],
            sources=frozenset(insight["spending"]["sources"]),
        )
    return facts


_NOBODY = _Fan("not_contactable", None, auto_renews=False, gross=0, sources=frozenset())
Test = Callable[[ChatRow, _Fan], bool]


def _tests(ctx: Ctx) -> tuple[dict[str, Test], dict[str, Test]]:
    """The filters and the smart lists, each a test on a chat and its fan's facts."""
    recent_since = ctx.now - _RECENT

    def never(_: ChatRow, __: _Fan) -> bool:
        return False

    def subscriber(_: ChatRow, fan: _Fan) -> bool:
        return fan.status == "subscriber"

    def follower(_: ChatRow, fan: _Fan) -> bool:
        return fan.status == "follower"

    def big_spender(_: ChatRow, fan: _Fan) -> bool:
        return fan.gross > _SPENT_THRESHOLD

    filters: dict[str, Test] = {
        "unread": lambda chat, _: chat.unread_messages_count > 0,
        "not_muted": lambda chat, _: not chat.is_muted,
        "not_answered": lambda chat, _: bool(chat.messages) and chat.messages[-1].sender.uuid == chat.fan.uuid,
        "subscribers": subscriber,
        "followers": follower,
        "recent_subscribers": lambda _, fan: subscriber(_, fan) and fan.since is not None and fan.since >= recent_since,
        "spent_more_than_50": big_spender,
        "has_tipped": lambda _, fan: "tip" in fan.sources,
        "spenders": lambda _, fan: fan.gross > 0,
        "exclude_creators": lambda chat, _: not ctx.world.is_creator(chat.fan.uuid),
        "online": never,
        "subscribed_to": never,
        "archived": never,
        "on_free_trial": never,
    }
    smart: dict[str, Test] = {
        "subscribers": subscriber,
        "auto_renewing": lambda _, fan: subscriber(_, fan) and fan.auto_renews,
        "non_renewing": lambda _, fan: subscriber(_, fan) and not fan.auto_renews,
        "followers": follower,
        "free_trial_subscribers": never,
        "expired_subscribers": lambda _, fan: fan.status == "expired",
        "spent_more_than_50": big_spender,
        "muted": lambda chat, _: chat.is_muted,
    }
    return filters, smart


def _matches_search(chat: ChatRow, needle: str) -> bool:
    folded = needle.casefold()
    return folded in chat.fan.handle.casefold() or folded in chat.fan.display_name.casefold()


def _list(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    asked = _chat_query(ctx)
    creator_uuid = _creator_of(ctx)
    if creator_uuid is None and CREATOR_ONLY_FILTERS.intersection(asked.filters):
        raise ApiError(403, {"error": "Forbidden: some of these filters are only available to creators"})
    rows = chats_of(ctx.world, creator_uuid) if creator_uuid is not None else []
    if asked.custom_list is not None:
        rows = []  # custom lists are not modelled: no chat is in one
    if asked.search is not None:
        rows = [c for c in rows if _matches_search(c, asked.search)]
    if rows and (asked.filters or asked.smart_lists):
        needs_facts = _FAN_FACTS.intersection(asked.filters) or _FAN_FACTS.intersection(asked.smart_lists)
        facts = _fan_facts(ctx, creator_uuid, rows) if needs_facts and creator_uuid is not None else {}
        filters, smart = _tests(ctx)
        rows = [
            c
            for c in rows
            if all(filters[f](c, facts.get(c.fan.uuid, _NOBODY)) for f in asked.filters)
            and (not asked.smart_lists or any(smart[s](c, facts.get(c.fan.uuid, _NOBODY)) for s in asked.smart_lists))
        ]
    if asked.sort == "most_unanswered_chats":
        rows = sorted(rows, key=lambda c: -c.unread_messages_count)  # stable: most recent first among equals
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
    mark = ctx.query.boolean("markAsRead", default=True)  # Fanvue's spec: default "true"
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
