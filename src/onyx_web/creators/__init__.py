"""Creators on the web: the member's agency's creators, within her creator scope (``GET /api/creators``), and one
of them (``GET /api/creators/{creator_id}``; another agency's or an out-of-scope id answers 404, no data)."""

from onyx_web.creators.routes import CreatorsController

route_handlers = [CreatorsController]

__all__ = ["route_handlers"]
