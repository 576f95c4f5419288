"""Exports on the web: ``GET /api/exports/{ledger,daily-revenue,stats-history,top-spenders}?format=csv|json``,
streamed with constant memory, limited to the creators the caller sees, recorded in the audit log (owners,
admins and managers; viewers get 403). See docs/exports.md."""

from litestar.types import ControllerRouterHandler

from onyx_web.exports.controllers import ExportsController

route_handlers: list[ControllerRouterHandler] = [ExportsController]

__all__ = ["route_handlers"]
