"""A footprint in every repository a unit of work hands out, for the transaction contracts.

:meth:`Footprint.seed` commits one set of rows (an agency, a creator, a connection, stats records and events, a
ledger entry, a subscriber day, top spenders, a tracking link and its cost, a cursor); :meth:`Footprint.write`
changes every one of them inside a unit (and adds new ones); :meth:`Footprint.read` reads them all back. So
"nothing survives a rollback" and "nothing shows before commit" are checked in each repository, not in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from onyx_core.analytics import SubscriberDay
from onyx_core.catalog import Agency, ChatterDay, Creator, RankedSpender, TrackingLink, TrackingLinkCost
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.ids import AgencyId, CreatorId, TrackingLinkId
from onyx_core.ledger import LedgerEntry
from onyx_core.money import Money
from onyx_core.ports import UnitOfWork
from onyx_core.stats import (
    MergePolicy,
    Metric,
    MetricRecord,
    Missing,
    MissingReason,
    Observation,
    Ok,
    StatsEvent,
    encode_record,
    merge_all,
)
from onyx_core.sync import Stream, SyncCursor
from onyx_core.testing._rows import (
    T0,
    ledger_entry,
    new_connection,
    ranked_spender,
    refreshed_connection,
    tracking_link,
    uid,
)

DAY0 = date(2026, 2, 27)
WRITTEN_AT = T0 + timedelta(hours=1)

Reading = dict[str, object]
"""What each repository holds of the footprint, by repository ("stats records", "ledger"...)."""


@dataclass(frozen=True, slots=True)
class Footprint:
    """The seeded rows and, for each, what :meth:`write` turns it into."""

    agency: Agency
    creator: Creator
    connection: Connection
    stats: dict[str, MetricRecord]
    events: tuple[StatsEvent, ...]
    entry: LedgerEntry
    day: SubscriberDay
    spenders: tuple[RankedSpender, ...]
    link: TrackingLink
    cursor: SyncCursor
    refreshed: Connection
    """The connection as :meth:`write` saves it (new tokens, version + 1)."""
    new_spenders: tuple[RankedSpender, ...]
    """The top spenders :meth:`write` replaces the seeded ones with."""

    @classmethod
    def fresh(cls) -> Footprint:
        """New random ids, so footprints share a database with anything else."""
        agency = Agency(AgencyId(uid("agency")), "Footprint Agency")
        creator = Creator(CreatorId(uid("creator")), agency.id, "foot", "Foot Print", T0)
        seen = [Ok(Metric.SUBSCRIBERS, 400, T0, "footprint"), Ok(Metric.REVENUE_TOTAL, 90_000, T0, "footprint")]
        records, events = merge_all({}, seen, MergePolicy(), T0)
        connection = new_connection(ConnectionKind.AGENCY, agency.id, None, 1, T0)
        return cls(
            agency,
            creator,
            connection,
            records,
            events,
            ledger_entry(creator.id, T0, 2_500),
            SubscriberDay(creator.id, DAY0, 10, 1),
            (ranked_spender(1, creator.id, 9_000),),
            tracking_link(creator.id, "bio", 30, None),
            SyncCursor(creator.id, Stream.EARNINGS, T0, updated_at=T0),
            refreshed_connection(connection, WRITTEN_AT),
            (ranked_spender(1, creator.id, 12_000), ranked_spender(2, creator.id, 11_000)),
        )

    async def seed(self, uow: UnitOfWork) -> None:
        """Store the footprint (the caller commits)."""
        await uow.agencies.upsert(self.agency)
        await uow.creators.upsert(self.creator)
        await uow.connections.save(self.connection)
        await uow.stats.save(self.creator.id, self.stats, self.events, T0)
        await uow.ledger.upsert([self.entry])
        await uow.history.upsert([self.day])
        await uow.top_spenders.replace(self.creator.id, self.spenders, T0)
        await uow.tracking_links.upsert([self.link])
        await uow.link_costs.save(TrackingLinkCost(self.link.id, Money(1_000), T0))
        await uow.chatter_days.upsert([ChatterDay(self.agency.id, DAY0, "chatter", "Chatter", 9, 3, 1, Money(900))])
        await uow.cursors.save(self.cursor)

    async def write(self, uow: UnitOfWork) -> None:
        """Change every seeded row and add one more to each repository, as a use case would (the caller decides
        whether to commit). Deterministic: writing twice from the same seed writes the same rows."""
        cid = self.creator.id
        await uow.agencies.upsert(Agency(self.agency.id, "Renamed Agency"))
        await uow.agencies.upsert(Agency(self._second_agency, "Second Agency"))
        await uow.creators.upsert(Creator(cid, self.agency.id, "foot2", "Renamed Creator", T0))
        await uow.creators.upsert(Creator(self._second_creator, self.agency.id, "second", "Second", T0))
        await uow.connections.save(self.refreshed, expected_version=self.connection.token_version)
        records = await uow.stats.get_for_update(cid)
        # a new value, a failure (stale, no value change) and a metric never seen before
        changes: list[Observation] = [
            Ok(Metric.SUBSCRIBERS, 420, WRITTEN_AT, "footprint"),
            Missing(Metric.REVENUE_TOTAL, MissingReason.TIMEOUT, WRITTEN_AT, "footprint"),
            Ok(Metric.FOLLOWERS, 7, WRITTEN_AT, "footprint"),
        ]
        merged, events = merge_all(records, changes, MergePolicy(), WRITTEN_AT)
        changed = {m: r for m, r in merged.items() if records.get(m) != r}
        await uow.stats.save(cid, changed, events, WRITTEN_AT)
        corrected = LedgerEntry(cid, self.entry.key, self.entry.occurred_at, self.entry.source, Money(3_000),
                                Money(2_400), fan_id=self.entry.fan_id)  # fmt: skip
        await uow.ledger.upsert([corrected, self._second_entry])
        await uow.history.upsert([SubscriberDay(cid, DAY0, 12, 3), SubscriberDay(cid, DAY0 + timedelta(days=1), 4, 0)])
        await uow.top_spenders.replace(cid, self.new_spenders, WRITTEN_AT)
        moved = TrackingLink(self.link.id, cid, self.link.name, self.link.url, self.link.platform,
                             self.link.created_at, 31, 4, 5, Money(100), Money(80))  # fmt: skip
        await uow.tracking_links.upsert([moved, self._second_link])
        await uow.link_costs.save(TrackingLinkCost(self.link.id, Money(1_250), WRITTEN_AT))
        await uow.link_costs.save(TrackingLinkCost(self._second_link.id, Money(0), WRITTEN_AT))
        await uow.chatter_days.upsert(
            [
                ChatterDay(self.agency.id, DAY0, "chatter", "Chatter", 12, 4, 2, Money(1_800)),
                ChatterDay(self.agency.id, DAY0, "second", "Second", 1, 1, 1, Money(500)),
            ]
        )
        await uow.cursors.save(SyncCursor(cid, Stream.EARNINGS, WRITTEN_AT, backfilled=True, updated_at=WRITTEN_AT))
        await uow.cursors.save(SyncCursor(cid, Stream.REVERSALS, WRITTEN_AT, updated_at=WRITTEN_AT))

    async def read(self, uow: UnitOfWork) -> Reading:
        """What every repository holds of the footprint, with plain reads only (no locks)."""
        cid = self.creator.id
        return {
            "agencies": (await uow.agencies.get(self.agency.id), await uow.agencies.get(self._second_agency)),
            "creators": (await uow.creators.get(cid), await uow.creators.for_agency(self.agency.id)),
            "connections": await uow.connections.get(self.connection.id),
            "stats records": {m: encode_record(r) for m, r in (await uow.stats.get(cid)).items()},
            "stats events": await uow.stats.events(cid),
            "ledger": (await uow.ledger.entries(cid), await uow.ledger.net_total(cid, "USD")),
            "history": await uow.history.days(cid, DAY0, DAY0 + timedelta(days=7)),
            "top_spenders": await uow.top_spenders.get(cid),
            "tracking_links": sorted(await uow.tracking_links.for_creator(cid), key=lambda link: link.id),
            "link_costs": await uow.link_costs.for_links([self.link.id, self._second_link.id]),
            "chatter_days": await uow.chatter_days.for_agency(self.agency.id, DAY0, DAY0 + timedelta(days=1)),
            "cursors": (await uow.cursors.get(cid, Stream.EARNINGS), await uow.cursors.get(cid, Stream.REVERSALS)),
        }

    # Rows the write adds, derived from the seed's ids so that every write of a footprint writes the same.
    @property
    def _second_agency(self) -> AgencyId:
        return AgencyId(f"{self.agency.id}-2")

    @property
    def _second_creator(self) -> CreatorId:
        return CreatorId(f"{self.creator.id}-2")

    @property
    def _second_entry(self) -> LedgerEntry:
        return LedgerEntry(self.creator.id, f"{self.entry.key}-2", WRITTEN_AT, self.entry.source, Money(700),
                           Money(560))  # fmt: skip

    @property
    def _second_link(self) -> TrackingLink:
        return TrackingLink(TrackingLinkId(f"{self.link.id}-2"), self.creator.id, "story",
                            "https://fanvue.example/story", "tiktok", T0, 0, 0, 0)  # fmt: skip
