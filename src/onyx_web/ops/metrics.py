"""``GET /metrics``: Prometheus's text format (prometheus-client), from a registry of the app's own (never the
process-wide default: two apps, or two tests, never see each other's figures).

- **HTTP latency**: a histogram ``onyx_http_request_duration_seconds{method, route, status}`` recorded by
  :class:`MetricsMiddleware` around every routed request, 401s included. ``route`` is the route's template
  (``/api/creators/{creator_id}``), never the raw path: ids never become labels.
- **From the database, at each scrape** (every agency; :func:`~onyx_adapters.sql.ops.ops_figures`): sync lag per
  job, creators a job never completed for, Fanvue failures by reason (stats observations marked stale), stale
  metrics, connections by kind and status, seconds until the earliest access token of each kind expires. The
  database is shared by every Onyx process, so these count the work of ``onyx schedule`` and ``onyx worker`` too.
- **This process's Fanvue rate budget** (when the Fanvue app is configured): buckets tracked, the busiest
  bucket's share in use, buckets blocked (after a 429 or an exhausted bucket).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onyx_adapters.sql.ops import OpsFigures, ops_figures
from onyx_core.schedule import SyncJob
from onyx_web.errors import Problem, domain_status
from onyx_web.runtime import WebRuntime

__all__ = ["METRICS_KEY", "MetricsMiddleware", "WebMetrics"]

METRICS_KEY = "onyx_metrics"
"""Where the app's :class:`WebMetrics` sits in ``app.state``."""
UNMATCHED = "<unmatched>"


@dataclass(frozen=True, slots=True)
class _Scrape:
    at: datetime
    figures: OpsFigures
    budget: tuple[int, list[float]] | None
    """The rate budget's capacity and what each tracked bucket has left (``None``: no Fanvue app)."""


class _DatabaseCollector(Collector):
    """Yields the figures the last :meth:`WebMetrics.render` read (a collector must not do I/O of its own: the
    scrape reads the database asynchronously first, then renders)."""

    def __init__(self) -> None:
        self.scrape: _Scrape | None = None

    def collect(self) -> Iterator[Metric]:
        scrape = self.scrape
        if scrape is None:
            return
        yield from _sync_families(scrape)
        yield from _fanvue_families(scrape)
        if scrape.budget is not None:
            yield from _budget_families(*scrape.budget)


def _sync_families(scrape: _Scrape) -> Iterator[Metric]:
    figures = scrape.figures
    lag = GaugeMetricFamily(
        "onyx_sync_lag_seconds",
        "Seconds since the job last completed, for the creator it is oldest for (creators it never completed "
        "for are in onyx_sync_never_completed_creators)",
        labels=["job"],
    )
    never = GaugeMetricFamily(
        "onyx_sync_never_completed_creators", "Creators the job never completed for", labels=["job"]
    )
    for job in SyncJob:
        at = figures.oldest_sync.get(job)
        if at is not None:
            lag.add_metric([job.value], max(0.0, (scrape.at - at).total_seconds()))
        never.add_metric([job.value], figures.never_synced.get(job, 0))
    yield lag
    yield never
    yield GaugeMetricFamily("onyx_creators", "Creators of every agency", value=figures.creators)


def _fanvue_families(scrape: _Scrape) -> Iterator[Metric]:
    figures = scrape.figures
    errors = CounterMetricFamily(
        "onyx_fanvue_errors",
        "Stats observations Fanvue failed to give, by reason (a metric marked stale), since the database began",
        labels=["reason"],
    )
    for reason, count in sorted(figures.failures.items()):
        errors.add_metric([reason], count)
    yield errors
    yield GaugeMetricFamily("onyx_stale_metrics", "Stored stats flagged stale now", value=figures.stale_metrics)
    by_status = GaugeMetricFamily(
        "onyx_connections", "Fanvue connections by kind and status", labels=["kind", "status"]
    )
    for (kind, status), count in sorted(figures.connections.items()):
        by_status.add_metric([kind, status], count)
    yield by_status
    expiry = GaugeMetricFamily(
        "onyx_token_expiry_seconds",
        "Seconds until the earliest access token of an active connection of this kind expires (negative: expired, "
        "refreshed at its next use or by token maintenance)",
        labels=["kind"],
    )
    for kind, at in sorted(figures.earliest_expiry.items()):
        expiry.add_metric([kind], (at - scrape.at).total_seconds())
    yield expiry


def _budget_families(capacity: int, left: list[float]) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "onyx_fanvue_rate_budget_capacity", "Requests per Fanvue rate bucket and period", value=capacity
    )
    yield GaugeMetricFamily(
        "onyx_fanvue_rate_budget_buckets", "Fanvue rate buckets this process tracks now", value=len(left)
    )
    busiest = max(((capacity - tokens) / capacity for tokens in left), default=0.0)
    yield GaugeMetricFamily(
        "onyx_fanvue_rate_budget_used_ratio",
        "Share of the busiest Fanvue rate bucket in use in this process (1: it must wait)",
        value=max(0.0, min(1.0, busiest)),
    )
    yield GaugeMetricFamily(
        "onyx_fanvue_rate_budget_blocked_buckets",
        "Fanvue rate buckets with nothing left now (exhausted, or closed by a 429)",
        value=sum(1 for tokens in left if tokens <= 0),
    )


class WebMetrics:
    """The app's registry: the request-latency histogram and the database figures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "onyx_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status",
            labelnames=["method", "route", "status"],
            registry=self.registry,
        )
        self._database = _DatabaseCollector()
        self.registry.register(self._database)
        self._rendering = asyncio.Lock()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.latency.labels(method, route, str(status)).observe(seconds)

    async def render(self, web: WebRuntime, now: datetime) -> bytes:
        """The exposition: the database read now, this process's rate budget, the latency histogram."""
        figures = await ops_figures(web.engine)
        budget = None
        if web.runtime is not None:
            rate = web.runtime.clients.rate_budget
            budget = (rate.capacity, rate.snapshot())
        async with self._rendering:  # one scrape's figures at a time in the collector
            self._database.scrape = _Scrape(now, figures, budget)
            try:
                return generate_latest(self.registry)
            finally:
                self._database.scrape = None


class MetricsMiddleware:
    """Times every routed request into ``metrics``, labelled with the route's template (what the router matched),
    never the path itself."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception with no answer sent
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            # answered by the app's exception handler, outside this middleware: its status, as it will answer
            status = _status_of(error)
            raise
        finally:
            route = _template(scope)
            method = str(scope.get("method", "GET"))
            self.metrics.observe(method, route, status, time.perf_counter() - started)


def _status_of(error: Exception) -> int:
    if isinstance(error, Problem):
        return error.status
    if isinstance(error, HTTPException):
        return error.status_code
    status = domain_status(error)
    return 500 if status is None else int(status)


def _template(scope: Any) -> str:
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED
