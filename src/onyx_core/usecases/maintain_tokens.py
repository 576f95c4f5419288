"""Token maintenance: the only job that refreshes ahead of need, and only as late as the policy allows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onyx_core.ids import ConnectionId
from onyx_core.ports import GrantRefresher, GrantRefusedError, SourceUnavailableError
from onyx_core.tokens import MaintenanceReason
from onyx_core.usecases.context import Context, mark_needs_reauth


class MaintenanceOutcome(StrEnum):
    """What the maintenance job did with one connection."""

    LEFT = "left"
    """Not due (see ``reason``), or not usable (see ``detail``): no token request."""
    REFRESHED = "refreshed"
    NEEDS_REAUTH = "needs_reauth"
    """The token endpoint refused the grant: marked needs-reauth, its jobs stop, nothing else is deleted."""
    FAILED = "failed"
    """The token endpoint failed for now; the connection stays active and a later run tries again."""


@dataclass(frozen=True, slots=True)
class ConnectionMaintenance:
    """One connection's maintenance result. ``detail`` names reasons and states, never a token."""

    connection_id: ConnectionId
    outcome: MaintenanceOutcome
    reason: MaintenanceReason | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one maintenance run did, connection by connection (ordered by id)."""

    results: tuple[ConnectionMaintenance, ...]

    def count(self, outcome: MaintenanceOutcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)


async def maintain_tokens(ctx: Context, refresher: GrantRefresher) -> MaintenanceReport:
    """Refresh the connections :meth:`~onyx_core.tokens.RefreshPolicy.maintenance_decision` says are due.

    Active connections are refreshed only inside the proactive window (15 min by default), idle ones (unused for
    more than 7 days) at most once a week to keep their refresh token alive. Everything else waits for its next
    API call, which refreshes within the leeway. Connections that are not usable (needs-reauth, revoked, no
    tokens) are never sent to the token endpoint.
    """
    async with ctx.uow() as uow:
        connections = await uow.connections.list()
    policy = ctx.refresh_policy
    results: list[ConnectionMaintenance] = []
    for connection in connections:
        if not connection.is_usable or connection.tokens is None:
            results.append(ConnectionMaintenance(connection.id, MaintenanceOutcome.LEFT, None, connection.status.value))
            continue
        decision = policy.maintenance_decision(
            connection.tokens,
            ctx.clock.now(),
            last_used_at=connection.last_used_at,
            last_refreshed_at=connection.last_refreshed_at,
        )
        if not decision.refresh:
            results.append(ConnectionMaintenance(connection.id, MaintenanceOutcome.LEFT, decision.reason))
            continue
        try:
            refreshed = await refresher.refresh(connection)
        except GrantRefusedError as refused:
            await mark_needs_reauth(ctx, connection, refused)
            outcome = ConnectionMaintenance(
                connection.id, MaintenanceOutcome.NEEDS_REAUTH, decision.reason, refused.detail
            )
        except SourceUnavailableError as failure:
            outcome = ConnectionMaintenance(
                connection.id, MaintenanceOutcome.FAILED, decision.reason, f"{failure.reason.value}: {failure.detail}"
            )
        else:
            outcome = ConnectionMaintenance(
                connection.id,
                MaintenanceOutcome.REFRESHED if refreshed else MaintenanceOutcome.LEFT,
                decision.reason,
                "" if refreshed else "refreshed or reconnected elsewhere meanwhile",
            )
        results.append(outcome)
    return MaintenanceReport(tuple(results))
