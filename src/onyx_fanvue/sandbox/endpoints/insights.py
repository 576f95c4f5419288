"""``/insights/*`` (api doc §1.2, §2.6-§2.11): earnings, the earnings summary, spending, the subscriber trend, top
spenders, fan insights and the earnings percentile, with the ``/creators/{creator}`` mirrors Fanvue has.

**Ranges.** ``startDate`` is inclusive and ``endDate`` exclusive; without ``startDate`` everything from the beginning
of the world's history counts (overlay rows dated earlier too), without ``endDate`` everything up to and including
*now*. Nothing after now is ever shown, so a row a test dates in the future appears once the clock reaches it.
``endDate`` not after ``startDate`` is a 400 ``{errors}``.

**Paging.** The cursors are key-sets naming the last row returned: earnings by (exact timestamp,
``transactionOrderId``), spending by (exact timestamp, reversed order id, rank among equal keys), the subscriber
trend by its UTC day. A row added later under an earlier date therefore never shifts a page: rows before the cursor
stay behind it and rows after it show up in order.

**Callers who are not creators** (an agency admin or team member on their own account) have no earnings: the lists
are empty, the summary is all zeros, ``/insights/fans/{fan}`` is 404 for everyone, and
``/insights/earnings/percentile`` is 403 ``{error}`` (the sandbox's choice: Fanvue's answer is unknown, and its spec
lists 403 but no 404 there). A creator with no earnings in the last 30 days ranks at the bottom: ``{percentile:
100}`` (the spec types the field as a required number).

**Summary rules** (the sandbox's reading of §2.8):

* reversals are *not* netted: every figure sums the rows ``/insights/earnings`` lists for the same range, so the two
  reconcile exactly; refunds and chargebacks are reported by ``/insights/spending`` (as Fanvue's spec splits them);
* ``totals.allTime`` covers all history up to now regardless of the range; ``totals.thisMonth`` is the calendar
  month to date in ``timezone`` against the whole previous month, the change percentages (rounded to 2 places) are
  ``null`` when the previous month is 0;
* ``overTime`` has one bucket per local day (or ISO week, starting Monday) in ``timezone``, zeros included, from the
  bucket holding ``startDate`` (or the first row when there is none) to the one holding the range's end;
  ``periodStart`` is the bucket's local midnight with the zone's offset;
* ``averageByDayOfWeek`` is the gross earned on that weekday divided by how many such local calendar days the range
  touches; ``averageByHourOfDay`` the gross earned in that local hour divided by the number of days touched (both
  rounded to 2 places);
* ``breakdownBySource`` maps subs=subscription, renewals=renewal, messages=message, posts=post, tips=tip,
  referrals=referral and other=everything else; ``earningsByType`` is its subs/messages/tips/renewals part.

**Fan insights.** Every named fan of the creator (``creator.fans``) is a fan. ``status`` follows the audience lists
(:mod:`onyx_fanvue.sandbox.endpoints.audience`): ``subscriber`` or ``follower`` when listed there; a fan on the
subscriber side of the split who was cut from the list is ``expired``, one cut from the follower side
``not_contactable``. Spending covers all the fan's earnings rows up to now; ``gross`` is what they paid and ``total``
that minus what refunds and chargebacks took back (the sandbox's reading of "net of reversals"). A subscriber's
subscription started when they joined the list and renews monthly on that day-of-month (``renewsAt`` only when auto
renewal is on, which a seeded two thirds of subscribers have); an expired fan's started at their first subscription
row, if any.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from onyx_fanvue.sandbox._http import (
    ApiError,
    check_uuid,
    cursor_page,
    decode_cursor,
    invalid,
    not_found,
    page_envelope,
)
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape, mirrored
from onyx_fanvue.sandbox.endpoints.audience import current_followers, current_subscribers
from onyx_fanvue.sandbox.world import EARNING_SOURCES, REVERSAL_SOURCES, EarningRow, SpendingRow, World, iso

__all__ = ["ENDPOINTS", "SUMMARY_BUCKETS", "earnings_summary", "fan_insight", "percentile_of", "zero_summary"]

DAWN = datetime(1970, 1, 1, tzinfo=UTC)  # "since the beginning": before any row; earlier startDates are clamped to it
_TINY = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_MAX_FANS = 20
GRANULARITIES = ("day", "week")
SPENDING_SOURCES = ("all", *REVERSAL_SOURCES)
# breakdownBySource bucket per earnings source; everything else lands in "other"
SUMMARY_BUCKETS: dict[str, str] = {
    "subscription": "subs",
    "renewal": "renewals",
    "message": "messages",
    "post": "posts",
    "tip": "tips",
    "referral": "referrals",
}
_BREAKDOWN_KEYS = ("subs", "messages", "posts", "tips", "referrals", "renewals", "other")
_TYPE_KEYS = ("subs", "messages", "tips", "renewals")


# ------------------------------------------------------------------------------------------------ shared


def _creator_or_none(ctx: Ctx) -> str | None:
    """The creator whose insights are asked for; ``None`` for a non-creator on the own-account paths."""
    return ctx.subject if ctx.subject_is_creator() else None


def _range(ctx: Ctx) -> tuple[datetime | None, datetime | None, datetime, datetime]:
    """The requested ``startDate``/``endDate`` as given, and the effective ``[lo, hi)`` (capped at now)."""
    start, end = ctx.query.instant("startDate"), ctx.query.instant("endDate")
    if start is not None and end is not None and end <= start:
        raise invalid("endDate must be after startDate")
    until = ctx.now + _TINY  # a row dated this very instant counts
    lo = DAWN if start is None else max(DAWN, start.astimezone(UTC))
    hi = until if end is None else min(end.astimezone(UTC), until)
    return start, end, lo, max(lo, hi)


def _instant(key: dict[str, Any], name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(key[name]))
    except (KeyError, ValueError):
        raise invalid("cursor is not valid") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(key: dict[str, Any], name: str) -> str:
    value = key.get(name)
    if not isinstance(value, str):
        raise invalid("cursor is not valid")
    return value


def _empty_cursor() -> dict[str, Any]:
    return {"data": [], "nextCursor": None}


# ------------------------------------------------------------------------------------------------ earnings


def _earnings(ctx: Ctx) -> dict[str, Any]:
    size = ctx.query.cursor_size()
    sources = ctx.query.list("source", allowed=("all", *EARNING_SOURCES))
    wanted = None if sources is None or "all" in sources else frozenset(sources)
    _, _, lo, hi = _range(ctx)
    key = decode_cursor(ctx.query.get("cursor"))
    creator = _creator_or_none(ctx)
    if creator is None:
        return _empty_cursor()
    rows: Iterator[EarningRow]
    if key is None:
        rows = ctx.world.iter_earnings(creator, lo, hi)
    else:
        after = (_instant(key, "d"), _text(key, "id"))
        rows = (
            r
            for r in ctx.world.iter_earnings(creator, max(lo, after[0]), hi)
            if (r.date, r.transaction_order_id) > after
        )
    if wanted is not None:
        rows = (r for r in rows if r.source in wanted)
    now = ctx.now
    return cursor_page(
        rows, size, lambda r: {"d": r.date.isoformat(), "id": r.transaction_order_id}, lambda r: r.to_json(now)
    )


# ------------------------------------------------------------------------------------------------ summary


@dataclass
class _Sums:
    gross: int = 0
    net: int = 0

    def add(self, row: EarningRow) -> None:
        self.gross += row.gross
        self.net += row.net

    def json(self) -> dict[str, int]:
        return {"gross": self.gross, "net": self.net}


@dataclass
class _Summary:
    """Running totals of one summary pass over the creator's rows."""

    all_time: _Sums = field(default_factory=_Sums)
    this_month: _Sums = field(default_factory=_Sums)
    last_month: _Sums = field(default_factory=_Sums)
    buckets: dict[str, _Sums] = field(default_factory=lambda: {k: _Sums() for k in _BREAKDOWN_KEYS})
    over_time: dict[date, _Sums] = field(default_factory=dict)
    by_weekday: list[int] = field(default_factory=lambda: [0] * 7)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    first: datetime | None = None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str) -> ZoneInfo:
    # checked against the IANA list first: ZoneInfo would open a file named after any string it is given
    if name not in _zone_names():
        raise invalid(f"timezone must be an IANA time zone name (got {name[:60]!r})")
    return ZoneInfo(name)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _bucket_of(day: date, granularity: str) -> date:
    return day - timedelta(days=day.weekday()) if granularity == "week" else day


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _change(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) * 100 / before, 2)


def earnings_summary(
    world: World,
    creator_uuid: str | None,
    *,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    granularity: str = "day",
    timezone: str = "UTC",
) -> dict[str, Any]:
    """The EarningsSummary of ``creator_uuid`` (all zeros for ``None``) for ``[start, end)`` (see the module notes).
    One streamed pass over the creator's rows up to now; memory is per bucket."""
    zone = _zone(timezone)
    until = now + _TINY
    lo = DAWN if start is None else max(DAWN, start.astimezone(UTC))
    hi = until if end is None else min(end.astimezone(UTC), until)
    today = now.astimezone(zone).date()
    month_start = _local_midnight(_month_start(today), zone)
    last_month_start = _local_midnight(_month_start(_month_start(today) - _DAY), zone)
    acc = _Summary()
    if creator_uuid is not None:
        for row in world.iter_earnings(creator_uuid, DAWN, until):
            acc.all_time.add(row)
            if row.date >= month_start:
                acc.this_month.add(row)
            elif row.date >= last_month_start:
                acc.last_month.add(row)
            if not lo <= row.date < hi:
                continue
            local = row.date.astimezone(zone)
            acc.first = acc.first or row.date
            acc.buckets[SUMMARY_BUCKETS.get(row.source, "other")].add(row)
            acc.over_time.setdefault(_bucket_of(local.date(), granularity), _Sums()).add(row)
            acc.by_weekday[local.weekday()] += row.gross
            acc.by_hour[local.hour] += row.gross
    return _summary_json(acc, zone, granularity, timezone, start, end, lo if start is not None else acc.first, hi)


def _summary_json(
    acc: _Summary,
    zone: ZoneInfo,
    granularity: str,
    timezone: str,
    start: datetime | None,
    end: datetime | None,
    first: datetime | None,
    hi: datetime,
) -> dict[str, Any]:
    over_time: list[dict[str, Any]] = []
    weekdays = [0] * 7
    days = 0
    if first is not None and hi > first:
        first_day, last_day = first.astimezone(zone).date(), (hi - _TINY).astimezone(zone).date()
        day = first_day
        while day <= last_day:
            weekdays[day.weekday()] += 1
            days += 1
            day += _DAY
        step = timedelta(days=7 if granularity == "week" else 1)
        bucket = _bucket_of(first_day, granularity)
        while bucket <= last_day:
            sums = acc.over_time.get(bucket, _Sums())
            moment = _local_midnight(bucket, zone)
            over_time.append({"periodStart": moment.isoformat(timespec="milliseconds"), **sums.json()})
            bucket += step
    this, last = acc.this_month, acc.last_month
    breakdown = {k: acc.buckets[k].json() for k in _BREAKDOWN_KEYS}
    return {
        "totals": {
            "allTime": acc.all_time.json(),
            "thisMonth": {
                **this.json(),
                "previousMonthGross": last.gross,
                "previousMonthNet": last.net,
                "grossChangePercentage": _change(this.gross, last.gross),
                "netChangePercentage": _change(this.net, last.net),
            },
        },
        "breakdownBySource": breakdown,
        "earningsByType": {k: breakdown[k] for k in _TYPE_KEYS},
        "overTime": over_time,
        "averageByDayOfWeek": {
            str(d + 1): round(acc.by_weekday[d] / weekdays[d], 2) if weekdays[d] else 0.0 for d in range(7)
        },
        "averageByHourOfDay": {str(h): round(acc.by_hour[h] / days, 2) if days else 0.0 for h in range(24)},
        "period": {"startDate": iso(start), "endDate": iso(end), "granularity": granularity, "timezone": timezone},
    }


def zero_summary(body: Any) -> Any:
    """The summary a permission problem gives: same period and buckets, every figure zero."""
    zero = {"gross": 0, "net": 0}
    month = {**zero, "previousMonthGross": 0, "previousMonthNet": 0}
    return {
        "totals": {
            "allTime": zero,
            "thisMonth": {**month, "grossChangePercentage": None, "netChangePercentage": None},
        },
        "breakdownBySource": dict.fromkeys(_BREAKDOWN_KEYS, zero),
        "earningsByType": dict.fromkeys(_TYPE_KEYS, zero),
        "overTime": [{**p, **zero} for p in body.get("overTime", [])],
        "averageByDayOfWeek": {str(d): 0.0 for d in range(1, 8)},
        "averageByHourOfDay": {str(h): 0.0 for h in range(24)},
        "period": body.get("period"),
    }


def _summary(ctx: Ctx) -> dict[str, Any]:
    start, end, _, _ = _range(ctx)
    granularity = ctx.query.get("granularity") or "day"
    if granularity not in GRANULARITIES:
        raise invalid(f"granularity must be one of: {', '.join(GRANULARITIES)}")
    timezone = ctx.query.get("timezone") or "UTC"
    return earnings_summary(
        ctx.world,
        _creator_or_none(ctx),
        now=ctx.now,
        start=start,
        end=end,
        granularity=granularity,
        timezone=timezone,
    )


# ------------------------------------------------------------------------------------------------ spending


def _spending(ctx: Ctx) -> dict[str, Any]:
    size = ctx.query.cursor_size()
    source = ctx.query.get("source") or "all"
    if source not in SPENDING_SOURCES:
        raise invalid(f"source must be one of: {', '.join(SPENDING_SOURCES)}")
    _, _, lo, hi = _range(ctx)
    key = decode_cursor(ctx.query.get("cursor"))
    creator = _creator_or_none(ctx)
    if creator is None:
        return _empty_cursor()
    after: tuple[datetime, str, int] | None = None
    if key is not None:
        rank = key.get("n")
        if not isinstance(rank, int):
            raise invalid("cursor is not valid")
        after = (_instant(key, "d"), _text(key, "id"), rank)
        lo = max(lo, after[0])
    ranked = _ranked(ctx.world.iter_reversals(creator, lo, hi))
    if after is not None:
        ranked = (r for r in ranked if (r[0].date, r[0].reversed_order_id, r[1]) > after)
    if source != "all":
        ranked = (r for r in ranked if r[0].source == source)
    return cursor_page(
        ranked,
        size,
        lambda r: {"d": r[0].date.isoformat(), "id": r[0].reversed_order_id, "n": r[1]},
        lambda r: r[0].to_json(),
    )


def _ranked(rows: Iterator[SpendingRow]) -> Iterator[tuple[SpendingRow, int]]:
    """Each row with its rank among rows of the same (date, reversed order) key, so the cursor tells them apart."""
    previous: tuple[datetime, str] | None = None
    rank = 0
    for row in rows:
        key = (row.date, row.reversed_order_id)
        rank = rank + 1 if key == previous else 0
        previous = key
        yield row, rank


# ------------------------------------------------------------------------------------------------ subscribers


def _subscribers(ctx: Ctx) -> dict[str, Any]:
    size = ctx.query.cursor_size()
    _, _, lo, hi = _range(ctx)
    key = decode_cursor(ctx.query.get("cursor"))
    after = None if key is None else _instant(key, "d")
    creator = _creator_or_none(ctx)
    if creator is None:
        return _empty_cursor()
    # the running ``total`` starts at the range start, so the cursor skips rows instead of moving the range
    rows = iter(ctx.world.subscriber_trend(creator, lo, hi))
    if after is not None:
        rows = (r for r in rows if r.date > after)
    return cursor_page(rows, size, lambda r: {"d": r.date.isoformat()}, lambda r: r.to_json())


# ------------------------------------------------------------------------------------------------ top spenders


def _top_spenders(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    _, _, lo, hi = _range(ctx)
    creator = _creator_or_none(ctx)
    if creator is None:
        return {"data": [], "pagination": {"page": page, "size": 0, "hasMore": False}}
    return page_envelope(ctx.world.top_spenders(creator, lo, hi), page, size, lambda r: r.to_json())


# ------------------------------------------------------------------------------------------------ fans


@dataclass
class _FanMoney:
    gross: int = 0
    back: int = 0  # taken back by refunds and chargebacks

    def json(self) -> dict[str, int]:
        return {"gross": self.gross, "total": self.gross - self.back}


@dataclass
class _FanTally:
    total: _FanMoney = field(default_factory=_FanMoney)
    biggest: EarningRow | None = None
    sources: dict[str, _FanMoney] = field(default_factory=dict)
    last: datetime | None = None
    first_subscription: datetime | None = None
    orders: dict[str, EarningRow] = field(default_factory=dict)
    back_by_order: dict[str, int] = field(default_factory=dict)


def _tallies(world: World, creator_uuid: str, fan_uuids: set[str], now: datetime) -> dict[str, _FanTally]:
    """One pass over the creator's earnings and reversals up to now, tallied for the fans asked about."""
    until = now + _TINY
    tallies = {f: _FanTally() for f in fan_uuids}
    for row in world.iter_earnings(creator_uuid, DAWN, until):
        tally = tallies.get(row.user.uuid) if row.user is not None else None
        if tally is None:
            continue
        tally.total.gross += row.gross
        tally.sources.setdefault(row.source, _FanMoney()).gross += row.gross
        tally.last = row.date
        tally.orders[row.transaction_order_id] = row
        if tally.biggest is None or row.gross > tally.biggest.gross:
            tally.biggest = row
        if tally.first_subscription is None and row.source == "subscription":
            tally.first_subscription = row.date
    for rev in world.iter_reversals(creator_uuid, DAWN, until):
        tally = tallies.get(rev.user.uuid) if rev.user is not None else None
        original = tally.orders.get(rev.reversed_order_id) if tally is not None else None
        if tally is None or original is None:
            continue
        tally.total.back += rev.gross
        tally.sources[original.source].back += rev.gross
        tally.back_by_order[rev.reversed_order_id] = tally.back_by_order.get(rev.reversed_order_id, 0) + rev.gross
    return tallies


def _renewal_after(since: datetime, now: datetime) -> datetime:
    """The first monthly anniversary of ``since`` after ``now`` (day-of-month clamped to 28)."""
    day = min(since.day, 28)
    year, month = now.year, now.month
    while True:
        moment = since.replace(year=year, month=month, day=day)
        if moment > now:
            return moment
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def fan_insight(world: World, creator_uuid: str, fan_uuids: list[str], now: datetime) -> dict[str, dict[str, Any]]:
    """FanInsight JSON for each of ``fan_uuids`` that is a fan of the creator (others are left out)."""
    creator = world.creator(creator_uuid)
    named = {f.uuid: i for i, f in enumerate(creator.fans)}
    asked = {u for u in fan_uuids if u in named}
    if not asked:
        return {}
    subscribed = {m.fan.uuid: m.since for m in current_subscribers(world, creator_uuid)}
    following = {m.fan.uuid for m in current_followers(world, creator_uuid)}
    tallies = _tallies(world, creator_uuid, asked, now)
    out: dict[str, dict[str, Any]] = {}
    for fan_uuid in sorted(asked):
        tally = tallies[fan_uuid]
        biggest = tally.biggest
        max_single = (
            {"gross": biggest.gross, "total": biggest.gross - tally.back_by_order.get(biggest.transaction_order_id, 0)}
            if biggest is not None
            else {"gross": 0, "total": 0}
        )
        since = subscribed.get(fan_uuid)
        if since is not None:
            rng = random.Random(f"{world.spec.seed}:{creator.index}:{fan_uuid}:auto-renew")  # noqa: S311
            auto = rng.random() < 2 / 3
            status = "subscriber"
            subscription = {
                "createdAt": iso(since),
                "renewsAt": iso(_renewal_after(since, now)) if auto else None,
                "autoRenewalEnabled": auto,
            }
        else:
            if fan_uuid in following:
                status = "follower"
            else:
                status = "expired" if named[fan_uuid] % 3 != 2 else "not_contactable"
            started = tally.first_subscription if status == "expired" else None
            subscription = {"createdAt": iso(started), "renewsAt": None, "autoRenewalEnabled": False}
        out[fan_uuid] = {
            "status": status,
            "spending": {
                "lastPurchaseAt": iso(tally.last),
                "total": tally.total.json(),
                "maxSinglePayment": max_single,
                "sources": {s: m.json() for s, m in sorted(tally.sources.items())},
            },
            "subscription": subscription,
        }
    return out


def _fan(ctx: Ctx) -> dict[str, Any]:
    fan_uuid = check_uuid(ctx.params["fan"], "userUuid", validation=True)  # the spec lists no {message} 400 here
    creator = _creator_or_none(ctx)
    found = fan_insight(ctx.world, creator, [fan_uuid], ctx.now) if creator is not None else {}
    if fan_uuid not in found:
        raise not_found("Fan not found")
    return found[fan_uuid]


def _fans(ctx: Ctx) -> dict[str, Any]:
    given = ctx.query.list("fanUuids", limit=_MAX_FANS)
    if given is None:
        raise invalid("fanUuids is required")
    wrong = [u for u in given if not _is_uuid(u)]
    if wrong:
        raise invalid(f"fanUuids must be UUIDs (got {', '.join(wrong)})")
    uuids = list(dict.fromkeys(u.lower() for u in given))
    creator = _creator_or_none(ctx)
    found = fan_insight(ctx.world, creator, uuids, ctx.now) if creator is not None else {}
    return {
        "results": {u: found.get(u) for u in uuids},
        "errors": [{"fanUuid": u, "code": "NOT_FOUND", "message": "Fan not found"} for u in uuids if u not in found],
    }


def _is_uuid(value: str) -> bool:
    try:
        check_uuid(value)
    except ApiError:
        return False
    return True


# ------------------------------------------------------------------------------------------------ percentile

UNRANKED = 100
"""The percentile of a creator with nothing earned in 30 days: the bottom of the table. Fanvue's spec types the
field as a required number (0.01 = top, 99.50 ≈ bottom), so "not ranked" is a number, never ``null``."""


def percentile_of(world: World, creator_uuid: str, now: datetime) -> float:
    """A seeded percentile per creator (0.01-60, lower is better); :data:`UNRANKED` (the bottom) when the creator
    earned nothing in the 30 days before now."""
    creator = world.creator(creator_uuid)
    recent = world.iter_earnings(creator_uuid, now - timedelta(days=30), now + _TINY)
    if next(recent, None) is None:
        return UNRANKED
    rng = random.Random(f"{world.spec.seed}:{creator.index}:percentile")  # noqa: S311
    return round(rng.uniform(0.01, 60.0), 2)


def _percentile(ctx: Ctx) -> dict[str, Any]:
    if not ctx.sandbox.is_creator(ctx.user):
        raise ApiError(403, {"error": "Forbidden: the earnings percentile is only available to creators"})
    return {"percentile": percentile_of(ctx.world, ctx.user, ctx.now)}


def _unranked(_: Any) -> Any:
    return {"percentile": UNRANKED}


def _no_spending(body: Any) -> Any:
    """A fan insight with the spending withheld: zeros, no purchase, no subscription details."""
    nothing = {"gross": 0, "total": 0}
    return {
        **body,
        "spending": {"lastPurchaseAt": None, "total": nothing, "maxSinglePayment": nothing, "sources": {}},
        "subscription": {"createdAt": None, "renewsAt": None, "autoRenewalEnabled": False},
    }


def _no_fans(body: Any) -> Any:
    """The batch with every fan's insight withheld (``null``), and no per-fan errors."""
    return {"results": dict.fromkeys(body["results"]), "errors": []}


ENDPOINTS: list[Endpoint] = [
    *mirrored("GET", "/insights/earnings", ("read:insights",), _earnings, Shape.CURSOR),
    *mirrored("GET", "/insights/earnings/summary", ("read:insights",), _summary, empty=zero_summary),
    Endpoint("GET", "/insights/earnings/percentile", ("read:insights",), _percentile, empty=_unranked),
    Endpoint("GET", "/insights/spending", ("read:insights",), _spending, Shape.CURSOR),
    *mirrored("GET", "/insights/subscribers", ("read:insights",), _subscribers, Shape.CURSOR),
    *mirrored("GET", "/insights/top-spenders", ("read:insights", "read:fan"), _top_spenders, Shape.PAGE),
    Endpoint("GET", "/insights/fans", ("read:insights", "read:fan"), _fans, empty=_no_fans),
    Endpoint("GET", "/insights/fans/{fan}", ("read:insights", "read:fan"), _fan, empty=_no_spending),
]
