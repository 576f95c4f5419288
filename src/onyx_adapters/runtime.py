"""The composition root of a sync process: database, cipher, Fanvue app, SDK clients, gateway and use-case context.

Every runner (``onyx sync``, the in-process scheduler, ``onyx worker``) and the demo build one :class:`Runtime`
and run the core's use cases with its :attr:`Runtime.ctx`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.crypto import FernetCipher, check_stored_tokens
from onyx_adapters.fanvue_clients import ConnectionClients
from onyx_adapters.gateway import FanvueGateway
from onyx_adapters.settings import ConfigurationError, OnyxSettings
from onyx_adapters.sql.accounts import sql_accounts_unit_of_work_factory
from onyx_adapters.sql.engine import create_engine, require_onyx_engine
from onyx_adapters.sql.migrate import check_database
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts.ports import AccountsUnitOfWorkFactory
from onyx_core.ports import Cipher, Clock
from onyx_core.stats import MergePolicy
from onyx_core.sync import SyncPolicy
from onyx_core.tokens import RefreshPolicy
from onyx_core.usecases import Context
from onyx_fanvue.oauth import AsyncOAuthClient
from onyx_fanvue.ratelimit import RateBudget

__all__ = ["ConfigurationError", "FanvueApp", "Runtime", "SystemClock"]


class SystemClock:
    """The core's :class:`~onyx_core.ports.Clock` on the machine's clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class FanvueApp:
    """Onyx's registration with Fanvue's OAuth server, and where Fanvue is. ``repr`` hides the secret."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    api_url: str = "https://api.fanvue.com"
    auth_url: str = "https://auth.fanvue.com/oauth2"
    """The OAuth server's base: ``/auth``, ``/token`` and ``/revoke`` below it."""

    @classmethod
    def from_settings(cls, settings: OnyxSettings) -> FanvueApp:
        if not settings.fanvue_client_id or settings.fanvue_client_secret is None:
            raise ConfigurationError(
                "set ONYX_FANVUE_CLIENT_ID and ONYX_FANVUE_CLIENT_SECRET (the app registration; `onyx sandbox` "
                "prints the sandbox's), and ONYX_FANVUE_API_URL / ONYX_FANVUE_AUTH_URL when not using Fanvue itself"
            )
        return cls(
            settings.fanvue_client_id,
            settings.fanvue_client_secret.get_secret_value(),
            settings.fanvue_redirect_uri,
            settings.fanvue_api_url.rstrip("/"),
            settings.fanvue_auth_url.rstrip("/"),
        )

    def oauth_client(self, **options: Any) -> AsyncOAuthClient:
        """An OAuth client for this app (``options`` as :class:`~onyx_fanvue.oauth.AsyncOAuthClient` takes them)."""
        return AsyncOAuthClient(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
            authorize_url=f"{self.auth_url}/auth",
            token_url=f"{self.auth_url}/token",
            revoke_url=f"{self.auth_url}/revoke",
            **options,
        )

    def client_options(self) -> dict[str, Any]:
        """What every :class:`~onyx_fanvue.AsyncFanvueClient` of this app is built with."""
        return {"base_url": self.api_url}


class Runtime:
    """What a sync process runs with. Build it with :meth:`open`; ``ctx`` is the use cases' context."""

    def __init__(
        self,
        engine: AsyncEngine,
        cipher: Cipher,
        oauth: AsyncOAuthClient,
        clients: ConnectionClients,
        ctx: Context,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.oauth = oauth
        self.clients = clients
        self.ctx = ctx
        self.client_options = dict(client_options or {})
        """What the runtime's SDK clients are built with (where Fanvue is), for a one-off client of its own."""
        self.accounts: AccountsUnitOfWorkFactory = sql_accounts_unit_of_work_factory(engine, cipher)
        """Units of work over the accounts (members, sessions, second factors, …) on the same database and cipher."""

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        engine_or_url: AsyncEngine | str,
        cipher: Cipher,
        oauth: AsyncOAuthClient,
        *,
        clock: Clock | None = None,
        client_options: dict[str, Any] | None = None,
        rate_budget: RateBudget | None = None,
        sync_policy: SyncPolicy | None = None,
        refresh_policy: RefreshPolicy | None = None,
        merge_policy: MergePolicy | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Runtime]:
        """A runtime on ``engine_or_url`` (an engine stays the caller's; a URL's engine, made with
        ``engine_options``, is disposed at the end).
        ``oauth`` refreshes tokens and stays the caller's. The SDK clients are closed at the end."""
        if isinstance(engine_or_url, AsyncEngine):
            require_onyx_engine(engine_or_url)
            engine, owns = engine_or_url, False
        else:
            engine, owns = create_engine(engine_or_url, **(engine_options or {})), True
        clock = clock or SystemClock()
        refresh = refresh_policy or RefreshPolicy()
        clients = ConnectionClients(
            engine,
            cipher,
            oauth,
            leeway=refresh.leeway,
            rate_budget=rate_budget,
            clock=clock.now,
            client_options=client_options,
        )
        ctx = Context(
            uow=sql_unit_of_work_factory(engine, cipher),
            fanvue=FanvueGateway(clients),
            clock=clock,
            merge_policy=merge_policy or MergePolicy(),
            sync_policy=sync_policy or SyncPolicy(),
            refresh_policy=refresh,
        )
        try:
            yield cls(engine, cipher, oauth, clients, ctx, client_options)
        finally:
            try:
                await clients.aclose()
            finally:
                if owns:
                    await engine.dispose()

    @classmethod
    @asynccontextmanager
    async def from_settings(
        cls,
        settings: OnyxSettings | None = None,
        *,
        database_url: str | None = None,
        sync_policy: SyncPolicy | None = None,
    ) -> AsyncIterator[Runtime]:
        """A runtime from ``ONYX_*`` settings: the database (``database_url`` overrides it), the cipher keys, the
        Fanvue app, the job budget (``ONYX_SYNC_JOB_BUDGET``) and the ledger batches (``ONYX_SYNC_BATCH_ROWS``,
        ``ONYX_SYNC_BATCH_SECONDS``), applied to ``sync_policy``. Raises
        :class:`ConfigurationError` or ``CipherKeyError`` for a missing setting."""
        settings = settings or OnyxSettings()
        cipher = FernetCipher.from_settings(settings)
        app = FanvueApp.from_settings(settings)
        if settings.sync_job_budget is not None:  # ONYX_SYNC_JOB_BUDGET over the given (or default) policy
            budget = timedelta(seconds=settings.sync_job_budget)
            sync_policy = replace(sync_policy or SyncPolicy(), job_budget=budget)
        if settings.sync_batch_rows is not None:  # ONYX_SYNC_BATCH_ROWS, likewise
            sync_policy = replace(sync_policy or SyncPolicy(), batch_rows=settings.sync_batch_rows)
        if settings.sync_batch_seconds is not None:  # ONYX_SYNC_BATCH_SECONDS, likewise
            batch_time = timedelta(seconds=settings.sync_batch_seconds)
            sync_policy = replace(sync_policy or SyncPolicy(), batch_time=batch_time)
        async with (
            app.oauth_client() as oauth,
            cls.open(
                database_url or settings.database_url,
                cipher,
                oauth,
                client_options=app.client_options(),
                sync_policy=sync_policy,
                engine_options=settings.engine_options(),
            ) as runtime,
        ):
            yield runtime

    async def check(self, *, tokens: Literal["all", "any", "none"] = "all", intact: bool = False) -> None:
        """What a runner checks before it starts, so a permanent problem stops it at once with one clear error
        instead of failing every step of every tick: the database answers, is at this Onyx's schema and takes
        writes (:func:`~onyx_adapters.sql.migrate.check_database`), and the stored tokens decrypt with the cipher.
        ``tokens``: ``"all"`` must decrypt; ``"any"``: at least one, when some are stored (the ring is not plainly
        the wrong one); ``"none"``: not checked. ``intact``: read every page of a SQLite file too (a full scan, for
        long-running processes). Writes nothing."""
        await check_database(self.engine, intact=intact)
        if tokens != "none":
            await check_stored_tokens(self.engine, self.cipher, only_if_none_decrypts=tokens == "any")

    def __repr__(self) -> str:
        return f"Runtime(dialect={self.engine.dialect.name!r})"
