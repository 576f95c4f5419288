"""Who the caller is, as a handler asks: the principal the authentication middleware set, the client's address
for the audit log, and the refusal of a cross-site page on a public unsafe route (login, an invitation link)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

from onyx_core.accounts import Principal
from onyx_web.errors import Problem

__all__ = ["client_ip", "principal_of", "refuse_cross_site"]


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller on a private route. 401 when the app runs another authenticator (a test's): nobody the core
    knows."""
    principal = connection.user
    if not isinstance(principal, Principal):
        raise Problem(401, "Log in, or send an API token.")
    return principal


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The client's address, for the audit log."""
    return connection.client.host if connection.client else None


def refuse_cross_site(connection: ASGIConnection[Any, Any, Any, Any], detail: str) -> None:
    """403 with ``detail`` when the browser says another site's page sent the request (``Sec-Fetch-Site``, or an
    ``Origin`` that is not this host): a public unsafe route must not act for a visitor on someone else's behalf
    (login CSRF, an invitation started from a hostile page)."""
    if connection.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise Problem(403, detail)
    origin = connection.headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != connection.headers.get("host", "")):
        raise Problem(403, detail)
