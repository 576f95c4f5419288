"""The Fanvue gateway against the in-process sandbox: it returns the sandbox's truth, and every failure is a
reason (``Missing`` / ``SourceUnavailableError``), never a zero or an empty page presented as data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from onyx_adapters.gateway import FanvueGateway, reason_for
from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.ports import FanvuePort, SourceUnavailableError
from onyx_core.stats import Metric, Missing, MissingReason, Observation, Ok
from onyx_core.sync import Stream
from onyx_core.usecases.rankings import combine_rankings
from onyx_fanvue import AsyncFanvueClient, RetryPolicy
from onyx_fanvue.errors import (
    CreatorNotAssignedError,
    InvalidGrantError,
    MalformedResponseError,
    MissingTokenError,
    NotFoundError,
    OAuthServerError,
    ServerError,
)
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.endpoints.users import account_json
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SPEC = WorldSpec(seed=11, creators=2, fans_per_creator=12, days=30, earnings_per_day=3.0, team_members=1)
AGENCY = AgencyId("agency-1")
START = NOW - timedelta(days=40)


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def sandbox() -> FanvueSandbox:
    return FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))


@pytest_asyncio.fixture
async def client_for(sandbox: FanvueSandbox) -> AsyncIterator[Callable[[Connection], AsyncFanvueClient]]:
    """One sandbox client per connection, signed in as the connection's Fanvue user: one retry (so "after the
    SDK's retries" is exercised), no real sleeping, a short timeout so a hang costs a fraction of a second. The
    client-side rate budget is off: after a 429 storm it would wait out ``Retry-After`` on the real clock."""
    clients: dict[str, AsyncFanvueClient] = {}

    def make(connection: Connection) -> AsyncFanvueClient:
        if connection.id not in clients:
            clients[connection.id] = sandbox.async_client(
                connection.fanvue_user_uuid,
                retry=RetryPolicy(max_retries=1, base_delay=0, max_delay=0),
                sleep=_no_sleep,
                timeout=httpx.Timeout(0.1),
                rate_limited=False,
            )
        return clients[connection.id]

    yield make
    for client in clients.values():
        await client.aclose()


@pytest.fixture
def gateway(client_for: Callable[[Connection], AsyncFanvueClient]) -> FanvueGateway:
    return FanvueGateway(client_for)


@pytest.fixture
def paging_gateway(client_for: Callable[[Connection], AsyncFanvueClient]) -> FanvueGateway:
    """Small pages, so every walk crosses several cursors."""
    return FanvueGateway(client_for, page_size=7, top_spenders=5)


@pytest.fixture
def agency(sandbox: FanvueSandbox) -> Connection:
    return Connection(
        ConnectionId("conn-agency"), ConnectionKind.AGENCY, AGENCY, None, sandbox.admin, ConnectionStatus.ACTIVE, None
    )


def _creator(sandbox: FanvueSandbox, index: int = 0) -> Creator:
    c = sandbox.world.creators[index]
    return Creator(CreatorId(c.uuid), AGENCY, c.person.handle, c.person.display_name, NOW)


def _own(sandbox: FanvueSandbox, index: int = 0) -> Connection:
    uuid = sandbox.world.creators[index].uuid
    return Connection(
        ConnectionId(f"conn-own-{index}"),
        ConnectionKind.CREATOR,
        AGENCY,
        CreatorId(uuid),
        uuid,
        ConnectionStatus.ACTIVE,
        None,
    )


def _by_metric(observations: list[Observation]) -> dict[str, Observation]:
    assert len(observations) == len(Metric)
    return {o.metric: o for o in observations}


def _value(observation: Observation) -> int:
    assert isinstance(observation, Ok), observation
    return observation.value


async def _walk(
    gateway: FanvueGateway, connection: Connection, creator: Creator, stream: Stream, start: datetime, end: datetime
) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = await gateway.fetch_ledger_page(connection, creator, stream, start, end, cursor)
        entries.extend(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            return entries
    raise AssertionError("the ledger walk never ended")


# ----------------------------------------------------------------------------------------- the truth


def test_the_gateway_is_a_fanvue_port(gateway: FanvueGateway) -> None:
    port: FanvuePort = gateway
    assert port is gateway


async def test_list_creators_is_the_agency_roster(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    profiles = await gateway.list_creators(agency)
    assert [p.fanvue_uuid for p in profiles] == [c.uuid for c in sandbox.world.creators]
    assert [p.handle for p in profiles] == [c.person.handle for c in sandbox.world.creators]
    own = await gateway.list_creators(_own(sandbox, 1))
    assert [p.fanvue_uuid for p in own] == [sandbox.world.creators[1].uuid]


async def test_agency_stats_come_from_the_creator_account(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    world = sandbox.world
    stats = _by_metric(await gateway.fetch_stats(agency, creator, NOW))
    assert _value(stats[Metric.SUBSCRIBERS]) == world.subscribers(creator.id)
    assert _value(stats[Metric.FOLLOWERS]) == world.followers(creator.id)
    earned = sum(r.net for r in world.iter_earnings(creator.id, end=NOW))
    reversed_ = sum(r.net for r in world.iter_reversals(creator.id, end=NOW))
    assert _value(stats[Metric.REVENUE_TOTAL]) == earned - reversed_
    payable = account_json(world, creator.id, NOW)["account"]["earnings"]["availableBalance"]
    assert payable > 0
    assert _value(stats[Metric.AVAILABLE_BALANCE]) == payable
    assert stats[Metric.AVAILABLE_BALANCE].source == f"fanvue:/creators/{creator.id}/account"
    for metric in (Metric.POSTS, Metric.LIKES):
        missing = stats[metric]
        assert isinstance(missing, Missing)
        assert missing.reason is MissingReason.PERMISSION
        assert "/users/me" in missing.detail
    assert all(o.at == NOW for o in stats.values())


async def test_own_stats_come_from_users_me_and_account(gateway: FanvueGateway, sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox, 1)
    me = sandbox.world.user_json(creator.id)
    stats = _by_metric(await gateway.fetch_stats(_own(sandbox, 1), creator, NOW))
    assert _value(stats[Metric.SUBSCRIBERS]) == me["fanCounts"]["subscribersCount"]
    assert _value(stats[Metric.FOLLOWERS]) == me["fanCounts"]["followersCount"]
    assert _value(stats[Metric.LIKES]) == me["likesCount"]
    assert _value(stats[Metric.POSTS]) == me["contentCounts"]["postCount"]
    earned = sum(r.net for r in sandbox.world.iter_earnings(creator.id, end=NOW))
    reversed_ = sum(r.net for r in sandbox.world.iter_reversals(creator.id, end=NOW))
    assert _value(stats[Metric.REVENUE_TOTAL]) == earned - reversed_
    payable = account_json(sandbox.world, creator.id, NOW)["account"]["earnings"]["availableBalance"]
    assert _value(stats[Metric.AVAILABLE_BALANCE]) == payable
    assert stats[Metric.AVAILABLE_BALANCE].source == "fanvue:/users/account"


async def test_an_honest_zero_in_a_well_formed_account_is_ok(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    sandbox.set_followers(creator.id, 0)
    stats = _by_metric(await gateway.fetch_stats(agency, creator, NOW))
    followers = stats[Metric.FOLLOWERS]
    assert isinstance(followers, Ok)
    assert followers.value == 0
    assert _value(stats[Metric.REVENUE_TOTAL]) > 0


async def test_earnings_pages_are_the_world_rows(
    paging_gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    start, end = NOW - timedelta(days=12), NOW - timedelta(days=2)
    entries = await _walk(paging_gateway, agency, creator, Stream.EARNINGS, start, end)
    truth = list(sandbox.world.iter_earnings(creator.id, start, end))
    assert len(truth) > 14  # several pages
    assert [e.key for e in entries] == [f"earning:{r.transaction_order_id}" for r in truth]
    assert sum(e.net.cents for e in entries) == sum(r.net for r in truth)
    assert sum(e.gross.cents for e in entries) == sum(r.gross for r in truth)
    assert all(e.kind is EntryKind.EARNING and e.creator_id == creator.id for e in entries)
    assert all(start <= e.occurred_at < end for e in entries)
    # the creator's own connection reads the same ledger through /insights/earnings
    own = await _walk(paging_gateway, _own(sandbox), creator, Stream.EARNINGS, start, end)
    assert own == entries


async def test_reversals_are_negative_entries_from_own_spending(
    paging_gateway: FanvueGateway, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    truth = list(sandbox.world.iter_reversals(creator.id, START, NOW))
    if not truth:  # make sure there is something to read
        order = next(iter(sandbox.world.iter_earnings(creator.id, START, NOW))).transaction_order_id
        sandbox.add_refund(creator.id, order, at=NOW - timedelta(hours=1))
        truth = list(sandbox.world.iter_reversals(creator.id, START, NOW))
    entries = await _walk(paging_gateway, _own(sandbox), creator, Stream.REVERSALS, START, NOW)
    assert len(entries) == len(truth)
    assert all(e.is_reversal and e.net.cents <= 0 and e.gross.cents <= 0 for e in entries)
    assert sum(e.net.cents for e in entries) == -sum(r.net for r in truth)
    assert [e.kind.value for e in entries] == [r.source for r in truth]
    assert len({e.key for e in entries}) == len(entries)


async def test_agency_connection_cannot_read_reversals(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_ledger_page(agency, _creator(sandbox), Stream.REVERSALS, START, NOW, None)
    assert caught.value.reason is MissingReason.PERMISSION


async def test_earnings_days_are_the_summary_of_the_rows_the_list_gives(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    first, end = (NOW - timedelta(days=30)).date(), NOW.date()
    days = await gateway.fetch_earnings_days(agency, creator, first, end)
    rows = list(sandbox.world.iter_earnings(creator.id, None, NOW))
    expected: dict[date, tuple[int, int]] = {}
    for r in rows:
        day = r.date.astimezone(UTC).date()
        if first <= day < end:
            gross, net = expected.get(day, (0, 0))
            expected[day] = (gross + r.gross, net + r.net)
    assert len(expected) > 20
    assert {d: (t.gross, t.net) for d, t in days.days.items()} == expected
    assert (days.all_time.gross, days.all_time.net) == (sum(r.gross for r in rows), sum(r.net for r in rows))
    # the creator's own grant reads the same summary through /insights/earnings/summary
    assert await gateway.fetch_earnings_days(_own(sandbox), creator, first, end) == days


async def test_an_all_zero_earnings_summary_is_empty_never_compared(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    sandbox.inject("empty", route="*/insights/earnings/summary")
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_earnings_days(agency, _creator(sandbox), (NOW - timedelta(days=9)).date(), NOW.date())
    assert caught.value.reason is MissingReason.EMPTY


async def test_subscriber_days_are_the_trend_rows(
    paging_gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    start, end = date(2026, 10, 10), date(2026, 10, 25)
    days = await paging_gateway.fetch_subscriber_days(agency, creator, start, end)
    lo, hi = datetime(2026, 10, 10, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC)
    truth = sandbox.world.subscriber_trend(creator.id, lo, hi)
    assert [(d.day, d.new, d.cancelled) for d in days] == [
        (r.date.date(), r.new_subscribers_count, r.cancelled_subscribers_count) for r in truth
    ]
    assert len(days) == 15
    assert await paging_gateway.fetch_subscriber_days(agency, creator, end, start) == []


async def test_top_spenders_per_creator_and_agency_wide(
    paging_gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    world = sandbox.world
    creator = _creator(sandbox)
    ranked = await paging_gateway.fetch_top_spenders(agency, creator)
    truth = world.top_spenders(creator.id, end=NOW, limit=5)
    assert [(s.rank, s.fan_id, s.gross.cents, s.net.cents) for s in ranked] == [
        (i, r.user.uuid, r.gross, r.net) for i, r in enumerate(truth, start=1)
    ]
    assert all(s.creator_id == creator.id for s in ranked)

    # the agency-wide list: the core combines the creators' lists (Fanvue ranks per creator only)
    lists = [await paging_gateway.fetch_top_spenders(agency, _creator(sandbox, i)) for i in range(len(world.creators))]
    wide = combine_rankings(lists, limit=5)
    sums: dict[str, int] = {}
    for c in world.creators:
        for row in world.top_spenders(c.uuid, end=NOW, limit=5):
            sums[row.user.uuid] = sums.get(row.user.uuid, 0) + row.gross
    expected = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(s.fan_id, s.gross.cents) for s in wide] == expected
    assert [s.rank for s in wide] == [1, 2, 3, 4, 5]
    assert all(s.creator_id is None for s in wide)


async def test_tracking_links_walk_every_page(
    client_for: Callable[[Connection], AsyncFanvueClient], agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    gateway = FanvueGateway(client_for, page_size=1)
    links = await gateway.fetch_tracking_links(agency, creator)
    truth = sandbox.world.tracking_links(creator.id)
    assert len(truth) > 1
    assert sorted(link.id for link in links) == sorted(t.uuid for t in truth)
    assert any(link.earnings_gross is None for link in links)  # the fresh link never earned: not a zero
    assert all(link.creator_id == creator.id for link in links)


# ----------------------------------------------------------------------------------------- connections


async def test_a_creator_connection_reads_only_its_creator(gateway: FanvueGateway, sandbox: FanvueSandbox) -> None:
    other = _creator(sandbox, 1)
    stats = await gateway.fetch_stats(_own(sandbox, 0), other, NOW)
    assert all(isinstance(o, Missing) and o.reason is MissingReason.PERMISSION for o in stats)
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_ledger_page(_own(sandbox, 0), other, Stream.EARNINGS, START, NOW, None)
    assert caught.value.reason is MissingReason.PERMISSION


async def test_an_inactive_connection_is_no_connection(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    dead = agency.marked_needs_reauth("invalid_grant")
    stats = await gateway.fetch_stats(dead, _creator(sandbox), NOW)
    assert all(isinstance(o, Missing) and o.reason is MissingReason.NO_CONNECTION for o in stats)
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.list_creators(dead)
    assert caught.value.reason is MissingReason.NO_CONNECTION


# ----------------------------------------------------------------------------------------- the fault matrix

Setup = Callable[[FanvueSandbox, str], object]


def _fault(kind: str, **options: Any) -> Setup:
    return lambda sandbox, creator: sandbox.inject(kind, **options)


FAULTS: dict[str, tuple[Setup, MissingReason]] = {
    "error-500": (_fault("error", status=500), MissingReason.ERROR),
    "error-502": (_fault("error", status=502), MissingReason.ERROR),
    "error-503": (_fault("error", status=503), MissingReason.ERROR),
    "hang": (_fault("hang", seconds=5), MissingReason.TIMEOUT),
    "rate-limit-storm": (_fault("rate_limit", retry_after=1), MissingReason.RATE_LIMITED),
    "malformed": (_fault("malformed"), MissingReason.ERROR),
    "reset": (_fault("reset"), MissingReason.TIMEOUT),
    "connect-timeout": (_fault("connect_timeout"), MissingReason.TIMEOUT),
    "unassigned": (lambda sandbox, creator: sandbox.unassign(sandbox.admin, creator), MissingReason.NOT_ASSIGNED),
    "revoked-grant": (lambda sandbox, creator: sandbox.revoke_grant(sandbox.admin), MissingReason.PERMISSION),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_matrix_stats_are_missing_never_zero(
    fault: str, gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    setup, reason = FAULTS[fault]
    creator = _creator(sandbox)
    assert await gateway.list_creators(agency)  # the connection worked, then broke
    setup(sandbox, creator.id)
    stats = _by_metric(await gateway.fetch_stats(agency, creator, NOW))
    assert not any(isinstance(o, Ok) for o in stats.values())
    for metric in (Metric.REVENUE_TOTAL, Metric.SUBSCRIBERS, Metric.FOLLOWERS):
        missing = stats[metric]
        assert isinstance(missing, Missing)
        assert missing.reason is reason, (metric, missing)
        assert missing.detail
        assert missing.attempted_at == NOW


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("unassigned", "revoked-grant")])
async def test_fault_matrix_own_stats_are_missing_never_zero(
    fault: str, gateway: FanvueGateway, sandbox: FanvueSandbox
) -> None:
    setup, reason = FAULTS[fault]
    creator = _creator(sandbox)
    setup(sandbox, creator.id)
    stats = await gateway.fetch_stats(_own(sandbox), creator, NOW)
    assert all(isinstance(o, Missing) and o.reason is reason for o in stats), stats


@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_matrix_ledger_raises_never_an_empty_page(
    fault: str, gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    setup, reason = FAULTS[fault]
    creator = _creator(sandbox)
    assert await gateway.list_creators(agency)  # the connection worked, then broke
    setup(sandbox, creator.id)
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_ledger_page(agency, creator, Stream.EARNINGS, START, NOW, None)
    assert caught.value.reason is reason


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("unassigned", "revoked-grant")])
async def test_fault_matrix_own_reversals_raise(fault: str, gateway: FanvueGateway, sandbox: FanvueSandbox) -> None:
    setup, reason = FAULTS[fault]
    creator = _creator(sandbox)
    setup(sandbox, creator.id)
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_ledger_page(_own(sandbox), creator, Stream.REVERSALS, START, NOW, None)
    assert caught.value.reason is reason


async def test_a_revoked_creator_grant_is_permission(gateway: FanvueGateway, sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    assert await gateway.list_creators(_own(sandbox))  # the connection worked, then the creator removed the app
    sandbox.revoke_grant(creator.id)
    stats = await gateway.fetch_stats(_own(sandbox), creator, NOW)
    assert all(isinstance(o, Missing) and o.reason is MissingReason.PERMISSION for o in stats)
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_ledger_page(_own(sandbox), creator, Stream.REVERSALS, START, NOW, None)
    assert caught.value.reason is MissingReason.PERMISSION


async def test_a_transient_fault_heals_on_the_next_call(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    sandbox.inject("error", status=503)
    assert all(isinstance(o, Missing) for o in await gateway.fetch_stats(agency, creator, NOW))
    sandbox.clear_faults()
    stats = _by_metric(await gateway.fetch_stats(agency, creator, NOW))
    assert _value(stats[Metric.FOLLOWERS]) == sandbox.world.followers(creator.id)


async def test_one_retry_rides_through_a_single_503(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    sandbox.inject("error", status=503, times=1)
    page = await gateway.fetch_ledger_page(agency, creator, Stream.EARNINGS, START, NOW, None)
    assert page.entries


# ----------------------------------------------------------------------------------------- empty answers


async def test_an_all_zero_account_is_empty_not_zero(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    creator = _creator(sandbox)
    sandbox.inject("empty")
    stats = _by_metric(await gateway.fetch_stats(agency, creator, NOW))
    assert not any(isinstance(o, Ok) for o in stats.values())
    for metric in (Metric.REVENUE_TOTAL, Metric.SUBSCRIBERS, Metric.FOLLOWERS, Metric.AVAILABLE_BALANCE):
        missing = stats[metric]
        assert isinstance(missing, Missing)
        assert missing.reason is MissingReason.EMPTY


async def test_absent_count_blocks_on_users_me_are_empty(gateway: FanvueGateway, sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    sandbox.inject("empty")
    stats = await gateway.fetch_stats(_own(sandbox), creator, NOW)
    assert all(isinstance(o, Missing) and o.reason is MissingReason.EMPTY for o in stats), stats


async def test_an_empty_roster_is_not_an_agency_without_creators(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    sandbox.inject("empty", route="/creators")
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.list_creators(agency)
    assert caught.value.reason is MissingReason.EMPTY


# ----------------------------------------------------------------------------------------- the mapping table


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ServerError("x", status_code=500), MissingReason.ERROR),
        (MalformedResponseError("x", status_code=200), MissingReason.ERROR),
        (NotFoundError("x", status_code=404), MissingReason.ERROR),
        (CreatorNotAssignedError("x", status_code=404), MissingReason.NOT_ASSIGNED),
        (InvalidGrantError("x", error="invalid_grant"), MissingReason.PERMISSION),
        (OAuthServerError("x", error="server_error", status_code=503), MissingReason.ERROR),
        (OAuthServerError("x", error="slow_down", status_code=429), MissingReason.RATE_LIMITED),
        (MissingTokenError("x"), MissingReason.NO_CONNECTION),
        (httpx.ReadTimeout("x"), MissingReason.TIMEOUT),
    ],
)
def test_reason_for(error: BaseException, reason: MissingReason) -> None:
    assert reason_for(error) is reason


# ----------------------------------------------------------------------------------------- chatter leaderboard


async def test_the_chatter_leaderboard_of_a_day_is_fanvues_and_only_the_agency_grant_reads_it(
    gateway: FanvueGateway, agency: Connection, sandbox: FanvueSandbox
) -> None:
    async with sandbox.async_client(sandbox.admin, rate_limited=False) as admin:
        boards = {}
        for back in range(1, 31):
            day = (NOW - timedelta(days=back)).date()
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            boards[day] = (
                await admin.agencies.chatter_leaderboard(start_date=start, end_date=start + timedelta(1))
            ).data
    busy = [day for day, rows in boards.items() if any(r.ppvs_sent for r in rows)]
    assert busy, "the sandbox world has chatters who sent PPVs"
    for day in busy[:3]:
        rows = await gateway.fetch_chatter_days(agency, day)
        assert [(r.chatter_id, r.messages, r.ppvs_sent, r.ppvs_unlocked, r.revenue.cents) for r in rows] == [
            (t.chatter_uuid, t.messages, t.ppvs_sent, t.ppvs_unlocked, t.revenue.cents) for t in boards[day]
        ]
        assert {(r.agency_id, r.day) for r in rows} == {(AGENCY, day)}
    with pytest.raises(SourceUnavailableError) as caught:
        await gateway.fetch_chatter_days(_own(sandbox), busy[0])
    assert caught.value.reason is MissingReason.PERMISSION
