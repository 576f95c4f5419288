"""A deterministic, seeded Fanvue world for the sandbox: people, earnings, reversals, trends, links, chats, posts.

Pure standard library. Everything is derived from :class:`WorldSpec` (mostly its ``seed``):

* uuids are ``uuid5`` of the seed and a role path, so the same seed always names the same things;
* small things (users, fans, tracking links, chats) are materialised by :func:`build_world`; posts are generated
  on first use from ``(seed, creator, post index)`` (:meth:`World.posts`), one per :attr:`Creator.post_uuids`;
* tracking links can be created and deleted while the sandbox runs (:meth:`World.add_tracking_link`,
  :meth:`World.delete_tracking_link`); a link's users are the creator's fans, allotted to the *seeded* links
  (each fan to at most one link: first-click attribution) in proportion to their engagement counts;
* earnings are *never* stored: each (seed, creator, day) has its own RNG, so any day can be regenerated
  identically and :meth:`World.iter_earnings` streams millions of rows in constant memory;
* tests change the world under the client through overlays (:meth:`World.add_earning`,
  :meth:`World.add_refund`, :meth:`World.set_followers`) that are merged into what is generated.

Money is integer USD cents, times are aware UTC. ``net`` is ``gross * 80 // 100`` (Fanvue keeps 20 %).

**Reversal sign.** Fanvue reports refunds and chargebacks through ``/insights/spending`` as their own rows
(``source`` ``refund``/``chargeback``); the sandbox renders them with *positive* ``gross``/``net`` (the
magnitude taken back), never negative numbers. Consumers subtract them. A reversal's amount never exceeds
its original and it lands strictly after it (hours to ~90 days later). The original order id is kept on
:attr:`SpendingRow.reversed_order_id` for tests but is not part of the rendered JSON (Fanvue's spending rows
do not carry it).
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "EARNING_SOURCES",
    "REVERSAL_SOURCES",
    "ChatRow",
    "Creator",
    "EarningRow",
    "LinkUserRow",
    "MessageRow",
    "Person",
    "PostRow",
    "SpendingRow",
    "SubTrendRow",
    "TeamMember",
    "TopSpenderRow",
    "TrackingLink",
    "World",
    "WorldSpec",
    "build_world",
    "iso",
]

EARNING_SOURCES: tuple[str, ...] = (
    "subscription",
    "renewal",
    "message",
    "tip",
    "post",
    "referral",
    "affiliate",
    "appStore",
    "checkoutLink",
    "mediaLink",
    "giveaway",
)
REVERSAL_SOURCES: tuple[str, ...] = ("refund", "chargeback")

# share of the daily rate per source (sums to 1); the last five are "occasional"
_SOURCE_WEIGHTS: dict[str, float] = {
    "subscription": 0.14,
    "renewal": 0.20,
    "message": 0.25,
    "tip": 0.15,
    "post": 0.13,
    "referral": 0.04,
    "affiliate": 0.02,
    "appStore": 0.02,
    "checkoutLink": 0.02,
    "mediaLink": 0.02,
    "giveaway": 0.01,
}
# plausible gross ranges in cents
_SOURCE_PRICES: dict[str, tuple[int, int]] = {
    "subscription": (499, 1999),
    "renewal": (499, 1999),
    "message": (300, 5000),
    "tip": (100, 10000),
    "post": (200, 3000),
    "referral": (50, 2000),
    "affiliate": (100, 3000),
    "appStore": (299, 2999),
    "checkoutLink": (500, 5000),
    "mediaLink": (300, 4000),
    "giveaway": (100, 1000),
}
_NO_FAN_SOURCES = frozenset({"referral", "affiliate", "giveaway"})
_REVERSAL_RATE = 0.015
_MAX_REVERSAL_DELAY = timedelta(days=90)
_PENDING_WINDOW = timedelta(days=7)
_NET_PERCENT = 80
_DAY = timedelta(days=1)
_NAMESPACE = uuid.UUID("6f1c2a0e-6b7d-4f55-9a57-0e5b6c1d2f30")


def iso(moment: datetime | None) -> str | None:
    """Fanvue's timestamp rendering: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def net_of(gross: int) -> int:
    return gross * _NET_PERCENT // 100


def _midnight(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ---------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class Person:
    """A fan, creator, agency admin or team member (the profile part)."""

    uuid: str
    handle: str
    display_name: str
    email: str
    registered_at: datetime
    bio: str = ""
    nickname: str | None = None
    avatar_url: str | None = None
    is_top_spender: bool = False

    def short_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "handle": self.handle,
            "displayName": self.display_name,
            "nickname": self.nickname,
            "isTopSpender": self.is_top_spender,
        }

    def fan_json(self) -> dict[str, Any]:
        return {**self.short_json(), "avatarUrl": self.avatar_url, "registeredAt": iso(self.registered_at)}


@dataclass(frozen=True, slots=True)
class Creator:
    index: int
    person: Person
    base_subscribers: int
    extra_followers: int
    likes: int
    post_uuids: tuple[str, ...]
    ppv_message_uuids: tuple[str, ...]  # pay-to-view (mass) messages fans buy; ``message`` rows point at them
    pay_to_view_posts: int
    image_count: int
    video_count: int
    audio_count: int
    fans: tuple[Person, ...]

    @property
    def uuid(self) -> str:
        return self.person.uuid


@dataclass(frozen=True, slots=True)
class TeamMember:
    person: Person
    is_admin: bool
    creator_access: tuple[tuple[str, str], ...]  # (creator uuid, "ADMIN" | "CHATTER")

    @property
    def uuid(self) -> str:
        return self.person.uuid

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.person.uuid,
            "isAdmin": self.is_admin,
            "nickname": self.person.nickname,
            "email": self.person.email,
            "displayName": self.person.display_name,
            "creatorAccess": [{"uuid": c, "role": r} for c, r in self.creator_access],
        }


# ---------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class EarningRow:
    date: datetime
    gross: int
    net: int
    source: str
    transaction_order_id: str
    transaction_order_status: str
    user: Person | None
    currency: str | None = "USD"
    message_uuid: str | None = None
    post_uuid: str | None = None

    def status_at(self, now: datetime) -> str:
        """``pendingBalance`` for the first 7 days after payment, then ``availableForPayout``."""
        return "pendingBalance" if self.date > now - _PENDING_WINDOW else "availableForPayout"

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        """Fanvue's row; with ``now`` the payout status is the one at that instant (it moves with the clock)."""
        status = self.transaction_order_status if now is None else self.status_at(now)
        return _money_row_json(
            self, {"transactionOrderId": self.transaction_order_id, "transactionOrderStatus": status}
        )


@dataclass(frozen=True, slots=True)
class SpendingRow:
    """A refund or chargeback; ``gross``/``net`` are positive magnitudes (see the module docstring)."""

    date: datetime
    gross: int
    net: int
    source: str
    user: Person | None
    reversed_order_id: str
    currency: str | None = "USD"
    message_uuid: str | None = None
    post_uuid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _money_row_json(self, {})


def _money_row_json(row: EarningRow | SpendingRow, extra: dict[str, Any]) -> dict[str, Any]:
    """Fanvue's JSON for an earnings or spending row: the shared fields, ``extra``, then the optional refs."""
    out: dict[str, Any] = {
        "date": iso(row.date),
        "gross": row.gross,
        "net": row.net,
        "currency": row.currency,
        "source": row.source,
        **extra,
        "user": row.user.short_json() if row.user is not None else None,
    }
    if row.message_uuid is not None:
        out["messageUuid"] = row.message_uuid
    if row.post_uuid is not None:
        out["postUuid"] = row.post_uuid
    return out


@dataclass(frozen=True, slots=True)
class SubTrendRow:
    date: datetime
    new_subscribers_count: int
    cancelled_subscribers_count: int
    total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "date": iso(self.date),
            "newSubscribersCount": self.new_subscribers_count,
            "cancelledSubscribersCount": self.cancelled_subscribers_count,
            "total": self.total,
        }


@dataclass(frozen=True, slots=True)
class TopSpenderRow:
    gross: int
    net: int
    messages: int
    user: Person

    def to_json(self) -> dict[str, Any]:
        return {"gross": self.gross, "net": self.net, "messages": self.messages, "user": self.user.fan_json()}


@dataclass(frozen=True, slots=True)
class TrackingLink:
    uuid: str
    name: str
    link_url: str
    platform: str
    created_at: datetime
    clicks: int
    acquired_subscribers: int
    acquired_followers: int
    total_subscribers: int
    total_followers: int
    earnings: tuple[int, int] | None  # (totalGross, totalNet) or None for a fresh link

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "linkUrl": self.link_url,
            "externalSocialPlatform": self.platform,
            "createdAt": iso(self.created_at),
            "clicks": self.clicks,
            "engagement": {
                "acquiredSubscribers": self.acquired_subscribers,
                "acquiredFollowers": self.acquired_followers,
                "totalSubscribers": self.total_subscribers,
                "totalFollowers": self.total_followers,
            },
            "earnings": (
                None if self.earnings is None else {"totalGross": self.earnings[0], "totalNet": self.earnings[1]}
            ),
        }


@dataclass(frozen=True, slots=True)
class LinkUserRow:
    """A fan who came through a tracking link; ``status`` is where they are now (``None``: neither following nor
    subscribed any more); ``metadata`` is their last impression on the link."""

    fan: Person
    status: str | None
    metadata: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.fan.fan_json(), "status": self.status}


@dataclass(frozen=True, slots=True)
class PostRow:
    """A creator's post. ``publish_at`` is set only on scheduled posts, which count as published once the clock
    reaches it; the rendering therefore takes ``now``."""

    uuid: str
    creator_uuid: str
    created_at: datetime
    text: str | None
    price: int | None  # cents; None for a free post
    media_preview_uuid: str | None
    audience: str
    publish_at: datetime | None
    expires_at: datetime | None
    media_uuids: tuple[str, ...]
    is_pinned: bool
    likes_count: int
    comments_count: int
    tips: tuple[int, int, int]  # (count, totalGross, totalNet)
    collections: tuple[tuple[str, str], ...]  # (uuid, label)

    def published_at(self, now: datetime) -> datetime | None:
        if self.publish_at is None:
            return self.created_at
        return self.publish_at if self.publish_at <= now else None

    def is_published(self, now: datetime) -> bool:
        return self.published_at(now) is not None

    def to_json(self, now: datetime) -> dict[str, Any]:
        count, gross, net = self.tips
        return {
            "uuid": self.uuid,
            "createdAt": iso(self.created_at),
            "text": self.text,
            "price": self.price,
            "mediaPreviewUuid": self.media_preview_uuid,
            "audience": self.audience,
            "publishAt": iso(self.publish_at),
            "publishedAt": iso(self.published_at(now)),
            "expiresAt": iso(self.expires_at),
            "mediaUuids": list(self.media_uuids),
            "isPinned": self.is_pinned,
            "likesCount": self.likes_count,
            "commentsCount": self.comments_count,
            "tips": {"count": count, "totalGross": gross, "totalNet": net},
            "collections": [{"uuid": u, "label": label} for u, label in self.collections],
        }


@dataclass(frozen=True, slots=True)
class MessageRow:
    uuid: str
    text: str | None
    sent_at: datetime
    sender: Person
    recipient: Person
    type: str
    is_read: bool
    price: int | None = None
    purchased_at: datetime | None = None
    sent_by_user_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "text": self.text,
            "sentAt": iso(self.sent_at),
            "sender": {"uuid": self.sender.uuid, "handle": self.sender.handle},
            "recipient": {"uuid": self.recipient.uuid, "handle": self.recipient.handle},
            "hasMedia": False,
            "mediaType": None,
            "mediaUuids": [],
            "type": self.type,
            "pricing": None if self.price is None else {"USD": {"price": self.price}},
            "purchasedAt": iso(self.purchased_at),
            "isRead": self.is_read,
            "sentByUserId": self.sent_by_user_id,
        }


@dataclass(frozen=True, slots=True)
class ChatRow:
    creator_uuid: str
    fan: Person
    created_at: datetime
    is_muted: bool
    messages: tuple[MessageRow, ...]  # oldest first

    @property
    def unread_messages_count(self) -> int:
        return sum(1 for m in self.messages if not m.is_read and m.sender.uuid == self.fan.uuid)

    def to_json(self) -> dict[str, Any]:
        last = self.messages[-1] if self.messages else None
        return {
            "createdAt": iso(self.created_at),
            "lastMessageAt": iso(last.sent_at) if last else None,
            "isRead": self.unread_messages_count == 0,
            "isMuted": self.is_muted,
            "unreadMessagesCount": self.unread_messages_count,
            "user": self.fan.fan_json(),
            "lastMessage": None
            if last is None
            else {
                "uuid": last.uuid,
                "text": last.text,
                "type": last.type,
                "sentAt": iso(last.sent_at),
                "hasMedia": False,
                "mediaType": None,
                "senderUuid": last.sender.uuid,
                "sentByUserId": last.sent_by_user_id,
            },
        }


# ---------------------------------------------------------------- spec and world


@dataclass(frozen=True, slots=True)
class WorldSpec:
    seed: int = 1
    creators: int = 3
    fans_per_creator: int = 50
    days: int = 365
    earnings_per_day: float = 4.0
    team_members: int = 2
    start: datetime | None = None  # first generated day (UTC midnight); default: ``days`` before clock_now


@dataclass(frozen=True, slots=True)
class _DayPlan:
    counts: tuple[int, ...]  # per EARNING_SOURCES
    cancelled: int


@dataclass
class _Overlay:
    earnings: list[EarningRow] = field(default_factory=list)
    refunds: list[SpendingRow] = field(default_factory=list)
    followers: int | None = None


class World:
    """The generated world plus its overlays. Read methods are safe to call from several threads."""

    def __init__(
        self,
        spec: WorldSpec,
        start: datetime,
        admin: TeamMember,
        team: tuple[TeamMember, ...],
        creators: tuple[Creator, ...],
        links: dict[str, tuple[TrackingLink, ...]],
        chats: dict[str, tuple[ChatRow, ...]],
    ) -> None:
        self.spec = spec
        self.start = start
        self.end = start + spec.days * _DAY
        self.admin = admin
        self.team = team
        self.creators = creators
        self.links = links
        self.chats = chats
        self._by_uuid = {c.uuid: c for c in creators}
        self._fans = {f.uuid: f for c in creators for f in c.fans}
        self._overlays: dict[str, _Overlay] = {c.uuid: _Overlay() for c in creators}
        self._lock = threading.Lock()
        self._plans: dict[tuple[int, int], _DayPlan] = {}
        self._read_chats: set[tuple[str, str]] = set()
        # link users are allotted from the links as built, so deleting or adding a link never moves a fan
        self._seeded_links = dict(links)
        self._links_made: dict[str, int] = {c.uuid: 0 for c in creators}
        self._posts: dict[str, tuple[PostRow, ...]] = {}
        self._post_owner = {p: c.uuid for c in creators for p in c.post_uuids}

    # ------------------------------------------------------------ lookups

    def creator(self, creator_uuid: str) -> Creator:
        try:
            return self._by_uuid[creator_uuid]
        except KeyError:
            raise KeyError(f"no creator {creator_uuid}") from None

    def is_creator(self, person_uuid: str) -> bool:
        return person_uuid in self._by_uuid

    def person(self, person_uuid: str) -> Person:
        """Any creator, team member or fan by uuid (``KeyError`` if nobody)."""
        creator = self._by_uuid.get(person_uuid)
        if creator is not None:
            return creator.person
        for member in self.members():
            if member.uuid == person_uuid:
                return member.person
        return self._fans[person_uuid]

    def fan(self, fan_uuid: str) -> Person:
        return self._fans[fan_uuid]

    def members(self) -> tuple[TeamMember, ...]:
        """The admin first, then the team."""
        return (self.admin, *self.team)

    def can_access(self, member_uuid: str, creator_uuid: str) -> bool:
        for member in self.members():
            if member.uuid == member_uuid:
                return member.is_admin or any(c == creator_uuid for c, _ in member.creator_access)
        return False

    def day_index(self, moment: datetime) -> int:
        return (moment.astimezone(UTC) - self.start) // _DAY

    # ------------------------------------------------------------ generation

    def _rng(self, creator: Creator, day: int, stream: str) -> random.Random:
        return random.Random(f"{self.spec.seed}:{creator.index}:{day}:{stream}")  # noqa: S311

    def _plan(self, creator: Creator, day: int) -> _DayPlan:
        key = (creator.index, day)
        plan = self._plans.get(key)
        if plan is None:
            rng = self._rng(creator, day, "plan")
            lam = self.spec.earnings_per_day
            counts = tuple(_poisson(rng, lam * _SOURCE_WEIGHTS[s]) for s in EARNING_SOURCES)
            plan = _DayPlan(counts, _poisson(rng, lam * _SOURCE_WEIGHTS["subscription"] * 0.7))
            if len(self._plans) < 100_000:
                self._plans[key] = plan
        return plan

    def _generate_day(self, creator: Creator, day: int) -> tuple[list[EarningRow], list[SpendingRow]]:
        """Every earning of one day (sorted by date, order ids numbered in that order) and their reversals."""
        plan = self._plan(creator, day)
        rng = self._rng(creator, day, "rows")
        day_start = self.start + day * _DAY
        pending_from = self.end - _PENDING_WINDOW
        fans = creator.fans
        n_fans = len(fans)
        posts = creator.post_uuids
        ppv = creator.ppv_message_uuids
        # one packed int per row (millisecond of the day, source index): cheap to draw and to sort
        rand = rng.random
        packed = [int(rand() * 86_400_000) << 4 | si for si, count in enumerate(plan.counts) for _ in range(count)]
        packed.sort()
        prefix = f"FV-ORDER-{self.spec.seed}-{creator.index}-{day}-"
        rows: list[EarningRow] = []
        reversals: list[SpendingRow] = []
        for serial, p in enumerate(packed, 1):
            source = EARNING_SOURCES[p & 15]
            low, high = _SOURCE_PRICES[source]
            order_id = f"{prefix}{serial:07d}"
            date = day_start + timedelta(milliseconds=p >> 4)
            gross = low + int(rand() * (high - low + 1))
            user = None if source in _NO_FAN_SOURCES or not n_fans else fans[int(rand() * n_fans)]
            message_uuid = ppv[int(rand() * len(ppv))] if source == "message" else None
            post_uuid = posts[int(rand() * len(posts))] if source == "post" else None
            rows.append(
                EarningRow(
                    date=date,
                    gross=gross,
                    net=gross * _NET_PERCENT // 100,
                    source=source,
                    transaction_order_id=order_id,
                    transaction_order_status="pendingBalance" if date >= pending_from else "availableForPayout",
                    user=user,
                    message_uuid=message_uuid,
                    post_uuid=post_uuid,
                )
            )
            if rand() < _REVERSAL_RATE:
                kind = "chargeback" if rng.random() < 0.3 else "refund"
                delay = timedelta(seconds=rng.randint(3600, int(_MAX_REVERSAL_DELAY.total_seconds())))
                back = gross if kind == "chargeback" or rng.random() < 0.7 else rng.randint(1, gross)
                reversals.append(
                    SpendingRow(
                        date=date + delay,
                        gross=back,
                        net=net_of(back),
                        source=kind,
                        user=user,
                        reversed_order_id=order_id,
                        message_uuid=message_uuid,
                        post_uuid=post_uuid,
                    )
                )
        return rows, reversals

    def _day_range(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime, int, int]:
        lo = self.start if start is None else max(start.astimezone(UTC), self.start)
        hi = self.end if end is None else min(end.astimezone(UTC), self.end)
        return lo, hi, self.day_index(lo), (self.day_index(hi - timedelta(microseconds=1)) if hi > lo else -1)

    def _iter_generated(self, creator: Creator, start: datetime | None, end: datetime | None) -> Iterator[EarningRow]:
        lo, hi, first, last = self._day_range(start, end)
        for day in range(first, last + 1):
            rows = self._generate_day(creator, day)[0]
            if lo <= rows[0].date and rows[-1].date < hi if rows else True:
                yield from rows
                continue
            for row in rows:
                if lo <= row.date < hi:
                    yield row

    def iter_earnings(
        self, creator_uuid: str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[EarningRow]:
        """Earnings in ``[start, end)`` (default: everything, including rows added after the generated range, such
        as a payment made "now"), oldest first, overlays merged in. Streams."""
        creator = self.creator(creator_uuid)
        with self._lock:
            extra = sorted(
                (r for r in self._overlays[creator_uuid].earnings if _within(r.date, start, end)),
                key=lambda r: (r.date, r.transaction_order_id),
            )
        generated = self._iter_generated(creator, start, end)
        if not extra:
            yield from generated
            return
        yield from heapq.merge(generated, extra, key=lambda r: (r.date, r.transaction_order_id))

    def earnings_for_day(self, creator_uuid: str, day: int) -> list[EarningRow]:
        """The generated rows of one day (by index from :attr:`start`), regenerated from that day's RNG."""
        return self._generate_day(self.creator(creator_uuid), day)[0]

    def iter_reversals(
        self, creator_uuid: str, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[SpendingRow]:
        """Refunds and chargebacks landing in ``[start, end)``, oldest first, wherever they land: a payment late in
        the generated history is reversed after it (pass ``end=now`` to see only what has happened). Streams."""
        creator = self.creator(creator_uuid)
        lo = self.start if start is None else max(start.astimezone(UTC), self.start)
        # a payment on the last generated day can be reversed up to ~90 days later
        hi = self.end + _MAX_REVERSAL_DELAY + _DAY if end is None else end.astimezone(UTC)
        with self._lock:
            extra = sorted(
                (r for r in self._overlays[creator_uuid].refunds if _within(r.date, start, end)), key=_rev_key
            )
        yield from heapq.merge(self._iter_generated_reversals(creator, lo, hi), extra, key=_rev_key)

    def _iter_generated_reversals(self, creator: Creator, lo: datetime, hi: datetime) -> Iterator[SpendingRow]:
        if hi <= lo:
            return
        first = max(0, self.day_index(lo - _MAX_REVERSAL_DELAY))
        last = min(self.day_index(hi - timedelta(microseconds=1)), self.spec.days - 1)  # originals: generated days
        heap: list[tuple[datetime, str, SpendingRow]] = []
        for day in range(first, last + 1):
            day_start = self.start + day * _DAY
            while heap and heap[0][0] < day_start:
                rev = heapq.heappop(heap)[2]
                if lo <= rev.date < hi:
                    yield rev
            for maybe in self._generate_day(creator, day)[1]:
                if maybe.date < hi:
                    heapq.heappush(heap, (maybe.date, maybe.reversed_order_id, maybe))
        while heap:
            rev = heapq.heappop(heap)[2]
            if lo <= rev.date < hi:
                yield rev

    # ------------------------------------------------------------ derived views

    def subscriber_trend(
        self, creator_uuid: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[SubTrendRow]:
        """One row per UTC day in range: new = that day's ``subscription`` rows; ``total`` runs from range start.

        Days after the generated history (up to ``end``, or up to the last added subscription) have only what was
        added at run time, so a subscription made "now" shows in today's row."""
        creator = self.creator(creator_uuid)
        with self._lock:
            added = [r.date for r in self._overlays[creator_uuid].earnings if r.source == "subscription"]
        lo = self.start if start is None else max(start.astimezone(UTC), self.start)
        last_added = max([self.end, *(_midnight(d) + _DAY for d in added)])
        hi = end.astimezone(UTC) if end is not None else last_added
        if hi <= lo:
            return []
        extra: dict[int, int] = {}
        for moment in added:
            if lo <= moment < hi:
                extra[self.day_index(moment)] = extra.get(self.day_index(moment), 0) + 1
        sub = EARNING_SOURCES.index("subscription")
        rows: list[SubTrendRow] = []
        total = 0
        for day in range(self.day_index(lo), self.day_index(hi - timedelta(microseconds=1)) + 1):
            generated, cancelled = (0, 0)
            if day < self.spec.days:
                plan = self._plan(creator, day)
                generated, cancelled = plan.counts[sub], plan.cancelled
            new = generated + extra.get(day, 0)
            total += new - cancelled
            rows.append(SubTrendRow(self.start + day * _DAY, new, cancelled, total))
        return rows

    def subscribers(self, creator_uuid: str) -> int:
        creator = self.creator(creator_uuid)
        count = creator.base_subscribers
        for row in self.subscriber_trend(creator_uuid):
            count = max(0, count + row.new_subscribers_count - row.cancelled_subscribers_count)
        return count

    def followers(self, creator_uuid: str) -> int:
        creator = self.creator(creator_uuid)
        with self._lock:
            forced = self._overlays[creator_uuid].followers
        return forced if forced is not None else self.subscribers(creator_uuid) + creator.extra_followers

    def user_json(self, person_uuid: str) -> dict[str, Any]:
        """The ``/users/me`` shape; counts only for creators."""
        creator = self._by_uuid.get(person_uuid)
        person = creator.person if creator else next(m.person for m in self.members() if m.uuid == person_uuid)
        out: dict[str, Any] = {
            "uuid": person.uuid,
            "email": person.email,
            "handle": person.handle,
            "bio": person.bio,
            "displayName": person.display_name,
            "isCreator": creator is not None,
            "createdAt": iso(person.registered_at),
            "updatedAt": None,
            "avatarUrl": person.avatar_url,
            "bannerUrl": None,
        }
        if creator is not None:
            out["likesCount"] = creator.likes
            out["fanCounts"] = {
                "followersCount": self.followers(person_uuid),
                "subscribersCount": self.subscribers(person_uuid),
            }
            out["contentCounts"] = {
                "imageCount": creator.image_count,
                "videoCount": creator.video_count,
                "audioCount": creator.audio_count,
                "postCount": len(creator.post_uuids),
                "payToViewPostCount": creator.pay_to_view_posts,
            }
        return out

    def top_spenders(
        self, creator_uuid: str, start: datetime | None = None, end: datetime | None = None, limit: int | None = None
    ) -> list[TopSpenderRow]:
        """Fans by gross earnings rows in range (reversals not subtracted), biggest first; ``messages`` counts
        the fan's ``message`` rows. Streams the rows; memory is per fan."""
        totals: dict[str, list[int]] = {}
        for row in self.iter_earnings(creator_uuid, start, end):
            if row.user is None:
                continue
            acc = totals.setdefault(row.user.uuid, [0, 0, 0])
            acc[0] += row.gross
            acc[1] += row.net
            acc[2] += row.source == "message"
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))
        if limit is not None:
            ranked = ranked[:limit]
        return [TopSpenderRow(g, n, m, self._fans.get(u) or _ghost(u)) for u, (g, n, m) in ranked]

    # ------------------------------------------------------------ overlays

    def add_earning(self, creator_uuid: str, row: EarningRow) -> EarningRow:
        """Add a row (its order id is replaced by a unique overlay id when empty). Returns the stored row."""
        creator = self.creator(creator_uuid)
        with self._lock:
            overlay = self._overlays[creator_uuid]
            if not row.transaction_order_id:
                n = len(overlay.earnings) + 1
                row = replace(row, transaction_order_id=f"FV-ORDER-{self.spec.seed}-{creator.index}-X{n}")
            overlay.earnings.append(row)
        return row

    def add_refund(
        self, creator_uuid: str, for_row: EarningRow, at: datetime, *, source: str = "refund", gross: int | None = None
    ) -> SpendingRow:
        """Reverse ``for_row`` (in full unless ``gross`` is given) at ``at``, which must be after it."""
        self.creator(creator_uuid)
        if source not in REVERSAL_SOURCES:
            raise ValueError(f"reversal source must be one of {REVERSAL_SOURCES}")
        if at <= for_row.date:
            raise ValueError("a reversal lands after its original")
        back = for_row.gross if gross is None else gross
        if not 0 < back <= for_row.gross:
            raise ValueError("a reversal takes back at most the original amount")
        rev = SpendingRow(
            date=at.astimezone(UTC),
            gross=back,
            net=net_of(back),
            source=source,
            user=for_row.user,
            reversed_order_id=for_row.transaction_order_id,
            currency=for_row.currency,
            message_uuid=for_row.message_uuid,
            post_uuid=for_row.post_uuid,
        )
        with self._lock:
            self._overlays[creator_uuid].refunds.append(rev)
        return rev

    def mark_chat_read(self, creator_uuid: str, fan_uuid: str) -> None:
        """Every message ``fan_uuid`` sent to the creator is read from now on (``markAsRead``)."""
        with self._lock:
            self._read_chats.add((creator_uuid, fan_uuid))

    def chat_marked_read(self, creator_uuid: str, fan_uuid: str) -> bool:
        with self._lock:
            return (creator_uuid, fan_uuid) in self._read_chats

    def set_followers(self, creator_uuid: str, n: int) -> None:
        self.creator(creator_uuid)
        if n < 0:
            raise ValueError("followers cannot be negative")
        with self._lock:
            self._overlays[creator_uuid].followers = n

    # ------------------------------------------------------------ tracking links

    def tracking_links(self, creator_uuid: str) -> tuple[TrackingLink, ...]:
        """The creator's links as they are now: the seeded ones not deleted, then those created while running."""
        self.creator(creator_uuid)
        with self._lock:
            return self.links[creator_uuid]

    def tracking_link(self, creator_uuid: str, link_uuid: str) -> TrackingLink | None:
        return next((link for link in self.tracking_links(creator_uuid) if link.uuid == link_uuid.lower()), None)

    def add_tracking_link(self, creator_uuid: str, name: str, platform: str, at: datetime) -> TrackingLink:
        """A fresh link (no clicks, ``earnings`` None) made at ``at`` (kept to the millisecond Fanvue renders, so
        cursors naming it stay exact). The uuid and ``linkUrl`` follow from the seed and how many links the
        creator made before, so a replayed scenario names the same links."""
        creator = self.creator(creator_uuid)
        made_at = at.astimezone(UTC)
        made_at = made_at.replace(microsecond=made_at.microsecond // 1000 * 1000)
        with self._lock:
            self._links_made[creator_uuid] += 1
            link_uuid = _uid(self.spec.seed, "link", creator.index, "made", self._links_made[creator_uuid])
            taken = {link.link_url for links in self.links.values() for link in links}
            rng = random.Random(f"{self.spec.seed}:{link_uuid}:url")  # noqa: S311
            url = f"fv-{rng.randint(100_000, 999_999)}"
            while url in taken:
                url = f"fv-{rng.randint(100_000, 999_999)}"
            link = TrackingLink(link_uuid, name, url, platform, made_at, 0, 0, 0, 0, 0, None)
            self.links[creator_uuid] = (*self.links[creator_uuid], link)
        return link

    def delete_tracking_link(self, creator_uuid: str, link_uuid: str) -> bool:
        """Remove the link; ``False`` if the creator has no such link."""
        self.creator(creator_uuid)
        with self._lock:
            links = self.links[creator_uuid]
            kept = tuple(link for link in links if link.uuid != link_uuid.lower())
            self.links[creator_uuid] = kept
        return len(kept) != len(links)

    def link_users(self, creator_uuid: str, link_uuid: str) -> list[LinkUserRow]:
        """The fans who came through one of the creator's links, by fan uuid (``KeyError`` for an unknown link).

        The creator's fans are shuffled once per seed and handed out to the seeded links in order, each getting a
        share proportional to ``max(acquiredFollowers, acquiredSubscribers)`` (at least one fan when it acquired
        anyone, while fans last). Within a link, statuses follow the engagement counts scaled to that share:
        ``subscriber`` (``totalSubscribers``), ``follower`` (``totalFollowers``), ``expired`` (acquired
        subscribers no longer subscribed), then the rest ``None`` with every fourth ``deleted``. Links created
        while the sandbox runs have no users."""
        if self.tracking_link(creator_uuid, link_uuid) is None:
            raise KeyError(f"no tracking link {link_uuid} for creator {creator_uuid}")
        return list(self._link_allotment(self.creator(creator_uuid)).get(link_uuid.lower(), ()))

    def _link_allotment(self, creator: Creator) -> dict[str, tuple[LinkUserRow, ...]]:
        seeded = self._seeded_links[creator.uuid]
        fans = list(creator.fans)
        random.Random(f"{self.spec.seed}:{creator.index}:link-fans").shuffle(fans)  # noqa: S311
        wanted = [max(link.acquired_followers, link.acquired_subscribers) for link in seeded]
        share = min(1.0, len(fans) / sum(wanted)) if sum(wanted) else 0.0
        out: dict[str, tuple[LinkUserRow, ...]] = {}
        used = 0
        for link, want in zip(seeded, wanted, strict=True):
            n = min(max(1, int(want * share)) if want else 0, len(fans) - used)
            scale = n / want if want else 0.0
            statuses: list[str | None] = []
            for status, count in (
                ("subscriber", link.total_subscribers),
                ("follower", link.total_followers),
                ("expired", link.acquired_subscribers - link.total_subscribers),
            ):
                statuses += [status] * min(n - len(statuses), round(count * scale))
            statuses += ["deleted" if i % 4 == 3 else None for i in range(n - len(statuses))]
            rng = random.Random(f"{self.spec.seed}:{link.uuid}:impressions")  # noqa: S311
            rows = [
                LinkUserRow(
                    fan,
                    status,
                    (
                        ("source", link.platform),
                        ("device", rng.choice(("ios", "android", "desktop"))),
                        ("country", rng.choice(("US", "GB", "DE", "CA", "AU"))),
                    ),
                )
                for fan, status in zip(fans[used : used + n], statuses, strict=True)
            ]
            out[link.uuid] = tuple(sorted(rows, key=lambda r: r.fan.uuid))
            used += n
        return out

    # ------------------------------------------------------------ posts

    def posts(self, creator_uuid: str) -> tuple[PostRow, ...]:
        """Every post of the creator (scheduled ones included), pinned first, then newest ``createdAt`` first
        (uuid breaking ties). As many as :attr:`Creator.post_uuids`, so ``contentCounts.postCount`` agrees."""
        creator = self.creator(creator_uuid)
        made = self._posts.get(creator_uuid)
        if made is None:
            made = _generate_posts(self.spec.seed, creator, self.start, self.end)
            made = self._posts.setdefault(creator_uuid, made)
        return made

    def post(self, post_uuid: str) -> PostRow | None:
        """Any creator's post by uuid, ``None`` if there is none."""
        owner = self._post_owner.get(post_uuid.lower())
        if owner is None:
            return None
        return next(p for p in self.posts(owner) if p.uuid == post_uuid.lower())


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment < end)


def _rev_key(r: SpendingRow) -> tuple[datetime, str]:
    return (r.date, r.reversed_order_id)


def _ghost(person_uuid: str) -> Person:
    return Person(person_uuid, "unknown", "Unknown", "", datetime(2020, 1, 1, tzinfo=UTC))


def _uid(seed: int, *path: object) -> str:
    """The uuid :func:`build_world` gives the thing at ``path`` (uuid5 of the seed and the path)."""
    return str(uuid.uuid5(_NAMESPACE, ":".join(str(p) for p in (seed, *path))))


_POST_LINES = ("New set just dropped", "Behind the scenes", "Good morning", "Weekend vibes", "Thank you for 1k")
_COLLECTIONS = ("Favourites", "Behind the scenes", "Exclusive", "Throwbacks")
_POST_PRICES = (299, 499, 799, 999, 1499, 1999, 2999)


def _generate_posts(seed: int, creator: Creator, start: datetime, end: datetime) -> tuple[PostRow, ...]:
    """One post per :attr:`Creator.post_uuids` entry, each from its own RNG. Exactly ``pay_to_view_posts`` of them
    have a price; about one in 25 (at least one) is scheduled after the world's end; one or two published posts are
    pinned; the likes of all posts sum to at most the creator's ``likesCount``."""
    n = len(creator.post_uuids)
    pick = random.Random(f"{seed}:{creator.index}:posts")  # noqa: S311
    paid = set(pick.sample(range(n), min(n, creator.pay_to_view_posts)))
    scheduled = set(pick.sample(range(n), min(n, max(1, n // 25))))
    published = [k for k in range(n) if k not in scheduled]
    pinned = set(pick.sample(published, min(len(published), pick.randint(1, 2))))
    collections = tuple((_uid(seed, "collection", creator.index, j), label) for j, label in enumerate(_COLLECTIONS))
    span = max(1, int((end - start).total_seconds()) - 1)
    posts: list[PostRow] = []
    for k, post_uuid in enumerate(creator.post_uuids):
        rng = random.Random(f"{seed}:{creator.index}:post:{k}")  # noqa: S311
        created = start + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        publish_at = end + timedelta(days=rng.randint(1, 14), seconds=rng.randrange(86_400)) if k in scheduled else None
        text = None if rng.random() < 0.1 else f"{rng.choice(_POST_LINES)} #{k}"
        n_media = rng.randint(1 if text is None or k in paid else 0, 4)
        media = tuple(_uid(seed, "media", creator.index, k, m) for m in range(n_media))
        live = k not in scheduled
        likes = rng.randint(0, creator.likes // n) if live else 0
        tips = [rng.randint(100, 5000) for _ in range(rng.randint(1, 4) if live and rng.random() < 0.25 else 0)]
        shown_from = publish_at or created
        posts.append(
            PostRow(
                uuid=post_uuid,
                creator_uuid=creator.uuid,
                created_at=created,
                text=text,
                price=rng.choice(_POST_PRICES) if k in paid else None,
                media_preview_uuid=_uid(seed, "media", creator.index, k, "preview") if k in paid else None,
                audience="followers-and-subscribers" if k not in paid and rng.random() < 0.3 else "subscribers",
                publish_at=publish_at,
                expires_at=shown_from + timedelta(days=rng.randint(30, 180)) if rng.random() < 0.1 else None,
                media_uuids=media,
                is_pinned=k in pinned,
                likes_count=likes,
                comments_count=rng.randint(0, likes // 20 + 3) if live else 0,
                tips=(len(tips), sum(tips), sum(net_of(t) for t in tips)),
                collections=tuple(rng.sample(collections, rng.choice((0, 0, 1, 1, 2)))),
            )
        )
    posts.sort(key=lambda p: (p.created_at, p.uuid), reverse=True)
    posts.sort(key=lambda p: not p.is_pinned)  # stable: pinned first, each part newest first
    return tuple(posts)


# ---------------------------------------------------------------- building

_FIRST = ("Ava", "Mia", "Luna", "Zoe", "Ivy", "Nora", "Ella", "Ruby", "Skye", "Jade", "Leo", "Max", "Kai", "Sam")
_LAST = ("Rose", "Vale", "Stone", "Bloom", "Frost", "Hart", "Lane", "Wilde", "Moon", "Grey")
_PLATFORMS = ("instagram", "tiktok", "twitter", "reddit", "snapchat", "youtube", "facebook", "other")


def build_world(spec: WorldSpec, clock_now: datetime) -> World:
    """Materialise the small parts of the world; earnings stay lazy."""
    if clock_now.tzinfo is None or (spec.start is not None and spec.start.tzinfo is None):
        raise ValueError("the world needs timezone-aware instants")
    start = _midnight(spec.start if spec.start is not None else clock_now - spec.days * _DAY)
    end = start + spec.days * _DAY
    seed = spec.seed
    rng = random.Random(f"{seed}:world")  # noqa: S311

    def uid(*path: object) -> str:
        return str(uuid.uuid5(_NAMESPACE, ":".join(str(p) for p in (seed, *path))))

    def person(kind: str, i: int, registered: datetime, *, bio: str = "", nickname: str | None = None) -> Person:
        first = rng.choice(_FIRST)
        name = f"{first} {rng.choice(_LAST)}"
        handle = f"{first.lower()}{kind}{i}"
        return Person(
            uuid=uid(kind, i),
            handle=handle,
            display_name=name,
            email=f"{handle}@example.test",
            registered_at=registered,
            bio=bio,
            nickname=nickname,
            avatar_url=f"https://media.fanvue.test/avatars/{handle}.jpg",
        )

    before = start - timedelta(days=30)
    creators: list[Creator] = []
    for c in range(spec.creators):
        p = person("creator", c, before - timedelta(days=rng.randint(0, 700)), bio=f"Creator #{c} — new posts daily")
        fans = tuple(
            person(f"fan{c}x", f, before - timedelta(days=rng.randint(0, 900)), nickname="VIP" if f % 7 == 0 else None)
            for f in range(spec.fans_per_creator)
        )
        n_posts = rng.randint(20, 200)
        creators.append(
            Creator(
                index=c,
                person=p,
                base_subscribers=rng.randint(10, 500),
                extra_followers=rng.randint(50, 5000),
                likes=rng.randint(100, 50_000),
                post_uuids=tuple(uid("post", c, k) for k in range(n_posts)),
                ppv_message_uuids=tuple(uid("ppv", c, k) for k in range(rng.randint(20, 300))),
                pay_to_view_posts=rng.randint(0, n_posts // 3),
                image_count=rng.randint(n_posts, 3 * n_posts),
                video_count=rng.randint(0, n_posts),
                audio_count=rng.randint(0, 10),
                fans=fans,
            )
        )

    all_uuids = tuple(c.uuid for c in creators)
    admin = TeamMember(person("admin", 0, before), is_admin=True, creator_access=tuple((u, "ADMIN") for u in all_uuids))
    team: list[TeamMember] = []
    for m in range(spec.team_members):
        last = m == spec.team_members - 1
        # the last member sees only the first creator (nothing when there is one), so "not assigned" exists
        access: tuple[str, ...] = (all_uuids[:1] if len(all_uuids) > 1 else ()) if last else all_uuids
        role = "ADMIN" if m == 0 and not last else "CHATTER"
        team.append(
            TeamMember(
                person("member", m, before, nickname=f"Chatter {m}"),
                is_admin=False,
                creator_access=tuple((u, role) for u in access),
            )
        )

    links: dict[str, tuple[TrackingLink, ...]] = {}
    chats: dict[str, tuple[ChatRow, ...]] = {}
    for creator in creators:
        made: list[TrackingLink] = []
        n_links = rng.randint(2, 4)
        for k in range(n_links):
            fresh = k == n_links - 1
            clicks = 0 if fresh else rng.randint(50, 20_000)
            acq_subs = 0 if fresh else rng.randint(0, clicks // 20)
            acq_follow = 0 if fresh else rng.randint(acq_subs, max(acq_subs, clicks // 5))
            gross = rng.randint(acq_subs * 499, acq_subs * 4000 + 1) if acq_subs else 0
            platform = rng.choice(_PLATFORMS)
            made.append(
                TrackingLink(
                    uuid=uid("link", creator.index, k),
                    name=f"{platform} bio {k}",
                    link_url=f"fv-{rng.randint(100_000, 999_999)}",
                    platform=platform,
                    created_at=end - timedelta(hours=2)
                    if fresh
                    else start + timedelta(days=rng.randint(0, max(0, spec.days - 2))),
                    clicks=clicks,
                    acquired_subscribers=acq_subs,
                    acquired_followers=acq_follow,
                    total_subscribers=rng.randint(0, acq_subs),
                    total_followers=rng.randint(0, acq_follow),
                    earnings=None if fresh or gross == 0 else (gross, net_of(gross)),
                )
            )
        links[creator.uuid] = tuple(made)

        rows: list[ChatRow] = []
        for f, fan in enumerate(creator.fans[:10]):
            opened = end - timedelta(days=rng.randint(1, 60), seconds=rng.randrange(86_400))
            msgs: list[MessageRow] = []
            at = opened
            n_msgs = rng.randint(2, 5)
            for k in range(n_msgs):
                from_fan = k % 2 == 0
                at += timedelta(minutes=rng.randint(1, 600))
                ppv = not from_fan and rng.random() < 0.3
                price = rng.randint(300, 3000) if ppv else None
                msgs.append(
                    MessageRow(
                        uuid=uid("message", creator.index, f, k),
                        text=f"{'hey' if from_fan else 'hi'} #{k}",
                        sent_at=min(at, end - timedelta(seconds=1)),
                        sender=fan if from_fan else creator.person,
                        recipient=creator.person if from_fan else fan,
                        type="SINGLE_RECIPIENT",
                        is_read=not (from_fan and k == n_msgs - 1 and f % 2 == 0),
                        price=price,
                        purchased_at=at + timedelta(minutes=5) if ppv and rng.random() < 0.5 else None,
                        sent_by_user_id=None if from_fan or not team else team[0].uuid,
                    )
                )
            rows.append(ChatRow(creator.uuid, fan, opened, is_muted=f == 3, messages=tuple(msgs)))
        chats[creator.uuid] = tuple(sorted(rows, key=lambda ch: ch.messages[-1].sent_at, reverse=True))

    return World(spec, start, admin, tuple(team), tuple(creators), links, chats)
