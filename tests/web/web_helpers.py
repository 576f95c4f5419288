"""Helpers of the web tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.engine import make_url

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.settings import OnyxSettings

KEY = FernetCipher.generate_key()


def web_settings(url: str, **fields: Any) -> OnyxSettings:
    """Settings for an app on ``url``: cipher keys, and the Fanvue app only if ``fields`` set it (the
    environment's ``ONYX_FANVUE_*`` are overridden either way)."""
    values: dict[str, Any] = {"fanvue_client_id": None, "fanvue_client_secret": None, "cipher_keys": KEY}
    return OnyxSettings(database_url=url, **{**values, **fields})


def serving(app: Litestar) -> TestClient[Litestar]:
    """A test client that runs the app's lifespan (use it as a context manager); errors come back as answers."""
    return TestClient(app, raise_server_exceptions=False)


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'onyx.db'}"


def new_postgresql_database(postgres_url: str) -> str:
    name = f"onyx_web_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_postgresql_database(postgres_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Served:
    """``app`` served on 127.0.0.1 by uvicorn in a thread (its own event loop), lifespan included, until
    :meth:`stop` (or the end of a ``with`` block). The browser tests and the event-stream tests need a real server:
    httpx's ASGI transport buffers a whole answer."""

    def __init__(self, app: Litestar) -> None:
        import uvicorn  # noqa: PLC0415

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.app = app
        self.base = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
