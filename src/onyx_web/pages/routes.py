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
from markupsafe import Markup

from onyx_core.accounts import NotAuthenticated, authenticate_session
from onyx_web.accounts.authentication import PUBLIC, credentials_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import Problem
from onyx_web.pages.charts import chart_library
from onyx_web.pages.templates import render

__all__ = ["ASSETS", "PAGES", "PagesController", "page_fragment", "page_html"]


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

_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
ASSETS: dict[str, str] = {
    entry.name: _MEDIA_TYPES[suffix]
    for entry in files("onyx_web.pages").joinpath("assets").iterdir()
    for suffix in _MEDIA_TYPES
    if entry.name.endswith(suffix)
}
"""The files under ``/static/`` (every script and style sheet of ``onyx_web/pages/assets``) and their media types."""

_HTML = "text/html"
_NO_STORE = {"Cache-Control": "no-store"}
_REVALIDATE = {"Cache-Control": "no-cache"}


@cache
def _resource(folder: str, name: str) -> str:
    return files("onyx_web.pages").joinpath(folder, name).read_text(encoding="utf-8")


def page_fragment(path: str) -> Markup:
    """The body of the public page at ``path`` (a key of :data:`PAGES`), to put in a template."""
    return Markup(_resource("html", PAGES[path].template))  # noqa: S704 (our own file, not data)


@cache
def page_html(path: str) -> str:
    """The whole HTML document of the page at ``path`` (a key of :data:`PAGES`)."""
    page = PAGES[path]
    return render(
        "public.html",
        title=page.title,
        page=page.template.removesuffix(".html"),
        fragment=page_fragment(path),
        member=None,
        sections=(),
        charts=False,
        module=None,
        creator=None,
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
        """Where the browser belongs: 303 to the dashboard's overview when logged in, else to the step still due."""
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
        return _to("/overview")

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

    @get("/static/vendor/{name:str}", opt={PUBLIC: True})
    async def chart_script(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        """The chart library, from the installed ``plotly`` package (onyx_web.pages.charts)."""
        library = chart_library()
        if f"/static/vendor/{name}" != library.url:
            raise Problem(404, "No such file.")
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                library.gzipped, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"}
            )
        return Response(library.script, media_type="text/javascript", headers=headers)


def _to(path: str) -> Redirect:
    return Redirect(path, status_code=303, headers=_NO_STORE)
