"""Migrations: an empty database upgrades to head on both engines, and the models and the migrations agree."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, create_engine, insert, inspect, select, table
from sqlalchemy.engine import make_url

from onyx_adapters.sql.engine import sync_url
from onyx_adapters.sql.migrate import alembic_config, current, upgrade
from onyx_adapters.sql.schema import creator_stats, metadata
from onyx_core.stats import MergePolicy, Metric, Ok, encode_record, merge_all
from onyx_core.stats.codec import record_to_dict


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


@contextmanager
def _empty_database(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database on the engine (a PostgreSQL one is dropped afterwards)."""
    if engine_name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    admin_url = request.getfixturevalue("postgres_url")
    name = f"onyx_old_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_upgrading_an_older_database_keeps_its_rows(
    engine_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with _empty_database(engine_name, request, tmp_path) as url:
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


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_stats_rows_get_their_latest_at_from_their_record(
    engine_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """0010 fills ``creator_stats.latest_at`` of the rows already stored (the heartbeat reads only the column)."""
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    records, _ = merge_all({}, [Ok(Metric.FOLLOWERS, 1, at - timedelta(minutes=5), "m"), Ok(Metric.POSTS, 2, at, "m")],
                           MergePolicy(), at)  # fmt: skip
    legacy = json.dumps({**record_to_dict(records[Metric.FOLLOWERS]), "latest_at": None})
    with _empty_database(engine_name, request, tmp_path) as url:
        upgrade(url, "0009")
        engine = create_engine(sync_url(url))
        stats = table("creator_stats", column("creator_id"), column("metric"), column("record"), column("recorded_at"))
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO agencies (id, name) VALUES ('a-1', 'A')")
            connection.exec_driver_sql(
                "INSERT INTO creators (id, agency_id, handle, display_name, imported_at) "
                "VALUES ('c-1', 'a-1', 'h', 'H', '2026-03-01 12:00'), ('c-2', 'a-1', 'h', 'H', '2026-03-01 12:00')"
            )
            rows = [{"creator_id": "c-1", "metric": m, "record": encode_record(r), "recorded_at": at}
                    for m, r in records.items()]  # fmt: skip
            connection.execute(insert(stats), [*rows, {**rows[0], "creator_id": "c-2", "record": legacy}])
        upgrade(url)
        with engine.connect() as connection:
            filled = dict(connection.execute(select(creator_stats.c.metric, creator_stats.c.latest_at).where(
                creator_stats.c.creator_id == "c-1")).all())  # fmt: skip
            blank = connection.execute(select(creator_stats.c.latest_at).where(creator_stats.c.creator_id == "c-2"))
            assert blank.scalar_one() is None
        engine.dispose()
        assert filled == {m: r.latest_at for m, r in records.items()}
