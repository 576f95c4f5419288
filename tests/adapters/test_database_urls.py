"""Database URLs: the forms Onyx accepts, the driver it picks, and a typed error (never the URL) for the rest."""

from __future__ import annotations

import pytest

from onyx_adapters.settings import ConfigurationError
from onyx_adapters.sql.engine import (
    DatabaseUrlError,
    async_url,
    create_engine,
    create_sync_engine,
    is_in_memory,
    is_sqlite,
    require_persistent,
    shown_url,
    sqlite_file,
    sync_url,
)


@pytest.mark.parametrize(
    ("url", "asynchronous", "synchronous"),
    [
        ("postgres://onyx:pw@db.example:5432/onyx", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql://onyx:pw@db.example/onyx", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgresql+asyncpg://onyx@db.example/onyx", "postgresql+psycopg", "postgresql+psycopg"),
        ("postgres+psycopg://onyx@db.example/onyx", "postgresql+psycopg", "postgresql+psycopg"),
        ("sqlite:///var/onyx.db", "sqlite+aiosqlite", "sqlite"),
        ("sqlite+aiosqlite:////srv/onyx.db", "sqlite+aiosqlite", "sqlite"),
        ("sqlite://", "sqlite+aiosqlite", "sqlite"),
    ],
)
def test_accepted_urls_get_onyx_drivers(url: str, asynchronous: str, synchronous: str) -> None:
    assert async_url(url).split("://")[0] == asynchronous
    assert sync_url(url).split("://")[0] == synchronous
    assert async_url(url).split("://")[1] == url.split("://")[1]  # host, password, database kept as they were


def test_postgres_alias_is_postgresql() -> None:
    assert not is_sqlite("postgres://onyx@db.example/onyx")
    engine = create_sync_engine("postgres://onyx@db.example/onyx")  # no connection is made
    assert engine.dialect.name == "postgresql"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://onyx:hunter2@db.example:abc/onyx", "port is not a number"),
        ("postgresql://onyx:hunter2@db.example:99999/onyx", "not a TCP port"),
        ("mysql://onyx:hunter2@db.example/onyx", "not 'mysql'"),
        ("mysql+pymysql://onyx:hunter2@db.example/onyx", "not 'mysql'"),
        ("http://onyx:hunter2@db.example/", "not 'http'"),
        ("hunter2 is not a url", "not a database URL"),
        ("", "not a database URL"),
    ],
)
def test_unusable_urls_are_a_typed_error_that_never_quotes_the_url(url: str, says: str) -> None:
    for use in (is_sqlite, async_url, sync_url, sqlite_file, is_in_memory, create_engine, create_sync_engine):
        with pytest.raises(DatabaseUrlError, match=says) as raised:
            use(url)
        assert isinstance(raised.value, ConfigurationError)
        assert "hunter2" not in str(raised.value)
    assert "hunter2" not in shown_url(url)


def test_shown_url_masks_the_password() -> None:
    assert shown_url("postgres://onyx:hunter2@db.example:5432/onyx") == "postgresql://onyx:***@db.example:5432/onyx"


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite:///:memory:", "sqlite:///file::memory:?uri=true"],
)
def test_in_memory_sqlite_is_refused_where_data_must_last(url: str) -> None:
    assert is_in_memory(url)
    assert sqlite_file(url) is None
    with pytest.raises(DatabaseUrlError, match="in-memory"):
        require_persistent(url)


@pytest.mark.parametrize("url", ["sqlite:///onyx.db", "postgresql://onyx@db.example/onyx"])
def test_files_and_servers_are_persistent(url: str) -> None:
    assert not is_in_memory(url)
    require_persistent(url)
