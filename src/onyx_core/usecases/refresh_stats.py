"""Refresh creators' live stats: fetch observations, merge them by the core's rules, store atomically."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.money import USD
from onyx_core.ports import SourceUnavailableError, UnitOfWork
from onyx_core.stats import (
    RETRYABLE_REASONS,
    Floor,
    Metric,
    MetricRecord,
    Missing,
    MissingReason,
    Observation,
    Ok,
    StatsEvent,
    merge_all,
    stale_metrics,
)
from onyx_core.sync import Stream, SyncCursor
from onyx_core.usecases.context import (
    FALLBACK_REASONS,
    Context,
    CreatorConnections,
    for_each_creator,
    read_connections,
    require_agency,
    with_connection,
)

LEDGER_SOURCE = "onyx:ledger"


@dataclass(frozen=True, slots=True)
class StatsRefresh:
    """What one creator's stats refresh did."""

    creator_id: CreatorId
    connection: ConnectionKind | None
    """Which connection answered (None: none was usable)."""
    observations: int
    events: tuple[StatsEvent, ...]
    stale: dict[str, MissingReason]
    """Metrics left stale after this refresh, with why."""
    unknown: frozenset[str] = frozenset()
    """Metrics with no stored value at all after this refresh (never observed)."""


def _all_missing(observations: list[Observation], reason: MissingReason) -> bool:
    return bool(observations) and all(isinstance(o, Missing) and o.reason is reason for o in observations)


def _missing_everything(at: datetime, failure: SourceUnavailableError, metrics: list[str]) -> list[Observation]:
    return [Missing(m, failure.reason, at, "onyx", failure.detail) for m in metrics]


def _prefer_ok(primary: list[Observation], secondary: list[Observation]) -> list[Observation]:
    """Per metric, the primary connection's observation unless it is missing and the secondary's is a value, or
    the primary could never read it (no permission) and the secondary failed trying: then the secondary's reason
    (a timeout, an error) is the one that tells whether a rerun will help."""
    chosen: dict[str, Observation] = {o.metric: o for o in primary}
    for observation in secondary:
        current = chosen.get(observation.metric)
        if (
            current is None
            or (isinstance(current, Missing) and not isinstance(observation, Missing))
            or (isinstance(current, Missing) and current.reason not in RETRYABLE_REASONS)
        ):
            chosen[observation.metric] = observation
    return list(chosen.values())


async def _observe(
    ctx: Context, creator: Creator, connections: CreatorConnections, at: datetime
) -> tuple[list[Observation], ConnectionKind | None]:
    """The creator's observations: through the agency's connection first, then the creator's own connection for
    the metrics the agency cannot read (posts and likes exist only on the creator's own ``/users/me``). Both
    tries choose among ``connections``, read once for the whole refresh."""

    async def fetch(connection: Connection) -> list[Observation]:
        observations = await ctx.fanvue.fetch_stats(connection, creator, at)
        if _all_missing(observations, MissingReason.NOT_ASSIGNED):
            # Let with_connection fall back to the creator's own connection.
            raise SourceUnavailableError(MissingReason.NOT_ASSIGNED, "creator not assigned to this team member")
        return observations

    try:
        observations, kind = await with_connection(ctx, creator, fetch, connections=connections)
    except SourceUnavailableError as failure:
        return _missing_everything(at, failure, list(ctx.merge_policy.kinds)), None
    lacking = frozenset(o.metric for o in observations if isinstance(o, Missing) and o.reason in FALLBACK_REASONS)
    if kind is ConnectionKind.AGENCY and lacking:

        async def fetch_lacking(connection: Connection) -> list[Observation]:
            return await ctx.fanvue.fetch_stats(connection, creator, at, lacking)

        try:
            own, _ = await with_connection(
                ctx, creator, fetch_lacking, exclude=frozenset({ConnectionKind.AGENCY}), connections=connections
            )
        except SourceUnavailableError:  # no usable own connection: the agency's answer stands
            return observations, kind
        observations = _prefer_ok(observations, own)
    return observations, kind


def reversals_caught_up(reversals: SyncCursor | None, earnings: SyncCursor | None) -> bool:
    """Whether every refund of the stored earnings has been fetched: reversals backfilled and synced at least as
    far as the earnings (a spending run that failed while earnings moved on would leave refunds out)."""
    if reversals is None or not reversals.backfilled or reversals.synced_through is None:
        return False
    through = None if earnings is None else earnings.synced_through
    return through is None or reversals.synced_through >= through


def _refunds_untracked(observation: Observation) -> Observation:
    if isinstance(observation, Ok) and observation.metric == Metric.REVENUE_TOTAL:
        return replace(observation, refunds_tracked=False)
    return observation


@dataclass(frozen=True, slots=True)
class MergedStats:
    """What a merge did: its events, and every record of the creator as stored afterwards."""

    events: tuple[StatsEvent, ...]
    records: dict[str, MetricRecord]

    @property
    def stale(self) -> dict[str, MissingReason]:
        """The metrics flagged stale, with why."""
        return stale_metrics(self.records)

    @property
    def unknown(self) -> frozenset[str]:
        """The metrics with no value at all (never observed)."""
        return frozenset(metric for metric, record in self.records.items() if record.value is None)


async def merge_observations(
    ctx: Context, uow: UnitOfWork, creator_id: CreatorId, observations: list[Observation]
) -> MergedStats:
    """Merge observations into the stored stats inside ``uow`` (under the creator's row lock); no commit.

    The ledger's net total joins them as a floor of lifetime revenue, so revenue is never shown below it.
    """
    now = ctx.clock.now()
    records = await uow.stats.get_for_update(creator_id)
    # The ledger's net is a floor of lifetime revenue only once its reversals have been fetched: earnings without
    # their refunds overstate it (an agency connection cannot read /insights/spending), and such a "floor" would
    # reject Fanvue's correct, lower total. Read under the lock, so a concurrent ledger sync's refund is in it.
    reversals = await uow.cursors.get(creator_id, Stream.REVERSALS)
    earnings = await uow.cursors.get(creator_id, Stream.EARNINGS)
    if reversals_caught_up(reversals, earnings):
        ledger_net = await uow.ledger.net_total(creator_id, USD)
        if ledger_net > 0:  # an empty ledger is no evidence of anything; never invent a zero
            observations = [*observations, Floor(Metric.REVENUE_TOTAL, ledger_net, now, LEDGER_SOURCE)]
    else:
        # No refund of this creator can be recorded (yet): a lower Fanvue total cannot be explained by one, so the
        # merge believes it only once a second total, ten minutes later, confirms it.
        observations = [_refunds_untracked(o) for o in observations]
    merged, events = merge_all(records, observations, ctx.merge_policy, now)
    changed = {metric: record for metric, record in merged.items() if records.get(metric) != record}
    if changed or events:
        await uow.stats.save(creator_id, changed, events, now)
    return MergedStats(events, merged)


async def record_observations(ctx: Context, creator_id: CreatorId, observations: list[Observation]) -> MergedStats:
    """:func:`merge_observations` in a unit of work of its own, committed."""
    async with ctx.uow() as uow:
        result = await merge_observations(ctx, uow, creator_id, observations)
        await uow.commit()
    return result


async def refresh_creator_stats(ctx: Context, creator_id: CreatorId) -> StatsRefresh:
    """Fetch and merge one creator's stats. A failed fetch marks metrics stale; it never writes a zero.

    Two units of work around the requests: one read (the creator and her candidate connections) and one write
    (the merge, which reads the stored stats under the creator's lock: read earlier, a concurrent ledger sync's
    refund or another refresh could be merged over)."""
    async with ctx.uow() as uow:
        creator = await uow.creators.get(creator_id)
        if creator is None:
            raise NotFoundError(f"no creator {creator_id}")
        connections = await read_connections(uow, creator)
    observations, kind = await _observe(ctx, creator, connections, ctx.clock.now())
    merged = await record_observations(ctx, creator_id, observations)
    return StatsRefresh(creator_id, kind, len(observations), merged.events, merged.stale, merged.unknown)


@dataclass(frozen=True, slots=True)
class AgencyStatsRefresh:
    """What an agency-wide stats refresh did, creator by creator."""

    agency_id: AgencyId
    refreshed: tuple[StatsRefresh, ...]
    failures: dict[CreatorId, str]
    """Creators whose refresh raised (storage trouble, a bug): the others still ran."""


async def refresh_agency_stats(ctx: Context, agency_id: AgencyId) -> AgencyStatsRefresh:
    """Refresh every creator of the agency, at most ``sync_policy.concurrency`` at a time."""
    await require_agency(ctx, agency_id)
    async with ctx.uow() as uow:
        creators = await uow.creators.for_agency(agency_id)

    async def refresh(creator_id: CreatorId) -> StatsRefresh:
        return await refresh_creator_stats(ctx, creator_id)

    refreshed, failed = await for_each_creator(ctx, [c.id for c in creators], refresh)
    failures = {creator_id: f"{type(error).__name__}: {error}" for creator_id, error in failed.items()}
    return AgencyStatsRefresh(agency_id, tuple(refreshed.values()), failures)
