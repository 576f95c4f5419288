"""Liveness and readiness: ``/healthz`` and ``/readyz``, public and without internals."""

from __future__ import annotations

from onyx_web.health.controllers import healthz, readyz

__all__ = ["route_handlers"]

route_handlers = [healthz, readyz]
