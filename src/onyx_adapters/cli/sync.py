"""``onyx connect``, ``onyx sync`` and ``onyx schedule``: the sync engine from the command line.

Configuration comes from ``ONYX_*`` settings (see :class:`~onyx_adapters.settings.OnyxSettings`): the database,
the cipher keys and the Fanvue app registration. Exit codes: 0 done, 1 a setting or the database is unusable,
3 the sync was partial (Fanvue failed somewhere; the stored data is intact and the next run completes it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from onyx_adapters.cli.sync_display import SyncProgress, print_reports, print_summary
from onyx_adapters.connect import store_agency_grant, store_creator_grant
from onyx_adapters.crypto import CipherKeyError
from onyx_adapters.oauth_callback import GrantError, obtain_grant
from onyx_adapters.runtime import ConfigurationError, Runtime
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_core.errors import NotFoundError, OnyxError
from onyx_core.ids import AgencyId
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import Schedule, SyncJob
from onyx_core.sync import SyncPolicy
from onyx_core.usecases import import_creators, sync_agency
from onyx_fanvue.errors import FanvueError

__all__ = ["add_sync_commands", "run_connect", "run_schedule", "run_sync"]

PARTIAL = 3


def add_sync_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = commands.add_parser(
        "connect",
        help="connect a Fanvue account (OAuth + PKCE) and store its encrypted grant",
        description="Runs Fanvue's authorization-code flow with PKCE: prints the authorize URL, waits for the "
        "browser on the loopback ONYX_FANVUE_REDIRECT_URI, exchanges the code and stores the grant encrypted. "
        "`agency` connects a team member for an agency (and creates the agency); `creator` connects an imported "
        "creator's own account (it reads refunds, posts and likes the agency's grant cannot).",
    )
    kinds = connect.add_subparsers(dest="connect_kind", required=True, metavar="KIND")
    agency = kinds.add_parser("agency", help="connect an agency team member (admin for agency-wide numbers)")
    agency.add_argument("--agency-id", required=True, help="the agency's id in Onyx (your choice, e.g. a slug)")
    agency.add_argument("--name", required=True, help="the agency's display name")
    creator = kinds.add_parser("creator", help="connect an imported creator's own account")
    for parser in (agency, creator):
        parser.add_argument("--login-hint", default=None, help="the Fanvue handle to sign in as (sandbox: no browser)")
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the browser")
        parser.add_argument("--database-url", default=None, help="default: ONYX_DATABASE_URL")

    sync = commands.add_parser(
        "sync",
        help="sync every agency (or one) once: import, stats, ledger, history, top spenders, links",
        description="One-shot sync with a progress bar per creator, then a table of what is stored. The first run "
        "backfills full history; later runs re-read the 7-day look-back. Safe to re-run and to interrupt. Exit "
        "code 3 when Fanvue failed somewhere (the next run completes it).",
    )
    sync.add_argument("--agency", action="append", default=None, help="an agency id (repeatable; default: all)")
    sync.add_argument(
        "--jobs",
        type=_jobs,
        default=tuple(SyncJob),
        help=f"comma-separated jobs (default: all of {','.join(j.value for j in SyncJob)})",
    )
    sync.add_argument("--no-import", action="store_true", help="do not re-import the agencies' creators first")
    sync.add_argument("--concurrency", type=int, default=4, help="creators synced at once (default: 4)")
    sync.add_argument("--database-url", default=None, help="default: ONYX_DATABASE_URL")

    schedule = commands.add_parser(
        "schedule",
        help="keep every agency current: the in-process heartbeat (the embedded runner; SQLite or PostgreSQL)",
        description="Wakes every --tick seconds and runs what is due: stats older than 2 min, the ledger every 5 "
        "min, history, top spenders and links hourly, token maintenance every 5 min, creator re-import hourly. "
        "Stops cleanly on Ctrl-C or SIGTERM. For several machines, use `onyx worker` on PostgreSQL instead.",
    )
    schedule.add_argument("--tick", type=float, default=60.0, help="seconds between ticks (default: 60)")
    schedule.add_argument("--ticks", type=int, default=None, help="stop after this many ticks (default: never)")
    schedule.add_argument("--concurrency", type=int, default=4, help="creators synced at once (default: 4)")
    schedule.add_argument("--database-url", default=None, help="default: ONYX_DATABASE_URL")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _jobs(text: str) -> tuple[SyncJob, ...]:
    try:
        return tuple(SyncJob(part.strip()) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"jobs are {', '.join(j.value for j in SyncJob)}") from None


def _runtime(args: argparse.Namespace, concurrency: int = 4) -> AbstractAsyncContextManager[Runtime]:
    return Runtime.from_settings(
        database_url=args.database_url, sync_policy=SyncPolicy(concurrency=max(1, concurrency))
    )


def _guarded(name: str, body: Callable[[], int]) -> int:
    """Run a command; a configuration problem or a refusal is one clear line on stderr, never a traceback."""
    try:
        return body()
    except (ConfigurationError, CipherKeyError, GrantError, NotFoundError) as error:
        sys.stderr.write(f"onyx {name}: {error}\n")
        return 1
    except (SourceUnavailableError, FanvueError) as error:
        sys.stderr.write(f"onyx {name}: Fanvue could not answer ({type(error).__name__}: {error})\n")
        return 1
    except OnyxError as error:
        sys.stderr.write(f"onyx {name}: {error}\n")
        return 1
    except SQLAlchemyError as error:  # the statement's parameters (ciphertexts) stay out of the message
        cause = getattr(error, "orig", None) or error
        sys.stderr.write(
            f"onyx {name}: the database refused ({type(cause).__name__}: {str(cause).splitlines()[0][:200]}); "
            "is it reachable and migrated (`onyx migrate`)?\n"
        )
        return 1


def run_connect(args: argparse.Namespace) -> int:
    async def connect() -> int:
        async with _runtime(args) as runtime:
            token = await obtain_grant(runtime.oauth, login_hint=args.login_hint, timeout=args.timeout, show=_say)
            if args.connect_kind == "agency":
                grant = await store_agency_grant(
                    runtime.ctx, token, AgencyId(args.agency_id), args.name, client_options=runtime.client_options
                )
            else:
                grant = await store_creator_grant(runtime.ctx, token, client_options=runtime.client_options)
        kind = grant.connection.kind.value
        _say(f"connected {grant.handle} as {kind} connection {grant.connection.id} (tokens encrypted)")
        return 0

    return _guarded("connect", lambda: asyncio.run(connect()))


def run_sync(args: argparse.Namespace) -> int:
    console = Console(highlight=False)

    async def sync() -> int:
        partial = False
        async with _runtime(args, args.concurrency) as runtime:
            ctx = runtime.ctx
            async with ctx.uow() as uow:
                known = [a.id for a in await uow.agencies.list()]
            agencies = [AgencyId(a) for a in args.agency] if args.agency else known
            missing = sorted(set(agencies) - set(known))
            if missing:
                raise NotFoundError(f"no agency {', '.join(missing)}: connect one with `onyx connect agency`")
            if not agencies:
                raise NotFoundError("no agency yet: connect one with `onyx connect agency`")
            for agency_id in agencies:
                if not args.no_import:
                    try:
                        imported = await import_creators(ctx, agency_id)
                        console.print(f"agency {agency_id}: imported {len(imported.added)} new creator(s)")
                    except SourceUnavailableError as failure:  # the stored creators still sync
                        partial = True
                        console.print(f"agency {agency_id}: import failed ({failure.reason.value}: {failure.detail})")
                async with ctx.uow() as uow:
                    creators = await uow.creators.for_agency(agency_id)
                console.print(f"agency {agency_id}: syncing {len(creators)} creator(s)")
                with SyncProgress(console, creators, args.jobs) as progress:
                    report = await sync_agency(ctx, agency_id, args.jobs, import_first=False, progress=progress)
                print_reports(report.creators, {c.id: c.handle for c in creators}, console)
                for step, why in sorted(report.failures.items()):
                    console.print(f"{step}: {why}")
                await print_summary(ctx, SqlAnalytics(runtime.engine), creators, console)
                partial = partial or report.partial
        return PARTIAL if partial else 0

    return _guarded("sync", lambda: asyncio.run(sync()))


def run_schedule(args: argparse.Namespace) -> int:
    def show(report: TickReport) -> None:
        refreshed = 0 if report.maintenance is None else len(report.maintenance.results)
        _say(
            f"{report.at:%Y-%m-%d %H:%M:%S} tick: {len(report.synced)} creator(s) synced, "
            f"{refreshed} connection(s) checked, {'partial' if report.partial else 'ok'}"
        )

    async def schedule() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still raises KeyboardInterrupt
                loop.add_signal_handler(signum, stop.set)
        async with _runtime(args, args.concurrency) as runtime:
            scheduler = Scheduler(runtime, Schedule(tick=timedelta(seconds=args.tick)), on_tick=show)
            ran = await scheduler.run(stop=stop, ticks=args.ticks)
        _say(f"stopped after {ran} tick(s)")
        return 0

    return _guarded("schedule", lambda: asyncio.run(schedule()))
