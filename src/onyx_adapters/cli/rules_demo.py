"""``onyx demo``: the core's rules at work on a seeded agency, with Fanvue failing in the usual ways.

This version runs on in-memory fakes (``onyx_core.testing``). The sync-engine issue replaces it with the Fanvue
sandbox over HTTP, the OAuth flow and an embedded SQLite database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from onyx_adapters.cli.display import metric_text
from onyx_core.catalog import Agency, CreatorProfile
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.stats import EventKind, Metric, MissingReason, StatsEvent
from onyx_core.sync import Stream
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork, ManualClock
from onyx_core.testing.fanvue import FakeFanvue
from onyx_core.tokens import TokenSet
from onyx_core.usecases import Context, import_creators, refresh_agency_stats, sync_ledger

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENCY = AgencyId("northstar")
AGENCY_CONNECTION = ConnectionId("conn-agency")
CREATORS = {
    CreatorId("c-luna"): ("luna.rose", "Luna Rose"),
    CreatorId("c-mika"): ("mika.sun", "Mika Sun"),
    CreatorId("c-ava"): ("ava.north", "Ava North"),
}
NOTABLE = {
    EventKind.MARKED_STALE,
    EventKind.RECOVERED,
    EventKind.CLIFF_HELD,
    EventKind.CLIFF_DISMISSED,
    EventKind.CLIFF_CONFIRMED,
    EventKind.REGRESSION_REJECTED,
    EventKind.DECREASE_HELD,
    EventKind.DECREASE_CONFIRMED,
    EventKind.ADJUSTMENT_RECORDED,
    EventKind.ADJUSTMENT_REFLECTED,
    EventKind.ADJUSTED,
    EventKind.FLOOR_RAISED,
}


@dataclass
class _World:
    clock: ManualClock
    store: InMemoryStore
    fanvue: FakeFanvue
    ctx: Context


def _tokens(now: datetime) -> TokenSet:
    # Demo placeholders: the fake Fanvue never checks them, and they are never printed.
    return TokenSet("demo-access", "demo-refresh", now + timedelta(hours=1), frozenset({"read:creator"}))


def _connection(cid: str, kind: ConnectionKind, creator: CreatorId | None, now: datetime) -> Connection:
    return Connection(
        id=ConnectionId(cid),
        kind=kind,
        agency_id=AGENCY,
        creator_id=creator,
        fanvue_user_uuid=f"fv-{cid}",
        status=ConnectionStatus.ACTIVE,
        tokens=_tokens(now),
        token_version=1,
        last_refreshed_at=now,
        last_used_at=None,
        last_error=None,
    )


def _earning(creator: CreatorId, n: int, at: datetime, source: str, cents: int, fan: str) -> LedgerEntry:
    gross, net = Money(cents), Money(cents * 80 // 100)
    order = f"FV-ORDER-{creator[-4:]}-{n}"
    key = ledger_key(
        kind=EntryKind.EARNING,
        transaction_order_id=order,
        occurred_at=at,
        source=source,
        gross_cents=gross.cents,
        net_cents=net.cents,
        fan_id=fan,
        reference=None,
    )
    return LedgerEntry(creator, key, at, source, gross, net, fan_id=FanId(fan))


async def _seed() -> _World:
    clock = ManualClock(START)
    store = InMemoryStore()
    fanvue = FakeFanvue(page_size=3)
    ctx = Context(uow=lambda: InMemoryUnitOfWork(store), fanvue=fanvue, clock=clock)
    now = clock.now()
    async with ctx.uow() as uow:
        await uow.agencies.upsert(Agency(AGENCY, "Northstar Talent", "fv-conn-agency"))
        await uow.connections.save(_connection(AGENCY_CONNECTION, ConnectionKind.AGENCY, None, now))
        # Ava also connected her own account: the fallback when the agency member is not assigned to her.
        await uow.connections.save(_connection("conn-ava", ConnectionKind.CREATOR, CreatorId("c-ava"), now))
        await uow.commit()
    fanvue.creators[AGENCY_CONNECTION] = [CreatorProfile(c, h, n) for c, (h, n) in CREATORS.items()]
    metrics = ("revenue_total", "subscribers", "followers", "posts", "likes")
    fanvue.stats = {
        CreatorId("c-luna"): dict(zip(metrics, (1_254_300, 812, 4_310, 212, 18_442), strict=True)),
        CreatorId("c-mika"): dict(zip(metrics, (640_150, 402, 2_950, 133, 9_870), strict=True)),
        CreatorId("c-ava"): dict(zip(metrics, (98_700, 77, 1_204, 41, 2_113), strict=True)),
    }
    sources = [Source.SUBSCRIPTION, Source.MESSAGE, Source.TIP, Source.RENEWAL, Source.POST]
    for creator in CREATORS:
        fanvue.ledger[(creator, Stream.EARNINGS)] = [
            _earning(creator, n, START - timedelta(days=30 - n), sources[n % 5], 999 + 500 * (n % 4), f"fan-{n % 6}")
            for n in range(12)
        ]
    return _World(clock, store, fanvue, ctx)


async def _print_table(world: _World, out: TextIO, title: str) -> None:
    out.write(f"\n== {title} (at {world.clock.now():%H:%M} UTC)\n")
    header = f"{'creator':<10} {'revenue':>14} {'subscribers':>16} {'followers':>10} {'posts':>6} {'likes':>8}  fresh"
    out.write(header + "\n" + "-" * len(header) + "\n")
    async with world.ctx.uow() as uow:
        for creator, (handle, _) in CREATORS.items():
            records = await uow.stats.get(creator)
            stale = sorted(m for m, r in records.items() if r.is_stale)
            observed = [r.observed_at for r in records.values() if r.observed_at is not None]
            age = f"{(world.clock.now() - max(observed)).seconds // 60} min ago" if observed else "never"
            cells = [metric_text(records.get(m)) for m in Metric]
            note = f"{age}; stale: {', '.join(stale)}" if stale else age
            out.write(
                f"{handle:<10} {cells[0]:>14} {cells[1]:>16} {cells[2]:>10} {cells[3]:>6} {cells[4]:>8}  {note}\n"
            )


def _print_events(events: list[tuple[str, StatsEvent]], out: TextIO, *, everything: bool) -> None:
    for handle, event in events:
        if everything or event.kind in NOTABLE:
            change = "" if event.old_value == event.new_value else f" {event.old_value} -> {event.new_value}"
            detail = f" ({event.detail})" if event.detail else ""
            out.write(f"  {handle:<10} {event.metric:<14} {event.kind.value}{change}{detail}\n")


async def _round(world: _World, out: TextIO, title: str, *, everything: bool) -> None:
    report = await refresh_agency_stats(world.ctx, AGENCY)
    events = [(CREATORS[r.creator_id][0], e) for r in report.refreshed for e in r.events]
    used = {CREATORS[r.creator_id][0]: (r.connection.value if r.connection else "none") for r in report.refreshed}
    await _print_table(world, out, title)
    out.write(f"connections used: {', '.join(f'{h}={k}' for h, k in used.items())}\n")
    _print_events(events, out, everything=everything)


async def run_demo(out: TextIO, *, all_events: bool = False) -> int:
    world = await _seed()
    out.write("Onyx demo: an agency of three creators, Fanvue failing the way it does.\n")
    out.write("(* = stale: the last fetch failed and the value shown is the last one known good)\n")

    imported = await import_creators(world.ctx, AGENCY)
    out.write(f"\nimported {len(imported.added)} creators for agency {AGENCY!s}\n")
    for creator in CREATORS:
        report = await sync_ledger(world.ctx, creator, Stream.EARNINGS)
        out.write(f"ledger {CREATORS[creator][0]}: {report.inserted} rows in {report.pages} pages ({report.outcome})\n")

    await _round(world, out, "round 1: everything answers", everything=all_events)

    world.clock.advance(timedelta(minutes=2))
    world.fanvue.fail("fetch_stats", MissingReason.TIMEOUT, CreatorId("c-luna"))
    world.fanvue.fail("fetch_stats:followers", MissingReason.EMPTY, CreatorId("c-mika"))
    await _round(world, out, "round 2: Luna times out, Mika's followers come back empty", everything=all_events)

    world.clock.advance(timedelta(minutes=2))
    world.fanvue.heal()
    world.fanvue.stats[CreatorId("c-mika")]["subscribers"] = 0
    world.fanvue.unassigned.add((AGENCY_CONNECTION, CreatorId("c-ava")))
    await _round(
        world, out, "round 3: Mika's subscribers read 0; Ava is unassigned from the agency member",
        everything=all_events,
    )  # fmt: skip

    world.clock.advance(timedelta(minutes=4))
    world.fanvue.stats[CreatorId("c-mika")]["subscribers"] = 405
    world.fanvue.stats[CreatorId("c-luna")]["revenue_total"] = 1_249_300  # Fanvue's total after a refund
    await _round(world, out, "round 4: Mika recovers; Luna's total drops $50 (a refund Onyx cannot see yet: held)",
                 everything=all_events)  # fmt: skip

    world.clock.advance(timedelta(minutes=1))
    refund_at = world.clock.now() - timedelta(minutes=3)  # between round 3's total and round 4's
    refund_key = ledger_key(
        kind=EntryKind.REFUND, transaction_order_id="FV-ORDER-luna-refund-1", occurred_at=refund_at,
        source=Source.REFUND, gross_cents=-5000, net_cents=-5000, fan_id="fan-2", reference=None,
    )  # fmt: skip
    world.fanvue.ledger[(CreatorId("c-luna"), Stream.REVERSALS)] = [
        LedgerEntry(CreatorId("c-luna"), refund_key, refund_at, Source.REFUND, Money(-5000), Money(-5000),
                    EntryKind.REFUND, FanId("fan-2"))
    ]  # fmt: skip
    reversals = await sync_ledger(world.ctx, CreatorId("c-luna"), Stream.REVERSALS)
    out.write(f"\nledger luna reversals: {reversals.inserted} refund recorded\n")
    await _round(world, out, "round 5: the refund is in the ledger, so revenue may go down", everything=all_events)

    out.write(
        "\nNo failure above wrote a zero or moved a number backwards: stale values were kept, the 0 was held\n"
        "and dismissed, and revenue fell only once a recorded refund explained it. See docs/stats.md.\n"
    )
    return 0
