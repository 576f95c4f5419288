"""``GET /api/creators`` and ``GET /api/creators/{creator_id}``: what a member may read of her agency's creators.

The scope rules are the core's (:func:`~onyx_core.accounts.visible_creators`,
:func:`~onyx_core.accounts.require_creator`, through :mod:`onyx_core.accounts.usecases.creators`): a creator of
another agency, or outside a scoped member's creator set, answers 404 exactly as an unknown id, with no data (W7).

A creator's numbers are not here yet: no read use case of the stored stats exists in the core (the stats API is
the next issue's), and a number Onyx does not have is never shown as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, get
from litestar.params import FromPath

from onyx_core.accounts.usecases.creators import CreatorOverview, list_creators, show_creator
from onyx_core.ids import CreatorId
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import problem_spec

__all__ = ["CreatorView", "CreatorsController"]

OwnConnection = Literal["active", "needs_reauth", "revoked"]


@dataclass(frozen=True, slots=True)
class CreatorView:
    id: str
    """The creator's Fanvue uuid."""
    handle: str
    display_name: str
    has_own_connection: bool
    """She connected her own Fanvue account (through a creator-connect invitation)."""
    own_connection_status: OwnConnection | None
    """That connection's status; ``None`` when she has none."""


def _view(overview: CreatorOverview) -> CreatorView:
    creator, status = overview.creator, overview.own_connection
    return CreatorView(
        id=str(creator.id),
        handle=creator.handle,
        display_name=creator.display_name,
        has_own_connection=status is not None,
        own_connection_status=None if status is None else status.value,
    )


class CreatorsController(Controller):
    path = "/api/creators"
    tags = ["creators"]  # noqa: RUF012 (Litestar's own attribute)

    @get("/", summary="The creators you may see")
    async def list_creators(self, request: Request[Any, Any, Any], accounts: Accounts) -> list[CreatorView]:
        """Your agency's creators, by id; a manager or viewer limited to some creators sees only those."""
        return [_view(overview) for overview in await list_creators(accounts, principal_of(request))]

    @get(
        "/{creator_id:str}",
        summary="One creator",
        responses={404: problem_spec("No such creator that you may see")},
    )
    async def show_creator(
        self, request: Request[Any, Any, Any], creator_id: FromPath[str], accounts: Accounts
    ) -> CreatorView:
        """One creator of your agency within your scope; any other id answers 404."""
        return _view(await show_creator(accounts, principal_of(request), CreatorId(creator_id)))
