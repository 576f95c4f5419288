"""The dashboard as a member may read it: her agency's, over the creators she may see.

Scope: an owner or admin reads every creator of the agency; a manager or viewer limited to some creators reads a
dashboard of *those creators only*, its agency figures included (they are the figures of her creators: the core's
rule is that everything outside her scope is "not found" to her, and an agency total over every creator would show
the others' revenue by difference). One creator's dashboard (``creator_id``) needs that creator in her scope
(:class:`~onyx_core.errors.NotFoundError` otherwise, exactly as for an unknown id).

The unlock rate (PPVs unlocked ÷ sent) comes from Fanvue's chatter leaderboard, stored per UTC day for the whole
agency and not split by creator: it is shown for an unscoped member's whole-agency dashboard only, over the UTC
days whose start lies in the period, and is undefined with a reason otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from onyx_core.accounts.rules import Permission, has_scope
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require, require_creator, visible_creators
from onyx_core.analytics.dashboard import AgencyDashboard, DashboardQuery, DashboardRange, DashboardReader, Figure
from onyx_core.analytics.periods import Period
from onyx_core.analytics.spenders import DEFAULT_LIMIT
from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.money import USD
from onyx_core.usecases.chatters import unlock_rate

__all__ = ["AnalyticsAnswer", "read_dashboard"]

_SCOPED = "the chatter leaderboard is agency-wide: not shown to a member limited to some creators"
_ONE_CREATOR = "the chatter leaderboard is agency-wide: Fanvue does not split it by creator"
_NOT_SYNCED = "no chatter leaderboard stored for this period (it needs the agency's own Fanvue connection)"
_NONE_SENT = "no PPV was sent in the period"


@dataclass(frozen=True, slots=True)
class AnalyticsAnswer:
    dashboard: AgencyDashboard
    timezone: str
    unlock_rate: Figure
    creator_names: dict[CreatorId, tuple[str, str]]
    """Each dashboard creator's handle and display name."""


def _utc_days(period: Period) -> tuple[datetime, datetime]:
    """The UTC days whose start lies in ``period``, as ``[first, end)`` midnights."""
    first = period.start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < period.start:
        first += timedelta(days=1)
    end = period.end.replace(hour=0, minute=0, second=0, microsecond=0)
    if end < period.end:
        end += timedelta(days=1)
    return first, max(first, end)


async def read_dashboard(
    deps: AccountsDeps,
    principal: Principal,
    reader: DashboardReader,
    *,
    range_: DashboardRange,
    tz: str | None = None,
    top_spenders: int = DEFAULT_LIMIT,
    creator_id: CreatorId | None = None,
) -> AnalyticsAnswer:
    """The principal's dashboard (see the module): in ``tz``, else the agency's time zone."""
    require(principal, Permission.VIEW_CREATORS)
    agency_id = principal.member.agency_id
    async with deps.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            raise NotFoundError("the member's agency is gone")
        if creator_id is not None:
            creators = [await require_creator(principal, creator_id, uow.creators)]
        else:
            creators = visible_creators(principal, await uow.creators.for_agency(agency_id))
        costs = await uow.link_costs.for_agency(agency_id)
    scoped = has_scope(principal.member.role) and principal.member.creator_scope is not None
    selected = None if creator_id is None and not scoped else frozenset(c.id for c in creators)
    query = DashboardQuery(
        range_,
        tz or agency.timezone,
        top_spenders_limit=top_spenders,
        creator_ids=selected,
        link_costs={link_id: cost.cost for link_id, cost in costs.items() if cost.cost.currency == USD},
    )
    dashboard = await reader.read(agency_id, query, deps.clock.now())
    if scoped:
        unlock = Figure.undefined(_SCOPED)
    elif creator_id is not None:
        unlock = Figure.undefined(_ONE_CREATOR)
    else:
        first, end = _utc_days(dashboard.period)
        async with deps.uow() as uow:
            days = await uow.chatter_days.for_agency(agency_id, first.date(), end.date())
        unlock = Figure.undefined(_NOT_SYNCED) if not days else Figure.of(unlock_rate(days), _NONE_SENT)
    names = {c.id: (c.handle, c.display_name) for c in creators}
    return AnalyticsAnswer(dashboard, query.tz, unlock, names)
