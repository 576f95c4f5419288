"""What the app holds while it serves: the settings, the database engine, the cipher and, when the Fanvue app is
configured, the composition root's :class:`~onyx_adapters.runtime.Runtime`.

The web always needs the database (``ONYX_DATABASE_URL``) and the cipher keys (``ONYX_CIPHER_KEYS``): without them
it does not start. The Fanvue app registration (``ONYX_FANVUE_CLIENT_ID`` / ``_SECRET``) may be missing: the app
then serves everything but what talks to Fanvue, and those routes answer 503 (:meth:`WebRuntime.fanvue`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from litestar import Litestar
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import FanvueApp, Runtime
from onyx_adapters.settings import ConfigurationError, OnyxSettings
from onyx_adapters.sql.engine import create_engine
from onyx_core.ports import Cipher
from onyx_web.errors import Problem

__all__ = ["STATE_KEY", "RuntimeFactory", "Web", "WebRuntime", "fanvue_configured", "open_web_runtime", "web_runtime"]

STATE_KEY = "onyx_web"
"""Where the open :class:`WebRuntime` sits in ``app.state`` while the app serves."""

RuntimeFactory = Callable[[OnyxSettings], AbstractAsyncContextManager[Runtime]]
"""How the app opens the composition root's runtime (:meth:`Runtime.from_settings <onyx_adapters.runtime.Runtime.
from_settings>` in production; tests may pass their own)."""


@dataclass(frozen=True, slots=True)
class WebRuntime:
    settings: OnyxSettings
    engine: AsyncEngine
    cipher: Cipher
    runtime: Runtime | None
    """``None`` when the Fanvue app is not configured."""

    def fanvue(self) -> Runtime:
        """The runtime for what talks to Fanvue; a 503 problem when the Fanvue app is not configured."""
        if self.runtime is None:
            raise Problem(503, "Connecting Fanvue is not configured on this server.")
        return self.runtime


Web = NamedDependency[WebRuntime]
"""A handler's parameter ``web: Web`` receives the app's open :class:`WebRuntime`."""


def fanvue_configured(settings: OnyxSettings) -> bool:
    """Whether the Fanvue app registration is set (by the composition root's own rule)."""
    try:
        FanvueApp.from_settings(settings)
    except ConfigurationError:
        return False
    return True


@asynccontextmanager
async def open_web_runtime(settings: OnyxSettings, runtime_factory: RuntimeFactory) -> AsyncIterator[WebRuntime]:
    """The web's runtime, open until the block ends. Raises ``CipherKeyError`` without cipher keys."""
    cipher = FernetCipher.from_settings(settings)
    if fanvue_configured(settings):
        async with runtime_factory(settings) as runtime:
            yield WebRuntime(settings, runtime.engine, runtime.cipher, runtime)
        return
    engine = create_engine(settings.database_url, **settings.engine_options())
    try:
        yield WebRuntime(settings, engine, cipher, None)
    finally:
        await engine.dispose()


def web_runtime(app: Litestar) -> WebRuntime:
    """The runtime of ``app`` (open from its startup to its shutdown)."""
    web = app.state.get(STATE_KEY)
    if not isinstance(web, WebRuntime):
        raise RuntimeError("the Onyx web runtime is not open: the app is not started (run it with its lifespan)")
    return web
