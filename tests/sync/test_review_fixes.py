"""Behaviour found by review: what a sync reports when only the creator's own connection can answer and fails,
a heartbeat that survives an unreadable connection row, and a reconnect by another team member."""

from __future__ import annotations

import pytest
from harness import synced_world

from onyx_adapters.connect import GrantElsewhereError
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency
from onyx_adapters.scheduler import Scheduler
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.stats import Metric, MissingReason
from onyx_core.tokens import TokenSet
from onyx_core.usecases import import_creators, sync_creator


async def test_a_failure_on_the_creators_own_connection_is_reported_as_such_not_as_permission(
    sync_database_url: str,
) -> None:
    async with synced_world(sync_database_url, creators=1, own=1) as world:
        creator = world.creators[0]
        assert not (await sync_creator(world.ctx, creator)).partial
        world.sandbox.inject("error", route="/users/me", status=500)
        world.sandbox.advance(180)
        report = await sync_creator(world.ctx, creator)
        assert report.stats is not None
        assert report.stats.stale[Metric.POSTS] is MissingReason.ERROR
        assert report.stats.stale[Metric.LIKES] is MissingReason.ERROR
        assert report.partial, "a 500 on the only connection that can read posts is a failure a rerun may fix"


async def test_the_heartbeat_survives_an_unreadable_connection_row(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1) as world:
        # another agency whose connection was encrypted under a key this process does not have
        stranger = sql_unit_of_work_factory(world.runtime.engine, FernetCipher([FernetCipher.generate_key()]))
        ghost = AgencyId("ghost-agency")
        now = world.sandbox.clock.now()
        tokens = TokenSet("ghost-access", "ghost-refresh", now, frozenset({"read:self"}))
        async with stranger() as uow:
            await uow.agencies.upsert(Agency(ghost, "Ghost"))
            row = Connection(
                ConnectionId("ghost"), ConnectionKind.AGENCY, ghost, None, "ghost-user", ConnectionStatus.ACTIVE, None
            )
            await uow.connections.save(row.with_tokens(tokens, now))
            await uow.commit()
        report = await Scheduler(world.runtime).tick()
        assert report.failures["maintenance"] == "InvalidCiphertextError"
        assert report.failures[f"import:{ghost}"] == "InvalidCiphertextError"
        assert [r.creator_id for r in report.synced] == world.creators, "the readable agency still synced"


async def test_an_agency_reconnected_by_another_member_uses_the_live_connection(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1) as world:
        admin = world.sandbox.world.admin.person.handle
        world.sandbox.revoke_grant(admin)
        world.sandbox.advance(3600)  # the access token expired: the next call must refresh, and is refused
        await sync_creator(world.ctx, world.creators[0])
        async with world.ctx.uow() as uow:
            dead = await uow.connections.for_agency(world.agency)
        assert dead is not None
        assert dead.status is ConnectionStatus.NEEDS_REAUTH
        # another team member connects the same agency: a second agency connection, live
        member = world.sandbox.world.team[0].person.handle
        world.sandbox.assign(member, str(world.creators[0]))
        await connect_agency(world.runtime, world.sandbox, world.agency, "Test Agency", member)
        report = await import_creators(world.ctx, world.agency)
        assert report.listed >= 1
        async with world.ctx.uow() as uow:
            chosen = await uow.connections.for_agency(world.agency)
        assert chosen is not None
        assert chosen.status is ConnectionStatus.ACTIVE
        assert chosen.id != dead.id


async def test_a_fanvue_account_connected_to_one_agency_cannot_be_claimed_by_another(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1) as world:
        async with world.ctx.uow() as uow:
            before = await uow.connections.for_agency(world.agency)
        assert before is not None
        rival = AgencyId(f"rival-{world.agency}")
        with pytest.raises(GrantElsewhereError) as refused:
            await connect_agency(world.runtime, world.sandbox, rival, "Rival agency")
        assert world.agency not in str(refused.value)  # the rival learns nothing about the owner agency
        async with world.ctx.uow() as uow:
            after = await uow.connections.get(before.id)
            rival_row = await uow.agencies.get(rival)
            creators = await uow.creators.for_agency(world.agency)
        assert after == before  # the first agency's tokens are untouched
        assert rival_row is None  # and nothing of the rival was stored
        assert [c.id for c in creators] == world.creators
