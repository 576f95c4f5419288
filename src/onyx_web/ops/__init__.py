"""Operations on the web: the agency's owners and admins (permission ``operate``) read the database's health and
the connections' token health, rebuild a creator's stats floor from the ledger and re-sync a creator
(``/api/ops``); machines call the heartbeat (``POST /ops/heartbeat``) and scrape ``/metrics``, each with a bearer
secret of the deployment's. See docs/operations.md."""

from litestar.types import ControllerRouterHandler

from onyx_web.ops.machine import heartbeat, metrics
from onyx_web.ops.metrics import METRICS_KEY, MetricsMiddleware, WebMetrics
from onyx_web.ops.routes import OpsController

route_handlers: list[ControllerRouterHandler] = [OpsController, heartbeat, metrics]

__all__ = ["METRICS_KEY", "MetricsMiddleware", "WebMetrics", "route_handlers"]
