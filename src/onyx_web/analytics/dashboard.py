"""``GET /api/analytics`` (the agency's dashboard) and ``GET /api/creators/{creator_id}/analytics`` (one creator's),
over the batched read (:class:`~onyx_adapters.sql.dashboard.SqlDashboardReader`: one snapshot, one currency check).

Every role may read (``view_creators``); a manager or viewer limited to some creators gets the dashboard of those
creators only, agency figures included (see :mod:`onyx_core.accounts.usecases.analytics`). Query: ``range`` or
``start``/``end`` (:mod:`onyx_web.analytics.query`), ``tz`` (default: the agency's), ``top`` (top spenders).

Answers go through the app's one 60 s / 500-entry response cache (the creators list's
:class:`~onyx_web.creators.state.CreatorsState.cache`), as the JSON bytes sent. A key holds the agency, its
dashboard stamp (:func:`~onyx_adapters.sql.repositories.versions.dashboard_stamp`: it moves in the transaction of
every write of the data a dashboard reads, by any process: a polled page, a webhook's payment, its settlement, the
stats floor, a refresh, subscriber days, tracking links, a link's cost, chatter days), the member's creator scope
(no member gets an answer made for another scope), the creator asked for and the canonical query (range or
start/end as instants, the resolved time zone, top). Only answers are cached: a 404, 409 or 422 never is.

Named windows end at *now*: an answer served from the cache is at most the cache's ttl (60 s) old, so the last
minute's entries may show a minute late, while any stored change shows at once (its write moves the stamp).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from litestar import Controller, MediaType, Request, Response, get
from litestar.params import FromPath, QueryParameter
from litestar.serialization import encode_json

from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_adapters.sql.repositories.versions import dashboard_stamp
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
from onyx_web.analytics.query import AnalyticsRequest, analytics_request
from onyx_web.creators.state import creators_state
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


def _canonical(asked: AnalyticsRequest, top: int, creator_id: CreatorId | None) -> str:
    """The query as the key holds it: equal for every spelling of one request (a date or its instant, an
    omitted tz or the agency's zone named)."""
    window = asked.window.value if asked.window is not None else None
    period = None if asked.period is None else [asked.period.start.isoformat(), asked.period.end.isoformat()]
    return "dashboard:" + json.dumps([creator_id, window, period, asked.tz, top])


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
) -> Response[Any]:
    principal = principal_of(request)
    # custom dates are local midnights in the zone asked for, else in the agency's
    zone = tz if tz is not None else await agency_time_zone(accounts, principal)
    asked = analytics_request(range_=range_, start=start, end=end, tz=tz, agency_tz=zone)
    chosen: DashboardRange = asked.window if asked.window is not None else cast("Period", asked.period)
    state = creators_state(request)
    stamp = await dashboard_stamp(web.engine, principal.member.agency_id)
    key = await state.cache_key(principal, f"{stamp}:{_canonical(asked, top, creator_id)}")
    cached = await state.cache.get(key)
    if cached is not None:
        return Response(cached, media_type=MediaType.JSON)
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
    body = encode_json(analytics_view(answer))
    await state.cache.set(key, body)
    return Response(body, media_type=MediaType.JSON)


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
    ) -> Response[AnalyticsView]:
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
    ) -> Response[AnalyticsView]:
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
