"""``GET /healthz``: the process serves. ``GET /readyz``: it can do its job — the database answers and its schema
is at this Onyx's head (:func:`~onyx_adapters.sql.migrate.check_database`, read-only: a probe takes no write lock).
Both are public and say nothing of what is inside; why a readiness check failed goes to the log only."""

from __future__ import annotations

import asyncio
import logging

from litestar import get

from onyx_adapters.sql.migrate import check_database, check_file
from onyx_fanvue.redaction import install_log_filter
from onyx_web.errors import Problem, problem_spec
from onyx_web.health.schemas import Health
from onyx_web.runtime import Web

__all__ = ["READY_TIMEOUT", "healthz", "readyz"]

READY_TIMEOUT = 5.0
"""Seconds the database may take to answer the readiness check before the answer is "not ready"."""

logger = logging.getLogger("onyx_web.health")
install_log_filter("onyx_web.health")


@get("/healthz", opt={"public": True}, tags=["health"], summary="The process is serving")
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    opt={"public": True},
    tags=["health"],
    summary="The database answers and is migrated",
    responses={503: problem_spec("Not ready: the database does not answer or is not migrated")},
)
async def readyz(web: Web) -> Health:
    try:
        # a missing SQLite file is not ready (and opening it would create an empty one)
        check_file(web.engine.url.render_as_string(hide_password=False))
        async with asyncio.timeout(READY_TIMEOUT):
            await check_database(web.engine, writable=False)
    except Exception as error:  # whatever it is, the answer is "not ready"; why is for the log
        logger.warning("not ready: %s", " ".join(str(error).split())[:300] or type(error).__name__)
        raise Problem(503, "The service is not ready.") from error
    return Health(status="ok")
