"""The routes machines call with a deployment secret of their own, not a member's credentials:

- ``POST /ops/heartbeat`` with ``Authorization: Bearer <ONYX_HEARTBEAT_SECRET>``: one heartbeat
  (:mod:`onyx_adapters.heartbeat`), at most one at a time across processes. 200 ``ran`` with the tick's report;
  200 ``recent`` with the last tick's report while it ended less than the spacing (30 s) ago; 202 ``running`` while
  another call's tick runs.
- ``GET /metrics`` with ``Authorization: Bearer <ONYX_METRICS_TOKEN>``: Prometheus's text format
  (:mod:`onyx_web.ops.metrics`).

They are outside the member authentication (``public`` to it) and check their own bearer, compared in constant
time: a missing or wrong one is a 401 problem and runs nothing. Without its setting a route answers 404, as a
route that does not exist: an unconfigured deployment does not show it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from onyx_adapters.heartbeat import Heartbeat, HeartbeatMode, enqueue_work, tick_work
from onyx_adapters.settings import ConfigurationError
from onyx_adapters.sql.leases import SqlLeases
from onyx_core.schedule import Schedule
from onyx_web.accounts.authentication import PUBLIC
from onyx_web.errors import Problem, problem_spec
from onyx_web.ops.metrics import METRICS_KEY, WebMetrics
from onyx_web.runtime import Web

__all__ = ["HeartbeatView", "bearer_matches", "heartbeat", "metrics", "queue_failures"]


def bearer_matches(request: Request[Any, Any, Any], expected: SecretStr) -> bool:
    """Whether the request's ``Authorization: Bearer`` is ``expected``. Digests are compared, in constant time,
    so neither the secret's length nor a matching prefix shows in the timing."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    given = hashlib.sha256(token.strip().encode()).digest()
    wanted = hashlib.sha256(expected.get_secret_value().encode()).digest()
    return hmac.compare_digest(given, wanted) and scheme.lower() == "bearer"


def queue_failures() -> tuple[type[Exception], ...]:
    """What reaching the job queue raises when it cannot be used: SQLite (the queue is PostgreSQL's), the extra
    not installed, the database refusing the connection."""
    try:
        from procrastinate.exceptions import ConnectorException  # noqa: PLC0415 - an optional extra
    except ImportError:
        return (ConfigurationError, ImportError, OSError)
    return (ConfigurationError, ImportError, OSError, ConnectorException)


def _check(request: Request[Any, Any, Any], expected: SecretStr | None, what: str) -> None:
    if expected is None:  # not configured: the route does not exist here
        raise Problem(404)
    if not bearer_matches(request, expected):
        raise Problem(401, f"Send {what} as a bearer token.", headers={"WWW-Authenticate": 'Bearer realm="onyx-ops"'})


@dataclass(frozen=True, slots=True)
class HeartbeatView:
    status: str
    """``ran`` (this call ran the tick), ``running`` (another call's tick is running) or ``recent`` (a tick ended
    less than 30 s ago: its report)."""
    started_at: datetime | None
    finished_at: datetime | None
    report: dict[str, Any] | None
    """What the tick did: mode ``run``: creators synced, token maintenance, imports, failures by step; mode
    ``enqueue``: the jobs deferred."""


@post(
    "/ops/heartbeat",
    opt={PUBLIC: True},
    status_code=200,
    tags=["operations"],
    summary="Run what is due (for an outside scheduler)",
    responses={
        202: ResponseSpec(
            data_container=HeartbeatView,
            description="Another call's tick is running: nothing ran",
            generate_examples=False,
        ),
        401: problem_spec("No or a wrong heartbeat secret: nothing ran"),
        404: problem_spec("No heartbeat secret is configured on this server"),
        503: problem_spec("Fanvue is not configured on this server, or (mode enqueue) the job queue is not usable"),
    },
)
async def heartbeat(request: Request[Any, Any, Any], web: Web) -> Response[HeartbeatView]:
    """One tick of ``onyx schedule`` (or, in mode ``enqueue``, one beat of the worker heartbeat); concurrent calls
    run it once."""
    _check(request, web.settings.heartbeat_secret, "ONYX_HEARTBEAT_SECRET")
    runtime = web.fanvue()
    schedule = Schedule()
    if HeartbeatMode(web.settings.heartbeat_mode) is HeartbeatMode.ENQUEUE:
        work = enqueue_work(runtime, web.settings.database_url, schedule)
    else:
        work = tick_work(runtime, schedule)
    try:
        outcome = await Heartbeat(SqlLeases(web.engine), runtime.ctx.clock, work).beat()
    except queue_failures() as failure:  # mode enqueue without a usable queue: the configuration's fault
        raise Problem(503, f"The job queue is not usable here ({type(failure).__name__}).") from None
    status = "ran" if outcome.ran else "running" if outcome.running else "recent"
    view = HeartbeatView(status, outcome.started_at, outcome.finished_at, outcome.report)
    return Response(view, status_code=202 if outcome.running else 200)


@get("/metrics", opt={PUBLIC: True}, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], web: Web) -> Response[bytes]:
    """Prometheus's text exposition of the app's registry."""
    _check(request, web.settings.metrics_token, "ONYX_METRICS_TOKEN")
    registry = request.app.state.get(METRICS_KEY)
    if not isinstance(registry, WebMetrics):
        raise Problem(404)
    # lag is measured on the clock the syncs date their data with
    now = datetime.now(UTC) if web.runtime is None else web.runtime.ctx.clock.now()
    body = await registry.render(web, now)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
