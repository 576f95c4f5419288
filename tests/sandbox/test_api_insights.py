"""``/insights/*`` (+ the creator mirrors) through the SDK: complete shapes, cursor walks equal to the world's
streams, key-set cursors that survive rows added under old dates, filters and their 400s, the summary recomputed
independently in a zone with a DST change, spending, the subscriber trend, top spenders, fan insights, the
percentile, access rules and determinism."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import (
    AsyncFanvueClient,
    CreatorNotAssignedError,
    FanvueClient,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from onyx_fanvue.models.insights import EarningRow, SpendingRow, SubscriberTrendRow, TopSpenderRow
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.endpoints.audience import current_followers, current_subscribers
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import EARNING_SOURCES

ROW_OPTIONAL = ("messageUuid", "postUuid", "reversedTransactionOrderId")
DAWN = datetime(1970, 1, 1, tzinfo=UTC)
UNTIL = NOW + timedelta(microseconds=1)
NEW_YORK = ZoneInfo("America/New_York")  # DST ends on 2026-11-01, the test clock's day


def _creator(sandbox: FanvueSandbox, i: int = 0) -> str:
    return sandbox.world.creators[i].uuid


def _world_rows(sandbox: FanvueSandbox, creator: str, start: datetime = DAWN, end: datetime = UNTIL) -> list[Any]:
    return list(sandbox.world.iter_earnings(creator, start, end))


def _as_sdk(rows: list[Any]) -> list[EarningRow]:
    return [EarningRow.model_validate(r.to_json(NOW)) for r in rows]  # payout status as of the sandbox's now


def _own(sandbox: FanvueSandbox, who: str) -> FanvueClient:
    return sandbox.client(who, retry=NO_RETRY, rate_limited=False)


def _errors(caught: pytest.ExceptionInfo[Any]) -> list[str]:
    assert caught.value.status_code == 400
    assert caught.value.body.keys() == {"errors"}
    return list(caught.value.body["errors"])


# ------------------------------------------------------------------------------------------ earnings


def test_earnings_walk_equals_the_world_via_agency_and_own_token(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    expected = _as_sdk(_world_rows(sandbox, creator))
    assert len(expected) > 100
    first = client.insights.earnings(creator_uuid=creator, size=7)
    assert_complete(first, optional=ROW_OPTIONAL)
    assert first.data == expected[:7]
    assert first.next_cursor is not None
    assert {r.source for r in first.data} <= set(EARNING_SOURCES)
    assert any(r.message_uuid for r in expected)
    assert any(r.post_uuid for r in expected)
    assert all(r.user is None for r in expected if r.source in ("referral", "affiliate", "giveaway"))
    walked = list(client.insights.iter_earnings(creator_uuid=creator, size=13))
    assert walked == expected
    with _own(sandbox, creator) as own:
        assert list(own.insights.iter_earnings(size=50)) == expected
    dates = [r.date for r in walked]
    assert dates == sorted(dates)


@pytest.mark.asyncio
async def test_earnings_async_walk(sandbox: FanvueSandbox, async_client: AsyncFanvueClient) -> None:
    creator = _creator(sandbox, 1)
    walked = [r async for r in async_client.insights.iter_earnings(creator_uuid=creator, size=50)]
    assert walked == _as_sdk(_world_rows(sandbox, creator))


def test_earnings_added_under_an_old_date_while_paging(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    before = _world_rows(sandbox, creator)
    page1 = client.insights.earnings(creator_uuid=creator, size=20)
    page2 = client.insights.earnings(creator_uuid=creator, size=20, cursor=page1.next_cursor)
    # one payment lands among the rows already read, one among the rows still to come
    behind = sandbox.add_earning(creator, gross=1234, at=page1.data[5].date + timedelta(milliseconds=1))
    ahead = sandbox.add_earning(creator, gross=4321, at=before[100].date + timedelta(milliseconds=1))
    rest = list(client.insights.iter_earnings(creator_uuid=creator, size=20, cursor=page2.next_cursor))
    ids = [r.transaction_order_id for r in (*page1.data, *page2.data, *rest)]
    assert len(ids) == len(set(ids))
    assert behind.transaction_order_id not in ids
    expected = [r.transaction_order_id for r in before]
    expected.insert(101, ahead.transaction_order_id)
    assert ids == expected
    assert [r.transaction_order_id for r in client.insights.iter_earnings(creator_uuid=creator)] == [
        r.transaction_order_id for r in _world_rows(sandbox, creator)
    ]


def test_earnings_overlay_after_the_world_end_counts_up_to_now(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    now_row = sandbox.add_earning(creator, gross=999)  # dated exactly now, after the generated history
    later = sandbox.add_earning(creator, gross=555, at=NOW + timedelta(minutes=20))
    walked = [r.transaction_order_id for r in client.insights.iter_earnings(creator_uuid=creator, size=50)]
    assert walked[-1] == now_row.transaction_order_id
    assert later.transaction_order_id not in walked
    sandbox.advance(timedelta(minutes=30))
    walked = [r.transaction_order_id for r in client.insights.iter_earnings(creator_uuid=creator, size=50)]
    assert walked[-2:] == [now_row.transaction_order_id, later.transaction_order_id]


def test_earnings_filters(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 2)
    rows = _world_rows(sandbox, creator)
    start, end = rows[10].date, rows[60].date  # inclusive, exclusive
    ranged = list(client.insights.iter_earnings(creator_uuid=creator, start_date=start, end_date=end, size=9))
    assert ranged == _as_sdk(rows[10:60])
    picked = ["tip", "message"]
    filtered = list(client.insights.iter_earnings(creator_uuid=creator, sources=picked, size=11))
    assert filtered == _as_sdk([r for r in rows if r.source in picked])
    assert list(client.insights.iter_earnings(creator_uuid=creator, sources=["all"], size=50)) == _as_sdk(rows)
    offset = datetime(2026, 10, 1, tzinfo=NEW_YORK)
    local = list(client.insights.iter_earnings(creator_uuid=creator, start_date=offset, size=50))
    assert local == _as_sdk([r for r in rows if r.date >= offset])
    day_start, day_end = date(2026, 10, 20), date(2026, 10, 21)  # bare dates are UTC midnights
    by_day = list(client.insights.iter_earnings(creator_uuid=creator, start_date=day_start, end_date=day_end, size=2))
    assert by_day == _as_sdk([r for r in rows if r.date.date() == day_start]) != []


@pytest.mark.parametrize(
    "params",
    [
        {"source": "tip,bogus"},
        {"size": "0"},
        {"size": "51"},
        {"size": "many"},
        {"startDate": "yesterday"},
        {"startDate": "2026-10-02", "endDate": "2026-10-01"},
        {"startDate": "2026-10-02", "endDate": "2026-10-02"},
        {"cursor": "%%%"},
        {"cursor": "eyJ4IjoxfQ"},  # {"x":1}: decodes but names no row
    ],
)
def test_earnings_400s(sandbox: FanvueSandbox, client: FanvueClient, params: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        client.request("GET", f"/creators/{_creator(sandbox)}/insights/earnings", params=params)
    assert _errors(caught)


# ------------------------------------------------------------------------------------------ summary


def _expected_summary(
    sandbox: FanvueSandbox, creator: str, start: datetime, zone: ZoneInfo, granularity: str
) -> dict[str, Any]:
    """The summary recomputed from the world's rows with plain loops (reversals not netted)."""
    everything = _world_rows(sandbox, creator)
    ranged = [r for r in everything if start <= r.date < UNTIL]
    first_day, last_day = start.astimezone(zone).date(), NOW.astimezone(zone).date()
    month = last_day.replace(day=1)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    this = [r for r in everything if r.date.astimezone(zone).date() >= month]
    prev = [r for r in everything if prev_month <= r.date.astimezone(zone).date() < month]
    buckets: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    weekday_gross, hour_gross = [0] * 7, [0] * 24
    for r in ranged:
        local = r.date.astimezone(zone)
        day = local.date()
        key = day - timedelta(days=day.weekday()) if granularity == "week" else day
        buckets[key][0] += r.gross
        buckets[key][1] += r.net
        weekday_gross[local.isoweekday() - 1] += r.gross
        hour_gross[local.hour] += r.gross
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    starts = sorted({d - timedelta(days=d.weekday()) for d in days} if granularity == "week" else days)
    weekday_count = [sum(1 for d in days if d.weekday() == w) for w in range(7)]

    def total(rows: list[Any], *sources: str) -> tuple[int, int]:
        picked = [r for r in rows if not sources or r.source in sources]
        return sum(r.gross for r in picked), sum(r.net for r in picked)

    named = {"subscription", "renewal", "message", "post", "tip", "referral"}
    return {
        "allTime": total(everything),
        "thisMonth": total(this),
        "previousMonth": total(prev),
        "breakdown": {
            "subs": total(ranged, "subscription"),
            "renewals": total(ranged, "renewal"),
            "messages": total(ranged, "message"),
            "posts": total(ranged, "post"),
            "tips": total(ranged, "tip"),
            "referrals": total(ranged, "referral"),
            "other": total(ranged, *(s for s in EARNING_SOURCES if s not in named)),
        },
        "overTime": [(datetime(d.year, d.month, d.day, tzinfo=zone), *buckets.get(d, [0, 0])) for d in starts],
        "weekday": {str(w + 1): round(weekday_gross[w] / weekday_count[w], 2) for w in range(7)},
        "hour": {str(h): round(hour_gross[h] / len(days), 2) for h in range(24)},
    }


def _pair(value: Any) -> tuple[int, int]:
    return value.gross.cents, value.net.cents


def test_summary_equals_independent_sums_in_new_york(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    sandbox.add_earning(creator, gross=2500, source="message", at=NOW - timedelta(hours=1))  # Nov 1 local
    start = datetime(2026, 10, 1, tzinfo=NEW_YORK)
    summary = client.insights.earnings_summary(creator_uuid=creator, start_date=start, timezone="America/New_York")
    assert_complete(summary)
    want = _expected_summary(sandbox, creator, start, NEW_YORK, "day")
    totals = summary.totals
    assert _pair(totals.all_time) == want["allTime"]
    assert _pair(totals.this_month) == want["thisMonth"] != (0, 0)
    month = totals.this_month
    assert (month.previous_month_gross.cents, month.previous_month_net.cents) == want["previousMonth"]
    this_gross, prev_gross = want["thisMonth"][0], want["previousMonth"][0]
    assert month.gross_change_percentage == round((this_gross - prev_gross) * 100 / prev_gross, 2)
    breakdown = summary.breakdown_by_source
    assert {k: _pair(getattr(breakdown, k)) for k in want["breakdown"]} == want["breakdown"]
    by_type = summary.earnings_by_type
    assert _pair(by_type.subs) == want["breakdown"]["subs"]
    assert _pair(by_type.tips) == want["breakdown"]["tips"]
    assert _pair(by_type.messages) == want["breakdown"]["messages"]
    assert _pair(by_type.renewals) == want["breakdown"]["renewals"]
    assert [(p.period_start, p.gross.cents, p.net.cents) for p in summary.over_time] == want["overTime"]
    assert len(summary.over_time) == 32  # Oct 1 .. Nov 1, local days
    assert summary.average_by_day_of_week == want["weekday"]
    assert summary.average_by_hour_of_day == want["hour"]
    assert (summary.period.granularity, summary.period.timezone) == ("day", "America/New_York")
    assert summary.period.start_date == start
    assert summary.period.end_date is None
    raw = client.request(
        "GET",
        f"/creators/{creator}/insights/earnings/summary",
        params={"startDate": start.isoformat(), "timezone": "America/New_York"},
    ).json()
    assert raw["overTime"][0]["periodStart"] == "2026-10-01T00:00:00.000-04:00"
    assert raw["overTime"][-1]["periodStart"] == "2026-11-01T00:00:00.000-04:00"  # midnight is still EDT


def test_summary_by_week_and_with_an_end(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 1)
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 9, 10, tzinfo=berlin)
    summary = client.insights.earnings_summary(
        creator_uuid=creator, start_date=start, granularity="week", timezone="Europe/Berlin"
    )
    assert_complete(summary)
    want = _expected_summary(sandbox, creator, start, berlin, "week")
    assert [(p.period_start, p.gross.cents, p.net.cents) for p in summary.over_time] == want["overTime"]
    assert all(p.period_start.astimezone(berlin).isoweekday() == 1 for p in summary.over_time)
    assert sum(p.gross.cents for p in summary.over_time) == sum(v[0] for v in want["breakdown"].values())
    end = datetime(2026, 9, 20, tzinfo=berlin)
    closed = client.insights.earnings_summary(creator_uuid=creator, start_date=start, end_date=end, timezone="UTC")
    rows = [r for r in _world_rows(sandbox, creator) if start <= r.date < end]
    assert sum(p.gross.cents for p in closed.over_time) == sum(r.gross for r in rows)
    assert closed.period.end_date == end


def test_summary_ignores_reversals(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    before = client.insights.earnings_summary(creator_uuid=creator)
    row = _world_rows(sandbox, creator)[3]
    sandbox.add_refund(creator, row.transaction_order_id, at=row.date + timedelta(days=1))
    assert client.insights.earnings_summary(creator_uuid=creator) == before
    assert before.totals.all_time.gross.cents == sum(r.gross for r in _world_rows(sandbox, creator))


@pytest.mark.parametrize(
    "params", [{"granularity": "month"}, {"timezone": "Mars/Olympus"}, {"timezone": "../etc"}, {"endDate": "bad"}]
)
def test_summary_400s(sandbox: FanvueSandbox, client: FanvueClient, params: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        client.request("GET", "/insights/earnings/summary", params=params)
    assert _errors(caught)


def test_summary_empty_fault_zeroes_it(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    real = client.insights.earnings_summary(creator_uuid=creator, start_date=date(2026, 10, 1))
    sandbox.inject("empty", route="/creators/{creator}/insights/earnings/summary")
    zero = client.insights.earnings_summary(creator_uuid=creator, start_date=date(2026, 10, 1))
    assert_complete(zero)
    assert zero.totals.all_time.gross.cents == 0
    assert zero.totals.this_month.gross_change_percentage is None
    assert [p.period_start for p in zero.over_time] == [p.period_start for p in real.over_time]
    assert all(p.gross.cents == 0 for p in zero.over_time)
    assert zero.period == real.period


# ------------------------------------------------------------------------------------------ spending


def test_spending_walk_and_source_filter(sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    rows = _world_rows(sandbox, creator)
    for i, row in enumerate(rows[:40:4]):
        sandbox.add_refund(
            creator, row.transaction_order_id, at=row.date + timedelta(hours=5), source=("refund", "chargeback")[i % 2]
        )
    twin = rows[50]  # two partial refunds of one order at the same instant: the cursor must tell them apart
    for _ in range(2):
        sandbox.add_refund(creator, twin.transaction_order_id, at=twin.date + timedelta(days=1), gross=1)
    expected = [SpendingRow.model_validate(r.to_json()) for r in sandbox.world.iter_reversals(creator, DAWN, UNTIL)]
    assert len(expected) >= 12
    with _own(sandbox, creator) as own:
        first = own.insights.spending(size=3)
        assert_complete(first, optional=ROW_OPTIONAL)
        for size in (1, 2, 5):
            assert list(own.insights.iter_spending(size=size)) == expected
        assert list(own.insights.iter_spending(source="all")) == expected
        for kind in ("refund", "chargeback"):
            assert list(own.insights.iter_spending(source=kind, size=2)) == [r for r in expected if r.source == kind]
        start = expected[4].date
        assert list(own.insights.iter_spending(start_date=start)) == [r for r in expected if r.date >= start]
        with pytest.raises(ValidationError) as caught:
            own.insights.spending(source="tip")
        assert _errors(caught)


def test_spending_is_own_account_only(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    page = client.insights.spending()
    assert (page.data, page.next_cursor) == ([], None)
    with pytest.raises(NotFoundError):
        client.request("GET", f"/creators/{_creator(sandbox)}/insights/spending")


# ------------------------------------------------------------------------------------------ subscribers


def test_subscriber_trend_walk(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 1)
    trend = sandbox.world.subscriber_trend(creator, end=UNTIL)
    expected = [SubscriberTrendRow.model_validate(r.to_json()) for r in trend]
    assert len(expected) == SPEC.days + 1  # the generated days, then today so far
    first = client.insights.subscribers(creator_uuid=creator, size=4)
    assert_complete(first)
    assert list(client.insights.iter_subscribers(creator_uuid=creator, size=7)) == expected
    start, end = datetime(2026, 10, 3, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)
    ranged = list(client.insights.iter_subscribers(creator_uuid=creator, start_date=start, end_date=end, size=5))
    world = [
        SubscriberTrendRow.model_validate(r.to_json()) for r in sandbox.world.subscriber_trend(creator, start, end)
    ]
    assert ranged == world
    assert len(ranged) == 17
    assert ranged[0].date == start
    with _own(sandbox, creator) as own:
        assert list(own.insights.iter_subscribers(size=50)) == expected
    with pytest.raises(ValidationError):
        client.insights.subscribers(creator_uuid=creator, size=51)


# ------------------------------------------------------------------------------------------ top spenders


def test_top_spenders_pages(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 2)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    expected = [TopSpenderRow.model_validate(r.to_json()) for r in sandbox.world.top_spenders(creator, start, UNTIL)]
    pages = [client.insights.top_spenders(creator_uuid=creator, start_date=start, page=p, size=5) for p in (1, 2, 3)]
    for page in pages:
        assert_complete(page)
    assert [r for p in pages for r in p.data] == expected
    assert [p.pagination.has_more for p in pages] == [True, True, False]
    gross = [r.gross.cents for r in expected]
    assert gross == sorted(gross, reverse=True)
    with _own(sandbox, creator) as own:
        assert own.insights.top_spenders(start_date=start, size=50).data == expected


# ------------------------------------------------------------------------------------------ fans


def test_fan_insight_status_and_spending(sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    fans = sandbox.world.creators[0].fans
    subscribers = {m.fan.uuid for m in current_subscribers(sandbox.world, creator)}
    followers = {m.fan.uuid for m in current_followers(sandbox.world, creator)}
    rows = [r for r in _world_rows(sandbox, creator) if r.user is not None and r.user.uuid == fans[0].uuid]
    refund = sandbox.add_refund(creator, rows[0].transaction_order_id, at=rows[0].date + timedelta(hours=1), gross=100)
    with _own(sandbox, creator) as own:
        one = own.insights.fan(fans[0].uuid)
        assert_complete(one)
        assert one.spending.total.gross.cents == sum(r.gross for r in rows)
        assert one.spending.total.total.cents == sum(r.gross for r in rows) - refund.gross
        assert one.spending.last_purchase_at == rows[-1].date
        assert one.spending.max_single_payment.gross.cents == max(r.gross for r in rows)
        by_source = {s: v.gross.cents for s, v in one.spending.sources.items()}
        assert sum(by_source.values()) == one.spending.total.gross.cents
        batch = own.insights.fans([f.uuid for f in fans])
        assert_complete(batch)
        assert batch.errors == []
        assert list(batch.results) == [f.uuid for f in fans]
        assert batch.results[fans[0].uuid] == one
        for fan in fans:
            insight = batch.results[fan.uuid]
            assert insight is not None
            want = "subscriber" if fan.uuid in subscribers else "follower" if fan.uuid in followers else None
            assert insight.status == want
            sub = insight.subscription
            if want == "subscriber":
                assert sub.created_at is not None
                assert (sub.renews_at is not None) is sub.auto_renewal_enabled
                assert sub.renews_at is None or sub.renews_at > NOW
            else:
                assert (sub.created_at, sub.renews_at, sub.auto_renewal_enabled) == (None, None, False)
        sandbox.set_followers(creator, sandbox.world.subscribers(creator))  # nobody left on the follower side
        lost = next(f for f in fans if f.uuid in followers)
        assert own.insights.fan(lost.uuid).status == "not_contactable"


def test_fan_insight_404_and_400(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    stranger = sandbox.world.creators[1].fans[0].uuid
    with _own(sandbox, _creator(sandbox)) as own:
        with pytest.raises(NotFoundError) as caught:
            own.insights.fan(stranger)
        assert caught.value.status_code == 404
        assert caught.value.body == {"message": "Fan not found"}
        with pytest.raises(ValidationError) as bad:  # 400 {errors}: the spec lists no {message} 400 here
            own.insights.fan("not-a-uuid")
        assert bad.value.status_code == 400
        assert bad.value.body.keys() == {"errors"}
        assert any("userUuid" in e for e in bad.value.errors)
    with pytest.raises(NotFoundError):  # the agency admin has no fans of their own
        client.insights.fan(sandbox.world.creators[0].fans[0].uuid)


def test_fans_batch_errors_and_limits(sandbox: FanvueSandbox) -> None:
    mine = sandbox.world.creators[0].fans[1].uuid
    stranger = sandbox.world.creators[1].fans[0].uuid
    with _own(sandbox, _creator(sandbox)) as own:
        result = own.insights.fans([mine, stranger, mine.upper()])
        assert_complete(result)
        assert list(result.results) == [mine, stranger]
        assert result.results[mine] is not None
        assert result.results[stranger] is None
        assert [(e.fan_uuid, e.code) for e in result.errors] == [(stranger, "NOT_FOUND")]
        for params in (
            {},
            {"fanUuids": ""},
            {"fanUuids": ",".join([mine] * 21)},
            {"fanUuids": f"{mine},nope"},
        ):
            with pytest.raises(ValidationError) as caught:
                own.request("GET", "/insights/fans", params=params)
            assert _errors(caught)


# ------------------------------------------------------------------------------------------ percentile


def test_percentile_for_creators_only(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    values = []
    for i in range(len(sandbox.world.creators)):
        with _own(sandbox, _creator(sandbox, i)) as own:
            got = own.insights.earnings_percentile()
            assert_complete(got)
            assert got.percentile is not None
            assert 0 < got.percentile <= 60
            values.append(got.percentile)
    assert len(set(values)) == len(values)
    with pytest.raises(PermissionDeniedError) as caught:  # 403 {error}: Fanvue's spec lists no 404 here
        client.insights.earnings_percentile()
    assert caught.value.body.keys() == {"error"}


def test_percentile_is_always_a_number(sandbox: FanvueSandbox) -> None:
    """Fanvue's spec types ``percentile`` as a required number: a creator with no earnings in the last 30 days
    ranks at the bottom (100), it is never ``null``; so does the ``empty`` fault's answer."""
    history = replace(SPEC, start=NOW - timedelta(days=SPEC.days))
    later = FanvueSandbox(spec=history, clock=SandboxClock(NOW + timedelta(days=45)))  # 30 quiet days
    with later.client(_creator(later), retry=NO_RETRY, rate_limited=False) as own:
        raw = own.request("GET", "/insights/earnings/percentile").json()
        assert raw == {"percentile": 100}
        assert own.insights.earnings_percentile().percentile == 100
    sandbox.inject("empty", route="/insights/earnings/percentile")
    with _own(sandbox, _creator(sandbox)) as own:
        assert own.request("GET", "/insights/earnings/percentile").json() == {"percentile": 100}


# ------------------------------------------------------------------------------------------ who sees what


def test_a_non_creator_gets_empty_insights(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    for page in (client.insights.earnings(), client.insights.subscribers(), client.insights.spending()):
        assert (page.data, page.next_cursor) == ([], None)
    spenders = client.insights.top_spenders()
    assert (spenders.data, spenders.pagination.size, spenders.pagination.has_more) == ([], 0, False)
    summary = client.insights.earnings_summary(start_date=date(2026, 10, 1))
    assert_complete(summary)
    assert summary.totals.all_time.gross.cents == 0
    assert len(summary.over_time) == 32  # Oct 1 .. Nov 1, all zero
    assert {(p.gross.cents, p.net.cents) for p in summary.over_time} == {(0, 0)}
    assert set(summary.average_by_hour_of_day.values()) == {0.0}
    with pytest.raises(ValidationError):  # validation still comes first
        client.insights.earnings(sources=["nope"])


def test_scopes_and_assignment(sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    no_fan = sandbox.token(scopes=["read:creator", "read:insights"])
    with sandbox.client(access_token=no_fan, retry=NO_RETRY, rate_limited=False) as limited:
        limited.insights.earnings(creator_uuid=creator, size=1)
        for call in (
            lambda: limited.insights.top_spenders(creator_uuid=creator),
            lambda: limited.insights.fans([sandbox.world.creators[0].fans[0].uuid]),
        ):
            with pytest.raises(PermissionDeniedError):
                call()
    no_creator = sandbox.token(scopes=["read:insights", "read:fan"])
    with sandbox.client(access_token=no_creator, retry=NO_RETRY, rate_limited=False) as limited:
        limited.insights.earnings()
        with pytest.raises(PermissionDeniedError):
            limited.insights.earnings(creator_uuid=creator)
    member = sandbox.world.team[-1].uuid  # sees only the first creator
    with _own(sandbox, member) as chatter:
        assert chatter.insights.earnings(creator_uuid=creator, size=1).data
        with pytest.raises(CreatorNotAssignedError):
            chatter.insights.earnings_summary(creator_uuid=_creator(sandbox, 1))


def test_determinism(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    fan = sandbox.world.creators[0].fans[0].uuid
    paths = [
        (f"/creators/{creator}/insights/earnings", {"size": 50, "source": "tip,post"}),
        (f"/creators/{creator}/insights/earnings/summary", {"granularity": "week", "timezone": "Asia/Tokyo"}),
        (f"/creators/{creator}/insights/subscribers", {"size": 9}),
        (f"/creators/{creator}/insights/top-spenders", {"size": 4, "page": 2}),
    ]
    own_paths = [
        ("/insights/spending", {"size": 5}),
        (f"/insights/fans/{fan}", {}),
        ("/insights/fans", {"fanUuids": fan}),
        ("/insights/earnings/percentile", {}),
    ]
    twin = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    with twin.client(retry=NO_RETRY, rate_limited=False) as other:
        for path, params in paths:
            assert client.request("GET", path, params=params).json() == other.request("GET", path, params=params).json()
    with _own(sandbox, creator) as mine, twin.client(creator, retry=NO_RETRY, rate_limited=False) as theirs:
        for path, params in own_paths:
            assert mine.request("GET", path, params=params).json() == theirs.request("GET", path, params=params).json()
