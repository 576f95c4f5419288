"""``ONYX_DATABASE_POOL_SIZE`` and ``ONYX_DATABASE_MAX_OVERFLOW`` size the engines a process makes from its
settings, on both engines; unset, each engine keeps its defaults (docs/storage.md, "Connection pools")."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool, QueuePool

from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import SQLITE_POOL_SIZE, create_engine, is_sqlite


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ONYX_DATABASE_POOL_SIZE", "ONYX_DATABASE_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _sizes(engine: AsyncEngine) -> tuple[int, int]:
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    return pool.size(), pool._max_overflow  # SQLAlchemy has no public getter for the overflow limit


async def test_the_settings_size_the_pool(database_url: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("ONYX_DATABASE_POOL_SIZE", "3")
    env.setenv("ONYX_DATABASE_MAX_OVERFLOW", "7")
    engine = create_engine(database_url, **OnyxSettings().engine_options())
    try:
        assert _sizes(engine) == (3, 7)
    finally:
        await engine.dispose()


async def test_unset_settings_keep_each_engines_defaults(database_url: str, env: pytest.MonkeyPatch) -> None:
    assert OnyxSettings().engine_options() == {}
    engine = create_engine(database_url, **OnyxSettings().engine_options())
    try:
        assert _sizes(engine) == ((SQLITE_POOL_SIZE, -1) if is_sqlite(database_url) else (5, 10))
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_ignores_pool_sizes(env: pytest.MonkeyPatch) -> None:
    env.setenv("ONYX_DATABASE_POOL_SIZE", "3")
    engine = create_engine("sqlite://", **OnyxSettings().engine_options())
    assert isinstance(engine.sync_engine.pool, NullPool)
    await engine.dispose()


@pytest.mark.parametrize(("name", "value"), [("ONYX_DATABASE_POOL_SIZE", "0"), ("ONYX_DATABASE_MAX_OVERFLOW", "-1")])
def test_a_pool_size_out_of_range_is_refused(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ValueError, match=name.removeprefix("ONYX_").lower()):
        OnyxSettings()
