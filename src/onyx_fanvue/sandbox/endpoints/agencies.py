"""The agency-admin aggregates ``/agencies/*`` (api doc §1.1, §1.2, §1.3, §1.4, §2.5, §2.12, §2.13).

Every endpoint is for agency admins only (the pipeline answers 403 to anyone else). "The agency's creators" are
the creators the calling admin has access to right now (:class:`~onyx_fanvue.sandbox.access.AccessBook`), so
taking a creator away from the admin takes it out of every aggregate.

Where Fanvue's behaviour is not documented the sandbox decides, as follows:

* ``creatorUuids`` / ``chatterUuids``: more than 50 / 100 values, or a value that is not a UUID, is a 400
  ``{errors}``; a well-formed uuid that is not one of the agency's creators (or chatters) is ignored, so a filter
  naming only such uuids gives an empty list rather than an error.
* ``startDate``/``endDate`` (``/earnings``, ``/subscribers-history``): both required, ``endDate`` must be after
  ``startDate`` (400 ``{errors}`` otherwise); ``/subscribers-history`` refuses ranges over 365 days; ``/earnings``
  has no range limit. A range cutting a UTC day in two sums only that day's part inside the range.
* ``/earnings`` sums payments (``/insights/earnings`` rows) per creator per UTC day; refunds and chargebacks are
  *not* subtracted (they land on their own day in ``/insights/spending``), so a day's row equals the sum of that
  creator's earnings rows that day. Amounts are USD cents with ``currency: "USD"``. Days without payments are
  omitted; rows come newest day first, creators in the agency's order within a day.
* ``/subscribers-history`` has a row for every creator and every UTC day of the world inside the range (zero days
  included, as the per-creator trend has), newest day first like ``/earnings``; ``total`` runs from the range's
  first day, per creator.
* ``/subscribers``: the same named subscribers as each creator's ``/subscribers`` list (the audience module's split
  rule, :func:`~onyx_fanvue.sandbox.endpoints.audience.current_subscribers`), ``subscribedAt`` being the instant
  that list is ordered by. Subscriptions bill every 30 days from ``subscribedAt``; a seeded quarter of them have
  auto-renew off, which gives ``expiresAt`` = the end of the period running at the world's last day (``null`` while
  auto-renewing). Once the sandbox clock passes ``expiresAt`` the fan drops out of this list (the per-creator list
  does not follow the clock). Newest ``subscribedAt`` first, then creators in order.
* ``/insights/chatter-leaderboard``: built from the world's chats. A chatter is a team member (the admin included)
  who sent at least one message on a creator's behalf (``sentByUserId``) in the range. Like Fanvue's daily
  aggregate it works in whole UTC days — a day counts when it starts at or after ``startDate``'s UTC day and before
  ``endDate`` — and it lags: nothing sent today (UTC) counts yet. A message's PPV sale counts on the day it was
  sent. ``activeHours`` = distinct UTC clock hours with a message; ``eph`` = revenue / activeHours;
  ``avgResponseMs`` = mean time from a fan's message to the chatter's reply right after it (``null`` without any).
  Sorted by revenue, then messages (both descending), then chatter uuid.
* ``/chats``: every chat of the agency's creators as ``/creators/{creator}/chats`` shows it (read state included),
  newest ``lastMessageAt`` first (chats without messages last).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from onyx_fanvue.sandbox._http import UUID_RE, invalid, page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape
from onyx_fanvue.sandbox.endpoints.audience import current_subscribers
from onyx_fanvue.sandbox.endpoints.chats import chats_of
from onyx_fanvue.sandbox.world import ChatRow, Creator, EarningRow, Person, World, iso

__all__ = ["ENDPOINTS"]

MAX_CREATOR_UUIDS = 50
MAX_CHATTER_UUIDS = 100
MAX_HISTORY_DAYS = 365
NON_RENEWING_SHARE = 0.25
BILLING_PERIOD = timedelta(days=30)
_DAY = timedelta(days=1)
_TINY = timedelta(microseconds=1)


# ------------------------------------------------------------------------------------------------ shared parsing


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _uuids(ctx: Ctx, name: str, limit: int) -> set[str] | None:
    """A comma list of uuids (lower-cased), ``None`` when not given; too many or malformed → 400."""
    values = ctx.query.list(name, limit=limit)
    if values is None:
        return None
    wrong = [v for v in values if not UUID_RE.match(v)]
    if wrong:
        raise invalid(f"{name} must be UUIDs (got {', '.join(wrong)})")
    return {v.lower() for v in values}


def _creators_unfiltered(ctx: Ctx) -> list[Creator]:
    """The agency's creators: those the calling admin may access now, in the world's order."""
    return [ctx.world.creator(uuid) for uuid, _ in ctx.sandbox.access.creators_of(ctx.user)]


def _creators(ctx: Ctx) -> list[Creator]:
    """The agency's creators narrowed by ``creatorUuids``."""
    wanted = _uuids(ctx, "creatorUuids", MAX_CREATOR_UUIDS)
    agency = _creators_unfiltered(ctx)
    return agency if wanted is None else [c for c in agency if c.uuid in wanted]


def _range(ctx: Ctx, max_days: int | None = None) -> tuple[datetime, datetime]:
    """The required ``[startDate, endDate)``, validated as given, then cut at now."""
    missing = [f"{name} is required" for name in ("startDate", "endDate") if not ctx.query.get(name)]
    if missing:
        raise invalid(*missing)
    start, end = ctx.query.instant("startDate"), ctx.query.instant("endDate")
    if start is None or end is None:  # unreachable: both were given
        raise invalid("startDate and endDate are required")
    if end <= start:
        raise invalid("endDate must be after startDate")
    if max_days is not None and end - start > timedelta(days=max_days):
        raise invalid(f"The date range cannot exceed {max_days} days")
    # nothing after now has happened: a range reaching into the future ends now (today's row is the day so far)
    return start.astimezone(UTC), min(end.astimezone(UTC), ctx.now + _TINY)


# ------------------------------------------------------------------------------------------------ team members


def _team_members(ctx: Ctx) -> list[dict[str, object]]:
    return [ctx.sandbox.access.member_json(m.uuid) for m in ctx.world.members()]


# ------------------------------------------------------------------------------------------------ earnings


@dataclass(frozen=True, slots=True)
class _DaySum:
    creator_uuid: str
    day: datetime
    gross: int
    net: int

    def to_json(self) -> dict[str, Any]:
        return {
            "creatorUuid": self.creator_uuid,
            "date": self.day.date().isoformat(),
            "gross": self.gross,
            "net": self.net,
            "currency": "USD",
        }


def _bucketed(world: World, creators: Sequence[Creator], lo: datetime, hi: datetime) -> Iterator[_DaySum]:
    """Day sums of a sparse stretch (outside the generated world only overlay rows exist), newest day first."""
    if hi <= lo:
        return
    sums: dict[tuple[datetime, int], list[int]] = {}
    for index, creator in enumerate(creators):
        for row in world.iter_earnings(creator.uuid, lo, hi):
            acc = sums.setdefault((_midnight(row.date), index), [0, 0])
            acc[0] += row.gross
            acc[1] += row.net
    for (day, index), (gross, net) in sorted(sums.items(), key=lambda kv: (-kv[0][0].timestamp(), kv[0][1])):
        yield _DaySum(creators[index].uuid, day, gross, net)


def _day_sums(
    world: World, creators: Sequence[Creator], start: datetime, end: datetime, now: datetime
) -> Iterator[_DaySum]:
    """Per creator per UTC day, newest first, omitting empty days. The generated world is walked one day at a time
    (a page reads only the days it shows); before and after it only overlay rows can exist, summed in one go."""
    upper = _midnight(max(world.end, now)) + _DAY
    mid_lo = min(max(start, world.start), end)
    mid_hi = max(min(end, upper), mid_lo)
    yield from _bucketed(world, creators, mid_hi, end)
    day = _midnight(mid_hi - _TINY)
    while mid_lo < mid_hi and day >= _midnight(mid_lo):
        lo, hi = max(day, mid_lo), min(day + _DAY, mid_hi)
        for creator in creators:
            rows: Iterator[EarningRow] = world.iter_earnings(creator.uuid, lo, hi)
            gross = net = count = 0
            for row in rows:
                gross, net, count = gross + row.gross, net + row.net, count + 1
            if count:
                yield _DaySum(creator.uuid, day, gross, net)
        day -= _DAY
    yield from _bucketed(world, creators, start, mid_lo)


def _earnings(ctx: Ctx) -> dict[str, Any]:
    start, end = _range(ctx)
    creators = _creators(ctx)
    page, size = ctx.query.page()
    return page_envelope(_day_sums(ctx.world, creators, start, end, ctx.now), page, size, _DaySum.to_json)


# ------------------------------------------------------------------------------------------------ subscribers


def _subscribers_history(ctx: Ctx) -> dict[str, Any]:
    start, end = _range(ctx, MAX_HISTORY_DAYS)
    creators = _creators(ctx)
    page, size = ctx.query.page()
    trends = [ctx.world.subscriber_trend(c.uuid, start, end) for c in creators]  # ≤ 366 small rows each
    days = max((len(t) for t in trends), default=0)

    def rows() -> Iterator[dict[str, Any]]:
        for back in range(1, days + 1):
            for creator, trend in zip(creators, trends, strict=True):
                if back <= len(trend):
                    row = trend[-back]  # the trend row, with the creator and a plain UTC date
                    yield {"creatorUuid": creator.uuid, **row.to_json(), "date": row.date.date().isoformat()}

    return page_envelope(rows(), page, size, _same)


def _same(row: dict[str, Any]) -> dict[str, Any]:
    return row


@dataclass(frozen=True, slots=True)
class _Subscription:
    creator_uuid: str
    fan: Person
    subscribed_at: datetime
    expires_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.fan.fan_json(),
            "creatorUuid": self.creator_uuid,
            "subscribedAt": iso(self.subscribed_at),
            "expiresAt": iso(self.expires_at),
        }


def _expiry(world: World, creator: Creator, fan: Person, since: datetime) -> datetime | None:
    """``expiresAt`` by the seeded rule of the module docstring: ``None`` while auto-renewing."""
    rng = random.Random(f"{world.spec.seed}:{creator.index}:{fan.uuid}:agency-renewal")  # noqa: S311
    if rng.random() >= NON_RENEWING_SHARE:
        return None
    return since + ((world.end - since) // BILLING_PERIOD + 1) * BILLING_PERIOD


def _subscribers(ctx: Ctx) -> dict[str, Any]:
    creators = _creators(ctx)
    page, size = ctx.query.page()
    now, world = ctx.now, ctx.world
    subs = [
        _Subscription(creator.uuid, m.fan, m.since, _expiry(world, creator, m.fan, m.since))
        for creator in creators
        for m in current_subscribers(world, creator.uuid)
    ]
    active = [s for s in subs if s.expires_at is None or s.expires_at > now]
    order = {c.uuid: i for i, c in enumerate(creators)}
    active.sort(key=lambda s: (-s.subscribed_at.timestamp(), order[s.creator_uuid], s.fan.uuid))
    return page_envelope(active, page, size, _Subscription.to_json)


# ------------------------------------------------------------------------------------------------ chatters


@dataclass
class _Chatter:
    messages: int = 0
    ppvs_sent: int = 0
    ppvs_unlocked: int = 0
    revenue: int = 0
    response_ms_total: float = 0.0
    responses: int = 0
    hours: set[datetime] = field(default_factory=set)  # UTC clock hours with a message


def _chatter_stats(chats: Sequence[ChatRow], members: set[str], lo: datetime, hi: datetime) -> dict[str, _Chatter]:
    stats: dict[str, _Chatter] = {}
    for chat in chats:
        previous = None
        for message in chat.messages:
            sender = message.sent_by_user_id
            if sender is not None and sender in members and lo <= message.sent_at < hi:
                acc = stats.setdefault(sender, _Chatter())
                acc.messages += 1
                acc.hours.add(message.sent_at.replace(minute=0, second=0, microsecond=0))
                if message.price is not None:
                    acc.ppvs_sent += 1
                    if message.purchased_at is not None:
                        acc.ppvs_unlocked += 1
                        acc.revenue += message.price
                if previous is not None and previous.sender.uuid == chat.fan.uuid:
                    acc.response_ms_total += (message.sent_at - previous.sent_at).total_seconds() * 1000
                    acc.responses += 1
            previous = message
    return stats


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _chatter_leaderboard(ctx: Ctx) -> dict[str, Any]:
    start = ctx.query.instant("startDate")
    end = ctx.query.instant("endDate")
    wanted = _uuids(ctx, "chatterUuids", MAX_CHATTER_UUIDS)
    lo = _midnight(start) if start is not None else datetime.min.replace(tzinfo=UTC)
    hi = _midnight(ctx.now)  # the daily aggregate has not seen today yet
    if end is not None:
        hi = min(hi, _midnight(end - _TINY) + _DAY)
    members = {m.uuid: m for m in ctx.world.members()}
    chosen = set(members) if wanted is None else set(members) & wanted
    chats = [chat for c in _creators_unfiltered(ctx) for chat in ctx.world.chats.get(c.uuid, ())]
    stats = _chatter_stats(chats, chosen, lo, hi)
    rows = []
    ranked = sorted(stats.items(), key=lambda kv: (-kv[1].revenue, -kv[1].messages, kv[0]))
    for uuid, acc in ranked:
        person = members[uuid].person
        hours = float(len(acc.hours))
        rows.append(
            {
                "chatterUuid": uuid,
                "chatterName": person.nickname or person.display_name,
                "avatarUrl": person.avatar_url,
                "messages": acc.messages,
                "ppvsSent": acc.ppvs_sent,
                "ppvsUnlocked": acc.ppvs_unlocked,
                "revenue": acc.revenue,
                "goldenRatio": _ratio(acc.ppvs_unlocked, acc.messages),
                "unlockRatio": _ratio(acc.ppvs_unlocked, acc.ppvs_sent),
                "activeHours": hours,
                "eph": acc.revenue / hours if hours else 0.0,
                "avgResponseMs": acc.response_ms_total / acc.responses if acc.responses else None,
            }
        )
    return {"data": rows}


# ------------------------------------------------------------------------------------------------ chats


def _chats(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    creators = _creators_unfiltered(ctx)
    rows = [(index, chat) for index, c in enumerate(creators) for chat in chats_of(ctx.world, c.uuid)]

    def newest_first(entry: tuple[int, ChatRow]) -> tuple[bool, float, int, str]:
        index, chat = entry
        last = chat.messages[-1].sent_at.timestamp() if chat.messages else 0.0
        return (not chat.messages, -last, index, chat.fan.uuid)

    rows.sort(key=newest_first)
    return page_envelope(rows, page, size, _agency_chat_json)


def _agency_chat_json(entry: tuple[int, ChatRow]) -> dict[str, Any]:
    chat = entry[1]
    return {**chat.to_json(), "creatorUuid": chat.creator_uuid}


ENDPOINTS = [
    Endpoint("GET", "/agencies/team-members", ("read:agency",), _team_members, Shape.ARRAY, admin_only=True),
    Endpoint("GET", "/agencies/earnings", ("read:agency", "read:creator"), _earnings, Shape.PAGE, admin_only=True),
    Endpoint(
        "GET",
        "/agencies/subscribers-history",
        ("read:agency", "read:creator"),
        _subscribers_history,
        Shape.PAGE,
        admin_only=True,
    ),
    Endpoint(
        "GET", "/agencies/subscribers", ("read:agency", "read:creator"), _subscribers, Shape.PAGE, admin_only=True
    ),
    Endpoint(
        "GET",
        "/agencies/insights/chatter-leaderboard",
        ("read:agency",),
        _chatter_leaderboard,
        Shape.DATA,
        admin_only=True,
    ),
    Endpoint("GET", "/agencies/chats", ("read:agency", "read:chat"), _chats, Shape.PAGE, admin_only=True),
]
