"""``GET/PATCH /api/agency``: the agency's name and IANA time zone (owners and admins, ``manage_agency_settings``).
A time zone that is not an IANA name, or a blank name, answers 422 and nothing is written; a change is audited."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch
from litestar.params import JSONBody

from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.agency import agency_settings, update_agency_settings
from onyx_web.accounts.caller import client_ip, principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.analytics.schemas import AgencyPatch, AgencyView
from onyx_web.errors import broken_rule, problem_spec

__all__ = ["AgencySettingsController"]

_FORBIDDEN = problem_spec("Owners and admins only")


class AgencySettingsController(Controller):
    path = "/api/agency"
    tags = ["agency"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.MANAGE_AGENCY_SETTINGS)]  # noqa: RUF012

    @get("/", summary="Your agency's name and time zone", responses={403: _FORBIDDEN})
    async def show(self, request: Request[Any, Any, Any], accounts: Accounts) -> AgencyView:
        return AgencyView.of(await agency_settings(accounts, principal_of(request)))

    @patch(
        "/",
        summary="Rename the agency and/or set its time zone",
        responses={403: _FORBIDDEN, 422: problem_spec("Not an IANA time zone name, or a blank name")},
    )
    async def change(
        self, request: Request[Any, Any, Any], data: JSONBody[AgencyPatch], accounts: Accounts
    ) -> AgencyView:
        with broken_rule(
            "The time zone must be an IANA name (such as Europe/Berlin), the name 1 to 200 printable characters."
        ):
            changed = await update_agency_settings(
                accounts, principal_of(request), name=data.name, timezone=data.timezone, ip=client_ip(request)
            )
        return AgencyView.of(changed)
