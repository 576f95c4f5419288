"""Schema migrations with Alembic: ``onyx migrate`` (or :func:`upgrade`) brings a database to the newest schema.
Production paths never call ``create_all``.

:func:`check_file` and :func:`check_database` are what a command checks before it starts: the database is there,
answers, holds this Onyx's schema and takes writes. They write nothing and raise the typed errors of
:mod:`onyx_adapters.sql.errors`.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql.engine import shown_url, sqlite_file, sync_url
from onyx_adapters.sql.errors import (
    MIGRATE,
    DatabaseCorruptError,
    DatabaseReadOnlyError,
    DatabaseUnreachableError,
    SchemaNotMigratedError,
    database_failure,
)

__all__ = ["alembic_config", "check_database", "check_file", "current", "head", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head() -> str:
    """The newest schema revision this Onyx knows."""
    revision = _scripts().get_current_head()
    if revision is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError("no migrations found")
    return revision


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (creating a SQLite file and its folder if needed)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at (``None`` for an empty or missing database)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return None
    from sqlalchemy import create_engine  # noqa: PLC0415

    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def check_file(url: str, *, create: bool = False) -> None:
    """Before any engine touches it: the SQLite file of ``url`` exists (or, with ``create``, may be created) and
    Onyx may write it and its folder. Checked here because opening a missing file would create it, and SQLite's
    own error for a read-only folder ("unable to open") does not say so. Nothing for other databases."""
    path = sqlite_file(url)
    if path is None:
        return
    if path.is_dir():
        raise DatabaseUnreachableError(f"{path} is a folder, not a SQLite database file")
    if not path.exists():
        if not create:
            raise SchemaNotMigratedError(
                f"no Onyx database at {path}: create it with `onyx migrate`, or point ONYX_DATABASE_URL "
                "(--database-url) at the right file"
            )
        folder = next(parent for parent in path.absolute().parents if parent.exists())
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseReadOnlyError(f"cannot create {path}: the folder {folder} is read-only for this user")
        return
    if not os.access(path, os.R_OK):
        raise DatabaseUnreachableError(f"cannot read the database {path}: this user has no permission")
    if not os.access(path, os.W_OK):
        raise DatabaseReadOnlyError(f"the database {path} is read-only for this user: Onyx must be able to write it")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseReadOnlyError(
            f"the folder of {path} is read-only for this user: SQLite writes its -wal and -shm files beside the "
            "database"
        )


async def check_database(
    engine: AsyncEngine, *, migrated: bool = True, writable: bool = True, intact: bool = False
) -> None:
    """The database of ``engine`` answers, is at this Onyx's newest schema (``migrated``) and takes writes
    (``writable``: probed in a transaction that is rolled back, so nothing changes). ``intact``: a SQLite file's
    every page is read (``PRAGMA quick_check``, a full scan: for migrations and long-running processes, not for
    every command), so damage a command would meet only later is found first. Typed errors from
    :mod:`onyx_adapters.sql.errors` otherwise."""
    where = shown_url(engine.url)
    try:
        async with engine.connect() as conn:
            if intact and conn.dialect.name == "sqlite":
                found = (await conn.exec_driver_sql("PRAGMA quick_check(1)")).scalar_one()
                if found != "ok":
                    raise DatabaseCorruptError(
                        f"the SQLite database {where} is damaged ({str(found)[:120]}): restore it from a backup"
                    )
                await conn.rollback()
            if writable:
                await _probe_write(conn, where)
            revision = await conn.run_sync(_revision) if migrated else None
            await conn.rollback()
    except SQLAlchemyError as error:
        failure = database_failure(error)
        if failure is None:
            raise
        raise failure from error
    if not migrated:
        return
    newest = head()
    if revision is None:
        raise SchemaNotMigratedError(f"the database {where} has no Onyx schema: {MIGRATE}")
    if revision != newest:
        if _known(revision):
            raise SchemaNotMigratedError(
                f"the database {where} is at schema {revision}, this Onyx needs {newest}: {MIGRATE}"
            )
        raise SchemaNotMigratedError(
            f"the database {where} is at schema {revision}, which this Onyx does not know (it is at {newest}): "
            "the database was migrated by a newer Onyx; upgrade Onyx"
        )


async def _probe_write(conn: AsyncConnection, where: str) -> None:
    """Whether the database takes writes, leaving it as it was (the caller rolls back)."""
    await conn.begin()
    if conn.dialect.name == "sqlite":
        # a read-only file still grants BEGIN IMMEDIATE; rewriting the header's user_version with its own value
        # is a real write, refused as SQLITE_READONLY, and the rollback leaves the file's bytes as they were
        version = (await conn.exec_driver_sql("PRAGMA user_version")).scalar_one()
        await conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
    elif (await conn.exec_driver_sql("SHOW transaction_read_only")).scalar_one() == "on":
        raise DatabaseReadOnlyError(
            f"the PostgreSQL database {where} is read-only (a standby, or default_transaction_read_only is on): "
            "point ONYX_DATABASE_URL at a writable primary"
        )


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _known(revision: str) -> bool:
    return any(script.revision == revision for script in _scripts().walk_revisions())
