"""Every public resource method, sync and async, against respx: the HTTP method, the exact path (own account and
``/creators/{uuid}/...``), the exact query (camelCase, comma-joined arrays), the JSON body, the headers, and a parsed
field of a realistic §2 payload (unknown enum values included). Then the ``iter_*`` helpers over three pages, and
the checks made before any request. Transport concerns (errors, retries, budgets) live in ``test_client.py``."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx

from onyx_fanvue import AsyncFanvueClient, FanvueClient, Money
from onyx_fanvue.resources._resource import AsyncResource, SyncResource

API = "https://api.fanvue.com"
TOKEN = "t"
VERSION = "2025-06-26"
C = "8b1f7c52-0c1e-4d0a-9a57-0f3c2b6d1e01"  # a managed creator
FAN = "3f0e9a1c-5b2d-4c8e-8f6a-2d7b9c0e4a11"
LINK = "6a2d0c4e-1b3f-4e5a-9c7d-8e0f1a2b3c4d"
POST = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

START = datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=2)))
START_Q = "2026-05-01T00:00:00+02:00"
END = date(2026, 6, 1)
END_Q = "2026-06-01"

# ----------------------------------------------------------------------------------------------- payloads (§2)

SHORT_USER = {
    "uuid": FAN,
    "handle": "nightowl",
    "displayName": "Night Owl",
    "nickname": "owl",
    "isTopSpender": True,
}
FAN_USER = {**SHORT_USER, "avatarUrl": "https://cdn.fanvue.com/a/owl.jpg", "registeredAt": "2025-11-03T18:22:09.512Z"}
PROFILE = {
    "uuid": C,
    "email": "luna@example.com",
    "handle": "luna",
    "bio": "hi",
    "displayName": "Luna",
    "isCreator": True,
    "createdAt": "2024-02-10T09:00:00Z",
    "updatedAt": None,
    "avatarUrl": None,
    "bannerUrl": None,
}
USER = {
    **PROFILE,
    "likesCount": 1200,
    "fanCounts": {"followersCount": 800, "subscribersCount": 310},
    "contentCounts": {"imageCount": 40, "videoCount": 12, "audioCount": 1, "postCount": 53, "payToViewPostCount": 7},
}
ACCOUNT = {
    **PROFILE,
    "account": {
        "status": "active",
        "earnings": {"total": 1234500, "availableBalance": 45600, "lastPayoutAt": "2026-04-30T12:00:00Z"},
        "fans": {"followers": 800, "subscribers": 310},
    },
}
CREATOR_ROW = {**FAN_USER, "uuid": C, "handle": "luna", "displayName": "Luna", "role": "owner"}
TEAM_MEMBER = {
    "uuid": "tm-1",
    "isAdmin": False,
    "nickname": None,
    "email": "chatter@example.com",
    "displayName": "Chatter",
    "creatorAccess": [{"uuid": C, "role": "CHATTER"}],
}
AGENCY_EARNING_DAY = {"creatorUuid": C, "date": "2026-05-01", "gross": 25000, "net": 20000, "currency": "EUR"}
AGENCY_SUB_DAY = {
    "creatorUuid": C,
    "date": "2026-05-01",
    "newSubscribersCount": 4,
    "cancelledSubscribersCount": 6,
    "total": -2,
}
AGENCY_SUBSCRIBER = {
    **FAN_USER,
    "creatorUuid": C,
    "subscribedAt": "2026-04-01T08:00:00Z",
    "expiresAt": None,
}
CHATTER_ROW = {
    "chatterUuid": "tm-1",
    "chatterName": "Chatter",
    "avatarUrl": None,
    "messages": 420,
    "ppvsSent": 30,
    "ppvsUnlocked": 12,
    "revenue": 36000,
    "goldenRatio": 0.0286,
    "unlockRatio": 0.4,
    "activeHours": 18.5,
    "eph": 1945.9,
    "avgResponseMs": None,
}
LAST_MESSAGE = {
    "uuid": "m-9",
    "text": "hey",
    "type": "NEW_TYPE",
    "sentAt": "2026-05-02T10:00:00Z",
    "hasMedia": False,
    "mediaType": None,
    "senderUuid": FAN,
    "sentByUserId": None,
}
CHAT_ROW = {
    "createdAt": "2026-01-01",
    "lastMessageAt": "2026-05-02T10:00:00Z",
    "isRead": False,
    "isMuted": False,
    "unreadMessagesCount": 3,
    "user": FAN_USER,
    "lastMessage": LAST_MESSAGE,
}
MESSAGE_ROW = {
    "uuid": "m-1",
    "text": "unlock me",
    "sentAt": "2026-05-02T10:00:00Z",
    "sender": {"uuid": C, "handle": "luna"},
    "recipient": {"uuid": FAN, "handle": "nightowl"},
    "hasMedia": True,
    "mediaType": "video",
    "mediaUuids": ["md-1"],
    "type": "NEW_TYPE",
    "pricing": {"USD": {"price": 500}},
    "purchasedAt": None,
    "isRead": True,
    "sentByUserId": "tm-1",
}
UNREAD = {
    "unreadChatsCount": 4,
    "unreadMessagesCount": 9,
    "unreadNotifications": {
        "newFollower": 1,
        "newPostComment": 0,
        "newPostLike": 5,
        "newPurchase": 2,
        "newSubscriber": 1,
        "newTip": 3,
        "newPromotion": 0,
    },
}
EARNING = {
    "date": "2026-05-01T10:00:00.000Z",
    "gross": 1500,
    "net": 1200,
    "currency": "EUR",
    "source": "mysteryBox",
    "transactionOrderId": "FV-ORDER-123",
    "transactionOrderStatus": "pendingBalance",
    "user": SHORT_USER,
    "promoCode": "SPRING",  # a field Fanvue may add: kept in model_extra
}
SPENDING = {
    "date": "2026-05-03T11:00:00Z",
    "gross": -1500,
    "net": -1200,
    "currency": None,
    "source": "chargeback",
    "postUuid": POST,
    "user": SHORT_USER,
}
GN = {"gross": 10000, "net": 8000}
SUMMARY = {
    "totals": {
        "allTime": {"gross": 5000000, "net": 4000000},
        "thisMonth": {
            "gross": 120000,
            "net": 96000,
            "previousMonthGross": 0,
            "previousMonthNet": 0,
            "grossChangePercentage": None,
            "netChangePercentage": None,
        },
    },
    "breakdownBySource": {
        "subs": GN,
        "messages": GN,
        "posts": GN,
        "tips": GN,
        "referrals": GN,
        "renewals": GN,
        "other": GN,
        "mysteryBoxes": GN,
    },
    "earningsByType": {"subs": GN, "messages": GN, "tips": GN, "renewals": GN},
    "overTime": [{"periodStart": "2026-05-04T00:00:00+02:00", "gross": 70000, "net": 56000}],
    "averageByDayOfWeek": {str(d): 1000.5 for d in range(1, 8)},
    "averageByHourOfDay": {str(h): 40.25 for h in range(24)},
    "period": {
        "startDate": "2026-05-01T00:00:00+02:00",
        "endDate": "2026-06-01T00:00:00Z",
        "granularity": "week",
        "timezone": "Europe/Berlin",
    },
}
SUB_TREND = {
    "date": "2026-04-30T22:00:00Z",
    "newSubscribersCount": 3,
    "cancelledSubscribersCount": 5,
    "total": -2,
}
TOP_SPENDER = {"gross": 98000, "net": 78400, "messages": 311, "user": FAN_USER}
FAN_INSIGHT = {
    "status": "subscriber",
    "spending": {
        "lastPurchaseAt": "2026-05-02T10:00:00Z",
        "total": {"gross": 9900, "total": 8900},
        "maxSinglePayment": {"gross": 5000, "total": 5000},
        "sources": {"tip": {"gross": 4900, "total": 3900}, "mysteryBox": {"gross": 5000, "total": 5000}},
    },
    "subscription": {"createdAt": "2026-01-01T00:00:00Z", "renewsAt": None, "autoRenewalEnabled": False},
}
FANS_RESULT = {
    "results": {FAN: FAN_INSIGHT, "f-2": None},
    "errors": [{"fanUuid": "f-2", "code": "NOT_FOUND", "message": "Not a fan"}],
}
SMART_LISTS = [
    {"uuid": "subscribers", "name": "Subscribers", "count": 310},
    {"uuid": "muted", "name": "Muted", "count": 2},
    {"uuid": "big_spenders_q3", "name": "Brand new list", "count": 17},
]
TRACKING_LINK = {
    "uuid": LINK,
    "name": "Insta bio",
    "linkUrl": "fv-123456",
    "externalSocialPlatform": "threads",
    "createdAt": "2026-03-01T12:00:00Z",
    "clicks": 950,
    "engagement": {"acquiredSubscribers": 40, "acquiredFollowers": 120, "totalSubscribers": 33, "totalFollowers": 101},
    "earnings": {"totalGross": 150000, "totalNet": 120000},
}
FRESH_LINK = {**TRACKING_LINK, "clicks": 0, "engagement": None, "earnings": None, "externalSocialPlatform": "tiktok"}
LINK_USER = {**FAN_USER, "status": "expired"}
POST_ROW = {
    "uuid": POST,
    "createdAt": "2026-04-20T09:30:00Z",
    "text": "new set",
    "price": 999,
    "mediaPreviewUuid": None,
    "audience": "subscribers",
    "publishAt": None,
    "publishedAt": "2026-04-20T09:30:00Z",
    "expiresAt": None,
    "mediaUuids": ["md-1", "md-2"],
    "isPinned": True,
    "likesCount": 88,
    "commentsCount": 9,
    "tips": {"count": 2, "totalGross": 2000, "totalNet": 1600},
    "collections": [{"uuid": "col-1", "label": "Spring"}],
}


def page(*rows: Any, number: int = 1, has_more: bool = False) -> dict[str, Any]:
    return {"data": list(rows), "pagination": {"page": number, "size": len(rows), "hasMore": has_more}}


def cursor_page(*rows: Any, next_cursor: str | None = None) -> dict[str, Any]:
    return {"data": list(rows), "nextCursor": next_cursor}


# ----------------------------------------------------------------------------------------------- harness


@asynccontextmanager
async def open_client(flavour: str) -> AsyncIterator[Any]:
    if flavour == "sync":
        with FanvueClient(access_token=TOKEN, rate_limited=False) as fanvue:
            yield fanvue
    else:
        async with AsyncFanvueClient(access_token=TOKEN, rate_limited=False) as fanvue:
            yield fanvue


async def settle(flavour: str, result: Any) -> Any:
    """The sync method answers directly; the async one returns an awaitable that we await."""
    if flavour == "async":
        assert inspect.isawaitable(result), "an async resource method must be awaited"
        return await result
    assert not inspect.isawaitable(result)
    return result


async def drain(flavour: str, iterator: Any) -> list[Any]:
    if flavour == "async":
        return [item async for item in iterator]
    return list(iterator)


def assert_standard_headers(request: httpx.Request) -> None:
    assert request.headers["X-Fanvue-API-Version"] == VERSION
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])


@dataclass(frozen=True)
class Case:
    """One row of the endpoint table."""

    id: str
    call: Callable[[Any], Any]
    method: str
    path: str
    params: dict[str, str]
    response: Any
    check: Callable[[Any], Any]
    body: Any = None
    status: int = 200
    covers: str = field(default="")


def case(
    covers: str,
    suffix: str,
    call: Callable[[Any], Any],
    method: str,
    path: str,
    params: dict[str, str],
    response: Any,
    check: Callable[[Any], Any],
    **extra: Any,
) -> Any:
    return pytest.param(
        Case(f"{covers}[{suffix}]", call, method, path, params, response, check, covers=covers, **extra),
        id=f"{covers}-{suffix}",
    )


RANGE_Q = {"startDate": START_Q, "endDate": END_Q}

CASES = [
    # -- users
    case(
        "users.me",
        "self",
        lambda f: f.users.me(),
        "GET",
        "/users/me",
        {},
        USER,
        lambda r: r.fan_counts.subscribers_count == 310 and r.content_counts.pay_to_view_post_count == 7,
    ),
    case(
        "users.account",
        "self",
        lambda f: f.users.account(),
        "GET",
        "/users/account",
        {},
        ACCOUNT,
        lambda r: r.account.earnings.available_balance == Money(cents=45600) and r.account.fans.subscribers == 310,
    ),
    case(
        "users.account",
        "creator",
        lambda f: f.users.account(creator_uuid=C),
        "GET",
        f"/creators/{C}/account",
        {},
        ACCOUNT,
        lambda r: r.account.status == "active" and r.account.earnings.total.cents == 1234500,
    ),
    # -- creators
    case(
        "creators.list",
        "paged",
        lambda f: f.creators.list(page=2, size=10),
        "GET",
        "/creators",
        {"page": "2", "size": "10"},
        page(CREATOR_ROW, number=2, has_more=True),
        lambda r: r.data[0].role == "owner" and r.pagination.has_more and r.pagination.page == 2,
    ),
    case(
        "creators.list",
        "defaults",
        lambda f: f.creators.list(),
        "GET",
        "/creators",
        {},
        page(),
        lambda r: r.data == [] and r.pagination.has_more is False,
    ),
    # -- agencies
    case(
        "agencies.earnings",
        "filtered",
        lambda f: f.agencies.earnings(start_date=START, end_date=END, creator_uuids=[C, "c-2"], page=1, size=50),
        "GET",
        "/agencies/earnings",
        {**RANGE_Q, "creatorUuids": f"{C},c-2", "page": "1", "size": "50"},
        page(AGENCY_EARNING_DAY),
        lambda r: r.data[0].gross == Money(cents=25000, currency="EUR") and r.data[0].net.cents == 20000,
    ),
    case(
        "agencies.earnings",
        "strings",
        lambda f: f.agencies.earnings(start_date="2026-05-01T00:00:00Z", end_date="2026-05-31T00:00:00Z"),
        "GET",
        "/agencies/earnings",
        {"startDate": "2026-05-01T00:00:00Z", "endDate": "2026-05-31T00:00:00Z"},
        page(AGENCY_EARNING_DAY),
        lambda r: r.data[0].date == datetime(2026, 5, 1, tzinfo=UTC) and r.data[0].creator_uuid == C,
    ),
    case(
        "agencies.subscribers_history",
        "filtered",
        lambda f: f.agencies.subscribers_history(start_date=START, end_date=END, creator_uuids=[C], page=3, size=15),
        "GET",
        "/agencies/subscribers-history",
        {**RANGE_Q, "creatorUuids": C, "page": "3", "size": "15"},
        page(AGENCY_SUB_DAY, number=3),
        lambda r: r.data[0].total == -2 and r.data[0].cancelled_subscribers_count == 6,
    ),
    case(
        "agencies.subscribers",
        "filtered",
        lambda f: f.agencies.subscribers(creator_uuids=[C, "c-2"], page=2, size=25),
        "GET",
        "/agencies/subscribers",
        {"creatorUuids": f"{C},c-2", "page": "2", "size": "25"},
        page(AGENCY_SUBSCRIBER, number=2),
        lambda r: r.data[0].creator_uuid == C and r.data[0].expires_at is None,
    ),
    case(
        "agencies.subscribers",
        "defaults",
        lambda f: f.agencies.subscribers(),
        "GET",
        "/agencies/subscribers",
        {},
        page(AGENCY_SUBSCRIBER),
        lambda r: r.data[0].subscribed_at == datetime(2026, 4, 1, 8, tzinfo=UTC),
    ),
    case(
        "agencies.team_members",
        "all",
        lambda f: f.agencies.team_members(),
        "GET",
        "/agencies/team-members",
        {},
        [TEAM_MEMBER],
        lambda r: r[0].creator_access[0].role == "CHATTER" and r[0].is_admin is False,
    ),
    case(
        "agencies.chatter_leaderboard",
        "filtered",
        lambda f: f.agencies.chatter_leaderboard(start_date=START, end_date=END, chatter_uuids=["tm-1", "tm-2"]),
        "GET",
        "/agencies/insights/chatter-leaderboard",
        {**RANGE_Q, "chatterUuids": "tm-1,tm-2"},
        {"data": [CHATTER_ROW]},
        lambda r: r.data[0].revenue.cents == 36000 and r.data[0].eph == 1945.9 and r.data[0].avg_response_ms is None,
    ),
    case(
        "agencies.chatter_leaderboard",
        "defaults",
        lambda f: f.agencies.chatter_leaderboard(),
        "GET",
        "/agencies/insights/chatter-leaderboard",
        {},
        {"data": []},
        lambda r: r.data == [],
    ),
    case(
        "agencies.chats",
        "paged",
        lambda f: f.agencies.chats(page=1, size=20),
        "GET",
        "/agencies/chats",
        {"page": "1", "size": "20"},
        page({**CHAT_ROW, "creatorUuid": C}),
        lambda r: r.data[0].creator_uuid == C and r.data[0].last_message.type == "NEW_TYPE",
    ),
    # -- insights
    case(
        "insights.earnings",
        "self",
        lambda f: f.insights.earnings(
            start_date=START, end_date=END, sources=["tip", "mysteryBox"], cursor="Y3Vyc29yLTI=", size=20
        ),
        "GET",
        "/insights/earnings",
        {**RANGE_Q, "source": "tip,mysteryBox", "cursor": "Y3Vyc29yLTI=", "size": "20"},
        cursor_page(EARNING, next_cursor="Y3Vyc29yLTM="),
        lambda r: (
            r.data[0].source == "mysteryBox"
            and r.data[0].gross.cents == 1500
            and r.data[0].model_extra == {"promoCode": "SPRING"}
            and r.next_cursor == "Y3Vyc29yLTM="
        ),
    ),
    case(
        "insights.earnings",
        "creator",
        lambda f: f.insights.earnings(creator_uuid=C),
        "GET",
        f"/creators/{C}/insights/earnings",
        {},
        cursor_page({**EARNING, "source": "referral", "user": None}),
        lambda r: r.data[0].user is None and r.next_cursor is None,
    ),
    case(
        "insights.earnings_summary",
        "self",
        lambda f: f.insights.earnings_summary(
            start_date=START, end_date=END, granularity="week", timezone="Europe/Berlin"
        ),
        "GET",
        "/insights/earnings/summary",
        {**RANGE_Q, "granularity": "week", "timezone": "Europe/Berlin"},
        SUMMARY,
        lambda r: (
            r.totals.this_month.gross_change_percentage is None
            and r.over_time[0].period_start == datetime(2026, 5, 3, 22, tzinfo=UTC)
            and r.average_by_day_of_week["7"] == 1000.5
            and "mysteryBoxes" in r.breakdown_by_source.model_extra
        ),
    ),
    case(
        "insights.earnings_summary",
        "creator",
        lambda f: f.insights.earnings_summary(creator_uuid=C, granularity="day"),
        "GET",
        f"/creators/{C}/insights/earnings/summary",
        {"granularity": "day"},
        SUMMARY,
        lambda r: r.totals.all_time.net.cents == 4000000 and r.period.timezone == "Europe/Berlin",
    ),
    case(
        "insights.earnings_percentile",
        "self",
        lambda f: f.insights.earnings_percentile(),
        "GET",
        "/insights/earnings/percentile",
        {},
        {"percentile": 0.05},
        lambda r: r.percentile == 0.05,
    ),
    case(
        "insights.spending",
        "self",
        lambda f: f.insights.spending(start_date=START, end_date=END, source="chargeback", cursor="abc", size=10),
        "GET",
        "/insights/spending",
        {**RANGE_Q, "source": "chargeback", "cursor": "abc", "size": "10"},
        cursor_page(SPENDING),
        lambda r: r.data[0].source == "chargeback" and r.data[0].gross.cents == -1500 and r.data[0].post_uuid == POST,
    ),
    case(
        "insights.subscribers",
        "self",
        lambda f: f.insights.subscribers(start_date=START, end_date=END, cursor="abc", size=30),
        "GET",
        "/insights/subscribers",
        {**RANGE_Q, "cursor": "abc", "size": "30"},
        cursor_page(SUB_TREND),
        lambda r: r.data[0].total == -2 and r.data[0].date == datetime(2026, 4, 30, 22, tzinfo=UTC),
    ),
    case(
        "insights.subscribers",
        "creator",
        lambda f: f.insights.subscribers(creator_uuid=C, start_date=START),
        "GET",
        f"/creators/{C}/insights/subscribers",
        {"startDate": START_Q},
        cursor_page(SUB_TREND),
        lambda r: r.data[0].new_subscribers_count == 3,
    ),
    case(
        "insights.top_spenders",
        "self",
        lambda f: f.insights.top_spenders(start_date=START, end_date=END, page=2, size=15),
        "GET",
        "/insights/top-spenders",
        {**RANGE_Q, "page": "2", "size": "15"},
        page(TOP_SPENDER, number=2),
        lambda r: r.data[0].net.cents == 78400 and r.data[0].user.is_top_spender is True,
    ),
    case(
        "insights.top_spenders",
        "creator",
        lambda f: f.insights.top_spenders(creator_uuid=C, end_date=END),
        "GET",
        f"/creators/{C}/insights/top-spenders",
        {"endDate": END_Q},
        page(TOP_SPENDER),
        lambda r: r.data[0].messages == 311,
    ),
    case(
        "insights.fan",
        "one",
        lambda f: f.insights.fan(FAN),
        "GET",
        f"/insights/fans/{FAN}",
        {},
        FAN_INSIGHT,
        lambda r: r.spending.sources["mysteryBox"].total.cents == 5000 and r.subscription.renews_at is None,
    ),
    case(
        "insights.fans",
        "two",
        lambda f: f.insights.fans([FAN, "f-2"]),
        "GET",
        "/insights/fans",
        {"fanUuids": f"{FAN},f-2"},
        FANS_RESULT,
        lambda r: (
            r.results["f-2"] is None and r.errors[0].code == "NOT_FOUND" and r.results[FAN].status == "subscriber"
        ),
    ),
    case(
        "insights.fans",
        "twenty",
        lambda f: f.insights.fans([f"f-{i}" for i in range(20)]),
        "GET",
        "/insights/fans",
        {"fanUuids": ",".join(f"f-{i}" for i in range(20))},
        {"results": {}, "errors": []},
        lambda r: r.results == {},
    ),
    # -- audience
    case(
        "audience.subscribers",
        "self",
        lambda f: f.audience.subscribers(page=1, size=50),
        "GET",
        "/subscribers",
        {"page": "1", "size": "50"},
        page(FAN_USER),
        lambda r: r.data[0].registered_at == datetime(2025, 11, 3, 18, 22, 9, 512000, tzinfo=UTC),
    ),
    case(
        "audience.subscribers",
        "creator",
        lambda f: f.audience.subscribers(creator_uuid=C),
        "GET",
        f"/creators/{C}/subscribers",
        {},
        page(FAN_USER),
        lambda r: r.data[0].nickname == "owl",
    ),
    case(
        "audience.followers",
        "self",
        lambda f: f.audience.followers(page=4, size=5),
        "GET",
        "/followers",
        {"page": "4", "size": "5"},
        page(FAN_USER, number=4),
        lambda r: r.data[0].handle == "nightowl",
    ),
    case(
        "audience.followers",
        "creator",
        lambda f: f.audience.followers(creator_uuid=C, size=5),
        "GET",
        f"/creators/{C}/followers",
        {"size": "5"},
        page(FAN_USER),
        lambda r: r.data[0].avatar_url.endswith("owl.jpg"),
    ),
    case(
        "audience.smart_lists",
        "self",
        lambda f: f.audience.smart_lists(),
        "GET",
        "/chats/lists/smart",
        {},
        SMART_LISTS,
        lambda r: {s.uuid: s.count for s in r} == {"subscribers": 310, "muted": 2, "big_spenders_q3": 17},
    ),
    case(
        "audience.smart_lists",
        "creator",
        lambda f: f.audience.smart_lists(creator_uuid=C),
        "GET",
        f"/creators/{C}/chats/lists/smart",
        {},
        SMART_LISTS,
        lambda r: r[0].name == "Subscribers",
    ),
    # -- chats
    case(
        "chats.list",
        "self",
        lambda f: f.chats.list(page=1, size=15),
        "GET",
        "/chats",
        {"page": "1", "size": "15"},
        page(CHAT_ROW),
        lambda r: (
            r.data[0].last_message.type == "NEW_TYPE"
            and r.data[0].created_at == datetime(2026, 1, 1, tzinfo=UTC)
            and r.data[0].creator_uuid is None
        ),
    ),
    case(
        "chats.list",
        "creator",
        lambda f: f.chats.list(creator_uuid=C, page=2),
        "GET",
        f"/creators/{C}/chats",
        {"page": "2"},
        page({**CHAT_ROW, "lastMessage": None}, number=2),
        lambda r: r.data[0].last_message is None and r.data[0].unread_messages_count == 3,
    ),
    case(
        "chats.list",
        "filtered",
        lambda f: f.chats.list(
            sort_by="most_unanswered_chats",
            filters=["unread"],
            search="owl",
            custom_list_id=LINK,
            smart_list_ids=["muted"],
            size=5,
        ),
        "GET",
        "/chats",
        {
            "sortBy": "most_unanswered_chats",
            "filter": "unread",
            "search": "owl",
            "customListId": LINK,
            "smartListIds": "muted",
            "size": "5",
        },
        page(CHAT_ROW),
        lambda r: r.data[0].unread_messages_count == 3,
    ),
    case(
        "chats.unread",
        "self",
        lambda f: f.chats.unread(),
        "GET",
        "/chats/unread",
        {},
        UNREAD,
        lambda r: r.unread_notifications.new_tip == 3 and r.unread_chats_count == 4,
    ),
    case(
        "chats.messages",
        "self",
        lambda f: f.chats.messages(FAN, page=1, size=50, mark_as_read=True),
        "GET",
        f"/chats/{FAN}/messages",
        {"page": "1", "size": "50", "markAsRead": "true"},
        page(MESSAGE_ROW),
        lambda r: (
            r.data[0].type == "NEW_TYPE"
            and r.data[0].pricing.usd.price == Money(cents=500)
            and r.data[0].sent_by_user_id == "tm-1"
        ),
    ),
    case(
        "chats.messages",
        "default",
        lambda f: f.chats.messages(FAN),
        "GET",
        f"/chats/{FAN}/messages",
        {"markAsRead": "false"},  # Fanvue's default is true: reading must not mark unless asked
        page(MESSAGE_ROW),
        lambda r: r.data[0].sent_by_user_id == "tm-1",
    ),
    case(
        "chats.messages",
        "creator",
        lambda f: f.chats.messages(FAN, creator_uuid=C, mark_as_read=False),
        "GET",
        f"/creators/{C}/chats/{FAN}/messages",
        {"markAsRead": "false"},
        page({**MESSAGE_ROW, "pricing": None, "recipient": {}}),
        lambda r: r.data[0].pricing is None and r.data[0].recipient.uuid is None,
    ),
    # -- tracking links
    case(
        "tracking_links.list",
        "self",
        lambda f: f.tracking_links.list(
            cursor="abc", limit=20, created_after=START, created_before="2026-06-01T00:00:00Z"
        ),
        "GET",
        "/tracking-links",
        {"cursor": "abc", "limit": "20", "createdAfter": START_Q, "createdBefore": "2026-06-01T00:00:00Z"},
        cursor_page(TRACKING_LINK, FRESH_LINK, next_cursor="def"),
        lambda r: (
            r.data[0].external_social_platform == "threads"
            and r.data[0].earnings.total_net.cents == 120000
            and r.data[1].earnings is None
            and r.next_cursor == "def"
        ),
    ),
    case(
        "tracking_links.list",
        "creator",
        lambda f: f.tracking_links.list(creator_uuid=C, limit=5),
        "GET",
        f"/creators/{C}/tracking-links",
        {"limit": "5"},
        cursor_page(TRACKING_LINK),
        lambda r: r.data[0].engagement.acquired_subscribers == 40,
    ),
    case(
        "tracking_links.users",
        "self",
        lambda f: f.tracking_links.users(LINK, cursor="abc", limit=10),
        "GET",
        f"/tracking-links/{LINK}/users",
        {"cursor": "abc", "limit": "10"},
        cursor_page(LINK_USER, {**LINK_USER, "uuid": "f-2", "status": "lurking"}),
        lambda r: [u.status for u in r.data] == ["expired", "lurking"],
    ),
    case(
        "tracking_links.users",
        "creator",
        lambda f: f.tracking_links.users(LINK, creator_uuid=C),
        "GET",
        f"/creators/{C}/tracking-links/{LINK}/users",
        {},
        cursor_page({**LINK_USER, "status": None}),
        lambda r: r.data[0].status is None,
    ),
    case(
        "tracking_links.create",
        "self",
        lambda f: f.tracking_links.create(name="Insta bio", platform="instagram"),
        "POST",
        "/tracking-links",
        {},
        FRESH_LINK,
        lambda r: r.uuid == LINK and r.earnings is None,
        body={"name": "Insta bio", "externalSocialPlatform": "instagram"},
        status=201,
    ),
    case(
        "tracking_links.create",
        "creator",
        lambda f: f.tracking_links.create(name="TikTok", platform="tiktok", creator_uuid=C),
        "POST",
        f"/creators/{C}/tracking-links",
        {},
        FRESH_LINK,
        lambda r: r.link_url == "fv-123456",
        body={"name": "TikTok", "externalSocialPlatform": "tiktok"},
        status=201,
    ),
    case(
        "tracking_links.delete",
        "self",
        lambda f: f.tracking_links.delete(LINK),
        "DELETE",
        f"/tracking-links/{LINK}",
        {},
        None,
        lambda r: r is None,
        status=204,
    ),
    case(
        "tracking_links.delete",
        "creator",
        lambda f: f.tracking_links.delete(LINK, creator_uuid=C),
        "DELETE",
        f"/creators/{C}/tracking-links/{LINK}",
        {},
        None,
        lambda r: r is None,
        status=204,
    ),
    # -- posts
    case(
        "posts.list",
        "self",
        lambda f: f.posts.list(page=1, size=10, include_unpublished=True),
        "GET",
        "/posts",
        {"page": "1", "size": "10", "includeUnpublished": "true"},
        page(POST_ROW),
        lambda r: r.data[0].price == Money(cents=999) and r.data[0].tips.total_net.cents == 1600,
    ),
    case(
        "posts.list",
        "creator",
        lambda f: f.posts.list(creator_uuid=C, include_unpublished=False),
        "GET",
        f"/creators/{C}/posts",
        {"includeUnpublished": "false"},
        page({**POST_ROW, "price": None, "audience": "vip-only"}),
        lambda r: r.data[0].price is None and r.data[0].audience == "vip-only",
    ),
    case(
        "posts.get",
        "one",
        lambda f: f.posts.get(POST),
        "GET",
        f"/posts/{POST}",
        {},
        POST_ROW,
        lambda r: r.is_pinned and r.collections[0].label == "Spring",
    ),
]


@FLAVOURS
@pytest.mark.parametrize("row", CASES)
async def test_endpoint(row: Case, flavour: str):
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        kwargs: dict[str, Any] = {} if row.response is None else {"json": row.response}
        route = router.route(method=row.method, url=f"{API}{row.path}").respond(row.status, **kwargs)
        async with open_client(flavour) as fanvue:
            result = await settle(flavour, row.call(fanvue))
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == row.method
    assert request.url.host == "api.fanvue.com"
    assert request.url.path == row.path
    assert sorted(request.url.params.multi_items()) == sorted(row.params.items()), "exact query: no extras, no repeats"
    assert_standard_headers(request)
    if row.body is None:
        assert request.content == b""
    else:
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.content) == row.body
    assert row.check(result), f"parsed result did not match for {row.id}: {result!r}"


# ----------------------------------------------------------------------------------------------- coverage of the table


def public_methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if not name.startswith("_") and callable(value)}


RESOURCES = ["users", "creators", "agencies", "insights", "audience", "chats", "tracking_links", "posts"]


async def test_the_table_covers_every_public_method_of_both_flavours():
    covered = {p.values[0].covers for p in CASES} | {p.values[0].covers for p in ITERATORS}
    with FanvueClient(access_token=TOKEN, rate_limited=False) as sync_client:
        async with AsyncFanvueClient(access_token=TOKEN, rate_limited=False) as async_client:
            for name in RESOURCES:
                sync_resource, async_resource = getattr(sync_client, name), getattr(async_client, name)
                assert isinstance(sync_resource, SyncResource)
                assert isinstance(async_resource, AsyncResource)
                sync_methods = public_methods(type(sync_resource))
                assert sync_methods == public_methods(type(async_resource)), name
                for method in sync_methods:
                    assert f"{name}.{method}" in covered, f"{name}.{method} has no row in the table"
                    is_iter = method.startswith("iter_")
                    assert inspect.iscoroutinefunction(getattr(async_resource, method)) is not is_iter, method
                    assert not inspect.iscoroutinefunction(getattr(sync_resource, method)), method


# ----------------------------------------------------------------------------------------------- iterators


@dataclass(frozen=True)
class Iter:
    """An ``iter_*`` helper: its path, paging style, the parameters repeated on every page, and an item factory."""

    covers: str
    make: Callable[[Any], Any]
    path: str
    style: str  # "page" or "cursor"
    fixed: dict[str, str]
    item: Callable[[int], dict[str, Any]]
    raw_key: str  # the camelCase field that identifies an item in the payload
    key: Callable[[Any], Any]  # the same field read from the parsed model


def it(covers: str, suffix: str, *args: Any) -> Any:
    return pytest.param(Iter(covers, *args), id=f"{covers}-{suffix}")


def _earning(i: int) -> dict[str, Any]:
    return {**EARNING, "transactionOrderId": f"FV-ORDER-{i}", "source": "mysteryBox" if i % 2 else "tip"}


def _fan(i: int) -> dict[str, Any]:
    return {**FAN_USER, "uuid": f"fan-{i}", "handle": f"fan{i}"}


ITERATORS = [
    it(
        "creators.iter_list",
        "size2",
        lambda f: f.creators.iter_list(size=2),
        "/creators",
        "page",
        {"size": "2"},
        lambda i: {**CREATOR_ROW, "uuid": f"c-{i}"},
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "insights.iter_earnings",
        "creator",
        lambda f: f.insights.iter_earnings(
            creator_uuid=C, start_date=START, end_date=END, sources=["tip", "mysteryBox"], size=2
        ),
        f"/creators/{C}/insights/earnings",
        "cursor",
        {**RANGE_Q, "source": "tip,mysteryBox", "size": "2"},
        _earning,
        "transactionOrderId",
        lambda r: r.transaction_order_id,
    ),
    it(
        "insights.iter_earnings",
        "self-defaults",
        lambda f: f.insights.iter_earnings(),
        "/insights/earnings",
        "cursor",
        {"size": "50"},
        _earning,
        "transactionOrderId",
        lambda r: r.transaction_order_id,
    ),
    it(
        "insights.iter_spending",
        "refunds",
        lambda f: f.insights.iter_spending(start_date=START, end_date=END, source="refund", size=2),
        "/insights/spending",
        "cursor",
        {**RANGE_Q, "source": "refund", "size": "2"},
        lambda i: {**SPENDING, "source": "refund", "gross": -100 * (i + 1)},
        "gross",
        lambda r: r.gross.cents,
    ),
    it(
        "insights.iter_subscribers",
        "creator",
        lambda f: f.insights.iter_subscribers(creator_uuid=C, start_date=START, end_date=END, size=2),
        f"/creators/{C}/insights/subscribers",
        "cursor",
        {**RANGE_Q, "size": "2"},
        lambda i: {**SUB_TREND, "total": i},
        "total",
        lambda r: r.total,
    ),
    it(
        "insights.iter_subscribers",
        "self",
        lambda f: f.insights.iter_subscribers(start_date=START),
        "/insights/subscribers",
        "cursor",
        {"startDate": START_Q, "size": "50"},
        lambda i: {**SUB_TREND, "total": i},
        "total",
        lambda r: r.total,
    ),
    it(
        "audience.iter_subscribers",
        "creator",
        lambda f: f.audience.iter_subscribers(creator_uuid=C, size=2),
        f"/creators/{C}/subscribers",
        "page",
        {"size": "2"},
        _fan,
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "audience.iter_subscribers",
        "self",
        lambda f: f.audience.iter_subscribers(),
        "/subscribers",
        "page",
        {"size": "50"},
        _fan,
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "audience.iter_followers",
        "self",
        lambda f: f.audience.iter_followers(size=2),
        "/followers",
        "page",
        {"size": "2"},
        _fan,
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "audience.iter_followers",
        "creator",
        lambda f: f.audience.iter_followers(creator_uuid=C, size=2),
        f"/creators/{C}/followers",
        "page",
        {"size": "2"},
        _fan,
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "tracking_links.iter_list",
        "creator",
        lambda f: f.tracking_links.iter_list(creator_uuid=C, limit=2),
        f"/creators/{C}/tracking-links",
        "cursor-limit",
        {"limit": "2"},
        lambda i: {**TRACKING_LINK, "uuid": f"l-{i}"},
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "tracking_links.iter_list",
        "self",
        lambda f: f.tracking_links.iter_list(),
        "/tracking-links",
        "cursor-limit",
        {"limit": "50"},
        lambda i: {**TRACKING_LINK, "uuid": f"l-{i}"},
        "uuid",
        lambda r: r.uuid,
    ),
    it(
        "posts.iter_list",
        "creator",
        lambda f: f.posts.iter_list(creator_uuid=C, size=2),
        f"/creators/{C}/posts",
        "page",
        {"size": "2"},
        lambda i: {**POST_ROW, "uuid": f"p-{i}"},
        "uuid",
        lambda r: r.uuid,
    ),
]

CURSORS = [None, "Y3Vyc29yLTI=", "Y3Vyc29yLTM="]
PAGE_SIZES = [2, 2, 1]  # three pages, five items


@FLAVOURS
@pytest.mark.parametrize("row", ITERATORS)
async def test_iterator_over_three_pages(row: Iter, flavour: str):
    items = [row.item(i) for i in range(sum(PAGE_SIZES))]
    chunks = [items[0:2], items[2:4], items[4:5]]
    seen: list[list[tuple[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert_standard_headers(request)
        seen.append(sorted(request.url.params.multi_items()))
        if row.style == "page":
            number = int(request.url.params["page"])
            body = page(*chunks[number - 1], number=number, has_more=number < 3)
        else:
            cursor = request.url.params.get("cursor")
            index = CURSORS.index(cursor)
            nxt = CURSORS[index + 1] if index + 1 < len(CURSORS) else None
            body = cursor_page(*chunks[index], next_cursor=nxt)
        return httpx.Response(200, json=body)

    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{API}{row.path}").mock(side_effect=answer)
        async with open_client(flavour) as fanvue:
            iterator = row.make(fanvue)
            result = await drain(flavour, iterator)
    assert route.call_count == 3
    assert all(call.request.url.path == row.path for call in route.calls)
    assert [row.key(r) for r in result] == [raw[row.raw_key] for raw in items]
    if row.style == "page":
        expected = [sorted({**row.fixed, "page": str(n)}.items()) for n in (1, 2, 3)]
        assert iterator.next_page is None
    else:
        expected = [sorted({**row.fixed, **({"cursor": c} if c else {})}.items()) for c in CURSORS]
        assert iterator.done
        assert iterator.cursor is None
    assert seen == expected


# ----------------------------------------------------------------------------------------------- client-side checks


REFUSED = [
    pytest.param(lambda f: f.insights.fans([]), "at least one", id="fans-empty"),
    pytest.param(lambda f: f.insights.fans([f"f-{i}" for i in range(21)]), "at most 20 fan uuids", id="fans-21"),
    pytest.param(
        lambda f: f.agencies.earnings(start_date=START, end_date=END, creator_uuids=[f"c-{i}" for i in range(51)]),
        "at most 50",
        id="agency-earnings-51",
    ),
    pytest.param(
        lambda f: f.agencies.subscribers_history(
            start_date=START, end_date=END, creator_uuids=[f"c-{i}" for i in range(51)]
        ),
        "at most 50",
        id="agency-history-51",
    ),
    pytest.param(
        lambda f: f.agencies.subscribers(creator_uuids=[f"c-{i}" for i in range(51)]), "at most 50", id="agency-subs-51"
    ),
    pytest.param(lambda f: f.tracking_links.create(name="", platform="instagram"), "name", id="link-no-name"),
    pytest.param(
        lambda f: f.tracking_links.create(name="", platform="instagram", creator_uuid=C), "name", id="link-no-name-c"
    ),
    pytest.param(lambda f: f.insights.fan(""), "empty", id="fan-empty-uuid"),
    pytest.param(lambda f: f.chats.messages(""), "empty", id="messages-empty-uuid"),
    pytest.param(lambda f: f.chats.list(search="x" * 101), "search", id="chats-search-101"),
    pytest.param(lambda f: f.users.account(creator_uuid=""), "empty", id="account-empty-creator"),
]


@FLAVOURS
@pytest.mark.parametrize(("call", "match"), REFUSED)
async def test_refused_before_any_request(call: Callable[[Any], Any], match: str, flavour: str):
    with respx.mock(assert_all_called=False) as router:
        catch_all = router.route().respond(200, json={})
        async with open_client(flavour) as fanvue:
            with pytest.raises(ValueError, match=match):
                await settle(flavour, call(fanvue))  # sync raises on the call, async on the await
        assert catch_all.call_count == 0
        assert router.calls.call_count == 0


@FLAVOURS
async def test_chat_filters_and_smart_lists_are_repeated_parameters(flavour: str):
    """Fanvue's spec declares both as exploded arrays: ``filter=a&filter=b``, not ``filter=a,b``."""
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{API}/creators/{C}/chats").respond(200, json=page())
        async with open_client(flavour) as fanvue:
            call = fanvue.chats.list(
                creator_uuid=C,
                filters=["unread", "not_muted"],
                smart_list_ids=("muted", "subscribers"),
                search="x" * 100,
            )
            await settle(flavour, call)
    params = route.calls.last.request.url.params
    assert params.get_list("filter") == ["unread", "not_muted"]
    assert params.get_list("smartListIds") == ["muted", "subscribers"]
    assert params["search"] == "x" * 100


@FLAVOURS
async def test_fifty_creator_uuids_is_still_allowed(flavour: str):
    uuids = [f"c-{i}" for i in range(50)]
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{API}/agencies/earnings").respond(200, json=page())
        async with open_client(flavour) as fanvue:
            await settle(flavour, fanvue.agencies.earnings(start_date=START, end_date=END, creator_uuids=uuids))
    assert route.calls.last.request.url.params["creatorUuids"] == ",".join(uuids)
