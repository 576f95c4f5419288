"""Token maintenance over the fakes: who is refreshed when, and what a refusal or a failure leaves behind."""

from __future__ import annotations

from datetime import timedelta

from test_usecases import AGENCY_CONN, T0, World, connection

from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ports import GrantRefusedError, SourceUnavailableError
from onyx_core.stats import MissingReason
from onyx_core.tokens import MaintenanceReason, TokenSet
from onyx_core.usecases import MaintenanceOutcome, maintain_tokens


class Refresher:
    """A GrantRefresher that answers as told and records whom it was asked to refresh."""

    def __init__(self, answer: bool | Exception = True) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def refresh(self, conn: Connection) -> bool:
        self.asked.append(conn.id)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _expiring_in(minutes: float, **changes: object) -> Connection:
    tokens = TokenSet("access-x", "refresh-x", T0 + timedelta(minutes=minutes), frozenset())
    fields: dict[str, object] = {"tokens": tokens, "last_used_at": T0, **changes}
    return connection(AGENCY_CONN, ConnectionKind.AGENCY, **fields)


async def _world_with(conn: Connection) -> World:
    world = World()
    await world.seed()  # imports through a working agency connection (which marks it used)...
    async with world.ctx.uow() as uow:
        await uow.connections.save(conn)  # ...then the connection under test takes its place
        await uow.commit()
    return world


async def _run(conn: Connection, refresher: Refresher) -> tuple[MaintenanceOutcome, Connection | None]:
    world = await _world_with(conn)
    report = await maintain_tokens(world.ctx, refresher)
    async with world.ctx.uow() as uow:
        stored = await uow.connections.get(conn.id)
    (result,) = report.results
    return result.outcome, stored


async def test_an_active_connection_is_refreshed_only_inside_the_proactive_window() -> None:
    far = Refresher()
    assert (await _run(_expiring_in(16), far))[0] is MaintenanceOutcome.LEFT
    assert far.asked == []
    near = Refresher()
    assert (await _run(_expiring_in(14), near))[0] is MaintenanceOutcome.REFRESHED
    assert near.asked == [AGENCY_CONN]


async def test_a_refresh_someone_else_already_made_is_not_reported_as_ours() -> None:
    assert (await _run(_expiring_in(5), Refresher(answer=False)))[0] is MaintenanceOutcome.LEFT


async def test_a_refused_grant_marks_the_connection_needs_reauth_and_drops_its_tokens() -> None:
    outcome, stored = await _run(_expiring_in(5), Refresher(GrantRefusedError("invalid_grant")))
    assert outcome is MaintenanceOutcome.NEEDS_REAUTH
    assert stored is not None
    assert stored.status is ConnectionStatus.NEEDS_REAUTH
    assert stored.tokens is None


async def test_a_token_endpoint_failure_leaves_the_connection_as_it_was() -> None:
    conn = _expiring_in(5)
    outcome, stored = await _run(conn, Refresher(SourceUnavailableError(MissingReason.TIMEOUT, "read timeout")))
    assert outcome is MaintenanceOutcome.FAILED
    assert stored == conn


async def test_an_unusable_connection_is_never_sent_to_the_token_endpoint() -> None:
    refresher = Refresher()
    dead = _expiring_in(5).marked_needs_reauth("invalid_grant")
    outcome, _ = await _run(dead, refresher)
    assert outcome is MaintenanceOutcome.LEFT
    assert refresher.asked == []


async def test_an_idle_connection_is_kept_alive_at_most_weekly() -> None:
    idle_for_long = _expiring_in(600, last_used_at=T0 - timedelta(days=8), last_refreshed_at=T0 - timedelta(days=7))
    refreshed_lately = _expiring_in(1, last_used_at=T0 - timedelta(days=8), last_refreshed_at=T0 - timedelta(days=2))
    keep_alive, lately = Refresher(), Refresher()
    assert (await _run(idle_for_long, keep_alive))[0] is MaintenanceOutcome.REFRESHED
    world = await _world_with(refreshed_lately)
    report = await maintain_tokens(world.ctx, lately)
    assert report.results[0].reason is MaintenanceReason.IDLE_RECENTLY_REFRESHED
    assert lately.asked == []
