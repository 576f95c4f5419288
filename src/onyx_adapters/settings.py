"""Onyx's settings, from the environment (prefix ``ONYX_``) or passed in code."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from onyx_core.errors import OnyxError

__all__ = ["MAX_JOB_BUDGET", "MAX_REFRESH_ON_VIEW_AFTER", "ConfigurationError", "OnyxSettings", "default_database_url"]

MAX_JOB_BUDGET = 3600.0
"""The longest ``ONYX_SYNC_JOB_BUDGET`` (an hour): a budget is there to bound a job, not to wait out a day."""

MAX_REFRESH_ON_VIEW_AFTER = 86400.0
"""The longest ``ONYX_REFRESH_ON_VIEW_AFTER`` (a day)."""


class ConfigurationError(OnyxError):
    """A setting is missing or unusable; the message names the ``ONYX_*`` variable (or the option) and what to
    put there, and never quotes a secret."""


def default_database_url() -> str:
    """A SQLite file in the user's data directory (e.g. ``~/.local/share/onyx/onyx.db``)."""
    return f"sqlite+aiosqlite:///{Path(user_data_path('onyx', appauthor=False)) / 'onyx.db'}"


class OnyxSettings(BaseSettings):
    """``ONYX_DATABASE_URL``: ``sqlite:///path`` (default: a file in the user data directory) or
    ``postgresql://user@host/db`` (``postgres://`` too; :mod:`onyx_adapters.sql.engine` picks the driver and
    rejects any other URL with a :class:`ConfigurationError`). ``ONYX_DATABASE_POOL_SIZE`` and
    ``ONYX_DATABASE_MAX_OVERFLOW``: the connections a process keeps open, and how many more it may open under load
    (unset: 5 and 10 on PostgreSQL, 8 and no limit on SQLite; see docs/storage.md). ``ONYX_CIPHER_KEYS``:
    comma-separated Fernet keys, newest first (the first encrypts, all decrypt; see docs/storage.md).

    Fanvue: ``ONYX_FANVUE_CLIENT_ID``, ``ONYX_FANVUE_CLIENT_SECRET`` and ``ONYX_FANVUE_REDIRECT_URI`` are the
    app registration; ``ONYX_FANVUE_API_URL`` and ``ONYX_FANVUE_AUTH_URL`` (the OAuth server's base, serving
    ``/auth``, ``/token`` and ``/revoke``) default to Fanvue's and point at ``onyx sandbox`` in development.

    ``ONYX_SYNC_JOB_BUDGET``: seconds one sync job may sit out Fanvue's 429s before it stops, partial, with when
    to try again (default: ``SyncPolicy.job_budget``, 5 s; 0 never waits for a 429).

    ``ONYX_SYNC_BATCH_ROWS`` and ``ONYX_SYNC_BATCH_SECONDS``: a ledger walk commits its pages, with its cursor, in
    batches of at most this many rows (1 to 100,000; 1 commits every page) or this many seconds of fetching (0 to
    60; 0 commits every page), whichever comes first (defaults: ``SyncPolicy.batch_rows`` 2,000 and
    ``SyncPolicy.batch_time`` 2 s; see docs/sync.md).

    ``ONYX_REFRESH_ON_VIEW_AFTER``: seconds after which viewing a creator's stats in the web queues a refresh of
    them (default 120; 0 turns refresh-on-view off).

    Live updates (docs/live.md): ``ONYX_LIVE_REFRESH_EVERY``: seconds between two refreshes of the stale creators
    in view while a live dashboard of the agency is open (default 60; 0: never). ``ONYX_LIVE_CHECK_EVERY``: on
    SQLite, seconds between two checks of the data counters for writes of other processes while a live dashboard
    is open (default 3). ``ONYX_LIVE_HEARTBEAT``: seconds between two keep-alive comments of an event stream
    (default 15). ``ONYX_LIVE_STREAM_MAX``: seconds an event stream lasts before the server ends it and the browser
    reconnects (and is authenticated again; default 600).

    Operations (docs/operations.md): ``ONYX_HEARTBEAT_SECRET`` is the bearer secret of ``POST /ops/heartbeat``
    (unset: the route answers 404); ``ONYX_HEARTBEAT_MODE`` is ``run`` (the beat runs the due work, as a tick of
    ``onyx schedule``; the default) or ``enqueue`` (it queues it for ``onyx worker``). ``ONYX_METRICS_TOKEN`` is
    the bearer token of ``GET /metrics`` (unset: 404)."""

    model_config = SettingsConfigDict(env_prefix="ONYX_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    database_pool_size: int | None = Field(default=None, ge=1, le=1_000)
    database_max_overflow: int | None = Field(default=None, ge=0, le=1_000)
    cipher_keys: SecretStr | None = None
    fanvue_client_id: str | None = None
    fanvue_client_secret: SecretStr | None = None
    fanvue_redirect_uri: str = "http://127.0.0.1:8765/callback"
    fanvue_api_url: str = "https://api.fanvue.com"
    fanvue_auth_url: str = "https://auth.fanvue.com/oauth2"
    sync_job_budget: float | None = Field(default=None, ge=0, le=MAX_JOB_BUDGET, allow_inf_nan=False)
    sync_batch_rows: int | None = Field(default=None, ge=1, le=100_000)
    sync_batch_seconds: float | None = Field(default=None, ge=0, le=60, allow_inf_nan=False)
    refresh_on_view_after: float = Field(default=120.0, ge=0, le=MAX_REFRESH_ON_VIEW_AFTER, allow_inf_nan=False)
    live_refresh_every: float = Field(default=60.0, ge=0, le=MAX_REFRESH_ON_VIEW_AFTER, allow_inf_nan=False)
    live_check_every: float = Field(default=3.0, gt=0, le=3600, allow_inf_nan=False)
    live_heartbeat: float = Field(default=15.0, gt=0, le=3600, allow_inf_nan=False)
    live_stream_max: float = Field(default=600.0, gt=0, le=86400, allow_inf_nan=False)
    heartbeat_secret: SecretStr | None = None
    heartbeat_mode: Literal["run", "enqueue"] = "run"
    metrics_token: SecretStr | None = None

    def engine_options(self) -> dict[str, int]:
        """The pool settings given, as options of :func:`onyx_adapters.sql.engine.create_engine`."""
        options = {"pool_size": self.database_pool_size, "max_overflow": self.database_max_overflow}
        return {name: value for name, value in options.items() if value is not None}

    def cipher_key_list(self) -> list[str]:
        if self.cipher_keys is None:
            return []
        return [k.strip() for k in self.cipher_keys.get_secret_value().split(",") if k.strip()]
