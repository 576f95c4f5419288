"""The dashboard's pages: rendered on the server for the member who asks (her agency's name, the sections her role
may open, the page's cards), their figures loaded by each card from the JSON API (one source of truth for every
number; ``/static/dashboard.js`` shows a skeleton, then the values, or the card's own error with a retry).

Every page is private (``opt={"page": True}``): an anonymous visitor is sent to the login page, a session that owes
its second factor or an enrolment to that step (tests/web/test_route_inventory.py). A section the member's role may
not open answers 403 with a page that says so; a creator she may not see, 404 (W7), as the API does. Which section
needs what is the core's rule (:mod:`onyx_core.accounts.sections`): the pages only ask it.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from onyx_core.accounts import NotAuthenticated, Principal, authenticate_session
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.sections import Section, may_open, sections_for
from onyx_core.accounts.usecases.agency import own_agency
from onyx_core.accounts.usecases.deps import require_creator
from onyx_core.accounts.usecases.two_factor import security_status
from onyx_core.errors import NotFoundError
from onyx_core.ids import CreatorId
from onyx_core.stats import Metric
from onyx_web.accounts.authentication import PAGE, PUBLIC, credentials_of
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.pages.charts import chart_library
from onyx_web.pages.routes import ASSETS, page_fragment, page_html
from onyx_web.pages.templates import render

__all__ = ["SECTION_NAMES", "DashboardPages"]

SECTION_NAMES: dict[Section, str] = {
    Section.OVERVIEW: "Overview",
    Section.FINANCE: "Fanvue & Finance",
    Section.SOCIAL: "Social",
    Section.CREATORS: "Creators",
    Section.CONNECTIONS: "Connections",
    Section.TEAM: "Team",
    Section.SECURITY: "Security",
    Section.AUDIT: "Audit log",
    Section.EXPORTS: "Exports",
}
CHART_SECTIONS = frozenset({Section.OVERVIEW, Section.FINANCE, Section.SOCIAL, Section.CREATORS})
"""The pages that draw charts (the creator page is under Creators): only they load the chart library."""

_MODULES = frozenset(
    name.removeprefix("cards-") for name in ASSETS if name.startswith("cards-") and name.endswith(".js")
)
"""The sections with a module of card renderers (``assets/cards-<section>.js``)."""
_HTML = "text/html"
_NO_STORE = {"Cache-Control": "no-store"}
_OPT = {PAGE: True}


async def _frame(accounts: Accounts, principal: Principal, section: Section, title: str) -> dict[str, Any]:
    agency = await own_agency(accounts, principal)
    charts = section in CHART_SECTIONS
    library = chart_library() if charts else None
    return {
        "title": title,
        "page": section.value,
        "current": section.value,
        "member": {"display_name": principal.member.display_name, "role": principal.member.role.value},
        "agency_name": agency.name,
        "timezone": agency.timezone,
        "sections": sections_for(principal),
        "section_names": SECTION_NAMES,
        "charts": charts,
        "chart_script": library.url if library else None,
        "chart_style_guards": library.style_guards if library else (),
        "module": f"cards-{section.value}.js" if section.value + ".js" in _MODULES else None,
        "creator": None,
        "can": {permission.value: principal.can(permission) for permission in Permission},
    }


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, media_type=_HTML, status_code=status, headers=_NO_STORE)


async def _section(
    request: Request[Any, Any, Any], accounts: Accounts, section: Section, **extra: Any
) -> Response[str]:
    principal = principal_of(request)
    frame = await _frame(accounts, principal, section, SECTION_NAMES[section])
    if not may_open(principal, section):
        return _html(render("forbidden.html", **frame), status=403)
    return _html(render(f"{section.value}.html", **frame, **extra))


class DashboardPages(Controller):
    """One page per section, and a page per creator."""

    tags = ["pages"]  # noqa: RUF012 (Litestar's own attribute)
    include_in_schema = False

    @get("/overview", opt=_OPT)
    async def overview(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """Agency totals, top creators and each creator's live numbers."""
        return await _section(request, accounts, Section.OVERVIEW)

    @get("/creators/{creator_id:str}", opt=_OPT)
    async def creator(
        self, request: Request[Any, Any, Any], accounts: Accounts, creator_id: FromPath[str]
    ) -> Response[str]:
        """All of one creator: her stats with their provenance, her revenue and audience."""
        principal = principal_of(request)
        frame = await _frame(accounts, principal, Section.CREATORS, "Creator")
        if not may_open(principal, Section.CREATORS):
            return _html(render("forbidden.html", **frame), status=403)
        try:
            async with accounts.uow() as uow:
                found = await require_creator(principal, CreatorId(creator_id), uow.creators)
        except NotFoundError:
            return _html(render("not_found.html", **frame), status=404)
        frame.update(title=found.display_name or found.handle, creator=found, module="cards-creator.js")
        return _html(render("creator.html", **frame))

    # ------------------------------------------------------------ the agency's admin pages (over the JSON API)

    @get("/creators", opt=_OPT)
    async def creators(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """The creators, searched and paged, each linking to her page; Refresh All with its progress."""
        return await _section(request, accounts, Section.CREATORS)

    @get("/team", opt=_OPT)
    async def team(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """Members with their roles and creator scopes, and invitations."""
        return await _section(request, accounts, Section.TEAM)

    @get("/security", opt=_OPT)
    async def security_page(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """The member's own 2FA, recovery codes and API tokens; for owners, the agency's 2FA requirement."""
        principal = principal_of(request)
        frame = await _frame(accounts, principal, Section.SECURITY, SECTION_NAMES[Section.SECURITY])
        if not may_open(principal, Section.SECURITY):
            return _html(render("forbidden.html", **frame), status=403)
        return _html(render("security.html", **frame, security=await security_status(accounts, principal)))

    @get("/audit", opt=_OPT)
    async def audit(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """The agency's audit log, newest first, paged."""
        return await _section(request, accounts, Section.AUDIT)

    @get("/exports", opt=_OPT)
    async def exports(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """The exports as downloads (CSV or JSON), with their filters."""
        return await _section(request, accounts, Section.EXPORTS, metrics=[m.value for m in Metric])

    @get("/connections", opt={PUBLIC: True})
    async def connections(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """The Fanvue connections' health, Connect / Reconnect, and the agency's creators. Public: a creator who
        connected her own Fanvue account lands here without an Onyx login and is thanked (the static shell, whose
        script sends anybody else to the login page); a member who may open Connections gets the dashboard's frame."""
        credentials = credentials_of(request)
        principal = None
        if credentials is not None and credentials.scheme == "session":
            try:
                principal = await authenticate_session(accounts, credentials.secret)
            except NotAuthenticated:
                principal = None
        if principal is None or principal.restricted:
            return _html(page_html("/connections"))
        frame = await _frame(accounts, principal, Section.CONNECTIONS, SECTION_NAMES[Section.CONNECTIONS])
        if not may_open(principal, Section.CONNECTIONS):
            return _html(render("forbidden.html", **frame), status=403)
        return _html(render("public.html", **frame, fragment=page_fragment("/connections")))

    # ------------------------------------------------------------ the analytics pages (over the JSON API)

    @get("/finance", opt=_OPT)
    async def finance(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """Revenue by source over time, category shares, top spenders, tracking links with ROI and their cost."""
        return await _section(request, accounts, Section.FINANCE)

    @get("/social", opt=_OPT)
    async def social(self, request: Request[Any, Any, Any], accounts: Accounts) -> Response[str]:
        """Each creator's followers, posts, likes and chats, and the audience's growth."""
        return await _section(request, accounts, Section.SOCIAL)
