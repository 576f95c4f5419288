"""Live updates: ``GET /api/events`` streams the member's dashboard changes as Server-Sent Events, fed by
PostgreSQL ``LISTEN/NOTIFY`` or, on SQLite, by this process's commits and a check of the data counters; while a
stream of an agency is open, its stale creators are refreshed (docs/live.md). :func:`live_lifespan` holds the
domain's hub, listener and watchers while the app serves."""

from litestar.types import ControllerRouterHandler

from onyx_web.live.routes import events
from onyx_web.live.state import live_lifespan

route_handlers: list[ControllerRouterHandler] = [events]

__all__ = ["live_lifespan", "route_handlers"]
