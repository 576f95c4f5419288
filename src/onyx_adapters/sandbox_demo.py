"""The sync engine end to end: the Fanvue sandbox in-process, the OAuth flow, the gateway and an embedded SQLite.

:func:`run_sandbox_demo` connects the sandbox's agency admin with the real authorization-code + PKCE flow, stores
the agency connection (tokens encrypted by the repository), imports the agency's creators and runs every sync use
case for each of them through the SDK-backed gateway, then prints what was stored. Running it again on the same
database adds nothing: every write is an upsert by key.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.display import UNKNOWN, metric_text, money
from onyx_adapters.gateway import FanvueGateway
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.analytics import Period
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import InvalidCiphertextError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.money import USD
from onyx_core.ports import SourceUnavailableError
from onyx_core.stats import Metric, MetricRecord, MissingReason
from onyx_core.sync import Stream
from onyx_core.tokens import TokenSet
from onyx_core.usecases import (
    Context,
    import_creators,
    record_agency_top_spenders,
    record_subscriber_history,
    record_top_spenders,
    refresh_creator_stats,
    sync_ledger,
    sync_tracking_links,
)
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue.oauth import OAuthToken, generate_pkce, generate_state
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

__all__ = ["DEMO_AGENCY", "demo_spec", "run_sandbox_demo", "sqlite_url"]

DEMO_AGENCY = AgencyId("sandbox-agency")
_T = TypeVar("_T")


def demo_spec(seed: int = 1) -> WorldSpec:
    """The demo's small world: three creators, 90 days of history."""
    return WorldSpec(seed=seed, creators=3, days=90)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file (the engine picks the async driver)."""
    return f"sqlite:///{path}"


def _default_now() -> datetime:
    # Whole hours: two runs within the same hour see the same sandbox world, so a re-run is a true re-run.
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class _SandboxTime:
    """The core's :class:`~onyx_core.ports.Clock` on the sandbox clock (frozen unless the sandbox is advanced)."""

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class _Clients:
    """``client_for`` for the gateway: one SDK client per stored token, closed at the end."""

    sandbox: FanvueSandbox
    _open: dict[tuple[ConnectionId, int], AsyncFanvueClient] = field(default_factory=dict)

    def __call__(self, connection: Connection) -> AsyncFanvueClient:
        if connection.tokens is None:
            raise SourceUnavailableError(MissingReason.NO_CONNECTION, f"connection {connection.id} has no tokens")
        key = (connection.id, connection.token_version)
        client = self._open.get(key)
        if client is None:
            client = AsyncFanvueClient(access_token=connection.tokens.access_token, transport=self.sandbox.transport())
            self._open[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._open = list(self._open.values()), {}
        for client in clients:
            await client.aclose()


async def _authorize(sandbox: FanvueSandbox, login_hint: str) -> OAuthToken:
    """The authorization-code flow with PKCE, as a browser would run it; ``login_hint`` approves at once."""
    async with sandbox.async_oauth_client() as oauth, httpx.AsyncClient(transport=sandbox.transport()) as browser:
        pkce, state = generate_pkce(), generate_state()
        url = oauth.authorization_url(state, pkce.challenge, login_hint=login_hint)
        approved = await browser.get(url)
        if approved.status_code != 302:
            raise RuntimeError(f"the authorize endpoint answered {approved.status_code}, not a redirect")
        query = parse_qs(urlsplit(approved.headers["location"]).query)
        if query.get("state") != [state]:
            raise RuntimeError("the redirect's state does not match the request's")
        return await oauth.exchange_code(query["code"][0], pkce.verifier)


def _token_set(token: OAuthToken) -> TokenSet:
    return TokenSet(token.access_token, token.refresh_token, token.expires_at, token.scope, token.token_type)


async def _connect_agency(ctx: Context, sandbox: FanvueSandbox, out: TextIO) -> Connection:
    """Connect the agency admin and store the agency with its connection (a re-run replaces the tokens)."""
    handle = sandbox.world.admin.person.handle
    token = await _authorize(sandbox, handle)
    async with AsyncFanvueClient(access_token=token.access_token, transport=sandbox.transport()) as client:
        me = await client.users.me()  # the grant works, and says whose it is
    now = ctx.clock.now()
    connection_id = ConnectionId(f"agency-{me.uuid}")
    async with ctx.uow() as uow:
        await uow.agencies.upsert(Agency(DEMO_AGENCY, "Sandbox Talent", me.uuid))
        try:
            existing = await uow.connections.get(connection_id)
        except InvalidCiphertextError:
            # stored by an earlier run under another key: those tokens are unreadable, and this grant replaces them
            out.write(f"connection {connection_id} was encrypted with another key: replacing it with the new grant\n")
            existing = None
        if existing is None:
            connection = Connection(
                connection_id, ConnectionKind.AGENCY, DEMO_AGENCY, None, me.uuid, ConnectionStatus.ACTIVE, None
            ).with_tokens(_token_set(token), now)
            await uow.connections.save(connection)
        else:
            connection = existing.with_tokens(_token_set(token), now)
            await uow.connections.save(connection, expected_version=existing.token_version)
        await uow.commit()
    scopes = " ".join(sorted(token.scope))
    out.write(f"connected {handle} (agency admin) with OAuth + PKCE; scopes: {scopes}\n")
    out.write(f"stored connection {connection_id} (token version {connection.token_version}, tokens encrypted)\n")
    return connection


async def _attempt(label: str, call: Awaitable[_T], out: TextIO) -> _T | None:
    try:
        return await call
    except SourceUnavailableError as failure:
        out.write(f"  {label}: unavailable ({failure.reason.value}: {failure.detail})\n")
        return None


async def _sync_creator(ctx: Context, creator: Creator, out: TextIO) -> dict[str, MissingReason]:
    """Every sync use case for one creator; returns the metrics left stale by the stats refresh, with why."""
    out.write(f"\n{creator.handle}:\n")
    refresh = await refresh_creator_stats(ctx, creator.id)
    used = refresh.connection.value if refresh.connection else "none"
    out.write(f"  stats: {refresh.observations} observations via the {used} connection\n")
    for stream in (Stream.EARNINGS, Stream.REVERSALS):
        report = await sync_ledger(ctx, creator.id, stream)
        why = f"; {report.failure.value}" if report.failure else ""
        out.write(
            f"  ledger {stream.value}: {report.inserted} new, {report.updated} updated in {report.pages} pages "
            f"({report.outcome.value}{why})\n"
        )
    history = await _attempt("subscriber history", record_subscriber_history(ctx, creator.id), out)
    if history is not None:
        kind = "backfill" if history.backfill else "rolling window"
        out.write(f"  subscriber history: {history.days} days ({kind} {history.start} to {history.end})\n")
    spenders = await _attempt("top spenders", record_top_spenders(ctx, creator.id), out)
    if spenders is not None:
        out.write(f"  top spenders: {spenders.rows}\n")
    links = await _attempt("tracking links", sync_tracking_links(ctx, creator.id), out)
    if links is not None:
        out.write(f"  tracking links: {links.links}\n")
    return refresh.stale


def _age(now: datetime, at: datetime | None) -> str:
    if at is None:
        return "never"
    minutes = int((now - at).total_seconds() // 60)
    return "just now" if minutes < 1 else f"{minutes} min ago"


def _cell(record: MetricRecord | None, metric: str, stale: dict[str, MissingReason]) -> tuple[str, str | None]:
    """The value to show and, when there is none (or it is stale), why. Never a made-up 0."""
    reason = stale.get(metric) or (record.stale_reason if record is not None else None)
    text = metric_text(record)
    if record is None or record.value is None:
        return text, (reason.value if reason else "never observed")
    return text, (reason.value if reason else None) if record.is_stale else None


async def _print_summary(
    ctx: Context,
    analytics: SqlAnalytics,
    creators: list[Creator],
    stale: dict[CreatorId, dict[str, MissingReason]],
    out: TextIO,
) -> None:
    now = ctx.clock.now()
    out.write(f"\n== stored stats (at {now:%Y-%m-%d %H:%M} UTC; * = stale, — = unknown, never 0)\n")
    header = (
        f"{'creator':<18} {'revenue':>12} {'ledger net':>12} {'subscribers':>11} {'followers':>9} "
        f"{'posts':>5} {'likes':>5}  fresh"
    )
    out.write(header + "\n" + "-" * len(header) + "\n")
    notes: list[str] = []
    for creator in creators:
        async with ctx.uow() as uow:
            records = await uow.stats.get(creator.id)
            cursor = await uow.cursors.get(creator.id, Stream.EARNINGS)
        totals = await analytics.revenue_totals(creator.id, Period(ctx.sync_policy.backfill_from, now), USD)
        cells: list[str] = []
        for metric in Metric:
            text, why = _cell(records.get(metric), metric, stale.get(creator.id, {}))
            cells.append(text)
            if why is not None:
                notes.append(f"  {creator.handle} {metric.value}: {why}")
        ledger = money(totals.net.cents) if totals.transaction_count else UNKNOWN
        observed = [r.observed_at for r in records.values() if r.observed_at is not None]
        stats_age = _age(now, max(observed) if observed else None)
        ledger_age = _age(now, cursor.synced_through if cursor else None)
        out.write(
            f"{creator.handle:<18} {cells[0]:>12} {ledger:>12} {cells[1]:>11} {cells[2]:>9} {cells[3]:>5} "
            f"{cells[4]:>5}  stats {stats_age}, ledger through {ledger_age}\n"
        )
    if notes:
        out.write("why some values are missing or stale:\n" + "\n".join(notes) + "\n")


@asynccontextmanager
async def _database(database_url: str | None, out: TextIO) -> AsyncIterator[AsyncEngine]:
    folder: AbstractContextManager[str | None] = (
        tempfile.TemporaryDirectory(prefix="onyx-demo-", ignore_cleanup_errors=True)
        if database_url is None
        else nullcontext()
    )
    with folder as tmp:
        url = sqlite_url(Path(tmp) / "onyx.sqlite3") if tmp is not None else database_url or ""
        await asyncio.to_thread(upgrade, url)  # Alembic runs synchronously
        out.write(f"database: {url} (migrated)\n")
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def run_sandbox_demo(
    out: TextIO,
    *,
    database_url: str | None = None,
    seed: int = 1,
    now: datetime | None = None,
    cipher_keys: list[str] | None = None,
) -> int:
    """Sync a seeded sandbox agency into SQLite and print what was stored; 0 on success.

    ``database_url`` defaults to a SQLite file in a temporary folder (deleted afterwards). ``now`` freezes the
    sandbox clock (default: the current hour). ``cipher_keys`` encrypt the stored tokens (default: ``ONYX_CIPHER_KEYS``,
    else a fresh key; a later run under another key replaces the stored connection with its own new grant).
    """
    sandbox = FanvueSandbox(spec=demo_spec(seed), clock=SandboxClock(now or _default_now()))
    world = sandbox.world
    out.write(
        f"Onyx sandbox demo: seed {seed}, {len(world.creators)} creators, {sandbox.spec.days} days of history, "
        "synced through the Fanvue SDK into SQLite.\n"
    )
    keys = cipher_keys or OnyxSettings().cipher_key_list() or [FernetCipher.generate_key()]
    cipher = FernetCipher(keys)
    clients = _Clients(sandbox)
    async with _database(database_url, out) as engine:
        try:
            ctx = Context(
                uow=sql_unit_of_work_factory(engine, cipher),
                fanvue=FanvueGateway(clients),
                clock=_SandboxTime(sandbox.clock),
            )
            await _connect_agency(ctx, sandbox, out)
            imported = await import_creators(ctx, DEMO_AGENCY)
            out.write(
                f"imported {imported.listed} creators ({len(imported.added)} new, {len(imported.updated)} updated, "
                f"{imported.unchanged} unchanged)\n"
            )
            async with ctx.uow() as uow:
                creators = await uow.creators.for_agency(DEMO_AGENCY)
            stale = {creator.id: await _sync_creator(ctx, creator, out) for creator in creators}
            agency_top = await _attempt("agency top spenders", record_agency_top_spenders(ctx, DEMO_AGENCY), out)
            if agency_top is not None:
                out.write(f"\nagency-wide top spenders: {agency_top.rows}\n")
            await _print_summary(ctx, SqlAnalytics(engine), list(creators), stale, out)
        finally:
            await clients.aclose()
    out.write(
        "\nRevenue is Fanvue's lifetime total (refunds taken off). The ledger net is the stored earnings: the\n"
        "agency's grant reads earnings but not refunds (those are on the creator's own /insights/spending), so the\n"
        "ledger is no floor for revenue until its refunds are fetched. Posts and likes also need the creator's own\n"
        "connection, so they are shown unknown rather than 0.\n"
    )
    return 0
