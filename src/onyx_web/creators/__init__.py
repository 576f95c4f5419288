"""Creators and their live stats on the web: the member's agency's creators within her creator scope, with their
stats (``GET /api/creators``), one of them and her stats and their provenance, refreshes of one creator or of all
(``POST``; progress at ``GET /api/refresh-runs/{run_id}``). Another agency's or an out-of-scope id answers 404, no
data. :func:`creators_lifespan` holds the domain's refresh runner and response cache while the app serves."""

from litestar.types import ControllerRouterHandler

from onyx_web.creators.routes import CreatorsController, read_run, refresh_all
from onyx_web.creators.state import creators_lifespan

route_handlers: list[ControllerRouterHandler] = [CreatorsController, refresh_all, read_run]

__all__ = ["creators_lifespan", "route_handlers"]
