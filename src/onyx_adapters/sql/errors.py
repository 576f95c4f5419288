"""When the database cannot be used: typed errors that say why and what to do, and the translation of SQLAlchemy's
and the drivers' exceptions into them.

A translated message comes from the driver's own first line (the reason), never from SQLAlchemy's rendering of the
error, which quotes the SQL statement and its parameters (ciphertexts among them); a URL is shown with its password
masked.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from onyx_core.errors import OnyxError

__all__ = [
    "DatabaseCorruptError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "DatabaseUnreachableError",
    "SchemaNotMigratedError",
    "database_failure",
]

MIGRATE = "run `onyx migrate`"


class DatabaseUnavailableError(OnyxError):
    """The database cannot be used as it is; the message says why and what to do."""


class DatabaseUnreachableError(DatabaseUnavailableError):
    """No connection: the server is down or elsewhere, the login is refused, or the SQLite file cannot be opened."""


class DatabaseCorruptError(DatabaseUnavailableError):
    """The SQLite file is not a database, or is damaged."""


class DatabaseReadOnlyError(DatabaseUnavailableError):
    """The database refuses writes: a read-only file or folder, a read-only PostgreSQL database or standby."""


class SchemaNotMigratedError(DatabaseUnavailableError):
    """The database has no Onyx schema, or an older or newer one than this Onyx."""


def database_failure(error: BaseException) -> DatabaseUnavailableError | None:
    """What ``error`` says about the database, as a typed error; ``None`` when it is not a database failure
    Onyx recognises (a constraint violation, a bug: those keep their own type)."""
    if isinstance(error, DatabaseUnavailableError):
        return error
    if isinstance(error, PoolTimeoutError):
        return DatabaseUnreachableError("no database connection came free in time: the database is overloaded or away")
    reason = error.orig if isinstance(error, DBAPIError) else error
    if reason is None:
        return None
    if isinstance(reason, sqlite3.Error):
        return _sqlite_failure(reason)
    if type(reason).__module__.split(".")[0] == "psycopg":  # without importing psycopg: it is an optional extra
        return _postgres_failure(reason)
    return None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


_SQLITE_CODES: tuple[tuple[tuple[str, ...], type[DatabaseUnavailableError], str], ...] = (
    (
        ("SQLITE_NOTADB", "SQLITE_CORRUPT"),
        DatabaseCorruptError,
        "the SQLite file is not a database or is damaged ({reason}): point ONYX_DATABASE_URL at the right file, or "
        "restore it from a backup",
    ),
    (
        ("SQLITE_READONLY",),
        DatabaseReadOnlyError,
        "the SQLite database is read-only ({reason}): Onyx must be able to write the file and its folder (SQLite "
        "keeps its -wal and -shm files beside it)",
    ),
    (
        ("SQLITE_CANTOPEN", "SQLITE_PERM"),
        DatabaseUnreachableError,
        "cannot open the SQLite database ({reason}): check that its folder exists and that Onyx may read and write "
        "the file",
    ),
    (
        ("SQLITE_BUSY", "SQLITE_LOCKED"),
        DatabaseUnreachableError,
        "the SQLite database stayed locked by another process ({reason}): try again when it is done",
    ),
    (("SQLITE_FULL",), DatabaseUnavailableError, "the disk holding the SQLite database is full ({reason})"),
    (("SQLITE_IOERR",), DatabaseUnavailableError, "the disk failed to read or write the SQLite database ({reason})"),
)


def _sqlite_failure(error: sqlite3.Error) -> DatabaseUnavailableError | None:
    name = getattr(error, "sqlite_errorname", "") or ""
    reason = _first_line(error)
    for prefixes, kind, text in _SQLITE_CODES:
        if name.startswith(prefixes):
            return kind(text.format(reason=reason))
    if reason.startswith("no such table"):
        return SchemaNotMigratedError(f"the database has no Onyx schema ({reason}): {MIGRATE}")
    return None


_POSTGRES_STATES = {
    "42P01": (SchemaNotMigratedError, "the database has no Onyx schema ({reason}): " + MIGRATE),
    "25006": (DatabaseReadOnlyError, "the PostgreSQL database is read-only ({reason}): use a writable primary"),
    "3D000": (DatabaseUnreachableError, "{reason}: create it (e.g. `createdb`), then " + MIGRATE),
    "28P01": (DatabaseUnreachableError, "PostgreSQL refused the login ({reason}): check the URL's user and password"),
    "28000": (DatabaseUnreachableError, "PostgreSQL refused the login ({reason}): check the URL's user and pg_hba"),
    "42501": (DatabaseUnavailableError, "the database user lacks a privilege Onyx needs ({reason})"),
}


def _postgres_failure(error: BaseException) -> DatabaseUnavailableError | None:
    state = getattr(error, "sqlstate", None)
    reason = _first_line(error)
    if state in _POSTGRES_STATES:
        kind, text = _POSTGRES_STATES[state]
        return kind(text.format(reason=reason))
    if state is None and type(error).__name__ == "OperationalError":
        return _postgres_connect_failure(reason.rsplit("failed: ", 1)[-1].replace("FATAL:  ", ""))
    if state is not None and state.startswith(("08", "57P")):
        return DatabaseUnreachableError(f"the connection to PostgreSQL failed ({reason}): try again")
    if state is not None and state.startswith("53"):
        return DatabaseUnavailableError(f"PostgreSQL is out of resources ({reason}): try again later")
    return None


def _postgres_connect_failure(reason: str) -> DatabaseUnreachableError:
    """A failed connection has no SQLSTATE; ``reason`` is libpq's, after its "connection to … failed: "."""
    if "does not exist" in reason:
        return DatabaseUnreachableError(f"PostgreSQL says {reason}: create it (e.g. `createdb`), then {MIGRATE}")
    if "authentication failed" in reason:
        return DatabaseUnreachableError(f"PostgreSQL refused the login ({reason}): check the URL's user and password")
    return DatabaseUnreachableError(
        f"cannot connect to PostgreSQL ({reason}): is the server running, and are the URL's host and port right?"
    )
