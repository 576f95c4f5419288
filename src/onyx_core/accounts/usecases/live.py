"""Live updates as a member sees them: which changes she may learn of (:func:`visible_change`), and keeping the
stats she is looking at fresh while she looks (:func:`refresh_stale_in_view`).

A member learns only of her agency's changes, and a member limited to some creators only of those creators'
changes: a change of other creators alone never reaches her, and an agency-wide one reaches her without any
creator id outside her scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onyx_core.accounts.rules import Permission, has_scope
from onyx_core.accounts.usecases.creator_stats import (
    CreatorStats,
    StatsDeps,
    list_creators_with_stats,
    refresh_on_view,
)
from onyx_core.accounts.usecases.deps import Principal
from onyx_core.ids import CreatorId
from onyx_core.live import DataChange
from onyx_core.refresh import RefreshRun, refresh_due

__all__ = ["QueuedRefresh", "refresh_stale_in_view", "visible_change"]


def visible_change(principal: Principal, change: DataChange) -> DataChange | None:
    """``change`` as ``principal`` may learn of it (her scope's creators only), or ``None``: nothing for her."""
    member = principal.member
    if change.agency_id != member.agency_id or not principal.can(Permission.VIEW_CREATORS):
        return None
    if not has_scope(member.role) or member.creator_scope is None:
        return change
    seen = DataChange(change.agency_id, change.creator_ids & member.creator_scope, change.agency_wide)
    return None if seen.empty else seen


@dataclass(frozen=True, slots=True)
class QueuedRefresh:
    run: RefreshRun
    creator_id: CreatorId


async def refresh_stale_in_view(deps: StatsDeps, watchers: Sequence[Principal]) -> list[QueuedRefresh]:
    """Queue a refresh of every creator some of ``watchers`` (members with a live dashboard open) may see whose
    stats are older than the policy's refresh-on-view age, as viewing her would (:func:`refresh_on_view`: one
    run per creator at a time, none while a refresh-all of the agency runs). Each creator is asked for once, as
    the first watcher who sees her. The runs queued now, for the caller to launch."""
    if deps.policy.on_view_after is None or not deps.can_refresh:
        return []
    now = deps.clock.now()
    asked: set[CreatorId] = set()
    queued: list[QueuedRefresh] = []
    for principal in watchers:
        for item in await list_creators_with_stats(deps.uow, principal):
            creator_id = item.overview.creator.id
            if creator_id in asked:
                continue
            asked.add(creator_id)
            if not refresh_due(item.stats, now, deps.policy):
                continue  # fresh: not even a look at the runs
            on_view = await refresh_on_view(deps, principal, CreatorStats(item.overview, item.stats))
            if on_view.queued and on_view.run is not None:
                queued.append(QueuedRefresh(on_view.run, creator_id))
    return queued
