"""The sync engine end to end: the Fanvue sandbox in-process, the OAuth flow, the runtime and an embedded SQLite.

:func:`run_sandbox_demo` connects the sandbox's agency admin with the real authorization-code + PKCE flow, stores
the agency connection (tokens encrypted), imports the agency's creators, connects two of them personally (their
own grant reads refunds, posts and likes; the third is read through the agency alone), syncs everything with
progress bars and prints what was stored. Running it again on the same database adds nothing: every write is an
upsert by key.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.cli.sync_display import SyncProgress, print_reports, print_summary
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.runtime import Runtime
from onyx_adapters.sandbox_runtime import connect_agency, connect_creator, sandbox_runtime
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_adapters.sql.engine import create_engine, shown_url
from onyx_adapters.sql.migrate import upgrade
from onyx_core.ids import AgencyId
from onyx_core.schedule import SyncJob
from onyx_core.usecases import import_creators, sync_agency
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

__all__ = [
    "DEMO_AGENCY",
    "OWN_CONNECTIONS",
    "demo_console",
    "demo_database",
    "demo_keys",
    "demo_spec",
    "print_banner",
    "print_throwaway_key_note",
    "run_sandbox_demo",
    "sqlite_url",
    "sync_demo_agency",
]

DEMO_AGENCY = AgencyId("sandbox-agency")
OWN_CONNECTIONS = 2
"""How many of the demo's creators also connect their own account."""


def demo_spec(seed: int = 1) -> WorldSpec:
    """The demo's small world: three creators, 90 days of history."""
    return WorldSpec(seed=seed, creators=3, days=90)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file (the engine picks the async driver)."""
    return f"sqlite:///{path}"


def _default_now() -> datetime:
    # Whole hours: two runs within the same hour see the same sandbox world, so a re-run is a true re-run.
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@asynccontextmanager
async def demo_database(database_url: str | None, console: Console) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """The demo's database, migrated, and its URL: ``database_url``, or a SQLite file in a temporary folder that
    is deleted at the end."""
    folder: AbstractContextManager[str | None] = (
        tempfile.TemporaryDirectory(prefix="onyx-demo-", ignore_cleanup_errors=True)
        if database_url is None
        else nullcontext()
    )
    with folder as tmp:
        url = sqlite_url(Path(tmp) / "onyx.sqlite3") if tmp is not None else database_url or ""
        await asyncio.to_thread(upgrade, url)  # Alembic runs synchronously
        console.print(f"database: {shown_url(url)} (migrated)")
        engine = create_engine(url)
        try:
            yield url, engine
        finally:
            await engine.dispose()


def demo_console(out: TextIO) -> Console:
    return Console(file=out, width=140, highlight=False, soft_wrap=True)


def demo_keys(cipher_keys: list[str] | None) -> tuple[list[str], bool]:
    """The key ring the demo encrypts with (``cipher_keys``, else ``ONYX_CIPHER_KEYS``, else a fresh key) and
    whether it is a throwaway one."""
    keys = cipher_keys or OnyxSettings().cipher_key_list()
    return (keys, False) if keys else ([FernetCipher.generate_key()], True)


async def run_sandbox_demo(
    out: TextIO,
    *,
    database_url: str | None = None,
    seed: int = 1,
    now: datetime | None = None,
    cipher_keys: list[str] | None = None,
) -> int:
    """Sync a seeded sandbox agency into SQLite and print what was stored; 0 on success, 3 if the sync was
    partial (a later run would complete it).

    ``database_url`` defaults to a SQLite file in a temporary folder (deleted afterwards). ``now`` freezes the
    sandbox clock (default: the current hour). ``cipher_keys`` encrypt the stored tokens (default: ``ONYX_CIPHER_KEYS``,
    else a fresh key; a later run under another key replaces the stored connections with new grants).
    """
    console = demo_console(out)
    sandbox = FanvueSandbox(spec=demo_spec(seed), clock=SandboxClock(now or _default_now()))
    print_banner(console, sandbox)
    keys, throwaway_key = demo_keys(cipher_keys)
    async with (
        demo_database(database_url, console) as (_, engine),
        sandbox_runtime(sandbox, engine, FernetCipher(keys), virtual_time=True) as runtime,
    ):
        partial = await sync_demo_agency(console, sandbox, runtime)
    if throwaway_key and database_url is not None:
        print_throwaway_key_note(console)
    return 3 if partial else 0


def print_banner(console: Console, sandbox: FanvueSandbox) -> None:
    console.print(
        f"Onyx sandbox demo: seed {sandbox.spec.seed}, {len(sandbox.world.creators)} creators, "
        f"{sandbox.spec.days} days of history, synced through the Fanvue SDK into SQLite."
    )


async def sync_demo_agency(console: Console, sandbox: FanvueSandbox, runtime: Runtime) -> bool:
    """Connect the sandbox's agency admin (and two creators' own accounts), import, sync everything with
    progress bars and print what was stored; whether the sync was partial."""
    ctx = runtime.ctx
    # a kept demo database from a run under another (random) key: its sandbox tokens are lost anyway, so the
    # demo replaces them (only sandbox accounts: their connection ids cannot be a real account's)
    agency = await connect_agency(runtime, sandbox, DEMO_AGENCY, "Sandbox Talent", replace=True)
    if agency.replaced_unreadable:
        console.print("the stored agency connection was encrypted with another key: replaced by the new grant")
    scopes = " ".join(sorted(agency.connection.tokens.scopes)) if agency.connection.tokens else ""
    console.print(f"connected {agency.handle} (agency admin) with OAuth + PKCE; scopes: {scopes}")
    imported = await import_creators(ctx, DEMO_AGENCY)
    console.print(
        f"imported {imported.listed} creators ({len(imported.added)} new, {len(imported.updated)} updated, "
        f"{imported.unchanged} unchanged)"
    )
    for creator in sandbox.world.creators[:OWN_CONNECTIONS]:
        own = await connect_creator(runtime, sandbox, creator.person.handle, replace=True)
        console.print(f"connected {own.handle}'s own account (refunds, posts and likes)")
    async with ctx.uow() as uow:
        creators = await uow.creators.for_agency(DEMO_AGENCY)
    with SyncProgress(console, creators, tuple(SyncJob)) as progress:
        report = await sync_agency(ctx, DEMO_AGENCY, import_first=False, progress=progress)
    print_reports(report.creators, {c.id: c.handle for c in creators}, console)
    if report.top_spenders is not None:
        console.print(f"agency-wide top spenders: {report.top_spenders.rows}")
    if report.chatter_days is not None:
        chatters = report.chatter_days
        console.print(f"chatter leaderboard (PPV unlock rate): {chatters.rows} rows over {chatters.days} UTC days")
    for step, why in sorted(report.failures.items()):
        console.print(f"{step}: {why}")
    console.print()
    await print_summary(ctx, SqlAnalytics(runtime.engine), creators, console)
    console.print(
        "\nRevenue is Fanvue's lifetime total (refunds taken off); the ledger net is the sum of the stored\n"
        "payments and refunds, and matches it to the cent for creators whose own connection reads refunds.\n"
        "Values Fanvue does not give the agency's grant are shown unknown, never 0."
    )
    return report.partial


def print_throwaway_key_note(console: Console) -> None:
    console.print(
        "\nONYX_CIPHER_KEYS is not set, so the tokens kept in this database are encrypted with a throwaway key:\n"
        "`onyx users` and `onyx serve` cannot use it. To keep a usable demo database, make a key with\n"
        "`onyx keys generate`, export it as ONYX_CIPHER_KEYS and run the demo again (it replaces the tokens)."
    )
