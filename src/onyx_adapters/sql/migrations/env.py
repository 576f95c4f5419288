"""Alembic environment: the target is :data:`onyx_adapters.sql.schema.metadata`; SQLite runs in batch mode."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from onyx_adapters.sql.engine import create_sync_engine
from onyx_adapters.sql.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    # Onyx's engine settings: a SQLite file is switched to WAL from its first migration on
    engine = create_sync_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Onyx migrations run online: point ONYX_DATABASE_URL at the database")
run_online()
