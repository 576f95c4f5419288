"""``GET /api/analytics`` (the agency's dashboard) and ``GET /api/creators/{creator_id}/analytics`` (one creator's),
over the batched read (:class:`~onyx_adapters.sql.dashboard.SqlDashboardReader`: one snapshot, one currency check).

Every role may read (``view_creators``); a manager or viewer limited to some creators gets the dashboard of those
creators only, agency figures included (see :mod:`onyx_core.accounts.usecases.analytics`). Query: ``range`` or
``start``/``end`` (:mod:`onyx_web.analytics.query`), ``tz`` (default: the agency's), ``top`` (top spenders).

Not cached yet: the 60 s response cache (``onyx_adapters.cache``) needs the helper that invalidates it when a sync
stores new data, which the creators/stats domain is adding; this route should go through it once it exists, keyed
by agency, the member's creator scope and the query.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.agency import agency_time_zone
from onyx_core.accounts.usecases.analytics import read_dashboard
from onyx_core.analytics.dashboard import DashboardRange
from onyx_core.analytics.periods import Period, Window
from onyx_core.errors import CurrencyMismatchError
from onyx_core.ids import CreatorId
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.analytics.dashboard_views import AnalyticsView, analytics_view
from onyx_web.analytics.query import analytics_request
from onyx_web.errors import Problem, problem_spec
from onyx_web.runtime import Web

__all__ = ["AnalyticsController", "CreatorAnalyticsController"]

MAX_TOP = 100
Range = Annotated[Window | None, QueryParameter(name="range", description="7d, 30d (default), 90d, 1y or all")]
Bound = Annotated[str | None, QueryParameter(max_length=40, description="ISO date (local midnight) or instant")]
Zone = Annotated[str | None, QueryParameter(max_length=64, description="IANA time zone (default: the agency's)")]
Top = Annotated[int, QueryParameter(ge=0, le=MAX_TOP, description="How many top spenders")]
_RESPONSES = {
    409: problem_spec("The ledger holds another currency than USD"),
    422: problem_spec("A range and a custom period at once, end not after start, too long, or an unknown zone"),
}


async def _answer(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    web: Web,
    *,
    range_: Window | None,
    start: str | None,
    end: str | None,
    tz: str | None,
    top: int,
    creator_id: CreatorId | None = None,
) -> AnalyticsView:
    principal = principal_of(request)
    # custom dates are local midnights in the zone asked for, else in the agency's
    zone = tz if tz is not None else await agency_time_zone(accounts, principal)
    asked = analytics_request(range_=range_, start=start, end=end, tz=tz, agency_tz=zone)
    chosen: DashboardRange = asked.window if asked.window is not None else cast("Period", asked.period)
    try:
        answer = await read_dashboard(
            accounts,
            principal,
            SqlDashboardReader(web.engine),
            range_=chosen,
            tz=asked.tz,
            top_spenders=top,
            creator_id=creator_id,
        )
    except CurrencyMismatchError:
        raise Problem(409, "The ledger holds another currency than USD: these figures cannot add it up.") from None
    return analytics_view(answer)


class AnalyticsController(Controller):
    path = "/api/analytics"
    tags = ["analytics"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.VIEW_CREATORS)]  # noqa: RUF012

    @get("/", summary="The agency's dashboard", responses=_RESPONSES)
    async def agency(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        range_: Range = None,
        start: Bound = None,
        end: Bound = None,
        tz: Zone = None,
        top: Top = 10,
    ) -> AnalyticsView:
        """Every figure of the agency and of each creator you may see, over one range, in one read."""
        return await _answer(request, accounts, web, range_=range_, start=start, end=end, tz=tz, top=top)


class CreatorAnalyticsController(Controller):
    path = "/api/creators/{creator_id:str}/analytics"
    tags = ["analytics"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.VIEW_CREATORS)]  # noqa: RUF012

    @get("/", summary="One creator's dashboard", responses={**_RESPONSES, 404: problem_spec("No such creator")})
    async def creator(
        self,
        request: Request[Any, Any, Any],
        creator_id: FromPath[str],
        accounts: Accounts,
        web: Web,
        range_: Range = None,
        start: Bound = None,
        end: Bound = None,
        tz: Zone = None,
        top: Top = 10,
    ) -> AnalyticsView:
        """The same figures for one creator you may see (any other id: 404)."""
        return await _answer(
            request,
            accounts,
            web,
            range_=range_,
            start=start,
            end=end,
            tz=tz,
            top=top,
            creator_id=CreatorId(creator_id),
        )
