"""The database a command works on: ``--database-url`` or ``ONYX_DATABASE_URL``, checked before anything opens it."""

from __future__ import annotations

from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import parse_database_url, require_persistent
from onyx_adapters.sql.migrate import check_file

__all__ = ["database_url"]


def database_url(given: str | None, *, create: bool = False) -> str:
    """The URL a command uses: a URL Onyx understands, not an in-memory database (it would vanish with the
    command), and for SQLite a file that exists (``create``: that may be created) and may be written. Typed
    errors (a settings or database error) otherwise; nothing is created here. ``postgres://`` comes back as
    ``postgresql://``, for the libraries that take the URL as it is (the job queue's)."""
    url = parse_database_url(given or OnyxSettings().database_url).render_as_string(hide_password=False)
    require_persistent(url)
    check_file(url, create=create)
    return url
