"""The contract suite of the storage ports: what every :class:`~onyx_core.ports.UnitOfWork` must do.

Each check is a plain async function taking a :data:`~onyx_core.ports.UnitOfWorkFactory` (each call a fresh
unit of work over the same storage) and raising :class:`ContractViolation` when the storage misbehaves. No test
framework is needed; with pytest::

    @pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.__name__)
    async def test_my_storage(contract):
        await contract(lambda: MyUnitOfWork(engine))

Every check makes its own agencies and creators with fresh random ids and reads only those, so the checks can
share one database (even run concurrently) and need no cleanup between them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone

from onyx_core.analytics import Period, SubscriberDay
from onyx_core.catalog import Agency, ChatterDay, Creator, TrackingLink, TrackingLinkCost
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.errors import ConcurrentUpdateError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import Money
from onyx_core.ports import UnitOfWork, UnitOfWorkFactory
from onyx_core.reconciliation import DayTotals
from onyx_core.stats import (
    Adjustment,
    EventKind,
    Floor,
    MergePolicy,
    Metric,
    MetricRecord,
    Missing,
    MissingReason,
    Observation,
    Ok,
    StatsEvent,
    encode_record,
    merge,
    merge_all,
)
from onyx_core.sync import Stream, SyncCursor
from onyx_core.testing._diff import event_difference
from onyx_core.testing._footprint import Footprint, Reading
from onyx_core.testing._rows import (
    T0,
    ledger_entry,
    new_connection,
    ranked_spender,
    refreshed_connection,
    tracking_link,
    uid,
)
from onyx_core.usecases.rankings import agency_scope

Contract = Callable[[UnitOfWorkFactory], Awaitable[None]]
"""The type of every check in this module."""

CONCURRENT_WRITERS = 50


class ContractViolation(AssertionError):  # noqa: N818 - reads as what it is in a failing test's report
    """A storage implementation broke the contract; the message says which rule."""


def _expect(condition: bool, message: str) -> None:  # noqa: FBT001 - an assertion helper
    if not condition:
        raise ContractViolation(message)


async def _seed_creator(uow_factory: UnitOfWorkFactory) -> tuple[AgencyId, CreatorId]:
    """A fresh agency with one creator, committed."""
    agency_id = AgencyId(uid("agency"))
    creator_id = CreatorId(uid("creator"))
    async with uow_factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Contract Agency"))
        await uow.creators.upsert(Creator(creator_id, agency_id, "handle", "Display Name", T0))
        await uow.commit()
    return agency_id, creator_id


# ----------------------------------------------------------------------------- units of work

READ_TIMEOUT = 30.0
"""Seconds a plain read in one unit may wait while another unit holds uncommitted writes (it should not wait)."""


class _LeftByAnExceptionError(Exception):
    """Raised inside a unit of work to leave it the way a crash between the work and its commit does."""


def _expect_same(expected: Reading, got: Reading, rule: str) -> None:
    """Compare two readings of a footprint repository by repository: the first that differs breaks ``rule``."""
    for repository, value in expected.items():
        if got[repository] != value:
            raise ContractViolation(f"{repository}: {rule} (expected {_short(value)}, got {_short(got[repository])})")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 300 else f"{text[:300]}..."


async def _reading(uow_factory: UnitOfWorkFactory, footprint: Footprint) -> Reading:
    async with uow_factory() as uow:
        return await footprint.read(uow)


async def _seeded(uow_factory: UnitOfWorkFactory) -> tuple[Footprint, Reading]:
    """A footprint committed in every repository, and how it reads back."""
    footprint = Footprint.fresh()
    async with uow_factory() as uow:
        await footprint.seed(uow)
        await uow.commit()
    return footprint, await _reading(uow_factory, footprint)


async def _written(uow: UnitOfWork, footprint: Footprint, before: Reading) -> Reading:
    """Write the footprint's changes in ``uow``; the unit must read its own writes in every repository."""
    await footprint.write(uow)
    inside = await footprint.read(uow)
    for repository, value in before.items():
        _expect(
            inside[repository] != value,
            f"{repository}: a unit must read its own uncommitted writes (it still reads {_short(value)})",
        )
    return inside


async def check_uncommitted_work_is_discarded(uow_factory: UnitOfWorkFactory) -> None:
    """In every repository (agencies, creators, connections, stats records and events, ledger, history, top
    spenders, tracking links, cursors): a unit reads its own writes, and leaving it without commit, by an
    exception or by ``rollback()`` leaves everything exactly as it was committed before."""
    footprint, before = await _seeded(uow_factory)

    async with uow_factory() as uow:
        await _written(uow, footprint, before)
    _expect_same(
        before, await _reading(uow_factory, footprint), "leaving a unit without commit must discard its writes"
    )

    try:
        async with uow_factory() as uow:
            await _written(uow, footprint, before)
            raise _LeftByAnExceptionError
    except _LeftByAnExceptionError:
        pass
    _expect_same(before, await _reading(uow_factory, footprint), "an exception inside a unit must discard its writes")

    async with uow_factory() as uow:
        await _written(uow, footprint, before)
        await uow.rollback()
        _expect_same(before, await footprint.read(uow), "rollback() must discard the writes before it")
        kept = await _written(uow, footprint, before)
        await uow.commit()
    _expect_same(kept, await _reading(uow_factory, footprint), "writes committed after a rollback must persist")


async def check_uncommitted_writes_are_invisible_to_other_units(uow_factory: UnitOfWorkFactory) -> None:
    """In every repository: another unit open at the same time sees a write only once it is committed, and a
    plain read there does not wait for the writer."""
    footprint, before = await _seeded(uow_factory)
    async with uow_factory() as writer:
        written = await _written(writer, footprint, before)
        try:
            seen = await asyncio.wait_for(_reading(uow_factory, footprint), READ_TIMEOUT)
        except TimeoutError:
            raise ContractViolation(
                f"a plain read in another unit waited {READ_TIMEOUT:.0f} s for a unit holding uncommitted writes"
            ) from None
        _expect_same(before, seen, "another unit must not see uncommitted writes")
        await writer.commit()
    _expect_same(written, await _reading(uow_factory, footprint), "a committed write must be visible to new units")


# ----------------------------------------------------------------------------- catalog


async def check_agency_and_creator_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    """Agencies and creators come back equal; upsert replaces; ``for_agency`` lists by id."""
    agency = Agency(AgencyId(uid("agency")), "Round Trip Talent", fanvue_user_uuid=uid("fv"), timezone="Europe/Berlin")
    bare = Agency(AgencyId(uid("agency")), "No Fanvue User Yet")
    creators = [
        Creator(CreatorId(uid("creator-b")), agency.id, "bee", "Bee", T0),
        Creator(CreatorId(uid("creator-a")), agency.id, "ay", "Ay Ünïcode ✨", T0 + timedelta(microseconds=7)),
    ]
    other = Creator(CreatorId(uid("creator")), bare.id, "other", "Other", T0)
    async with uow_factory() as uow:
        for a in (agency, bare):
            await uow.agencies.upsert(a)
        for c in (*creators, other):
            await uow.creators.upsert(c)
        await uow.commit()

    async with uow_factory() as uow:
        _expect(await uow.agencies.get(agency.id) == agency, "an agency must round-trip unchanged")
        _expect(await uow.agencies.get(bare.id) == bare, "an agency without a Fanvue user must round-trip")
        _expect(await uow.agencies.get(AgencyId(uid("absent"))) is None, "an unknown agency must be None")
        listed = {a.id: a for a in await uow.agencies.list()}
        _expect(listed.get(agency.id) == agency and listed.get(bare.id) == bare, "list() must include every agency")
        for c in (*creators, other):
            _expect(await uow.creators.get(c.id) == c, f"creator {c.handle} must round-trip unchanged")
        _expect(await uow.creators.get(CreatorId(uid("absent"))) is None, "an unknown creator must be None")
        _expect(
            await uow.creators.for_agency(agency.id) == sorted(creators, key=lambda c: c.id),
            "for_agency must list exactly the agency's creators, ordered by id",
        )

    renamed = Agency(agency.id, "Renamed Talent", agency.fanvue_user_uuid, "America/New_York")
    moved = Creator(creators[0].id, bare.id, "bee2", "Bee Two", creators[0].imported_at)
    async with uow_factory() as uow:
        await uow.agencies.upsert(renamed)
        await uow.creators.upsert(moved)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(
            await uow.agencies.get(agency.id) == renamed, "upsert of an existing agency must replace it, time zone too"
        )
        _expect(await uow.creators.get(moved.id) == moved, "upsert of an existing creator must replace it")
        _expect(await uow.creators.for_agency(agency.id) == [creators[1]], "a moved creator leaves its old agency")
        _expect(
            await uow.creators.for_agency(bare.id) == sorted([moved, other], key=lambda c: c.id),
            "a moved creator joins its new agency",
        )


# ----------------------------------------------------------------------------- connections


async def _seed_connections(uow_factory: UnitOfWorkFactory) -> tuple[Connection, Connection, CreatorId]:
    """A fresh agency and creator with an agency-level and a creator-level connection, committed."""
    agency_id, creator_id = await _seed_creator(uow_factory)
    agency_conn = new_connection(ConnectionKind.AGENCY, agency_id, None, 1, T0)
    own_conn = new_connection(ConnectionKind.CREATOR, agency_id, creator_id, 1, T0)
    async with uow_factory() as uow:
        await uow.connections.save(agency_conn)
        await uow.connections.save(own_conn)
        await uow.commit()
    return agency_conn, own_conn, creator_id


async def check_connection_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    """Connections come back equal (tokens or none); ``for_agency``/``for_creator`` find the right grant."""
    agency_conn, own_conn, creator_id = await _seed_connections(uow_factory)
    async with uow_factory() as uow:
        _expect(await uow.connections.get(agency_conn.id) == agency_conn, "a connection must round-trip unchanged")
        _expect(await uow.connections.get(own_conn.id) == own_conn, "a creator connection must round-trip")
        _expect(
            await uow.connections.for_agency(agency_conn.agency_id) == agency_conn,
            "for_agency must return the agency-level connection",
        )
        _expect(
            await uow.connections.for_creator(creator_id) == own_conn,
            "for_creator must return the creator's own connection",
        )
        _expect(await uow.connections.get_for_update(own_conn.id) == own_conn, "get_for_update must read the row")
        _expect(await uow.connections.get(ConnectionId(uid("absent"))) is None, "an unknown connection is None")
        _expect(await uow.connections.for_agency(AgencyId(uid("absent"))) is None, "no agency connection: None")
        _expect(await uow.connections.for_creator(CreatorId(uid("absent"))) is None, "no creator connection: None")

    # A connection that lost its grant keeps no tokens, and says why.
    ended = own_conn.marked_needs_reauth("invalid_grant: refresh token expired")
    used = agency_conn.marked_used(T0 + timedelta(minutes=5))
    async with uow_factory() as uow:
        await uow.connections.save(ended)
        await uow.connections.save(used)
        _expect(
            await uow.connections.get(ended.id) == ended,
            "a connection without tokens must round-trip, also in the unit that saved it",
        )
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.connections.get(ended.id) == ended, "a connection without tokens must round-trip")
        _expect(await uow.connections.get(used.id) == used, "save without a fence must replace the row")


async def check_connection_version_fence(uow_factory: UnitOfWorkFactory) -> None:
    """``save(expected_version=v)`` stores only while the stored ``token_version`` is still ``v``."""
    agency_conn, _, _ = await _seed_connections(uow_factory)
    # Two refreshers read version 1; the first to save wins, the second is fenced off.
    first = refreshed_connection(agency_conn, T0 + timedelta(minutes=1))
    second = refreshed_connection(agency_conn, T0 + timedelta(minutes=2))
    async with uow_factory() as uow:
        await uow.connections.save(first, expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        try:
            await uow.connections.save(second, expected_version=1)
        except ConcurrentUpdateError:
            pass
        else:
            raise ContractViolation("save(expected_version=1) over version 2 must raise ConcurrentUpdateError")
    async with uow_factory() as uow:
        _expect(await uow.connections.get(agency_conn.id) == first, "a fenced-off save must leave the winner's row")

    # Under get_for_update, a matching fence stores; a connection never stored fails any fence.
    third = refreshed_connection(first, T0 + timedelta(minutes=3))
    async with uow_factory() as uow:
        _expect(await uow.connections.get_for_update(agency_conn.id) == first, "get_for_update reads the row")
        await uow.connections.save(third, expected_version=2)
        await uow.commit()
    ghost = new_connection(ConnectionKind.AGENCY, AgencyId(uid("agency")), None, 5, T0)
    async with uow_factory() as uow:
        try:
            await uow.connections.save(ghost, expected_version=4)
        except ConcurrentUpdateError:
            pass
        else:
            raise ContractViolation("save(expected_version=...) of a connection never stored must raise")
    async with uow_factory() as uow:
        _expect(await uow.connections.get(agency_conn.id) == third, "a fenced save that matched must persist")
        _expect(await uow.connections.get(ghost.id) is None, "a refused save must store nothing")


# ----------------------------------------------------------------------------- stats


def _records(observations: list[Observation], now: datetime) -> tuple[dict[str, MetricRecord], list[StatsEvent]]:
    records, events = merge_all({}, observations, MergePolicy(), now)
    return records, list(events)


async def check_stats_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    """Records come back encoding identically; save replaces only the metrics given; events keep their order."""
    _, creator_id = await _seed_creator(uow_factory)
    src = "contract"
    at = [T0 + timedelta(minutes=m) for m in range(8)]
    # Enough history to fill every field: a window, a held cliff, a stale spell, an adjustment, a floor.
    observations: list[Observation] = [
        Ok(Metric.SUBSCRIBERS, 812, at[0], src),
        Ok(Metric.SUBSCRIBERS, 3, at[1], src),
        Missing(Metric.SUBSCRIBERS, MissingReason.TIMEOUT, at[2], src, "read timed out"),
        Ok(Metric.REVENUE_TOTAL, 125_000, at[0], src),
        Adjustment(Metric.REVENUE_TOTAL, 5_000, at[1], uid("refund"), "refund"),
        Floor(Metric.REVENUE_TOTAL, 126_000, at[2], "onyx:ledger"),
        Missing(Metric.FOLLOWERS, MissingReason.PERMISSION, at[0], src),
        Ok("custom_metric", 0, at[0], src),
    ]
    records, events = _records(observations, at[3])
    _expect(bool(events), "(the contract's own setup must produce events)")
    async with uow_factory() as uow:
        _expect(await uow.stats.get(creator_id) == {}, "a creator with no stats must read as an empty dict")
        await uow.stats.save(creator_id, records, events, at[3])
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.stats.get(creator_id)
        _expect(
            set(stored) == set(records), f"saved metrics {sorted(records)} must all come back, got {sorted(stored)}"
        )
        for metric, record in records.items():
            _expect(
                encode_record(stored[metric]) == encode_record(record),
                f"{metric}: the stored record must encode identically after a round trip",
            )
        _expect(await uow.stats.events(creator_id) == events, "events must come back equal, in saved order")
        subscribers = [e for e in events if e.metric == Metric.SUBSCRIBERS]
        _expect(await uow.stats.events(creator_id, Metric.SUBSCRIBERS) == subscribers, "events(metric) filters")

    # A second save of one metric replaces it alone and appends its events after the first ones.
    updated = merge(records[Metric.SUBSCRIBERS], Ok(Metric.SUBSCRIBERS, 3, at[6], src), MergePolicy(), at[7])
    async with uow_factory() as uow:
        locked = await uow.stats.get_for_update(creator_id)
        _expect(set(locked) == set(records), "get_for_update must read the same records as get")
        await uow.stats.save(creator_id, {Metric.SUBSCRIBERS: updated.record}, updated.events, at[7])
        _expect(
            (await uow.stats.get(creator_id)).get(Metric.SUBSCRIBERS) == updated.record,
            "a unit must read its own saved record",
        )
        await uow.commit()
    async with uow_factory() as uow:
        encoded = {m: encode_record(r) for m, r in (await uow.stats.get(creator_id)).items()}
        _expect(encoded.get(Metric.SUBSCRIBERS) == encode_record(updated.record), "save must replace the metric")
        _expect(
            all(encoded.get(m) == encode_record(r) for m, r in records.items() if m != Metric.SUBSCRIBERS),
            "save must leave the metrics it was not given unchanged",
        )
        _expect(
            await uow.stats.events(creator_id) == [*events, *updated.events],
            "later events must come after earlier ones",
        )
    _, other = await _seed_creator(uow_factory)
    async with uow_factory() as uow:
        _expect(await uow.stats.get(other) == {}, "another creator's stats must not leak")
        _expect(await uow.stats.events(other) == [], "another creator's events must not leak")


NO_RECORD_EVENTS = "events that change no record must be stored"
IDENTICAL_EVENTS = "identical events are distinct events"


def _expect_appended(before: list[StatsEvent], saved: tuple[StatsEvent, ...], got: list[StatsEvent], when: str) -> None:
    """``got`` must be ``before`` followed by ``saved``; if not, name the rule the storage broke."""
    expected = [*before, *saved]
    if got == expected:
        return
    added = got[len(before) :] if got[: len(before)] == before else None
    missing = Counter(saved) - Counter(added or [])
    if added is not None and missing and all(event in before for event in missing):
        rule = f"{IDENTICAL_EVENTS}: an event equal to one already stored must be stored again"
    elif added == []:
        rule = f"{NO_RECORD_EVENTS} (a save of events without records kept none)"
    elif added is not None and missing and set(added) == set(saved):
        rule = f"{IDENTICAL_EVENTS}: equal events saved together must all be stored"
    else:
        rule = "saved events must be appended after the stored ones, in order"
    raise ContractViolation(f"{rule}, {when} ({event_difference(expected, got)})")


async def check_stats_events_are_stored_as_given(uow_factory: UnitOfWorkFactory) -> None:
    """Every event saved is stored, in order: also when the save changes no record (an observation ignored as
    late, or rejected, changes nothing but its event), once per occurrence (two equal events are two events: the
    history counts them), and from every save of a unit, not only its last."""
    _, creator_id = await _seed_creator(uow_factory)
    now = T0 + timedelta(hours=2)
    records, first = _records([Ok(Metric.FOLLOWERS, 50, now, "contract")], now)
    async with uow_factory() as uow:
        await uow.stats.save(creator_id, records, first, now)
        await uow.commit()
    async with uow_factory() as uow:
        records_before = await uow.stats.get(creator_id)

    # What merging an observation from beyond the horizon twice in one batch gives: two equal events, no record.
    ignored = StatsEvent(Metric.FOLLOWERS, EventKind.IGNORED_LATE, T0, "contract", detail="older than the horizon")
    twice = (ignored, ignored)
    async with uow_factory() as uow:
        await uow.stats.save(creator_id, {}, twice, now)
        _expect_appended(first, twice, await uow.stats.events(creator_id), "read in the unit that saved them")
        await uow.commit()
    async with uow_factory() as uow:
        _expect_appended(first, twice, await uow.stats.events(creator_id), "read after the commit")

    again = (ignored,)
    async with uow_factory() as uow:
        await uow.stats.save(creator_id, {}, again, now)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.stats.events(creator_id)
        only = await uow.stats.events(creator_id, Metric.FOLLOWERS)
        records_after = await uow.stats.get(creator_id)
    _expect_appended([*first, *twice], again, stored, "read after the commit")
    _expect(only == stored, "events(metric) must return every event of the metric, equal ones included")
    _expect(
        {m: encode_record(r) for m, r in records_after.items()}
        == {m: encode_record(r) for m, r in records_before.items()},
        "a save of events alone must leave the records unchanged",
    )

    # Two saves in one unit (a page's refunds, then the refresh's merge): both are kept, in order.
    likes, applied = _records([Ok(Metric.LIKES, 9, now, "contract")], now)
    stale = StatsEvent(Metric.FOLLOWERS, EventKind.MARKED_STALE, now, "contract", 50, 50, "timeout")
    async with uow_factory() as uow:
        await uow.stats.save(creator_id, {}, (stale,), now)
        await uow.stats.save(creator_id, likes, applied, now)
        await uow.commit()
    async with uow_factory() as uow:
        events = await uow.stats.events(creator_id)
        records_after = await uow.stats.get(creator_id)
    expected = [*stored, stale, *applied]
    _expect(
        events == expected,
        f"every save of a unit must be kept: a later save must not replace an earlier one's events "
        f"({event_difference(expected, events)})",
    )
    _expect(
        set(records_after) == {*records_before, *likes},
        "every save of a unit must be kept: a later save must not drop an earlier one's records",
    )


async def check_stats_for_creators_and_event_pages(uow_factory: UnitOfWorkFactory) -> None:
    """``for_creators`` reads many creators' records at once (a creator without stats is absent);
    ``event_page`` gives events newest first, ``before`` an id and ``limit`` long, filtered by metric."""
    _, first = await _seed_creator(uow_factory)
    _, second = await _seed_creator(uow_factory)
    _, empty = await _seed_creator(uow_factory)
    at = [T0 + timedelta(minutes=m) for m in range(4)]
    observations: list[Observation] = [
        Ok(Metric.SUBSCRIBERS, 10, at[0], "contract"),
        Ok(Metric.SUBSCRIBERS, 12, at[1], "contract"),
        Ok(Metric.FOLLOWERS, 7, at[1], "contract"),
        Missing(Metric.FOLLOWERS, MissingReason.TIMEOUT, at[2], "contract"),
    ]
    records, events = _records(observations, at[3])
    other, other_events = _records([Ok(Metric.POSTS, 3, at[0], "contract")], at[3])
    async with uow_factory() as uow:
        await uow.stats.save(first, records, events, at[3])
        await uow.stats.save(second, other, other_events, at[3])
        await uow.commit()
    async with uow_factory() as uow:
        many = await uow.stats.for_creators([first, second, empty])
        _expect(set(many) == {first, second}, "for_creators leaves out a creator without stats")
        _expect(many[first] == await uow.stats.get(first), "for_creators reads what get reads")
        _expect(many[second] == await uow.stats.get(second), "for_creators reads what get reads")
        _expect(await uow.stats.for_creators([]) == {}, "for_creators of no creator is empty")
        page = await uow.stats.event_page(first, limit=100)
        _expect([e.event for e in page] == list(reversed(events)), "event_page is newest first")
        _expect(all(e.recorded_at == at[3] for e in page), "event_page says when each event was recorded")
        ids = [e.id for e in page]
        _expect(ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), "event ids fall down the page")
        head = await uow.stats.event_page(first, limit=2)
        rest = await uow.stats.event_page(first, before=head[-1].id, limit=100)
        _expect(head + rest == page, "pages by before/limit cover the events once")
        followers = await uow.stats.event_page(first, metric=Metric.FOLLOWERS)
        expected = [e for e in reversed(events) if e.metric == Metric.FOLLOWERS]
        _expect([e.event for e in followers] == expected, "event_page(metric) filters")
        _expect(await uow.stats.event_page(empty) == [], "another creator's events do not leak")


async def check_stats_get_for_update_serialises_writers(uow_factory: UnitOfWorkFactory) -> None:
    """Concurrent read-merge-write units on one creator lose no update: ``get_for_update`` serialises them."""
    _, creator_id = await _seed_creator(uow_factory)
    metric = Metric.FOLLOWERS
    policy = MergePolicy()
    now = T0 + timedelta(seconds=CONCURRENT_WRITERS)

    async def writer(i: int) -> None:
        observation = Ok(metric, 1_000 + i, T0 + timedelta(seconds=i), f"writer-{i}")
        async with uow_factory() as uow:
            records = await uow.stats.get_for_update(creator_id)
            await asyncio.sleep(0)  # invite the other writers in between the read and the write
            result = merge(records.get(metric), observation, policy, now)
            await uow.stats.save(creator_id, {metric: result.record}, result.events, now)
            await uow.commit()

    async def seen() -> set[datetime]:
        async with uow_factory() as uow:
            record = (await uow.stats.get(creator_id)).get(metric)
        return set() if record is None else {o.at for o in record.window}

    # One after the other first: an update lost here is lost by save or get, not for want of a lock.
    for i in range(2):
        await writer(i)
    _expect(
        len(await seen()) == 2,
        "an update of one writer after another was lost: records must read back as saved (not a locking problem)",
    )
    await asyncio.gather(*(writer(i) for i in range(2, CONCURRENT_WRITERS)))
    lost = CONCURRENT_WRITERS - len(await seen())
    _expect(lost == 0, f"{lost} of {CONCURRENT_WRITERS} concurrent updates were lost: get_for_update must lock")


# ----------------------------------------------------------------------------- ledger


async def check_ledger_upsert_is_idempotent(uow_factory: UnitOfWorkFactory) -> None:
    """Upsert by (creator, key): new keys insert, equal rows do nothing, changed rows update; reads filter and
    order by (occurred_at, key); ``net_total`` sums one currency."""
    _, creator_id = await _seed_creator(uow_factory)
    _, other_id = await _seed_creator(uow_factory)
    same_time = T0 + timedelta(hours=1)
    entries = [
        ledger_entry(creator_id, T0, 1000),
        ledger_entry(creator_id, same_time, 500, key="earning:b"),
        ledger_entry(creator_id, same_time, 700, key="earning:a"),
        ledger_entry(creator_id, T0 + timedelta(hours=2), -300, kind=EntryKind.REFUND),
        ledger_entry(creator_id, T0 + timedelta(hours=3), 900, currency="EUR"),
    ]
    shared_key = entries[0].key
    elsewhere = ledger_entry(other_id, T0, 5000, key=shared_key)  # keys are unique per creator, not globally

    async with uow_factory() as uow:
        first = await uow.ledger.upsert(entries)
        _expect(
            sorted(first.inserted, key=lambda e: e.key) == sorted(entries, key=lambda e: e.key),
            "the first upsert must report every entry inserted",
        )
        _expect(first.updated == 0, "a first upsert updates nothing")
        _expect(len(await uow.ledger.entries(creator_id)) == 5, "a unit must read its own upserted entries")
        await uow.commit()
    async with uow_factory() as uow:
        other = await uow.ledger.upsert([elsewhere])
        await uow.commit()
    _expect(other.inserted == (elsewhere,), "the same key under another creator is a new entry")

    async with uow_factory() as uow:
        again = await uow.ledger.upsert(entries)
        await uow.commit()
    _expect(again.inserted == () and again.updated == 0, f"re-upserting equal rows must change nothing, got {again}")

    corrected = LedgerEntry(
        creator_id, entries[0].key, entries[0].occurred_at, entries[0].source, Money(1100), Money(880),
        fan_id=entries[0].fan_id, original_currency=entries[0].original_currency,
    )  # fmt: skip
    new = ledger_entry(creator_id, T0 + timedelta(hours=4), 200)
    async with uow_factory() as uow:
        mixed = await uow.ledger.upsert([corrected, entries[1], new])
        await uow.commit()
    _expect(mixed.inserted == (new,), "only the new key must be reported inserted")
    _expect(mixed.updated == 1, f"exactly the changed row must count as updated, got {mixed.updated}")

    expected = sorted([corrected, *entries[1:], new], key=lambda e: (e.occurred_at, e.key))
    async with uow_factory() as uow:
        stored = await uow.ledger.entries(creator_id)
        _expect(stored == expected, "entries must round-trip unchanged, ordered by (occurred_at, key)")
        window = Period(same_time, T0 + timedelta(hours=3))
        inside = [e for e in expected if window.start <= e.occurred_at < window.end]
        _expect(len(inside) == 3, "(the contract's own window must hold the two same-time entries and the refund)")
        _expect(await uow.ledger.entries(creator_id, window) == inside, "entries(period): start <= occurred_at < end")
        _expect(await uow.ledger.entries(creator_id, Period(T0, T0)) == [], "an empty period holds no entries")
        usd = sum(e.net.cents for e in expected if e.net.currency == "USD")
        _expect(await uow.ledger.net_total(creator_id, "USD") == usd, "net_total sums net cents of one currency")
        _expect(await uow.ledger.net_total(creator_id, "EUR") == 720, "net_total must not mix currencies")
        _expect(await uow.ledger.net_total(creator_id, "GBP") == 0, "net_total of an absent currency is 0")
        _expect(await uow.ledger.entries(other_id) == [elsewhere], "another creator's ledger must not leak")
    await _check_a_large_ledger_batch(uow_factory, creator_id, other_id)


LARGE_BATCH = 2_500
"""Rows in the large batches of the ledger contract: more than a sync's unit of work (2,000) and than one
statement of a multi-row ``VALUES`` carries in the SQL adapters, so batching inside the upsert is exercised."""


async def _check_a_large_ledger_batch(
    uow_factory: UnitOfWorkFactory, creator_id: CreatorId, other_id: CreatorId
) -> None:
    """A large upsert reports like the small ones: new rows inserted (in input order), equal rows nothing,
    changed rows updated, a key repeated within the batch as sequential upserts would, two creators at once."""
    start = T0 + timedelta(days=10)
    big = [
        ledger_entry(
            other_id if n % 7 == 0 else creator_id, start + timedelta(seconds=n), 100 + n, key=f"earning:big-{n:05d}"
        )
        for n in range(LARGE_BATCH)
    ]
    half = LARGE_BATCH // 2
    async with uow_factory() as uow:
        first = await uow.ledger.upsert(big[:half])
        await uow.commit()
    _expect(first.inserted == tuple(big[:half]), "a large batch's new rows must all be reported, in input order")
    _expect(first.updated == 0, "a large first upsert updates nothing")

    changed = {e.key: replace(e, gross=Money(e.gross.cents + 1), net=Money(e.net.cents + 1)) for e in big[:half:10]}
    # the stored half again (equal), then every tenth of it changed (the key repeats), then the new half
    batch = [*big[:half], *changed.values(), *big[half:]]
    async with uow_factory() as uow:
        second = await uow.ledger.upsert(batch)
        await uow.commit()
    _expect(second.inserted == tuple(big[half:]), "in a large mixed batch only the new keys are inserted")
    _expect(
        second.updated == len(changed),
        f"in a large mixed batch exactly the {len(changed)} changed rows are updated, got {second.updated}",
    )
    async with uow_factory() as uow:
        again = await uow.ledger.upsert(batch)
        await uow.commit()
    # each changed key is written back to its first version, then changed again: two updates, as sequential upserts
    _expect(
        again.inserted == () and again.updated == 2 * len(changed),
        f"the large mixed batch again must update each changed key twice and insert nothing, got {again}",
    )
    final = [changed.get(e.key, e) for e in big]
    async with uow_factory() as uow:
        for owner in (creator_id, other_id):
            stored = [e for e in await uow.ledger.entries(owner) if e.key.startswith("earning:big-")]
            expected = [e for e in final if e.creator_id == owner]
            _expect(stored == expected, f"a large batch's rows must round-trip ({len(stored)} of {len(expected)})")


async def check_ledger_earnings_by_day(uow_factory: UnitOfWorkFactory) -> None:
    """``earnings_by_day`` sums gross and net of the USD earnings per UTC calendar day in ``[start, end)``: not
    reversals, not another currency, not another creator; a day's first and last microsecond fall on that day
    whatever zone the instant was given in; a day without earnings is left out."""
    _, creator_id = await _seed_creator(uow_factory)
    _, other_id = await _seed_creator(uow_factory)
    midnight = datetime.combine(T0.date() + timedelta(days=1), time(), tzinfo=UTC)
    last_instant = midnight - timedelta(microseconds=1)
    tokyo = timezone(timedelta(hours=9))
    entries = [
        ledger_entry(creator_id, midnight - timedelta(hours=5), 1000),
        ledger_entry(creator_id, last_instant, 501),  # still the first day
        ledger_entry(creator_id, midnight, 300),  # the second day's first instant
        ledger_entry(creator_id, (midnight + timedelta(hours=20)).astimezone(tokyo), 99),  # next calendar day there
        ledger_entry(creator_id, midnight + timedelta(hours=2), -200, kind=EntryKind.REFUND),
        ledger_entry(creator_id, midnight + timedelta(hours=3), 700, currency="EUR"),
        ledger_entry(creator_id, midnight + timedelta(days=3), 400),  # outside [start, end)
        ledger_entry(other_id, midnight, 5000),
    ]
    async with uow_factory() as uow:
        await uow.ledger.upsert(entries)
        await uow.commit()
    first, second = midnight.date() - timedelta(days=1), midnight.date()
    expected = {
        first: DayTotals(1000 + 501, 800 + 400),
        second: DayTotals(300 + 99, 240 + 79),
    }
    async with uow_factory() as uow:
        got = await uow.ledger.earnings_by_day(creator_id, first - timedelta(days=1), second + timedelta(days=3))
        _expect(got == expected, f"earnings_by_day: expected {expected}, got {got}")
        only_second = await uow.ledger.earnings_by_day(creator_id, second, second + timedelta(days=1))
        _expect(only_second == {second: expected[second]}, f"earnings_by_day must keep to [start, end): {only_second}")
        none = await uow.ledger.earnings_by_day(creator_id, first - timedelta(days=9), first)
        _expect(none == {}, f"days without earnings are left out, got {none}")


# ----------------------------------------------------------------------------- the other streams


async def check_history_upsert_replaces_days(uow_factory: UnitOfWorkFactory) -> None:
    """Subscriber days upsert by (creator, day); ``days(start, end)`` is half-open and ordered."""
    _, creator_id = await _seed_creator(uow_factory)
    _, other_id = await _seed_creator(uow_factory)
    d = [date(2026, 2, 26) + timedelta(days=i) for i in range(6)]
    async with uow_factory() as uow:
        await uow.history.upsert([SubscriberDay(creator_id, d[i], 10 + i, i) for i in (2, 0, 1)])
        await uow.history.upsert([SubscriberDay(other_id, d[1], 99, 99)])
        await uow.commit()
    async with uow_factory() as uow:
        await uow.history.upsert([SubscriberDay(creator_id, d[1], 5, 5), SubscriberDay(creator_id, d[3], 0, 0)])
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.history.days(creator_id, d[0], d[5])
        expected = [
            SubscriberDay(creator_id, d[0], 10, 0),
            SubscriberDay(creator_id, d[1], 5, 5),
            SubscriberDay(creator_id, d[2], 12, 2),
            SubscriberDay(creator_id, d[3], 0, 0),
        ]
        _expect(got == expected, "a later report for a day must replace it; days come back ordered")
        _expect(await uow.history.days(creator_id, d[1], d[3]) == expected[1:3], "days(start, end) is [start, end)")
        _expect(await uow.history.days(creator_id, d[4], d[4]) == [], "an empty range holds no days")
        _expect(await uow.history.days(other_id, d[0], d[5]) == [SubscriberDay(other_id, d[1], 99, 99)], "no leaks")


async def check_top_spenders_replace(uow_factory: UnitOfWorkFactory) -> None:
    """``replace`` swaps a scope's whole list; ``get`` returns it ordered by rank, other scopes untouched."""
    agency_id, creator_id = await _seed_creator(uow_factory)
    scope = agency_scope(agency_id)
    first = [ranked_spender(r, creator_id, 10_000 - r) for r in (1, 2, 3)]
    agency_list = [ranked_spender(r, None, 50_000 - r) for r in (1, 2)]
    async with uow_factory() as uow:
        _expect(await uow.top_spenders.get(creator_id) == [], "a scope never stored reads as []")
        await uow.top_spenders.replace(creator_id, first, T0)
        await uow.top_spenders.replace(scope, agency_list, T0)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.top_spenders.get(creator_id) == first, "a snapshot must round-trip, ordered by rank")
    second = [ranked_spender(r, creator_id, 20_000 - r) for r in (1, 2)]
    async with uow_factory() as uow:
        await uow.top_spenders.replace(creator_id, second, T0 + timedelta(hours=1))
        _expect(
            await uow.top_spenders.get(creator_id) == second,
            "replace must drop the old list entirely, also as read in the unit that replaced it",
        )
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.top_spenders.get(creator_id) == second, "replace must drop the old list entirely")
        _expect(await uow.top_spenders.get(scope) == agency_list, "replace must leave other scopes alone")


async def check_tracking_links_upsert(uow_factory: UnitOfWorkFactory) -> None:
    """Links upsert by id (counters move, nothing is deleted); ``for_creator`` lists one creator's links."""
    _, creator_id = await _seed_creator(uow_factory)
    _, other_id = await _seed_creator(uow_factory)
    bio, story = tracking_link(creator_id, "bio", 100, None), tracking_link(creator_id, "story", 40, 1_500)
    theirs = tracking_link(other_id, "bio", 7, 0)
    async with uow_factory() as uow:
        await uow.tracking_links.upsert([bio, story, theirs])
        await uow.commit()
    bio_later = TrackingLink(
        bio.id, creator_id, bio.name, bio.url, bio.platform, bio.created_at, 150, 20, 30, Money(999), Money(799)
    )
    reel = tracking_link(creator_id, "reel", 0, None)
    async with uow_factory() as uow:
        await uow.tracking_links.upsert([bio_later, reel])
        await uow.commit()

    def by_id(links: list[TrackingLink]) -> list[TrackingLink]:
        return sorted(links, key=lambda link: link.id)

    async with uow_factory() as uow:
        _expect(await uow.tracking_links.for_creator(other_id) == [theirs], "another creator's links must not leak")
        got = await uow.tracking_links.for_creator(creator_id)
        _expect(by_id(got) == by_id([bio_later, story, reel]), "upsert must replace by id and keep the others")
        _expect(await uow.tracking_links.get(bio.id) == bio_later, "get must find a link by id")
        _expect(await uow.tracking_links.get(TrackingLinkId(uid("absent"))) is None, "an unknown link must be None")


async def check_tracking_link_costs(uow_factory: UnitOfWorkFactory) -> None:
    """A link's cost round-trips, is replaced by the next one, and survives the sync's upsert of its link."""
    agency_id, creator_id = await _seed_creator(uow_factory)
    bio, story = tracking_link(creator_id, "bio", 100, 2_000), tracking_link(creator_id, "story", 40, None)
    first, eur = TrackingLinkCost(bio.id, Money(5_000), T0), TrackingLinkCost(story.id, Money(0, "EUR"), T0)
    async with uow_factory() as uow:
        await uow.tracking_links.upsert([bio, story])
        await uow.link_costs.save(first)
        await uow.link_costs.save(eur)
        await uow.commit()
    later = TrackingLinkCost(bio.id, Money(7_500), T0 + timedelta(minutes=1))
    synced = replace(bio, clicks=250)
    async with uow_factory() as uow:
        _expect(await uow.link_costs.get(bio.id) == first, "a link's cost must round-trip unchanged")
        await uow.link_costs.save(later)
        await uow.tracking_links.upsert([synced])  # what every sync does
        await uow.commit()
    absent = TrackingLinkId(uid("absent"))
    async with uow_factory() as uow:
        _expect(await uow.link_costs.get(bio.id) == later, "save must replace the cost; a sync must never wipe it")
        _expect(await uow.link_costs.get(absent) is None, "a link without a cost must be None")
        _expect(
            await uow.link_costs.for_links([bio.id, story.id, absent]) == {bio.id: later, story.id: eur},
            "for_links must give exactly the costs of the links asked for",
        )
        _expect(await uow.link_costs.for_links([]) == {}, "for_links of no link must be empty")
        _expect(
            await uow.link_costs.for_agency(agency_id) == {bio.id: later, story.id: eur},
            "for_agency must give the costs of the agency's links",
        )
        _expect(await uow.link_costs.for_agency(AgencyId(uid("other"))) == {}, "for_agency must not leak costs")


async def check_chatter_days_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    """Chatter days upsert on (agency, day, chatter) and come back by day then chatter, one agency's only."""
    agency_id, _ = await _seed_creator(uow_factory)
    other, _ = await _seed_creator(uow_factory)
    day = T0.date()

    def row(agency: AgencyId, on: date, chatter: str, sent: int, unlocked: int) -> ChatterDay:
        return ChatterDay(agency, on, chatter, f"Chatter {chatter}", sent * 3, sent, unlocked, Money(unlocked * 900))

    first = [
        row(agency_id, day, "b", 10, 4),
        row(agency_id, day, "a", 5, 5),
        row(agency_id, day + timedelta(1), "a", 2, 0),
    ]
    theirs = row(other, day, "a", 7, 7)
    async with uow_factory() as uow:
        await uow.chatter_days.upsert([*first, theirs])
        await uow.commit()
    corrected = row(agency_id, day, "b", 12, 6)
    async with uow_factory() as uow:
        await uow.chatter_days.upsert([corrected])
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.chatter_days.for_agency(agency_id, day, day + timedelta(days=2))
        one_day = await uow.chatter_days.for_agency(agency_id, day + timedelta(days=1), day + timedelta(days=2))
        _expect(
            await uow.chatter_days.for_agency(other, day, day + timedelta(days=1)) == [theirs], "one agency's rows only"
        )
    _expect(got == [first[1], corrected, first[2]], "upsert must replace a (day, chatter) row; rows by day, chatter")
    _expect(one_day == [first[2]], "for_agency must keep to [start, end)")


async def check_cursor_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    """Cursors are keyed by (creator, stream) and come back equal, every field included."""
    _, creator_id = await _seed_creator(uow_factory)
    fresh = SyncCursor(creator_id, Stream.EARNINGS)
    running = SyncCursor(
        creator_id,
        Stream.REVERSALS,
        T0,
        backfilled=True,
        window_start=T0 - timedelta(days=7),
        window_end=T0 + timedelta(hours=1),
        page_cursor="page-2",
        updated_at=T0,
    )
    async with uow_factory() as uow:
        _expect(await uow.cursors.get(creator_id, Stream.EARNINGS) is None, "a cursor never saved must be None")
        await uow.cursors.save(fresh)
        await uow.cursors.save(running)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.cursors.get(creator_id, Stream.EARNINGS) == fresh, "an empty cursor must round-trip")
        _expect(await uow.cursors.get(creator_id, Stream.REVERSALS) == running, "a full cursor must round-trip")
        _expect(await uow.cursors.get(creator_id, Stream.TOP_SPENDERS) is None, "cursors are per stream")
    done = running.completed(T0 + timedelta(hours=2), saw_data=True)
    async with uow_factory() as uow:
        await uow.cursors.save(done)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.cursors.get(creator_id, Stream.REVERSALS) == done, "save must replace the cursor")
        _expect(await uow.cursors.get(creator_id, Stream.EARNINGS) == fresh, "save must leave other streams alone")


async def check_connection_touch_and_list(uow_factory: UnitOfWorkFactory) -> None:
    """``touch`` moves ``last_used_at`` forward only and leaves the tokens and version alone; ``list`` has every
    connection, ordered by id, and ``list(agency_id)`` exactly that agency's."""
    agency_conn, own_conn, _ = await _seed_connections(uow_factory)
    later, earlier = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
    async with uow_factory() as uow:
        await uow.connections.touch(agency_conn.id, later)
        await uow.connections.touch(agency_conn.id, earlier)
        await uow.connections.touch(ConnectionId(uid("absent")), later)
        await uow.commit()
    async with uow_factory() as uow:
        touched = await uow.connections.get(agency_conn.id)
        listed = await uow.connections.list()
    expected = agency_conn.marked_used(later)
    _expect(touched == expected, "touch must set last_used_at and nothing else, never back")
    ours = [c for c in listed if c.id in (agency_conn.id, own_conn.id)]
    _expect(ours == sorted([expected, own_conn], key=lambda c: c.id), "list must hold every connection as stored")
    _expect([c.id for c in listed] == sorted(c.id for c in listed), "list must be ordered by id")
    async with uow_factory() as uow:
        only = await uow.connections.list(agency_conn.agency_id)
        elsewhere = await uow.connections.list(AgencyId(uid("no-such-agency")))
    mine = sorted((c for c in listed if c.agency_id == agency_conn.agency_id), key=lambda c: c.id)
    _expect(only == mine and len(mine) >= 2, "list(agency_id) must hold exactly that agency's connections")
    _expect(elsewhere == [], "list(agency_id) of an agency without connections must be empty")


async def check_for_agency_prefers_a_usable_connection(uow_factory: UnitOfWorkFactory) -> None:
    """With a dead and a live agency connection (another team member reconnected), ``for_agency`` is the live
    one, whatever the ids; among live ones, the most recently refreshed."""
    agency_id = AgencyId(uid("agency"))
    async with uow_factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Two members"))
        await uow.commit()
    dead = new_connection(ConnectionKind.AGENCY, agency_id, None, 1, T0)
    dead = replace(dead, id=ConnectionId("a-" + dead.id)).marked_needs_reauth("invalid_grant")
    live = new_connection(ConnectionKind.AGENCY, agency_id, None, 1, T0)
    live = replace(live, id=ConnectionId("z-" + live.id))
    newer = refreshed_connection(replace(live, id=ConnectionId("m-" + live.id)), T0 + timedelta(hours=1))
    async with uow_factory() as uow:
        await uow.connections.save(dead)
        await uow.connections.save(live)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.connections.for_agency(agency_id) == live, "for_agency must prefer the ACTIVE connection")
        await uow.connections.save(newer)
        await uow.commit()
    async with uow_factory() as uow:
        _expect(await uow.connections.for_agency(agency_id) == newer, "then the most recently refreshed one")


ALL_CONTRACTS: list[Contract] = [
    check_stats_for_creators_and_event_pages,
    check_uncommitted_work_is_discarded,
    check_uncommitted_writes_are_invisible_to_other_units,
    check_agency_and_creator_round_trip,
    check_connection_round_trip,
    check_connection_version_fence,
    check_connection_touch_and_list,
    check_for_agency_prefers_a_usable_connection,
    check_stats_round_trip,
    check_stats_events_are_stored_as_given,
    check_stats_get_for_update_serialises_writers,
    check_ledger_upsert_is_idempotent,
    check_ledger_earnings_by_day,
    check_history_upsert_replaces_days,
    check_top_spenders_replace,
    check_tracking_links_upsert,
    check_tracking_link_costs,
    check_chatter_days_round_trip,
    check_cursor_round_trip,
]
"""Every check above; run each against a fresh factory (or all against one shared database)."""

__all__ = [
    "ALL_CONTRACTS",
    "Contract",
    "ContractViolation",
    "check_agency_and_creator_round_trip",
    "check_chatter_days_round_trip",
    "check_connection_round_trip",
    "check_connection_touch_and_list",
    "check_connection_version_fence",
    "check_cursor_round_trip",
    "check_for_agency_prefers_a_usable_connection",
    "check_history_upsert_replaces_days",
    "check_ledger_earnings_by_day",
    "check_ledger_upsert_is_idempotent",
    "check_stats_events_are_stored_as_given",
    "check_stats_get_for_update_serialises_writers",
    "check_stats_round_trip",
    "check_top_spenders_replace",
    "check_tracking_link_costs",
    "check_tracking_links_upsert",
    "check_uncommitted_work_is_discarded",
    "check_uncommitted_writes_are_invisible_to_other_units",
]
