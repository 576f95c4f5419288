"""Migrations: an empty database upgrades to head on both engines, and the models and the migrations agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

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
