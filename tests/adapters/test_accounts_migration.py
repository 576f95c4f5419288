"""Migration 0004 (accounts) on a database with members from before it, on both engines: members keep their rows,
the old role "member" becomes "viewer" (least privilege), every member is enabled and unscoped; downgrading goes
back to 0003 with the old role names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from onyx_adapters.sql.engine import sync_url
from onyx_adapters.sql.migrate import alembic_config, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    admin_url = request.getfixturevalue("postgres_url")
    name = f"onyx_acc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_members_from_before_accounts_survive_the_upgrade_and_the_downgrade(empty_url: str) -> None:
    upgrade(empty_url, "0003")
    engine = create_engine(sync_url(empty_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO agencies (id, name) VALUES ('a-1', 'Kept')")
            conn.exec_driver_sql(
                "INSERT INTO members (id, agency_id, email, display_name, role, created_at) VALUES "
                "('m-1', 'a-1', 'm-1@example.com', 'M', 'admin', '2026-01-01 00:00:00'), "
                "('m-2', 'a-1', 'm-2@example.com', 'M', 'member', '2026-01-01 00:00:00')"
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, role, disabled, scoped, password_hash FROM members ORDER BY id"
            ).fetchall()
        assert [tuple(r) for r in rows] == [("m-1", "admin", False, False, None), ("m-2", "viewer", False, False, None)]
        command.downgrade(alembic_config(empty_url), "0003")
        with engine.connect() as conn:
            roles = conn.exec_driver_sql("SELECT id, role FROM members ORDER BY id").fetchall()
        assert [tuple(r) for r in roles] == [("m-1", "admin"), ("m-2", "member")]
        assert "web_sessions" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
