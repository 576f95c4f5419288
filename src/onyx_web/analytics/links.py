"""``GET /api/tracking-links`` (the links of the creators you may see, ranked by net revenue, with the ROI when
their cost was entered) and ``PUT /api/tracking-links/{link_id}/cost`` (owners, admins and managers, on a link of
a creator within their scope; another agency's, out-of-scope or unknown link: 404; a negative cost: 422)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody, QueryParameter

from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.tracking_links import list_tracking_links, set_link_cost
from onyx_core.ids import CreatorId, TrackingLinkId
from onyx_core.money import Money
from onyx_web.accounts.caller import client_ip, principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.analytics.schemas import LinkCostBody, LinkView
from onyx_web.errors import broken_rule, problem_spec

__all__ = ["TrackingLinksController"]

_ONLY = "Only this creator's links"
NO_NUL = r"^[^\x00]*$"
"""An id never holds a NUL (PostgreSQL text cannot: it would fail the query instead of finding nothing)."""


class TrackingLinksController(Controller):
    path = "/api/tracking-links"
    tags = ["analytics"]  # noqa: RUF012 (Litestar's own attribute)

    @get(
        "/",
        summary="Tracking links ranked by revenue, with ROI",
        guards=[permits(Permission.VIEW_CREATORS)],
        responses={404: problem_spec("No such creator that you may see")},
    )
    async def list_(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        creator_id: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL, description=_ONLY)] = None,
    ) -> list[LinkView]:
        """Every link of the creators you may see (or of ``creator_id``), by net revenue, biggest first."""
        creator = None if creator_id is None else CreatorId(creator_id)
        return [LinkView.of(r) for r in await list_tracking_links(accounts, principal_of(request), creator)]

    @put(
        "/{link_id:str}/cost",
        summary="Enter what a tracking link cost",
        guards=[permits(Permission.ENTER_LINK_COSTS)],
        responses={
            403: problem_spec("Owners, admins and managers only"),
            404: problem_spec("No such link of a creator that you may see"),
            422: problem_spec("A negative cost, or another currency than USD"),
        },
    )
    async def set_cost(
        self,
        request: Request[Any, Any, Any],
        link_id: FromPath[str],
        data: JSONBody[LinkCostBody],
        accounts: Accounts,
    ) -> LinkView:
        with broken_rule("A cost is 0 or more whole cents, in USD (the currency of the link's earnings)."):
            cost = Money(data.cents, data.currency)
            entered = await set_link_cost(
                accounts, principal_of(request), TrackingLinkId(link_id), cost, ip=client_ip(request)
            )
        return LinkView.of(entered)
