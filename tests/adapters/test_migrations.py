"""Migrations: an empty database upgrades to head on both engines, and the models and the migrations agree."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from onyx_adapters.sql.engine import sync_url
from onyx_adapters.sql.migrate import alembic_config, current, upgrade
from onyx_adapters.sql.schema import metadata


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_an_empty_sqlite_file_upgrades_to_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'folder' / 'onyx.db'}"
    assert current(url) is None
    upgrade(url)
    assert current(url) == _head()
    upgrade(url)  # idempotent
    engine = create_engine(sync_url(url))
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    engine.dispose()


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_models_and_migrations_agree(engine_name: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{engine_name}_database")
    assert current(url) == _head()
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_upgrading_an_older_database_keeps_its_rows(
    engine_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if engine_name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        cleanup = None
    else:
        admin_url = request.getfixturevalue("postgres_url")
        name = f"onyx_old_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
        cleanup = (admin_url, name)
    try:
        upgrade(url, "0001")
        engine = create_engine(sync_url(url))
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO agencies (id, name) VALUES ('a-1', 'Kept Agency')")
        upgrade(url)
        with engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT name FROM agencies WHERE id = 'a-1'").scalar_one()
        assert "members" in inspect(engine).get_table_names()
        engine.dispose()
        assert kept == "Kept Agency"
        assert current(url) == _head()
    finally:
        if cleanup is not None:
            with psycopg.connect(cleanup[0], autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{cleanup[1]}" WITH (FORCE)')
