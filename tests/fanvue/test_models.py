"""The response models against payloads written from the API reference (§2): typed fields, money in cents, aware
UTC timestamps, open enums, kept extras, and absent optional blocks that stay None instead of becoming zeros."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from onyx_fanvue import models
from onyx_fanvue._types import Money
from onyx_fanvue.models import (
    Account,
    AccountStatus,
    AgencyEarningDay,
    AgencySubscriber,
    AgencySubscriberDay,
    ChatRow,
    ChatterRow,
    CreatorRow,
    CursorPage,
    CustomList,
    DataList,
    EarningRow,
    EarningSource,
    EarningsPercentile,
    EarningsSummary,
    FanInsight,
    FanInsightErrorCode,
    FanInsightsResult,
    FanStatus,
    FanUser,
    InviteResult,
    ListMember,
    MassMessageRow,
    MessageRow,
    MessageType,
    OnlineSubscribers,
    Page,
    Post,
    PostTipRow,
    ShortUser,
    SmartList,
    SmartListId,
    SocialPlatform,
    SpendingRow,
    SpendingSource,
    SubscriberTrendRow,
    TeamMember,
    TeamRole,
    TopSpenderRow,
    TrackingLink,
    TrackingLinkMetadata,
    TrackingLinkUser,
    UnreadCounts,
    User,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


SHORT_USER: dict[str, Any] = {
    "uuid": "fan-1",
    "handle": "fan_one",
    "displayName": "Fan One",
    "nickname": None,
    "isTopSpender": True,
}
FAN_USER: dict[str, Any] = {
    **SHORT_USER,
    "avatarUrl": "https://cdn.fanvue.com/a.jpg",
    "registeredAt": "2025-03-04T05:06:07Z",
}
PROFILE: dict[str, Any] = {
    "uuid": "creator-1",
    "email": "luna@example.com",
    "handle": "luna",
    "bio": "hello",
    "displayName": "Luna",
    "isCreator": True,
    "createdAt": "2024-01-02T03:04:05.123Z",
    "updatedAt": None,
    "avatarUrl": None,
    "bannerUrl": "https://cdn.fanvue.com/b.jpg",
}
EARNING: dict[str, Any] = {
    "date": "2026-05-01T10:00:00Z",
    "gross": 1500,
    "net": 1200,
    "currency": "EUR",
    "source": "message",
    "transactionOrderId": "FV-ORDER-123",
    "transactionOrderStatus": "availableForPayout",
    "messageUuid": "msg-1",
    "user": SHORT_USER,
}
GN = {"gross": 1000, "net": 800}
FAN_MONEY = {"gross": 5000, "total": 4500}
TRACKING_LINK: dict[str, Any] = {
    "uuid": "link-1",
    "name": "Insta bio",
    "linkUrl": "fv-123456",
    "externalSocialPlatform": "instagram",
    "createdAt": "2026-01-10T12:00:00Z",
    "clicks": 42,
    "engagement": {"acquiredSubscribers": 3, "acquiredFollowers": 7, "totalSubscribers": 2, "totalFollowers": 6},
    "earnings": {"totalGross": 150000, "totalNet": 120000},
}
MESSAGE: dict[str, Any] = {
    "uuid": "msg-1",
    "text": "unlock me",
    "sentAt": "2026-02-03T04:05:06Z",
    "sender": {"uuid": "creator-1", "handle": "luna"},
    "recipient": {"uuid": "fan-1", "handle": "fan_one"},
    "hasMedia": True,
    "mediaType": "image",
    "mediaUuids": ["media-1", "media-2"],
    "type": "SINGLE_RECIPIENT",
    "pricing": {"USD": {"price": 500}},
    "purchasedAt": None,
    "isRead": False,
    "sentByUserId": "chatter-1",
}
POST: dict[str, Any] = {
    "uuid": "post-1",
    "createdAt": "2026-01-01T00:00:00Z",
    "text": "new set",
    "price": 999,
    "mediaPreviewUuid": None,
    "audience": "subscribers",
    "publishAt": None,
    "publishedAt": "2026-01-01T00:00:00Z",
    "expiresAt": None,
    "mediaUuids": ["m-1"],
    "isPinned": True,
    "likesCount": 12,
    "commentsCount": 0,
    "tips": {"count": 2, "totalGross": 2000, "totalNet": 1600},
    "collections": [{"uuid": "col-1", "label": "Beach"}],
}


def is_utc(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


# ------------------------------------------------------------------ shared pieces and envelopes


def test_fan_user_and_short_user():
    fan = FanUser.model_validate(FAN_USER)
    assert fan.uuid == "fan-1"
    assert fan.display_name == "Fan One"
    assert fan.nickname is None
    assert fan.is_top_spender is True
    assert fan.avatar_url == "https://cdn.fanvue.com/a.jpg"
    assert fan.registered_at == utc(2025, 3, 4, 5, 6, 7)
    assert is_utc(fan.registered_at)
    short = ShortUser.model_validate(SHORT_USER)
    assert short.handle == "fan_one"
    assert not hasattr(short, "registered_at")


def test_timestamps_are_aware_utc_from_offsets_naive_and_date_only():
    offset = FanUser.model_validate({**FAN_USER, "registeredAt": "2025-03-04T02:00:00+02:00"})
    assert offset.registered_at == utc(2025, 3, 4, 0, 0)
    assert is_utc(offset.registered_at)
    naive = FanUser.model_validate({**FAN_USER, "registeredAt": "2025-03-04T02:00:00"})
    assert naive.registered_at == utc(2025, 3, 4, 2, 0)
    date_only = FanUser.model_validate({**FAN_USER, "registeredAt": "2025-03-04"})
    assert date_only.registered_at == utc(2025, 3, 4)
    assert is_utc(date_only.registered_at)


def test_unknown_fields_are_kept_in_model_extra():
    fan = FanUser.model_validate({**FAN_USER, "subscriptionTier": "gold", "badges": [1, 2]})
    assert fan.model_extra == {"subscriptionTier": "gold", "badges": [1, 2]}


def test_models_are_frozen():
    fan = FanUser.model_validate(FAN_USER)
    with pytest.raises(PydanticValidationError):
        fan.handle = "other"  # type: ignore[misc]


def test_page_envelope_parses_its_item_type():
    page = Page[FanUser].model_validate(
        {"data": [FAN_USER, {**FAN_USER, "uuid": "fan-2"}], "pagination": {"page": 2, "size": 2, "hasMore": True}}
    )
    assert [f.uuid for f in page.data] == ["fan-1", "fan-2"]
    assert all(isinstance(f, FanUser) for f in page.data)
    assert page.pagination.page == 2
    assert page.pagination.size == 2
    assert page.pagination.has_more is True
    with pytest.raises(PydanticValidationError):
        Page[FanUser].model_validate({"data": [{"uuid": "x"}], "pagination": {"page": 1, "size": 1, "hasMore": False}})
    with pytest.raises(PydanticValidationError):
        Page[FanUser].model_validate({"data": []})


def test_cursor_page_envelope_parses_its_item_type():
    page = CursorPage[EarningRow].model_validate({"data": [EARNING], "nextCursor": "eyJpZCI6MTIzfQ=="})
    assert isinstance(page.data[0], EarningRow)
    assert page.data[0].net == Money(cents=1200)
    assert page.next_cursor == "eyJpZCI6MTIzfQ=="
    last = CursorPage[EarningRow].model_validate({"data": [], "nextCursor": None})
    assert last.data == []
    assert last.next_cursor is None


def test_cursor_page_without_next_cursor_is_malformed_not_the_last_page():
    with pytest.raises(PydanticValidationError):
        CursorPage[EarningRow].model_validate({"data": [EARNING]})


def test_data_list_envelope_via_type_adapter():
    row = {
        "chatterUuid": "ch-1",
        "chatterName": "Sam",
        "avatarUrl": None,
        "messages": 10,
        "ppvsSent": 4,
        "ppvsUnlocked": 1,
        "revenue": 500,
        "goldenRatio": 0.1,
        "unlockRatio": 0.25,
        "activeHours": 2.5,
        "eph": 200,
        "avgResponseMs": None,
    }
    board = TypeAdapter(DataList[ChatterRow]).validate_python({"data": [row]})
    assert board.data[0].chatter_name == "Sam"


# ------------------------------------------------------------------ users, account, creators


def test_user_with_creator_stats():
    user = User.model_validate(
        {
            **PROFILE,
            "likesCount": 321,
            "fanCounts": {"followersCount": 100, "subscribersCount": 25},
            "contentCounts": {
                "imageCount": 10,
                "videoCount": 4,
                "audioCount": 1,
                "postCount": 12,
                "payToViewPostCount": 3,
            },
        }
    )
    assert user.email == "luna@example.com"
    assert user.is_creator is True
    assert user.created_at == utc(2024, 1, 2, 3, 4, 5, 123000)
    assert user.updated_at is None
    assert user.banner_url == "https://cdn.fanvue.com/b.jpg"
    assert user.likes_count == 321
    assert user.fan_counts is not None
    assert user.fan_counts.subscribers_count == 25
    assert user.content_counts is not None
    assert user.content_counts.pay_to_view_post_count == 3


def test_user_without_creator_stats_has_none_not_zero():
    user = User.model_validate({**PROFILE, "isCreator": False})
    assert user.likes_count is None
    assert user.fan_counts is None
    assert user.content_counts is None


def test_user_zero_stats_stay_zero():
    user = User.model_validate({**PROFILE, "likesCount": 0, "fanCounts": {"followersCount": 0, "subscribersCount": 0}})
    assert user.likes_count == 0
    assert user.fan_counts is not None
    assert user.fan_counts.followers_count == 0
    assert user.content_counts is None


def test_account():
    account = Account.model_validate(
        {
            **PROFILE,
            "account": {
                "status": "active",
                "earnings": {"total": 1234500, "availableBalance": 23400, "lastPayoutAt": "2026-04-30"},
                "fans": {"followers": 150, "subscribers": 40},
            },
            "subscriptionPrice": 999,
        }
    )
    assert account.account.status == AccountStatus.ACTIVE
    assert account.account.earnings.total == Money(cents=1234500)
    assert account.account.earnings.available_balance == Money(cents=23400)
    assert account.account.earnings.last_payout_at == utc(2026, 4, 30)
    assert account.account.fans.subscribers == 40
    assert account.model_extra == {"subscriptionPrice": 999}
    never_paid = Account.model_validate(
        {
            **PROFILE,
            "account": {
                "status": "under_review",
                "earnings": {"total": 0, "availableBalance": 0, "lastPayoutAt": None},
                "fans": {"followers": 0, "subscribers": 0},
            },
        }
    )
    assert never_paid.account.status == "under_review"
    assert never_paid.account.earnings.last_payout_at is None
    assert never_paid.account.earnings.total == Money(cents=0)


def test_creator_row():
    creator = CreatorRow.model_validate({**FAN_USER, "role": "owner"})
    assert isinstance(creator, FanUser)
    assert creator.role == "owner"
    assert CreatorRow.model_validate(FAN_USER).role is None


# ------------------------------------------------------------------ agency


def test_team_member_with_unknown_role_kept():
    member = TeamMember.model_validate(
        {
            "uuid": "tm-1",
            "isAdmin": False,
            "nickname": "Sam",
            "email": "sam@agency.example",
            "displayName": "Samuel",
            "creatorAccess": [{"uuid": "creator-1", "role": "CHATTER"}, {"uuid": "creator-2", "role": "VIEWER"}],
        }
    )
    assert member.is_admin is False
    assert member.creator_access[0].role == TeamRole.CHATTER
    assert member.creator_access[1].role == "VIEWER"


def test_agency_earning_day_money_carries_row_currency():
    day = AgencyEarningDay.model_validate(
        {"creatorUuid": "creator-1", "date": "2026-05-01", "gross": 10000, "net": 8000, "currency": "EUR"}
    )
    assert day.date == utc(2026, 5, 1)
    assert day.gross == Money(cents=10000, currency="EUR")
    assert day.net == Money(cents=8000, currency="EUR")
    unknown = AgencyEarningDay.model_validate(
        {"creatorUuid": "creator-1", "date": "2026-05-01", "gross": 0, "net": 0, "currency": None}
    )
    assert unknown.gross == Money(cents=0, currency="USD")
    assert unknown.currency is None
    with pytest.raises(PydanticValidationError):
        AgencyEarningDay.model_validate(
            {"creatorUuid": "c", "date": "2026-05-01", "gross": 99.5, "net": 80, "currency": "EUR"}
        )


def test_agency_subscriber_day_and_subscriber():
    day = AgencySubscriberDay.model_validate(
        {
            "creatorUuid": "creator-1",
            "date": "2026-05-02",
            "newSubscribersCount": 1,
            "cancelledSubscribersCount": 4,
            "total": -3,
        }
    )
    assert day.total == -3
    assert day.date == utc(2026, 5, 2)
    sub = AgencySubscriber.model_validate(
        {**FAN_USER, "creatorUuid": "creator-1", "subscribedAt": "2026-04-01T08:00:00Z", "expiresAt": None}
    )
    assert sub.creator_uuid == "creator-1"
    assert sub.subscribed_at == utc(2026, 4, 1, 8)
    assert sub.expires_at is None


def test_chatter_row():
    row = ChatterRow.model_validate(
        {
            "chatterUuid": "ch-1",
            "chatterName": "Sam",
            "avatarUrl": "https://cdn.fanvue.com/s.jpg",
            "messages": 340,
            "ppvsSent": 40,
            "ppvsUnlocked": 10,
            "revenue": 25000,
            "goldenRatio": 0.0294,
            "unlockRatio": 0.25,
            "activeHours": 7,
            "eph": 3571.43,
            "avgResponseMs": 45000,
        }
    )
    assert row.revenue == Money(cents=25000)
    assert row.eph == pytest.approx(3571.43)
    assert row.active_hours == 7
    assert row.avg_response_ms == 45000


def test_invite_results():
    invite = InviteResult.model_validate({"success": True, "message": "Invite sent", "inviteUuid": "inv-1"})
    assert invite.invite_uuid == "inv-1"
    creator_invite = InviteResult.model_validate({"success": True, "message": "Invite sent"})
    assert creator_invite.invite_uuid is None


# ------------------------------------------------------------------ insights


def test_earning_row():
    row = EarningRow.model_validate(EARNING)
    assert row.date == utc(2026, 5, 1, 10)
    assert row.gross == Money(cents=1500, currency="USD")
    assert row.net == Money(cents=1200)
    assert row.currency == "EUR"  # the fan's currency; amounts are already USD
    assert row.source == EarningSource.MESSAGE
    assert row.transaction_order_id == "FV-ORDER-123"
    assert row.transaction_order_status == "availableForPayout"
    assert row.message_uuid == "msg-1"
    assert row.post_uuid is None
    assert row.user is not None
    assert row.user.display_name == "Fan One"


def test_earning_row_from_older_snapshot_and_without_user():
    row = EarningRow.model_validate(
        {
            "date": "2026-02-01T00:00:00Z",
            "gross": 2000,
            "net": 1600,
            "currency": None,
            "source": "referral",
            "user": None,
        }
    )
    assert row.user is None
    assert row.transaction_order_id is None
    assert row.transaction_order_status is None


def test_earning_row_keeps_unknown_source_and_negative_amounts():
    row = EarningRow.model_validate(
        {**EARNING, "source": "liveStream", "gross": -1500, "net": -1200, "reversedTransactionOrderId": "FV-ORDER-9"}
    )
    assert row.source == "liveStream"
    assert row.net == Money(cents=-1200)
    assert row.reversed_transaction_order_id == "FV-ORDER-9"


@pytest.mark.parametrize("bad", [9.99, "9.99", True, None, "ten"])
def test_non_integral_money_is_a_validation_error(bad: Any):
    with pytest.raises(PydanticValidationError):
        EarningRow.model_validate({**EARNING, "gross": bad})


def test_integral_float_money_is_accepted():
    assert EarningRow.model_validate({**EARNING, "gross": 1500.0}).gross == Money(cents=1500)


def test_spending_row():
    row = SpendingRow.model_validate(
        {
            "date": "2026-05-03T00:00:00Z",
            "gross": 1500,
            "net": 1200,
            "currency": "USD",
            "source": "chargeback",
            "postUuid": "post-1",
            "user": SHORT_USER,
        }
    )
    assert row.source == SpendingSource.CHARGEBACK
    assert row.post_uuid == "post-1"
    assert row.message_uuid is None
    assert SpendingRow.model_validate({**row.model_dump(by_alias=True), "source": "dispute"}).source == "dispute"


def test_earnings_summary():
    summary = EarningsSummary.model_validate(
        {
            "totals": {
                "allTime": {"gross": 5000000, "net": 4000000},
                "thisMonth": {
                    "gross": 100000,
                    "net": 80000,
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
                "referrals": {"gross": 0, "net": 0},
                "renewals": GN,
                "other": GN,
                "streams": GN,
            },
            "earningsByType": {"subs": GN, "messages": GN, "tips": GN, "renewals": GN},
            "overTime": [
                {"periodStart": "2026-05-01T00:00:00+02:00", "gross": 1000, "net": 800},
                {"periodStart": "2026-05-02T00:00:00+02:00", "gross": 0, "net": 0},
            ],
            "averageByDayOfWeek": {str(d): 1234.5 for d in range(1, 8)},
            "averageByHourOfDay": {str(h): 10 for h in range(24)},
            "period": {
                "startDate": "2026-05-01T00:00:00+02:00",
                "endDate": None,
                "granularity": "day",
                "timezone": "Europe/Berlin",
            },
        }
    )
    assert summary.totals.all_time.net == Money(cents=4000000)
    assert summary.totals.this_month.previous_month_gross == Money(cents=0)
    assert summary.totals.this_month.gross_change_percentage is None
    assert summary.breakdown_by_source.referrals is not None
    assert summary.breakdown_by_source.referrals.gross == Money(cents=0)  # present zero stays zero
    assert summary.breakdown_by_source.model_extra == {"streams": GN}
    assert summary.earnings_by_type.tips is not None
    assert summary.earnings_by_type.tips.net == Money(cents=800)
    assert summary.over_time[0].period_start == utc(2026, 4, 30, 22)
    assert is_utc(summary.over_time[0].period_start)
    assert summary.average_by_day_of_week["1"] == 1234.5
    assert len(summary.average_by_hour_of_day) == 24
    assert summary.period.start_date == utc(2026, 4, 30, 22)
    assert summary.period.end_date is None
    assert summary.period.timezone == "Europe/Berlin"


def test_earnings_summary_missing_bucket_is_none():
    summary_payload = {
        "totals": {
            "allTime": GN,
            "thisMonth": {
                **GN,
                "previousMonthGross": 500,
                "previousMonthNet": 400,
                "grossChangePercentage": 100.0,
                "netChangePercentage": 100.0,
            },
        },
        "breakdownBySource": {"subs": GN},
        "earningsByType": {},
        "overTime": [],
        "averageByDayOfWeek": {},
        "averageByHourOfDay": {},
        "period": {"startDate": None, "endDate": None, "granularity": "week", "timezone": "UTC"},
    }
    summary = EarningsSummary.model_validate(summary_payload)
    assert summary.breakdown_by_source.tips is None
    assert summary.earnings_by_type.subs is None
    assert summary.totals.this_month.net_change_percentage == 100.0


def test_subscriber_trend_row():
    row = SubscriberTrendRow.model_validate(
        {"date": "2026-05-01T22:00:00.000Z", "newSubscribersCount": 0, "cancelledSubscribersCount": 2, "total": -2}
    )
    assert row.date == utc(2026, 5, 1, 22)
    assert row.new_subscribers_count == 0
    assert row.total == -2


def test_top_spender_row():
    row = TopSpenderRow.model_validate({"gross": 50000, "net": 40000, "messages": 87, "user": FAN_USER})
    assert row.gross == Money(cents=50000)
    assert row.messages == 87
    assert isinstance(row.user, FanUser)


def test_fan_insight():
    insight = FanInsight.model_validate(
        {
            "status": "subscriber",
            "spending": {
                "lastPurchaseAt": "2026-05-01T10:00:00Z",
                "total": FAN_MONEY,
                "maxSinglePayment": {"gross": 2000, "total": 2000},
                "sources": {"tip": {"gross": 3000, "total": 2500}, "subscription": {"gross": 2000, "total": 2000}},
            },
            "subscription": {
                "createdAt": "2026-01-01T00:00:00Z",
                "renewsAt": "2026-06-01",
                "autoRenewalEnabled": True,
            },
        }
    )
    assert insight.status == FanStatus.SUBSCRIBER
    assert insight.spending.total.gross == Money(cents=5000)
    assert insight.spending.total.total == Money(cents=4500)
    assert insight.spending.sources["tip"].total == Money(cents=2500)
    assert insight.spending.last_purchase_at == utc(2026, 5, 1, 10)
    assert insight.subscription.renews_at == utc(2026, 6, 1)
    assert insight.subscription.auto_renewal_enabled is True


def test_fan_insight_older_snapshot_and_unknown_status():
    insight = FanInsight.model_validate(
        {
            "status": "blocked",
            "spending": {
                "lastPurchaseAt": None,
                "total": {"gross": 0},
                "maxSinglePayment": {"gross": 0},
                "sources": {},
            },
            "subscription": {"createdAt": None, "renewsAt": None, "autoRenewalEnabled": False},
        }
    )
    assert insight.status == "blocked"
    assert insight.spending.total.gross == Money(cents=0)
    assert insight.spending.total.total is None
    assert insight.spending.sources == {}


def test_fan_insights_result():
    fan = {
        "status": "follower",
        "spending": {"lastPurchaseAt": None, "total": FAN_MONEY, "maxSinglePayment": FAN_MONEY, "sources": {}},
        "subscription": {"createdAt": None, "renewsAt": None, "autoRenewalEnabled": False},
    }
    result = FanInsightsResult.model_validate(
        {
            "results": {"fan-1": fan, "fan-2": None},
            "errors": [{"fanUuid": "fan-2", "code": "NOT_FOUND", "message": "Fan not found"}],
        }
    )
    assert isinstance(result.results["fan-1"], FanInsight)
    assert result.results["fan-2"] is None
    assert result.errors[0].fan_uuid == "fan-2"
    assert result.errors[0].code == FanInsightErrorCode.NOT_FOUND


def test_earnings_percentile():
    assert EarningsPercentile.model_validate({"percentile": 0.01}).percentile == 0.01
    assert EarningsPercentile.model_validate({"percentile": None}).percentile is None


# ------------------------------------------------------------------ audience


def test_smart_lists_with_unknown_id_kept():
    lists = TypeAdapter(list[SmartList]).validate_python(
        [
            {"uuid": "subscribers", "name": "Subscribers", "count": 40},
            {"uuid": "followers", "name": "Followers", "count": 0},
            {"uuid": "top_fans_2027", "name": "Top fans", "count": 3},
        ]
    )
    assert lists[0].uuid == SmartListId.SUBSCRIBERS
    assert lists[1].count == 0
    assert lists[2].uuid == "top_fans_2027"


def test_custom_list_and_members():
    custom = CustomList.model_validate({"uuid": "cl-1", "name": "VIPs", "membersCount": 5, "createdAt": "2026-03-01"})
    assert custom.members_count == 5
    assert custom.created_at == utc(2026, 3, 1)
    members = Page[ListMember].model_validate(
        {"data": [FAN_USER, {"uuid": "fan-9"}], "pagination": {"page": 1, "size": 2, "hasMore": False}}
    )
    assert members.data[0].registered_at == utc(2025, 3, 4, 5, 6, 7)
    assert members.data[1].uuid == "fan-9"
    assert members.data[1].handle is None


def test_online_subscribers():
    online = OnlineSubscribers.model_validate(
        {
            "count": 2,
            "data": [{"uuid": "fan-1", "lastSeenAt": "2026-05-01T10:00:00Z"}, {"uuid": "fan-2", "lastSeenAt": None}],
        }
    )
    assert online.count == 2
    assert online.data[0].last_seen_at == utc(2026, 5, 1, 10)
    assert online.data[1].last_seen_at is None


# ------------------------------------------------------------------ chats


def test_chat_row_with_last_message_and_date_only_fields():
    chat = ChatRow.model_validate(
        {
            "createdAt": "2026-01-05",
            "lastMessageAt": "2026-05-01T10:00:00Z",
            "isRead": False,
            "isMuted": False,
            "unreadMessagesCount": 3,
            "user": FAN_USER,
            "lastMessage": {
                "uuid": "msg-1",
                "text": None,
                "type": "AUTOMATED_NEW_SUBSCRIBER",
                "sentAt": "2026-05-01",
                "hasMedia": None,
                "mediaType": None,
                "senderUuid": "creator-1",
                "sentByUserId": None,
            },
        }
    )
    assert chat.created_at == utc(2026, 1, 5)
    assert chat.unread_messages_count == 3
    assert chat.last_message is not None
    assert chat.last_message.type == MessageType.AUTOMATED_NEW_SUBSCRIBER
    assert chat.last_message.sent_at == utc(2026, 5, 1)
    assert chat.creator_uuid is None


def test_agency_chat_row_without_last_message():
    chat = ChatRow.model_validate(
        {
            "createdAt": None,
            "lastMessageAt": None,
            "isRead": True,
            "isMuted": True,
            "unreadMessagesCount": 0,
            "user": FAN_USER,
            "lastMessage": None,
            "creatorUuid": "creator-2",
        }
    )
    assert chat.last_message is None
    assert chat.created_at is None
    assert chat.unread_messages_count == 0
    assert chat.creator_uuid == "creator-2"


def test_message_row_with_pricing():
    message = MessageRow.model_validate(MESSAGE)
    assert message.sender.handle == "luna"
    assert message.recipient.uuid == "fan-1"
    assert message.media_uuids == ["media-1", "media-2"]
    assert message.type == MessageType.SINGLE_RECIPIENT
    assert message.pricing is not None
    assert message.pricing.usd is not None
    assert message.pricing.usd.price == Money(cents=500)
    assert message.sent_at == utc(2026, 2, 3, 4, 5, 6)
    assert message.sent_by_user_id == "chatter-1"


def test_message_row_free_with_unknown_type_and_empty_recipient():
    message = MessageRow.model_validate(
        {
            **MESSAGE,
            "type": "LIVE_STREAM_INVITE",
            "pricing": None,
            "recipient": {},
            "mediaUuids": [],
            "sentAt": "2026-02-03",
        }
    )
    assert message.type == "LIVE_STREAM_INVITE"
    assert message.pricing is None
    assert message.recipient.uuid is None
    assert message.media_uuids == []
    assert message.sent_at == utc(2026, 2, 3)


def test_message_price_in_dollars_is_refused():
    # the spec's own example shows 9.99; a fraction of a cent is not silently rounded
    with pytest.raises(PydanticValidationError):
        MessageRow.model_validate({**MESSAGE, "pricing": {"USD": {"price": 9.99}}})


def test_unread_counts():
    counts = UnreadCounts.model_validate(
        {
            "unreadChatsCount": 2,
            "unreadMessagesCount": 5,
            "unreadNotifications": {
                "newFollower": 1,
                "newPostComment": 0,
                "newPostLike": 4,
                "newPurchase": 0,
                "newSubscriber": 2,
                "newTip": 0,
                "newPromotion": 0,
                "newLiveStream": 1,
            },
        }
    )
    assert counts.unread_chats_count == 2
    assert counts.unread_notifications.new_post_like == 4
    assert counts.unread_notifications.new_tip == 0
    assert counts.unread_notifications.model_extra == {"newLiveStream": 1}
    bare = UnreadCounts.model_validate({"unreadChatsCount": 0, "unreadMessagesCount": 0, "unreadNotifications": {}})
    assert bare.unread_notifications.new_follower is None


def test_mass_message_row():
    row = MassMessageRow.model_validate(
        {
            "uuid": "mm-1",
            "text": "Weekend special",
            "status": "SCHEDULED",
            "price": 1500,
            "createdAt": "2026-04-01T09:00:00Z",
            "publishedAt": None,
            "scheduledAt": "2026-04-05T18:00:00+01:00",
            "recipientCount": 120,
            "viewCount": 0,
            "purchaseCount": 0,
            "totalRevenue": 0,
            "mediaUuids": ["m-1"],
        }
    )
    assert row.price == Money(cents=1500)
    assert row.total_revenue == Money(cents=0)
    assert row.scheduled_at == utc(2026, 4, 5, 17)
    assert row.published_at is None
    free = MassMessageRow.model_validate({**row.model_dump(by_alias=True), "price": None, "status": "ARCHIVED"})
    assert free.price is None
    assert free.status == "ARCHIVED"


# ------------------------------------------------------------------ tracking links


def test_tracking_link():
    link = TrackingLink.model_validate(TRACKING_LINK)
    assert link.link_url == "fv-123456"
    assert link.external_social_platform == SocialPlatform.INSTAGRAM
    assert link.created_at == utc(2026, 1, 10, 12)
    assert link.clicks == 42
    assert link.engagement is not None
    assert link.engagement.acquired_followers == 7
    assert link.earnings is not None
    assert link.earnings.total_gross == Money(cents=150000)
    assert link.earnings.total_net == Money(cents=120000)


def test_fresh_and_old_tracking_links_have_none_not_zero():
    fresh = TrackingLink.model_validate({**TRACKING_LINK, "earnings": None, "externalSocialPlatform": "threads"})
    assert fresh.earnings is None
    assert fresh.external_social_platform == "threads"
    old = {k: v for k, v in TRACKING_LINK.items() if k not in {"engagement", "earnings"}}
    parsed = TrackingLink.model_validate(old)
    assert parsed.engagement is None
    assert parsed.earnings is None
    zero = TrackingLink.model_validate({**TRACKING_LINK, "clicks": 0, "earnings": {"totalGross": 0, "totalNet": 0}})
    assert zero.earnings is not None
    assert zero.earnings.total_gross == Money(cents=0)
    assert zero.clicks == 0


def test_tracking_link_users_and_metadata():
    page = CursorPage[TrackingLinkUser].model_validate(
        {"data": [{**FAN_USER, "status": "subscriber"}, {**FAN_USER, "status": None}], "nextCursor": None}
    )
    assert page.data[0].status == "subscriber"
    assert page.data[1].status is None
    meta = TrackingLinkMetadata.model_validate({"metadata": {"utm_source": "ig", "utm_campaign": "bio"}})
    assert meta.metadata == {"utm_source": "ig", "utm_campaign": "bio"}
    assert TrackingLinkMetadata.model_validate({"metadata": None}).metadata is None


# ------------------------------------------------------------------ posts


def test_post():
    post = Post.model_validate(POST)
    assert post.price == Money(cents=999)
    assert post.audience == "subscribers"
    assert post.is_pinned is True
    assert post.comments_count == 0
    assert post.tips.total_net == Money(cents=1600)
    assert post.collections[0].label == "Beach"
    assert post.published_at == utc(2026, 1, 1)
    free = Post.model_validate({**POST, "price": None, "audience": "everyone", "collections": []})
    assert free.price is None
    assert free.audience == "everyone"
    with pytest.raises(PydanticValidationError):
        Post.model_validate({**POST, "price": 9.99})


def test_post_tip_row():
    tip = PostTipRow.model_validate({"user": SHORT_USER, "createdAt": "2026-01-02", "gross": 500, "net": 400})
    assert tip.user is not None
    assert tip.created_at == utc(2026, 1, 2)
    assert tip.net == Money(cents=400)
    anonymous = PostTipRow.model_validate({"user": None, "createdAt": None, "gross": 500, "net": 400})
    assert anonymous.user is None


# ------------------------------------------------------------------ round trip, constants, exports


def test_dump_by_alias_round_trips_with_cents_as_ints():
    row = EarningRow.model_validate(EARNING)
    dumped = row.model_dump(mode="json", by_alias=True)
    assert dumped["gross"] == 1500
    assert dumped["transactionOrderId"] == "FV-ORDER-123"
    assert EarningRow.model_validate(dumped) == row


def test_constants_match_the_documented_wire_values():
    assert EarningSource.APP_STORE == "appStore"
    assert EarningSource.CHECKOUT_LINK == "checkoutLink"
    assert EarningSource.ALL == "all"
    assert SpendingSource.REFUND == "refund"
    assert MessageType.LOCKED_MESSAGE_UNLOCKED == "LOCKED_MESSAGE_UNLOCKED"
    assert SmartListId.SPENT_MORE_THAN_50 == "spent_more_than_50"
    assert SocialPlatform.TIKTOK == "tiktok"
    assert AccountStatus.SUSPENDED == "suspended"
    assert FanStatus.NOT_CONTACTABLE == "not_contactable"
    assert TeamRole.ADMIN == "ADMIN"


def test_every_export_exists_and_public_classes_have_docstrings():
    for name in models.__all__:
        obj = getattr(models, name)
        if inspect.isclass(obj):
            assert obj.__doc__, name
            if issubclass(obj, BaseModel) and obj is not Money:
                assert issubclass(obj, models.FanvueModel), name


# ------------------------------------------------------------------ property: extra keys never break parsing

KNOWN_KEYS = {
    name
    for model in (FanUser, EarningRow)
    for field_name, field in model.model_fields.items()
    for name in (field_name, field.alias)
    if name
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
EXTRA_KEYS = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_KEYS), JSON_VALUES, max_size=6
)


@given(extra=EXTRA_KEYS)
def test_extra_keys_never_break_fan_user(extra: dict[str, Any]):
    fan = FanUser.model_validate({**FAN_USER, **extra})
    assert fan.uuid == "fan-1"
    assert fan.registered_at == utc(2025, 3, 4, 5, 6, 7)
    assert fan.model_extra == extra


@given(extra=EXTRA_KEYS)
def test_extra_keys_never_break_earning_row(extra: dict[str, Any]):
    row = EarningRow.model_validate({**EARNING, **extra})
    assert row.net == Money(cents=1200)
    assert row.source == "message"
    assert row.model_extra == extra
