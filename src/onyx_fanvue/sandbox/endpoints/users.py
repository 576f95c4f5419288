"""``/users/me``, ``/users/account``, ``/creators`` and ``/creators/{uuid}/account`` (api doc §1.1, §2.2-2.4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from onyx_fanvue.sandbox._http import page_envelope
from onyx_fanvue.sandbox.api import Ctx, Endpoint, Shape
from onyx_fanvue.sandbox.world import World, iso

__all__ = ["ENDPOINTS", "account_json", "last_payout"]

_COUNT_KEYS = ("likesCount", "fanCounts", "contentCounts")
_PAYOUT_WEEKDAY = 0  # Mondays, 12:00 UTC
_CLEARING = timedelta(days=7)  # a payment is pendingBalance this long, then availableForPayout


def last_payout(now: datetime) -> datetime:
    """The sandbox pays out weekly, Mondays at 12:00 UTC."""
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(
        days=(now.weekday() - _PAYOUT_WEEKDAY) % 7
    )
    return noon if noon <= now else noon - timedelta(days=7)


def account_json(world: World, person_uuid: str, now: datetime) -> dict[str, Any]:
    """The ``/users/account`` shape: the profile, then ``account`` with lifetime net earnings (reversals taken off),
    the balance that became available since the last payout (payments clear 7 days after they are made), and the
    fan counts."""
    profile = {k: v for k, v in world.user_json(person_uuid).items() if k not in _COUNT_KEYS}
    total = available = followers = subscribers = 0
    payout: datetime | None = None
    if world.is_creator(person_uuid):
        payout = last_payout(now)
        until = now + timedelta(microseconds=1)  # a payment made this very instant counts
        for row in world.iter_earnings(person_uuid, end=until):
            total += row.net
            if payout - _CLEARING <= row.date <= now - _CLEARING:
                available += row.net
        total -= sum(r.net for r in world.iter_reversals(person_uuid, end=until))
        followers, subscribers = world.followers(person_uuid), world.subscribers(person_uuid)
    return {
        **profile,
        "account": {
            "status": "active",
            "earnings": {"total": total, "availableBalance": available, "lastPayoutAt": iso(payout)},
            "fans": {"followers": followers, "subscribers": subscribers},
        },
    }


def _me(ctx: Ctx) -> dict[str, Any]:
    return ctx.world.user_json(ctx.user)


def _account(ctx: Ctx) -> dict[str, Any]:
    return account_json(ctx.world, ctx.subject, ctx.now)


def _creators(ctx: Ctx) -> dict[str, Any]:
    page, size = ctx.query.page()
    world = ctx.world

    def row(entry: tuple[str, str]) -> dict[str, Any]:
        creator_uuid, role = entry
        return {**world.creator(creator_uuid).person.fan_json(), "role": role}

    return page_envelope(ctx.sandbox.access.creators_of(ctx.user), page, size, row)


def _without_counts(body: Any) -> Any:
    """What ``/users/me`` looks like when Fanvue withholds the creator's stats: the count blocks are absent."""
    return {k: v for k, v in body.items() if k not in _COUNT_KEYS}


def _zero_account(body: Any) -> Any:
    zeros = {"total": 0, "availableBalance": 0, "lastPayoutAt": None}
    return {**body, "account": {**body["account"], "earnings": zeros, "fans": {"followers": 0, "subscribers": 0}}}


ENDPOINTS = [
    Endpoint("GET", "/users/me", ("read:self",), _me, empty=_without_counts),
    Endpoint("GET", "/users/account", ("read:self",), _account, empty=_zero_account),
    Endpoint("GET", "/creators/{creator}/account", ("read:creator",), _account, empty=_zero_account),
    Endpoint("GET", "/creators", ("read:creator",), _creators, Shape.PAGE),
]
