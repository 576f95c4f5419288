"""The browser pages: static HTML shells, one JavaScript module and one style sheet, all from this package.

A page holds no data and no script of its own: ``/static/onyx.js`` (``<script type="module">``, allowed by the
CSP's ``'self'``; no inline script or style anywhere, so the CSP needs no ``'unsafe-inline'``) fills it from the
JSON API with ``fetch()``, sending ``X-CSRF-Token`` on unsafe methods. So the pages are public (the W1 allowlist's
"static"): what they show comes from private JSON routes. Only ``GET /`` looks at the session cookie, to send the
browser where it belongs: the connections, the second factor, 2FA enrolment or the login page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from onyx_core.accounts import NotAuthenticated, authenticate_session
from onyx_web.accounts.authentication import PUBLIC, credentials_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import Problem

__all__ = ["ASSETS", "PAGES", "PagesController", "page_html"]


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    title: str


PAGES: dict[str, Page] = {
    "/login": Page("login.html", "Log in"),
    "/login/2fa": Page("login-2fa.html", "Two-factor check"),
    "/account/2fa": Page("account-2fa.html", "Set up two-factor authentication"),
    "/connections": Page("connections.html", "Connections"),
    "/invite/{token:str}": Page("invite.html", "Invitation"),
}
"""Each page's path, its body (a file of ``onyx_web/pages/html``) and its title."""

ASSETS: dict[str, str] = {"onyx.js": "text/javascript", "onyx.css": "text/css"}
"""The files under ``/static/`` (from ``onyx_web/pages/assets``) and their media types."""

_HTML = "text/html"
_NO_STORE = {"Cache-Control": "no-store"}
_REVALIDATE = {"Cache-Control": "no-cache"}


@cache
def _resource(folder: str, name: str) -> str:
    return files("onyx_web.pages").joinpath(folder, name).read_text(encoding="utf-8")


@cache
def page_html(path: str) -> str:
    """The whole HTML document of the page at ``path`` (a key of :data:`PAGES`)."""
    page = PAGES[path]
    name = page.template.removesuffix(".html")
    return (
        _resource("html", "layout.html")
        .replace("{{title}}", page.title)
        .replace("{{page}}", name)
        .replace("{{body}}", _resource("html", page.template))
    )


def _page(path: str) -> Response[str]:
    return Response(page_html(path), media_type=_HTML, headers=_NO_STORE)


STATIC_SHELL = "static_shell"
"""Route option of a page whose answer is the same whatever its path holds (W7's check: tests/web/test_tenancy.py)."""


class PagesController(Controller):
    """The pages (public shells) and their two static files."""

    tags = ["pages"]  # noqa: RUF012 (Litestar's own attribute)
    include_in_schema = False

    @get("/", opt={PUBLIC: True}, status_code=303)
    async def home(self, request: Request[Any, Any, Any], accounts: Accounts) -> Redirect:
        """Where the browser belongs: 303 to /connections when logged in, else to the step still due."""
        credentials = credentials_of(request)
        if credentials is None or credentials.scheme != "session":
            return _to("/login")
        try:
            principal = await authenticate_session(accounts, credentials.secret)
        except NotAuthenticated:
            return _to("/login")
        if principal.second_factor_due:
            return _to("/login/2fa")
        if principal.enrolment_required:
            return _to("/account/2fa")
        return _to("/connections")

    @get("/login", opt={PUBLIC: True})
    async def login(self) -> Response[str]:
        """Log in: email and password."""
        return _page("/login")

    @get("/login/2fa", opt={PUBLIC: True})
    async def login_2fa(self) -> Response[str]:
        """The second factor: a TOTP code or a recovery code."""
        return _page("/login/2fa")

    @get("/account/2fa", opt={PUBLIC: True})
    async def account_2fa(self) -> Response[str]:
        """Set up TOTP: the QR code and the secret, a code to confirm, then the recovery codes once."""
        return _page("/account/2fa")

    @get("/connections", opt={PUBLIC: True})
    async def connections(self) -> Response[str]:
        """The Fanvue connections' health, Connect / Reconnect, and the agency's creators."""
        return _page("/connections")

    @get("/invite/{token:str}", opt={PUBLIC: True, STATIC_SHELL: True})
    async def invite(self, token: FromPath[str]) -> Response[str]:  # noqa: ARG002 (the script reads it from the address)
        """Accept an invitation (the token stays in the address: the page never repeats it)."""
        return _page("/invite/{token:str}")

    @get("/static/{name:str}", opt={PUBLIC: True})
    async def asset(self, name: FromPath[str]) -> Response[str]:
        """The pages' own script and style sheet (nothing else is served from here)."""
        media_type = ASSETS.get(name)
        if media_type is None:
            raise Problem(404, "No such file.")
        return Response(_resource("assets", name), media_type=media_type, headers=_REVALIDATE)


def _to(path: str) -> Redirect:
    return Redirect(path, status_code=303, headers=_NO_STORE)
