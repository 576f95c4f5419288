"""Connecting Fanvue from the browser (OAuth + PKCE, a member's agency connection or a creator's own through an
invitation) and each connection's health."""

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler

from onyx_web.connections.routes import ConnectionsController, fanvue_callback, invite_connect

route_handlers: Sequence[ControllerRouterHandler] = [ConnectionsController, fanvue_callback, invite_connect]

__all__ = ["route_handlers"]
