"""``/subscribers``, ``/followers`` and ``/chats/lists/smart``, each with its ``/creators/{creator}`` mirror (api doc
§1.3, §2.1, §10.6-10.8).

**Headline counts vs. listed fans.** The world counts an audience of hundreds or thousands
(:meth:`World.subscribers`, :meth:`World.followers`) but names only ``creator.fans`` (a few dozen people). The
counters stay the source of every headline number (``/users/me`` ``fanCounts``, ``account.fans`` and the smart-list
counts here); ``/subscribers`` and ``/followers`` list the named fans only, so their lengths are smaller than the
counts. Where a counter is smaller than the named set (a test set followers to 0, say) the list is cut to it.

**Split rule.** The fan at position ``i`` of ``creator.fans`` is a current subscriber when ``i % 3 != 2`` and a
follower-only fan otherwise (two thirds subscribe). The lists are disjoint (§10.6). Each named fan has a joined-at
instant (subscribed or followed), seeded from ``(seed, creator, fan)`` and lying between their registration and the
world's last day; Fanvue does not render it (§10.7) but it orders the lists: newest first by default. The cuts above
keep the newest. World followers include subscribers (``followers = subscribers + extra``), so the follower list is
cut to ``followers - subscribers``.

**Smart lists.** ``subscribers``/``followers`` are the two counters; ``auto_renewing`` takes a seeded share (55-90 %)
of the subscribers and ``non_renewing`` the rest; ``free_trial_subscribers`` a seeded 0-10 %; ``expired_subscribers``
the subscription chains that ended inside the world's window (the trend's cancellations); ``spent_more_than_50`` the
named fans whose gross spend over the window exceeds USD 50 (earnings rows only ever name named fans). The list
``name`` strings are the sandbox's own wording.

**Sorting.** ``sortField`` ``name`` (display name, case-folded) or ``subscribedAt``; ``sortDirection`` ``asc`` or
``desc``, defaulting to ``asc`` for names and ``desc`` (newest first) otherwise; any other value is a 400
``{errors}``. The mirror accepts the same parameters (Fanvue documents only ``page``/``size`` there).

A caller who is not a creator (an agency admin or team member on the own-account paths) has no audience: empty pages
and zero counts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from onyx_fanvue.sandbox._http import invalid, page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.world import Creator, Person, World

__all__ = ["ENDPOINTS", "SMART_LISTS", "Member", "current_followers", "current_subscribers", "smart_lists"]

SORT_FIELDS = ("name", "subscribedAt")
SORT_DIRECTIONS = ("asc", "desc")
_SPENT_THRESHOLD = 5000  # cents: "spent more than $50"

SMART_LISTS: tuple[tuple[str, str], ...] = (
    ("subscribers", "Subscribers"),
    ("auto_renewing", "Auto-renewing"),
    ("non_renewing", "Non-renewing"),
    ("followers", "Followers"),
    ("free_trial_subscribers", "Free trial subscribers"),
    ("expired_subscribers", "Expired subscribers"),
    ("spent_more_than_50", "Spent more than $50"),
)


@dataclass(frozen=True, slots=True)
class Member:
    """A named fan in a creator's audience and when they subscribed (or followed)."""

    fan: Person
    since: datetime


def _joined(world: World, creator: Creator, fan: Person) -> datetime:
    rng = random.Random(f"{world.spec.seed}:{creator.index}:{fan.uuid}:joined")  # noqa: S311
    last = world.end - timedelta(days=1)
    span = max(0.0, (last - fan.registered_at).total_seconds())
    return fan.registered_at + timedelta(seconds=int(rng.random() * span))


def _named(world: World, creator_uuid: str, *, subscribers: bool) -> list[Member]:
    """The named fans on one side of the split, newest first (ties by uuid)."""
    creator = world.creator(creator_uuid)
    side = [
        Member(fan, _joined(world, creator, fan)) for i, fan in enumerate(creator.fans) if (i % 3 != 2) is subscribers
    ]
    return sorted(side, key=lambda m: (m.since, m.fan.uuid), reverse=True)


def current_subscribers(world: World, creator_uuid: str) -> list[Member]:
    """The creator's named current subscribers, newest first, at most :meth:`World.subscribers` of them."""
    return _named(world, creator_uuid, subscribers=True)[: world.subscribers(creator_uuid)]


def current_followers(world: World, creator_uuid: str) -> list[Member]:
    """The creator's named follower-only fans (never a current subscriber), newest first, at most
    ``followers - subscribers`` of them."""
    room = max(0, world.followers(creator_uuid) - world.subscribers(creator_uuid))
    return _named(world, creator_uuid, subscribers=False)[:room]


def smart_lists(world: World, creator_uuid: str | None) -> list[dict[str, Any]]:
    """The smart lists with counts derived from the world's counters (all zero for ``None``: not a creator)."""
    counts = dict.fromkeys((k for k, _ in SMART_LISTS), 0)
    if creator_uuid is not None:
        creator = world.creator(creator_uuid)
        subs = world.subscribers(creator_uuid)
        rng = random.Random(f"{world.spec.seed}:{creator.index}:smart-lists")  # noqa: S311
        auto = subs * rng.randint(55, 90) // 100
        spenders = world.top_spenders(creator_uuid)
        counts.update(
            subscribers=subs,
            auto_renewing=auto,
            non_renewing=subs - auto,
            followers=world.followers(creator_uuid),
            free_trial_subscribers=subs * rng.randint(0, 10) // 100,
            expired_subscribers=sum(r.cancelled_subscribers_count for r in world.subscriber_trend(creator_uuid)),
            spent_more_than_50=sum(1 for s in spenders if s.gross > _SPENT_THRESHOLD),
        )
    return [{"uuid": key, "name": name, "count": counts[key]} for key, name in SMART_LISTS]


def _subject_creator(ctx: Ctx) -> str | None:
    """The creator the request is about, or ``None`` for an own-account call by someone who is not a creator."""
    return ctx.subject if ctx.subject_is_creator() else None


def _choice(ctx: Ctx, name: str, allowed: tuple[str, ...]) -> str | None:
    value = ctx.query.get(name)
    if value is not None and value not in allowed:
        raise invalid(f"{name} must be one of: {', '.join(allowed)}")
    return value


def _by_name(m: Member) -> tuple[str, str]:
    return (m.fan.display_name.casefold(), m.fan.uuid)


def _by_since(m: Member) -> tuple[datetime, str]:
    return (m.since, m.fan.uuid)


def _sorted_subscribers(members: list[Member], field: str, direction: str) -> list[Member]:
    key: Callable[[Member], Any] = _by_name if field == "name" else _by_since
    return sorted(members, key=key, reverse=direction == "desc")


def _subscribers(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    field = _choice(ctx, "sortField", SORT_FIELDS) or "subscribedAt"
    direction = _choice(ctx, "sortDirection", SORT_DIRECTIONS) or ("asc" if field == "name" else "desc")
    creator_uuid = _subject_creator(ctx)
    members = current_subscribers(ctx.world, creator_uuid) if creator_uuid is not None else []
    return page_envelope(_sorted_subscribers(members, field, direction), page, size, lambda m: m.fan.fan_json())


def _followers(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    creator_uuid = _subject_creator(ctx)
    members = current_followers(ctx.world, creator_uuid) if creator_uuid is not None else []
    return page_envelope(members, page, size, lambda m: m.fan.fan_json())


def _smart(ctx: Ctx) -> list[dict[str, Any]]:
    return smart_lists(ctx.world, _subject_creator(ctx))


ENDPOINTS: list[Endpoint] = [
    *mirrored("GET", "/subscribers", ("read:fan",), _subscribers, Shape.PAGE),
    *mirrored("GET", "/followers", ("read:fan",), _followers, Shape.PAGE),
    *mirrored("GET", "/chats/lists/smart", ("read:chat", "read:fan"), _smart, Shape.ARRAY),
]
