"""Every Fanvue endpoint the sandbox serves, as one table (each module owns a part of the API)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from onyx_fanvue.sandbox.api import Endpoint, api_handlers
from onyx_fanvue.sandbox.endpoints import agencies, audience, chats, insights, links, posts, users

if TYPE_CHECKING:
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["ENDPOINTS", "api_route_handlers", "route_of"]

ENDPOINTS: tuple[Endpoint, ...] = (
    *users.ENDPOINTS,
    *insights.ENDPOINTS,
    *agencies.ENDPOINTS,
    *audience.ENDPOINTS,
    *chats.ENDPOINTS,
    *links.ENDPOINTS,
    *posts.ENDPOINTS,
)


def api_route_handlers(sandbox: FanvueSandbox) -> list[Any]:
    return api_handlers(sandbox, ENDPOINTS)


@lru_cache(maxsize=4096)
def route_of(method: str, path: str) -> tuple[str | None, str | None]:
    """The endpoint template serving ``method path`` and the creator uuid in it, if any."""
    for endpoint in ENDPOINTS:
        if endpoint.matches(method, path):
            parts = path.split("/")
            creator = parts[2].lower() if endpoint.creator_scoped and len(parts) > 2 else None
            return endpoint.path, creator
    return None, None
