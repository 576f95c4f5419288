"""How the web tests build the app: on a migrated database of each engine, with the settings passed in code.

``database_url`` is parametrised over SQLite and PostgreSQL (a database per test session, migrated to head);
``web_settings(url)`` are the settings of an app on it (cipher keys set, no Fanvue app unless given);
``serving(app)`` runs the app's lifespan around Litestar's test client. Routes a test needs but the app must not
have are added with ``app.register(handler)`` before the client starts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from web_helpers import drop_postgresql_database, new_postgresql_database, sqlite_url, web_settings

from onyx_adapters.sql.migrate import upgrade


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = sqlite_url(tmp_path_factory.mktemp("web-sqlite"))
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_database(postgres_url: str) -> Iterator[str]:
    url = new_postgresql_database(postgres_url)
    upgrade(url)
    try:
        yield url
    finally:
        drop_postgresql_database(postgres_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A database migrated to head, on each engine (shared by the session)."""
    return str(request.getfixturevalue(f"{request.param}_database"))


@pytest.fixture
def app(sqlite_database: str) -> Litestar:
    """The app on SQLite, for tests about HTTP rather than storage."""
    from onyx_web.app import create_app  # noqa: PLC0415

    return create_app(web_settings(sqlite_database))
