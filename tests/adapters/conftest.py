"""Databases for the adapter tests: every storage test runs on SQLite and on PostgreSQL.

``database_url`` is parametrised over both engines and yields the URL of a fresh database migrated to head:
a new SQLite file, or a new PostgreSQL database created for this test session (dropped at the end). On a laptop
without PostgreSQL the PostgreSQL half skips; in CI (``CI=true``) it fails (see the ``postgres_url`` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade


@pytest.fixture(scope="session")
def postgresql_database(postgres_url: str) -> Iterator[str]:
    """A database of its own for this test session, migrated to head; dropped afterwards."""
    name = f"onyx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name)
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    try:
        yield rendered
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'onyx.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database on each engine (shared by the session: tests use fresh ids, never clean up)."""
    return str(request.getfixturevalue(f"{request.param}_database"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database_url``, disposed after the test."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def fresh_sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'onyx.db'}"
