"""The admin routes' guards and helpers. The rules are the core's: a guard only calls
:func:`onyx_core.accounts.require` (so a role without the permission gets 403 before the body is even read), and the
use cases check again with fresh rows. Also: the statuses of the errors these routes meet, and the invitation URL
shown to its maker."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from onyx_core.accounts import Permission, require
from onyx_web.accounts.caller import principal_of

__all__ = ["INVITE_PATH", "invite_url", "permits", "plausible_token"]

INVITE_PATH = "/invite/"
"""The page an invitation link opens (served by the pages domain): ``<base>/invite/<token>``."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")


def permits(permission: Permission) -> Guard:
    """A guard: the caller's role has ``permission`` (the core's :func:`require`: 403, or 401 while she owes a
    second factor)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        require(principal_of(connection), permission)

    guard.__name__ = f"permits_{permission.value}"
    return guard


def invite_url(request: Request[Any, Any, Any], secret: str) -> str:
    """The link to hand to the invitee, on the base URL this request came to."""
    return f"{str(request.base_url).rstrip('/')}{INVITE_PATH}{secret}"


def plausible_token(token: str) -> bool:
    """Shaped like a link's secret (URL-safe, 20-128 characters): anything else is unknown without a lookup."""
    return _TOKEN.fullmatch(token) is not None
