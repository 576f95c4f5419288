"""Fresh databases for the sync tests, on SQLite and PostgreSQL.

The sandbox's world is deterministic (creator uuids follow the seed), so each sync test gets a database of its
own: a copy of a migrated SQLite file, or a PostgreSQL database cloned from a migrated template (fast: no migration per
test).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from onyx_adapters.sql.migrate import upgrade


@pytest.fixture(scope="session")
def postgresql_template(postgres_url: str) -> Iterator[str]:
    """A migrated database to clone; dropped at the end of the session."""
    name = f"onyx_sync_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(_url(postgres_url, name))
    try:
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(postgres_url: str, database: str) -> str:
    return make_url(postgres_url).set(drivername="postgresql+psycopg", database=database).render_as_string(False)


@pytest.fixture
def fresh_postgresql(postgres_url: str, postgresql_template: str) -> Iterator[str]:
    name = f"onyx_sync_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgresql_template}"')
    try:
        yield _url(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy (the migration took about 0.2 s a test); never opened after this."""
    path = tmp_path_factory.mktemp("sync-template") / "onyx.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert leftovers == [], f"the migrated template left {leftovers} beside it: a copy of the file alone is not it"
    return path


@pytest.fixture
def fresh_sqlite(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "onyx.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def sync_database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database of its own for this test, on each engine."""
    return str(request.getfixturevalue(f"fresh_{request.param}"))
