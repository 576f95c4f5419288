"""T7: ``invalid_grant`` from the token endpoint marks the connection needs-reauth in the same call; then 10
simulated minutes of scheduled syncs send nothing more to the token endpoint and change no stored stats.

The agency admin removes the app (``revoke_grant``) just as the agency's access token comes within the refresh
leeway, so the next call's refresh is answered ``invalid_grant``. One creator also connected their own account: the
scheduler keeps syncing that creator through it (the fallback), while the creators read only through the agency
stay as they were. Maintenance, which refreshes ahead of expiry, must not send the dead connection either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from harness import SyncWorld, synced_world

from onyx_adapters.sandbox_runtime import connect_creator
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import ConnectionId, CreatorId
from onyx_core.stats import MissingReason
from onyx_core.sync import Stream
from onyx_core.usecases import Context, MaintenanceOutcome, maintain_tokens, sync_agency, sync_creator

EXPIRES_IN = 3600


async def _stats(ctx: Context, creator: CreatorId) -> dict[str, tuple[int | None, datetime | None]]:
    async with ctx.uow() as uow:
        records = await uow.stats.get(creator)
    return {str(metric): (record.value, record.observed_at) for metric, record in records.items()}


async def _marked(ctx: Context, connection_id: ConnectionId) -> Connection:
    """The stored connection, which must be marked needs-reauth with its tokens dropped."""
    async with ctx.uow() as uow:
        marked = await uow.connections.get(connection_id)
    assert marked is not None
    assert marked.status is ConnectionStatus.NEEDS_REAUTH
    assert marked.tokens is None
    return marked


async def _revoke_and_call(world: SyncWorld) -> Connection:
    """Revoke the agency's grant as its token enters the leeway, run one creator's sync, check it marked the
    connection; returns the agency connection as it was before."""
    sandbox, ctx, runtime = world.sandbox, world.ctx, world.runtime
    agency_only = world.creators[-1]
    async with ctx.uow() as uow:
        connection = await uow.connections.for_agency(world.agency)
    assert connection is not None
    assert connection.status is ConnectionStatus.ACTIVE
    old_token = await runtime.clients.store(connection.id).load()
    assert old_token is not None
    assert old_token.refresh_token is not None
    before = await _stats(ctx, agency_only)

    assert sandbox.revoke_grant(sandbox.admin) >= 1
    hits = sandbox.token_endpoint_hits
    refused = await sync_creator(ctx, agency_only)

    # the same call: one refused refresh, and the connection is marked, its tokens dropped
    assert sandbox.token_endpoint_hits == hits + 1
    marked = await _marked(ctx, connection.id)
    assert marked.last_error
    assert old_token.access_token.get_secret_value() not in marked.last_error
    assert old_token.refresh_token.get_secret_value() not in marked.last_error
    assert await runtime.clients.store(connection.id).load() is None
    assert not refused.partial  # it needs a person (a reconnect), not a retry
    assert refused.stats is not None
    assert refused.stats.connection is None
    assert set(refused.stats.stale.values()) == {MissingReason.PERMISSION}
    assert await _stats(ctx, agency_only) == before
    return connection


async def test_a_refused_grant_stops_every_token_request_for_that_connection(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=3, own=1, expires_in=EXPIRES_IN) as world:
        sandbox, ctx, runtime = world.sandbox, world.ctx, world.runtime
        own, agency_only = world.own[0], world.creators[1:]
        first = await sync_agency(ctx, world.agency)
        assert not first.partial, first

        # an hour later the agency token has less than the leeway left; the creator's own grant is renewed (by a
        # reconnect) so that nothing else has a reason to call the token endpoint in the next 10 minutes
        sandbox.advance(EXPIRES_IN - ctx.refresh_policy.leeway.total_seconds() / 2)
        own_connection = (await connect_creator(runtime, sandbox, sandbox.world.creators[0].person.handle)).connection
        before = {creator: await _stats(ctx, creator) for creator in agency_only}
        assert all(before.values())
        agency_connection = await _revoke_and_call(world)

        # 10 simulated minutes of the scheduler (ticks at minutes 0..10, maintenance at 0, 5 and 10)
        hits = sandbox.token_endpoint_hits
        reports: list[TickReport] = []
        start = sandbox.clock.now()
        await Scheduler(runtime, on_tick=reports.append).run(ticks=11)
        assert sandbox.clock.now() - start >= timedelta(minutes=10)
        assert sandbox.token_endpoint_hits == hits, "a dead or a healthy connection went to the token endpoint"

        maintenance = [r.maintenance for r in reports if r.maintenance is not None]
        assert len(maintenance) == 3
        for report in maintenance:
            outcome = {result.connection_id: result for result in report.results}[agency_connection.id]
            assert outcome.outcome is MaintenanceOutcome.LEFT
            assert outcome.detail == ConnectionStatus.NEEDS_REAUTH.value
        for creator in agency_only:
            assert await _stats(ctx, creator) == before[creator], f"stats of {creator} changed"

        # the creator with their own connection kept syncing through it (the fallback)
        own_syncs = [s for r in reports for s in r.synced if s.creator_id == own]
        assert not any(s.partial for s in own_syncs), [s.failures for s in own_syncs]
        stats = [s.stats for s in own_syncs if s.stats is not None]
        assert stats
        assert all(refresh.connection is ConnectionKind.CREATOR for refresh in stats)
        ledger = [entry for s in own_syncs for entry in s.ledger if entry.stream is Stream.EARNINGS]
        assert ledger
        assert all(entry.connection is ConnectionKind.CREATOR for entry in ledger)
        async with ctx.uow() as uow:
            cursor = await uow.cursors.get(own, Stream.EARNINGS)
            still = await uow.connections.get(agency_connection.id)
        assert cursor is not None
        assert cursor.synced_through is not None
        assert cursor.synced_through >= start
        assert still is not None
        assert still.status is ConnectionStatus.NEEDS_REAUTH

        # maintenance on its own, with the clock inside every proactive window: the healthy connection is
        # refreshed (so the counter does count maintenance), the dead one is not sent
        sandbox.advance(EXPIRES_IN - 10 * 60)
        hits = sandbox.token_endpoint_hits
        outcomes = {r.connection_id: r.outcome for r in (await maintain_tokens(ctx, runtime.clients)).results}
        assert outcomes[agency_connection.id] is MaintenanceOutcome.LEFT
        assert outcomes[own_connection.id] is MaintenanceOutcome.REFRESHED
        assert sandbox.token_endpoint_hits == hits + 1


async def test_a_revoked_token_refused_on_first_use_is_marked_in_the_same_call(sync_database_url: str) -> None:
    """The other way ``invalid_grant`` arrives: the access token still has life, the API answers 401, the one
    forced refresh is refused. Same outcome: marked in that call, nothing more sent to the token endpoint."""
    async with synced_world(sync_database_url, creators=2, own=0, expires_in=EXPIRES_IN) as world:
        sandbox, ctx, runtime = world.sandbox, world.ctx, world.runtime
        assert not (await sync_agency(ctx, world.agency)).partial
        before = await _stats(ctx, world.creators[0])
        sandbox.advance(60)
        sandbox.revoke_grant(sandbox.admin)
        hits = sandbox.token_endpoint_hits
        await sync_creator(ctx, world.creators[0])
        assert sandbox.token_endpoint_hits == hits + 1
        async with ctx.uow() as uow:
            connection = await uow.connections.for_agency(world.agency)
        assert connection is not None
        await _marked(ctx, connection.id)
        await Scheduler(runtime).run(ticks=6)
        assert sandbox.token_endpoint_hits == hits + 1
        assert await _stats(ctx, world.creators[0]) == before


async def test_maintenance_that_meets_a_refused_grant_marks_it_and_never_sends_it_again(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1, own=0, expires_in=EXPIRES_IN) as world:
        sandbox, ctx, runtime = world.sandbox, world.ctx, world.runtime
        assert not (await sync_agency(ctx, world.agency)).partial
        async with ctx.uow() as uow:
            connection = await uow.connections.for_agency(world.agency)
        assert connection is not None
        # inside the proactive window (15 min) but not yet within the leeway: only maintenance would refresh now
        sandbox.advance(EXPIRES_IN - 10 * 60)
        sandbox.revoke_grant(sandbox.admin)
        hits = sandbox.token_endpoint_hits
        first = await maintain_tokens(ctx, runtime.clients)
        assert [r.outcome for r in first.results if r.connection_id == connection.id] == [
            MaintenanceOutcome.NEEDS_REAUTH
        ]
        assert sandbox.token_endpoint_hits == hits + 1
        await _marked(ctx, connection.id)
        for _ in range(3):  # later runs, the token long expired: the dead connection is left alone
            sandbox.advance(5 * 60)
            again = await maintain_tokens(ctx, runtime.clients)
            assert [r.outcome for r in again.results if r.connection_id == connection.id] == [MaintenanceOutcome.LEFT]
        assert sandbox.token_endpoint_hits == hits + 1
