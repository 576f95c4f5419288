"""Helpers of the connect tests: an app whose Fanvue is an in-process sandbox (its own seed per test, so each test's
Fanvue accounts are new to the shared database), a logged-in owner, and the browser's part of the OAuth dance done
with an httpx client on the sandbox (``login_hint`` approves at once, so no page is shown)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from auth_kit import HASHER, Env, Owner, as_session, client, login, set_cookie_secret
from litestar import Litestar
from litestar.testing import TestClient
from web_helpers import KEY, web_settings

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import sandbox_runtime
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import authenticate_session, invite_creator_connect, login_password
from onyx_core.testing.fakes import ManualClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_web.app import create_app

BASE = "https://testserver.local"
CALLBACK = f"{BASE}/connections/fanvue/callback"


@dataclass
class Connect:
    env: Env
    sandbox: FanvueSandbox

    @property
    def app(self) -> Litestar:
        return self.env.app

    @property
    def admin(self) -> str:
        return self.sandbox.world.admin.person.handle

    def creator_handles(self) -> list[str]:
        return [u.handle for u in self.sandbox.users if u.role == "creator"]

    def authorize(self, url: str) -> str:
        """What the browser does at Fanvue: follow ``url``; the callback URL it is sent back to (path + query)."""
        with httpx.Client(transport=self.sandbox.sync_transport()) as http:
            answer = http.get(url)
        assert answer.status_code in (302, 303), answer.text
        location = answer.headers["location"]
        assert location.startswith(CALLBACK), location
        parts = urlsplit(location)
        return f"{parts.path}?{parts.query}"

    def invite_secret(self, owner: Owner) -> str:
        return asyncio.run(self._invite(owner))

    async def _invite(self, owner: Owner) -> str:
        engine = create_engine(self.env.url)
        try:
            deps = self.env.deps(engine)
            from auth_kit import PASSWORD  # noqa: PLC0415

            issued = await login_password(deps, email=owner.email, password=PASSWORD)
            principal = await authenticate_session(deps, issued.secret)
            return (await invite_creator_connect(deps, principal)).secret
        finally:
            await engine.dispose()


def make_connect(url: str, *, runtime_factory: Any = None) -> Connect:
    sandbox = FanvueSandbox(seed=random.randrange(1, 10**9), redirect_uris=(CALLBACK,))
    clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    settings = web_settings(
        url,
        fanvue_client_id=sandbox.client_id,
        fanvue_client_secret=sandbox.client_secret,
        fanvue_redirect_uri=CALLBACK,
    )

    @asynccontextmanager
    async def on_sandbox(given: OnyxSettings) -> AsyncIterator[Runtime]:
        async with sandbox_runtime(sandbox, given.database_url, FernetCipher([KEY])) as runtime:
            yield runtime

    app = create_app(settings, clock=clock, hasher=HASHER, runtime_factory=runtime_factory or on_sandbox)
    return Connect(Env(url, clock, app), sandbox)


@dataclass
class Session:
    secret: str
    csrf: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        return as_session(self.secret, self.csrf if csrf else None)


def log_in(c: TestClient[Litestar], email: str) -> Session:
    first = login(c, email)
    assert first.status_code == 200, first.text
    return Session(set_cookie_secret(first), first.json()["csrf_token"])


def start(c: TestClient[Litestar], session: Session, **body: Any) -> Any:
    return c.post("/api/connections/fanvue/start", headers=session.headers(), json=body)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


__all__ = ["BASE", "CALLBACK", "Connect", "Session", "client", "log_in", "make_connect", "query_of", "start"]
