"""The creators-and-stats rules, pure, with the in-memory fakes: filter, sort (no value last, either direction),
key paging, the freshness rule of refresh-on-view, one active run per lock key (and a dead holder's lease), who may
refresh and read runs, and a run carried out creator by creator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from onyx_core.accounts import Principal
from onyx_core.accounts.errors import NotPermitted
from onyx_core.accounts.model import Member, Role
from onyx_core.accounts.usecases.creator_stats import (
    CreatorQuery,
    CreatorStats,
    CreatorWithStats,
    StatsDeps,
    creator_stats_events,
    may_read_run,
    query_creators,
    read_refresh_run,
    refresh_on_view,
    request_creator_refresh,
    request_refresh_all,
)
from onyx_core.accounts.usecases.creators import CreatorOverview
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import ConnectionStatus
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.ports import UnitOfWork
from onyx_core.refresh import (
    RefreshAlreadyRunningError,
    RefreshRunPolicy,
    RefreshUnavailableError,
    RunKind,
    RunState,
    final_state,
    refresh_due,
)
from onyx_core.stats import Metric, MetricRecord, MetricState, MissingReason
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock
from onyx_core.testing.refresh_fakes import InMemoryRefreshRuns

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
A, B = AgencyId("agency-a"), AgencyId("agency-b")


def _creator(cid: str, name: str, agency: AgencyId = A) -> Creator:
    return Creator(CreatorId(cid), agency, name.lower(), name, NOW)


def _record(metric: str, value: int | None, *, at: datetime = NOW, stale: bool = False) -> MetricRecord:
    state = MetricState(
        value=value,
        observed_at=None if value is None else at,
        source="test",
        stale_since=at if stale else None,
        stale_reason=MissingReason.TIMEOUT if stale else None,
    )
    return MetricRecord(metric, state, state, (), at)


def _item(cid: str, name: str, subscribers: int | None, *, stale: bool = False, own: bool = False) -> CreatorWithStats:
    stats = {} if subscribers is None else {Metric.SUBSCRIBERS.value: _record(Metric.SUBSCRIBERS, subscribers)}
    if stale:
        stats[Metric.FOLLOWERS.value] = _record(Metric.FOLLOWERS, 1, stale=True)
    status = ConnectionStatus.ACTIVE if own else None
    return CreatorWithStats(CreatorOverview(_creator(cid, name), status), stats)


ITEMS = [
    _item("c1", "Luna", 30),
    _item("c2", "mika", None, own=True),
    _item("c3", "Ava", 10, stale=True),
    _item("c4", "Zed", 30),
    _item("c5", "bea", None),
]


def _ids(page: list[CreatorWithStats]) -> list[str]:
    return [str(i.overview.creator.id) for i in page]


def test_a_stat_sorts_either_way_with_creators_without_a_value_last() -> None:
    assert _ids(query_creators(ITEMS, CreatorQuery(sort="subscribers")).items) == ["c3", "c1", "c4", "c2", "c5"]
    assert _ids(query_creators(ITEMS, CreatorQuery(sort="-subscribers")).items) == ["c1", "c4", "c3", "c2", "c5"]
    assert _ids(query_creators(ITEMS, CreatorQuery(sort="name")).items) == ["c3", "c5", "c1", "c2", "c4"]
    assert _ids(query_creators(ITEMS, CreatorQuery(sort="-name")).items) == ["c4", "c2", "c1", "c5", "c3"]


def test_descending_text_puts_the_longer_of_two_texts_with_one_prefix_first() -> None:
    items = [_item("x1", "Al", 1), _item("x2", "Alma", 1), _item("x3", "B", 1)]
    assert _ids(query_creators(items, CreatorQuery(sort="-name")).items) == ["x3", "x2", "x1"]


def test_filters() -> None:
    assert _ids(query_creators(ITEMS, CreatorQuery(text="UN")).items) == ["c1"]
    assert _ids(query_creators(ITEMS, CreatorQuery(connection="active")).items) == ["c2"]
    assert _ids(query_creators(ITEMS, CreatorQuery(connection="none")).items) == ["c3", "c5", "c1", "c4"]
    assert _ids(query_creators(ITEMS, CreatorQuery(stale_only=True)).items) == ["c3"]


@pytest.mark.parametrize("sort", ["subscribers", "-subscribers", "name", "-name", "handle"])
def test_key_pages_cover_every_creator_once_in_order(sort: str) -> None:
    whole = _ids(query_creators(ITEMS, CreatorQuery(sort=sort)).items)
    seen: list[str] = []
    cursor = None
    while True:
        page = query_creators(ITEMS, CreatorQuery(sort=sort, limit=2, cursor=cursor))
        assert page.total == len(ITEMS)
        seen += _ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == whole


def test_a_creator_added_between_pages_neither_repeats_nor_hides_another() -> None:
    first = query_creators(ITEMS, CreatorQuery(sort="name", limit=2))
    grown = [*ITEMS, _item("c0", "Aaron", 5)]  # sorts before the first page's end
    rest = query_creators(grown, CreatorQuery(sort="name", limit=10, cursor=first.next_cursor))
    assert _ids(first.items) + _ids(rest.items) == ["c3", "c5", "c1", "c2", "c4"]


@pytest.mark.parametrize(
    "query",
    [
        CreatorQuery(sort="tips"),
        CreatorQuery(connection="maybe"),
        CreatorQuery(limit=0),
        CreatorQuery(limit=201),
        CreatorQuery(cursor="garbage"),
        CreatorQuery(sort="name", cursor=query_creators(ITEMS, CreatorQuery(sort="handle", limit=1)).next_cursor),
    ],
)
def test_a_query_that_breaks_a_rule_is_refused(query: CreatorQuery) -> None:
    with pytest.raises(DomainValueError):
        query_creators(ITEMS, query)


def test_refresh_is_due_once_the_newest_observation_is_as_old_as_the_policy_says() -> None:
    policy = RefreshRunPolicy(on_view_after=timedelta(minutes=2))
    records = {"a": _record("a", 1, at=NOW - timedelta(minutes=5)), "b": _record("b", 1, at=NOW)}
    assert refresh_due({}, NOW, policy)  # never refreshed
    assert not refresh_due(records, NOW + timedelta(seconds=119), policy)
    assert refresh_due(records, NOW + timedelta(seconds=120), policy)
    assert not refresh_due({}, NOW, RefreshRunPolicy(on_view_after=None))


def test_final_state() -> None:
    assert final_state(3, 0) is RunState.SUCCEEDED
    assert final_state(2, 1) is RunState.PARTIAL
    assert final_state(0, 3) is RunState.FAILED
    assert final_state(0, 0) is RunState.SUCCEEDED  # nothing to refresh: nothing failed


# ----------------------------------------------------------------------------- refreshes with fakes


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.runs = InMemoryRefreshRuns()
        self.clock = ManualClock(NOW)
        self.store.agencies[A] = Agency(A, "A", "fan-a")
        self.store.agencies[B] = Agency(B, "B", "fan-b")
        for creator in (_creator("x", "Xena"), _creator("y", "Yara"), _creator("z", "Zoe", B)):
            self.store.creators[creator.id] = creator

    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def deps(self, **kw: object) -> StatsDeps:
        return StatsDeps(self.uow, self.runs, self.clock, **kw)  # type: ignore[arg-type]


def _principal(role: Role, agency: AgencyId = A, scope: frozenset[str] | None = None, mid: str = "m1") -> Principal:
    creators = None if scope is None else frozenset(CreatorId(c) for c in scope)
    return Principal(Member(MemberId(mid), agency, f"{mid}@a.test", mid, role, NOW, creators))


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_one_refresh_all_per_agency_and_a_scoped_manager_refreshes_her_scope() -> None:
    w = World()
    manager = _principal(Role.MANAGER, scope=frozenset({"x"}), mid="mgr")
    first, ids = run(request_refresh_all(w.deps(), manager))  # type: ignore[misc]
    assert ids == [CreatorId("x")]
    assert first.total == 1
    with pytest.raises(RefreshAlreadyRunningError) as already:
        run(request_refresh_all(w.deps(), _principal(Role.OWNER)))
    assert already.value.running.id == first.id
    other, _ = run(request_refresh_all(w.deps(), _principal(Role.OWNER, B, mid="b")))  # type: ignore[misc]
    assert other.agency_id == B
    # a refresh of one creator holds its own key: allowed while the agency's runs
    single = run(request_creator_refresh(w.deps(), _principal(Role.OWNER), CreatorId("y")))
    assert single.kind is RunKind.CREATOR  # type: ignore[attr-defined]


def test_a_dead_runs_key_is_free_after_a_lease() -> None:
    w = World()
    owner = _principal(Role.OWNER)
    dead, _ = run(request_refresh_all(w.deps(), owner))  # type: ignore[misc]
    w.clock.advance(timedelta(minutes=9))
    with pytest.raises(RefreshAlreadyRunningError):
        run(request_refresh_all(w.deps(), owner))
    w.clock.advance(timedelta(minutes=1))
    fresh, _ = run(request_refresh_all(w.deps(), owner))  # type: ignore[misc]
    assert fresh.id != dead.id
    assert w.runs.runs[dead.id].state is RunState.INTERRUPTED


@pytest.mark.parametrize(
    ("who", "creator", "error"),
    [
        (lambda: _principal(Role.VIEWER), "x", NotPermitted),
        (lambda: _principal(Role.OWNER, B, mid="b"), "x", NotFoundError),
        (lambda: _principal(Role.MANAGER, scope=frozenset({"y"})), "x", NotFoundError),
        (lambda: _principal(Role.OWNER), "nobody", NotFoundError),
    ],
)
def test_who_may_not_refresh_a_creator(who: Callable[[], Principal], creator: str, error: type[Exception]) -> None:
    w = World()
    with pytest.raises(error):
        run(request_creator_refresh(w.deps(), who(), CreatorId(creator)))
    with pytest.raises(NotPermitted):
        run(request_refresh_all(w.deps(), _principal(Role.VIEWER)))
    assert w.runs.runs == {}


def test_nothing_is_stored_when_this_server_cannot_refresh() -> None:
    w = World()
    with pytest.raises(RefreshUnavailableError):
        run(request_refresh_all(w.deps(can_refresh=False), _principal(Role.OWNER)))
    assert w.runs.runs == {}


def test_refresh_on_view_queues_once_until_it_ends_then_waits_for_the_age() -> None:
    w = World()
    viewer = _principal(Role.VIEWER)
    creator = w.store.creators[CreatorId("x")]
    viewed = CreatorStats(CreatorOverview(creator, None), {})
    first = run(refresh_on_view(w.deps(), viewer, viewed))
    assert (first.queued, first.reason) == (True, "queued")  # type: ignore[attr-defined]
    second = run(refresh_on_view(w.deps(), viewer, viewed))
    assert (second.queued, second.reason, second.run.id) == (False, "running", first.run.id)  # type: ignore[attr-defined]
    run(w.runs.finish(first.run.id, RunState.SUCCEEDED, NOW))  # type: ignore[attr-defined]
    refreshed = CreatorStats(viewed.overview, {"subscribers": _record("subscribers", 5, at=NOW)})
    assert run(refresh_on_view(w.deps(), viewer, refreshed)).reason == "fresh"  # type: ignore[attr-defined]
    w.clock.advance(timedelta(minutes=2))
    assert run(refresh_on_view(w.deps(), viewer, refreshed)).queued  # type: ignore[attr-defined]
    # a refresh-all of her agency covers her: none of her own is queued beside it
    w2 = World()
    run(request_refresh_all(w2.deps(), _principal(Role.OWNER)))
    assert run(refresh_on_view(w2.deps(), viewer, viewed)).reason == "running"  # type: ignore[attr-defined]


def test_who_reads_a_run() -> None:
    w = World()
    owner = _principal(Role.OWNER, mid="own")
    everyone, _ = run(request_refresh_all(w.deps(), owner))  # type: ignore[misc]
    scoped = _principal(Role.VIEWER, scope=frozenset({"x"}), mid="v")
    assert may_read_run(_principal(Role.VIEWER, mid="v2"), everyone)
    assert not may_read_run(scoped, everyone)
    assert not may_read_run(_principal(Role.OWNER, B, mid="b"), everyone)
    with pytest.raises(NotFoundError):
        run(read_refresh_run(w.deps(), _principal(Role.OWNER, B, mid="b"), everyone.id))
    one = run(request_creator_refresh(w.deps(), owner, CreatorId("x")))
    assert may_read_run(scoped, one)  # type: ignore[arg-type]
    other = run(request_creator_refresh(w.deps(), owner, CreatorId("y")))
    assert not may_read_run(scoped, other)  # type: ignore[arg-type]


def test_events_are_paged_newest_first_and_an_unknown_metric_is_refused() -> None:
    w = World()
    owner = _principal(Role.OWNER)
    with pytest.raises(DomainValueError):
        run(creator_stats_events(w.uow, owner, CreatorId("x"), metric="tips"))
    with pytest.raises(NotFoundError):
        run(creator_stats_events(w.uow, owner, CreatorId("z")))
