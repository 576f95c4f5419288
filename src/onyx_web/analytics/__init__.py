"""Analytics on the web: the agency's settings its figures depend on (``GET/PATCH /api/agency``: name and IANA time
zone), tracking links with their cost and ROI (``/api/tracking-links``), and the dashboard (``/api/analytics``).
The rules are the core's (:mod:`onyx_core.accounts`); the guards only call them."""

from litestar.types import ControllerRouterHandler

from onyx_web.analytics.dashboard import AnalyticsController, CreatorAnalyticsController
from onyx_web.analytics.links import TrackingLinksController
from onyx_web.analytics.settings import AgencySettingsController

route_handlers: list[ControllerRouterHandler] = [
    AgencySettingsController,
    TrackingLinksController,
    AnalyticsController,
    CreatorAnalyticsController,
]

__all__ = ["route_handlers"]
