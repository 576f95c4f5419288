"""The world changes under a client, and every endpoint that should see the change does, at the right time:
a payment made now, a refund for an old day, a follower drop, refunds the seed schedules after the generated
history, payments clearing after seven days, nothing shown before it happens."""

from __future__ import annotations

from datetime import timedelta

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import FanvueClient
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec


def _fresh(sandbox: FanvueSandbox, who: str | None = None) -> FanvueClient:
    """A client with a token minted now (after ``advance`` an older token has expired, as on Fanvue)."""
    return sandbox.client(who, retry=NO_RETRY, rate_limited=False)


def test_a_subscription_made_now_reaches_counts_trend_and_history(
    sandbox: FanvueSandbox, client: FanvueClient, creator: str
) -> None:
    before = client.users.account(creator_uuid=creator).account.fans.subscribers
    sandbox.add_earning(creator, gross=999, source="subscription")
    assert client.users.account(creator_uuid=creator).account.fans.subscribers == before + 1
    today = client.insights.subscribers(creator_uuid=creator, start_date=NOW - timedelta(hours=12)).data
    assert [(r.date, r.new_subscribers_count) for r in today] == [(NOW - timedelta(hours=12), 1)]
    history = client.agencies.subscribers_history(
        start_date=NOW - timedelta(days=1), end_date=NOW + timedelta(days=1), creator_uuids=[creator]
    ).data
    assert history[0].date == NOW - timedelta(hours=12)
    assert history[0].new_subscribers_count == 1
    smart = {s.uuid: s.count for s in client.audience.smart_lists(creator_uuid=creator)}
    assert smart["subscribers"] == before + 1


def test_a_refund_for_an_old_day_shows_in_spending_and_the_account(
    sandbox: FanvueSandbox, own: FanvueClient, creator: str
) -> None:
    old = next(r for r in sandbox.world.iter_earnings(creator, NOW - timedelta(days=6)) if r.gross > 100)
    total = own.users.account().account.earnings.total.cents
    refund = sandbox.add_refund(creator, old.transaction_order_id, gross=100)
    rows = list(own.insights.iter_spending(start_date=NOW - timedelta(minutes=1)))
    assert [(r.source, r.gross.cents) for r in rows] == [("refund", 100)]
    assert rows[0].date == refund.date
    assert own.users.account().account.earnings.total.cents == total - refund.net


def test_a_follower_drop_shows_everywhere_at_once(sandbox: FanvueSandbox, own: FanvueClient, creator: str) -> None:
    subscribers = own.users.me().fan_counts
    assert subscribers is not None
    sandbox.set_followers(creator, subscribers.subscribers_count + 3)
    me = own.users.me().fan_counts
    assert me is not None
    assert me.followers_count == subscribers.subscribers_count + 3
    assert own.users.account().account.fans.followers == me.followers_count
    assert {s.uuid: s.count for s in own.audience.smart_lists()}["followers"] == me.followers_count


def test_refunds_the_seed_schedules_after_the_history_arrive_as_the_clock_passes() -> None:

    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=SPEC.seed, creators=1, days=120, earnings_per_day=20), clock=SandboxClock(NOW)
    )
    creator = sandbox.world.creators[0].uuid
    later = [r for r in sandbox.world.iter_reversals(creator) if r.date >= NOW]
    assert later, "a busy creator has refunds still to come"
    with _fresh(sandbox, creator) as own:
        now_seen = {r.date for r in own.insights.iter_spending(start_date=NOW - timedelta(days=1))}
    assert not now_seen & {r.date for r in later}  # nothing from the future
    sandbox.advance(later[0].date - NOW + timedelta(seconds=1))
    with _fresh(sandbox, creator) as own:
        arrived = [r.date for r in own.insights.iter_spending(start_date=NOW)]
    assert arrived == [later[0].date]


def test_payments_clear_after_seven_days(sandbox: FanvueSandbox, creator: str) -> None:
    row = sandbox.add_earning(creator, gross=5000, source="tip")

    def status() -> str:
        with _fresh(sandbox, creator) as own:
            page = own.insights.earnings(start_date=row.date, end_date=row.date + timedelta(seconds=1))
        return str(page.data[0].transaction_order_status)

    assert status() == "pendingBalance"
    sandbox.advance(timedelta(days=7, seconds=1))
    assert status() == "availableForPayout"


def test_available_balance_is_what_cleared_since_the_last_payout(
    sandbox: FanvueSandbox, own: FanvueClient, creator: str
) -> None:
    account = own.users.account().account
    assert account.earnings.last_payout_at is not None
    payout = account.earnings.last_payout_at
    week = timedelta(days=7)
    cleared = sum(
        r.net for r in sandbox.world.iter_earnings(creator, payout - week, NOW - week + timedelta(microseconds=1))
    )
    assert account.earnings.available_balance.cents == cleared > 0


def test_nothing_dated_after_now_is_shown(sandbox: FanvueSandbox, client: FanvueClient, creator: str) -> None:
    sandbox.add_earning(creator, gross=7777, at=NOW + timedelta(hours=3))
    window = {"start_date": NOW - timedelta(hours=1), "end_date": NOW + timedelta(days=2)}
    assert client.insights.earnings(creator_uuid=creator, **window).data == []
    days = client.agencies.earnings(creator_uuids=[creator], **window).data
    assert all(d.gross.cents != 7777 for d in days)
    sandbox.advance(timedelta(hours=3, seconds=1))
    with _fresh(sandbox) as later:
        assert [r.gross.cents for r in later.insights.earnings(creator_uuid=creator, **window).data] == [7777]
        assert later.agencies.earnings(creator_uuids=[creator], **window).data[0].gross.cents == 7777


def test_a_new_payment_keeps_the_order_id_it_is_given(sandbox: FanvueSandbox, creator: str) -> None:
    given = sandbox.add_earning(creator, gross=1234, source="tip", order_id="FV-LIVE-run1-0")
    assert given.transaction_order_id == "FV-LIVE-run1-0"
    assert sandbox.add_earning(creator, gross=1234, source="tip").transaction_order_id.startswith("FV-ORDER-")
    with _fresh(sandbox, creator) as own:
        page = own.insights.earnings(start_date=given.date, end_date=given.date + timedelta(seconds=1))
    assert "FV-LIVE-run1-0" in {row.transaction_order_id for row in page.data}
