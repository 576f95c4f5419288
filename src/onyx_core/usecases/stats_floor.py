"""Rebuild a creator's lifetime-revenue floor from the ledger: an operator's repair, with no call to Fanvue.

The stats refresh merges the ledger's net total as a :class:`~onyx_core.stats.Floor` of lifetime revenue on every
run (:func:`~onyx_core.usecases.refresh_stats.merge_observations`). When refreshes cannot run (Fanvue is down, the
grant needs re-consent) but the ledger has moved on (a backfill, a reconciliation that recovered rows), this merges
that floor alone, by the same rule: a floor only ever raises the stored value, never lowers it (stats never
regress), and the ledger counts as a floor only once its refunds are fetched, as in the refresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.money import USD
from onyx_core.ports import Clock, UnitOfWorkFactory
from onyx_core.stats import Floor, MergePolicy, Metric, StatsEvent, merge_all
from onyx_core.sync import Stream
from onyx_core.usecases.refresh_stats import LEDGER_SOURCE, reversals_caught_up

__all__ = ["FloorRebuild", "rebuild_stats_floor"]


@dataclass(frozen=True, slots=True)
class FloorRebuild:
    """What one rebuild found and did (``skipped``: why no floor was merged; ``None`` when one was)."""

    creator_id: CreatorId
    metric: str
    ledger_net: int | None
    """The ledger's net total in USD cents used as the floor (``None``: not usable, see ``skipped``)."""
    before: int | None
    after: int | None
    events: tuple[StatsEvent, ...]
    skipped: str | None = None

    @property
    def raised(self) -> bool:
        return self.after is not None and (self.before is None or self.after > self.before)


async def rebuild_stats_floor(
    uow: UnitOfWorkFactory, clock: Clock, creator_id: CreatorId, policy: MergePolicy | None = None
) -> FloorRebuild:
    """Merge the ledger's net total as the floor of ``creator_id``'s lifetime revenue, under the creator's stats
    row lock, and commit. Raises :class:`NotFoundError` for an unknown creator (the caller checks who may)."""
    metric, now = Metric.REVENUE_TOTAL.value, clock.now()
    async with uow() as work:
        if await work.creators.get(creator_id) is None:
            raise NotFoundError(f"no creator {creator_id}")
        records = await work.stats.get_for_update(creator_id)
        stored = records.get(metric)
        before = None if stored is None else stored.value
        reversals = await work.cursors.get(creator_id, Stream.REVERSALS)
        earnings = await work.cursors.get(creator_id, Stream.EARNINGS)
        if not reversals_caught_up(reversals, earnings):
            why = "the ledger's refunds are not fetched yet: its net could overstate lifetime revenue"
            return FloorRebuild(creator_id, metric, None, before, before, (), why)
        net = await work.ledger.net_total(creator_id, USD)
        if net <= 0:  # an empty ledger is no evidence of anything: never invent a zero
            return FloorRebuild(creator_id, metric, None, before, before, (), "the ledger holds no net earnings")
        merged, events = merge_all(records, [Floor(metric, net, now, LEDGER_SOURCE)], policy or MergePolicy(), now)
        changed = {name: record for name, record in merged.items() if records.get(name) != record}
        if changed or events:
            await work.stats.save(creator_id, changed, events, now)
            await work.commit()
    return FloorRebuild(creator_id, metric, net, before, merged[metric].value, events)
