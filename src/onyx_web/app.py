"""The app factory: ``create_app(settings)`` builds the Litestar app from ``ONYX_*`` settings through the same
composition root as the CLI; ``create_app_from_env()`` is what ``onyx serve`` (``uvicorn --factory``) calls.

To add a domain: give it a folder (``onyx_web/<domain>/``) with its controllers and a ``route_handlers`` list in
its ``__init__``, and add that list to :data:`DOMAINS`. Every route is private (401 without credentials) unless it
declares ``opt={"public": True}``; tests/web/test_route_inventory.py checks every registered route.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Response, Router
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_404_NOT_FOUND
from litestar.types import ControllerRouterHandler

from onyx_adapters.runtime import Runtime
from onyx_adapters.settings import OnyxSettings
from onyx_core.accounts import AccountsDeps, AccountsPolicy
from onyx_core.accounts.ports import PasswordHasher
from onyx_core.ports import Clock
from onyx_fanvue.redaction import SecretFilter, remember
from onyx_web import accounts, admin, analytics, connections, creators, exports, health, live, ops, pages, webhooks
from onyx_web.accounts.authentication import PUBLIC, AuthenticationMiddleware, Authenticator
from onyx_web.accounts.wiring import AccountsWiring
from onyx_web.errors import handle_exception
from onyx_web.headers import add_security_headers
from onyx_web.openapi import COMPONENTS, DocumentedJsonRenderPlugin
from onyx_web.runtime import STATE_KEY, RuntimeFactory, WebRuntime, open_web_runtime, web_runtime

__all__ = ["DOMAINS", "create_app", "create_app_from_env"]

DOMAINS: tuple[Sequence[ControllerRouterHandler], ...] = (
    health.route_handlers,
    accounts.route_handlers,
    admin.route_handlers,
    connections.route_handlers,
    creators.route_handlers,
    analytics.route_handlers,
    exports.route_handlers,
    live.route_handlers,
    ops.route_handlers,
    pages.route_handlers,
    webhooks.route_handlers,
)
"""The route handlers of every domain, in one place."""


def _version() -> str:
    try:
        return version("onyx-fanvue")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def create_app(
    settings: OnyxSettings | None = None,
    *,
    runtime_factory: RuntimeFactory = Runtime.from_settings,
    authenticator: Authenticator | None = None,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    policy: AccountsPolicy | None = None,
) -> Litestar:
    """The Onyx web app. The runtime (database, cipher, Fanvue app) opens when the app starts and closes when it
    stops; ``settings`` default to the environment's. Debug mode is off, always: no answer carries a trace.

    Callers are authenticated by the accounts use cases (sessions and API tokens in the database) unless
    ``authenticator`` replaces them; ``clock``, ``hasher`` and ``policy`` go to the accounts use cases (tests
    move a clock instead of sleeping, and hash passwords cheaply)."""
    settings = settings or OnyxSettings()
    wiring = AccountsWiring(clock=clock, hasher=hasher, policy=policy)
    metrics = ops.WebMetrics()  # the app's own registry: apps (and tests) never share figures
    for secret in (settings.heartbeat_secret, settings.metrics_token):
        if secret is not None:
            remember(secret.get_secret_value())  # scrubbed from every log line

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_web_runtime(settings, runtime_factory) as web:
            app.state[STATE_KEY] = web
            try:
                yield
            finally:
                del app.state[STATE_KEY]

    async def provide_web() -> WebRuntime:
        return web_runtime(app)

    async def provide_accounts() -> AccountsDeps:
        return wiring.deps(web_runtime(app))

    app = Litestar(
        route_handlers=[handler for domain in DOMAINS for handler in domain],
        # entered in order, left in reverse: the live streams' watchers stop before the creators' refresh runs,
        # and those before the runtime closes
        lifespan=[lifespan, creators.creators_lifespan, live.live_lifespan],
        dependencies={"web": Provide(provide_web), "accounts": Provide(provide_accounts)},
        middleware=[
            # outermost: the latency of every routed answer, 401s included
            DefineMiddleware(ops.MetricsMiddleware, metrics=metrics),
            DefineMiddleware(AuthenticationMiddleware, authenticator=authenticator or wiring.authenticate),
        ],
        exception_handlers={Exception: handle_exception},
        before_send=[add_security_headers],
        openapi_config=OpenAPIConfig(
            title="Onyx",
            version=_version(),
            # the document as JSON only: a UI page would need scripts from a CDN, which the CSP forbids; with the
            # security schemes, and each operation's security and standard error answers (onyx_web.openapi)
            render_plugins=[DocumentedJsonRenderPlugin(path=["/", "/openapi.json"])],
            components=COMPONENTS,
            # the document's own routes are not operations of the API
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                opt={PUBLIC: True},
                include_in_schema=False,
                after_request=_no_html_404,
            ),
        ),
        debug=False,
        pdb_on_exception=False,
        logging_config=None,  # the process's logging is its runner's (onyx serve, a test)
    )
    app.state[ops.METRICS_KEY] = metrics
    return app


async def _no_html_404(response: Response[Any]) -> Response[Any]:
    """Litestar answers an unknown ``/schema/…`` path with an HTML page of its own: make it the app's 404 problem."""
    if response.status_code == HTTP_404_NOT_FOUND:
        raise NotFoundException
    return response


def create_app_from_env(settings: OnyxSettings | None = None) -> Litestar:
    """``create_app()`` on the environment's settings, logging to stderr (scrubbed, with tracebacks): what
    ``onyx serve`` starts (``uvicorn --factory onyx_web.app:create_app_from_env``). ``onyx demo`` passes
    ``settings`` of its own (the in-process sandbox's app registration, the demo database)."""
    _log_to_stderr()
    return create_app(settings or OnyxSettings())


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The web's log handler: full records with their tracebacks, every one scrubbed of secrets."""


def _log_to_stderr() -> None:
    logger = logging.getLogger("onyx_web")
    if any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        return
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
