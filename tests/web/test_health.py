"""Health and readiness on SQLite and PostgreSQL; the OpenAPI document; the runtime the app opens and closes."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from litestar import Litestar, get
from sqlalchemy.engine import make_url
from web_helpers import drop_postgresql_database, new_postgresql_database, serving, sqlite_url, web_settings

from onyx_adapters.crypto import CipherKeyError
from onyx_adapters.runtime import Runtime
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.migrate import alembic_config, head, upgrade
from onyx_web.app import create_app
from onyx_web.runtime import STATE_KEY, Web

NOT_READY = "The service is not ready."


def _older_revision(url: str) -> str:
    down = ScriptDirectory.from_config(alembic_config(url)).get_revision(head()).down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own on each engine (dropped afterwards)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    postgres_url = request.getfixturevalue("postgres_url")
    url = new_postgresql_database(postgres_url)
    try:
        yield url
    finally:
        drop_postgresql_database(postgres_url, url)


def _not_ready(response: Any, *hidden: str) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": NOT_READY,
        "request_id": response.headers["x-request-id"],
    }
    for word in hidden:
        assert word.lower() not in response.text.lower(), word


def test_health_and_readiness_on_a_migrated_database(database_url: str) -> None:
    with serving(create_app(web_settings(database_url))) as client:
        health, ready = client.get("/healthz"), client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


def test_readiness_is_503_at_an_older_schema_until_migrated(
    fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    older = _older_revision(fresh_database)
    upgrade(fresh_database, older)
    name = make_url(fresh_database).database or ""
    with serving(create_app(web_settings(fresh_database))) as client:
        assert client.get("/healthz").status_code == 200
        _not_ready(client.get("/readyz"), older, head(), Path(name).name, "schema", "migrate", "sqlite", "postgres")
        assert "onyx migrate" in caplog.text  # why, for the operator
        upgrade(fresh_database)
        assert client.get("/readyz").status_code == 200


def test_readiness_is_503_on_an_empty_database(fresh_database: str) -> None:
    with serving(create_app(web_settings(fresh_database))) as client:
        _not_ready(client.get("/readyz"), "schema")


def test_readiness_is_503_without_a_sqlite_file_and_creates_none(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with serving(create_app(web_settings(url))) as client:
        assert client.get("/healthz").status_code == 200
        _not_ready(client.get("/readyz"), str(tmp_path), "onyx.db")
    assert not (tmp_path / "onyx.db").exists()


def test_readiness_is_503_when_postgresql_does_not_answer(postgres_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"postgresql+psycopg://onyx:pw-never-shown@127.0.0.1:{closed}/onyx"
    with serving(create_app(web_settings(url))) as client:
        assert client.get("/healthz").status_code == 200
        _not_ready(client.get("/readyz"), "pw-never-shown", str(closed), "127.0.0.1", "refused")


def test_the_openapi_document_is_at_schema(app: Litestar) -> None:
    with serving(app) as client:
        response = client.get("/schema")
        same = client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json"
    document = response.json()
    assert same.json() == document
    assert document["openapi"].startswith("3.")
    assert document["info"] == {"title": "Onyx", "version": version("onyx-fanvue")}
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]


@get("/test/fanvue", opt={"public": True})
async def uses_fanvue(web: Web) -> dict[str, str]:
    return {"dialect": web.fanvue().engine.dialect.name}


def test_without_the_fanvue_app_the_app_serves_and_fanvue_routes_answer_503(sqlite_database: str) -> None:
    app = create_app(web_settings(sqlite_database))
    app.register(uses_fanvue)
    with serving(app) as client:
        assert client.get("/readyz").status_code == 200
        response = client.get("/test/fanvue")
        assert app.state[STATE_KEY].runtime is None
    assert response.status_code == 503
    assert response.json()["detail"] == "Connecting Fanvue is not configured on this server."


def test_the_runtime_opens_through_the_composition_root_and_closes_at_shutdown(sqlite_database: str) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def recording(settings: OnyxSettings) -> AsyncIterator[Runtime]:
        events.append("open")
        async with Runtime.from_settings(settings) as runtime:
            yield runtime
        events.append("closed")

    settings = web_settings(sqlite_database, fanvue_client_id="onyx-web-test", fanvue_client_secret="s3cr3t-app")
    app = create_app(settings, runtime_factory=recording)
    app.register(uses_fanvue)
    with serving(app) as client:
        assert events == ["open"]
        assert client.get("/test/fanvue").json() == {"dialect": "sqlite"}
        assert isinstance(app.state[STATE_KEY].runtime, Runtime)
    assert events == ["open", "closed"]
    assert STATE_KEY not in app.state


def test_the_app_does_not_start_without_cipher_keys(sqlite_database: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)
    app = create_app(web_settings(sqlite_database, cipher_keys=None))
    with pytest.raises(BaseExceptionGroup) as failed, serving(app):
        pass
    assert failed.group_contains(CipherKeyError)
