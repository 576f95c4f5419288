"""``onyx connect``, ``onyx sync`` and ``onyx schedule``: the sync engine from the command line.

Configuration comes from ``ONYX_*`` settings (see :class:`~onyx_adapters.settings.OnyxSettings`): the database,
the cipher keys, the Fanvue app registration and the job budget. They run inside the CLI's error boundary
(:mod:`onyx_adapters.cli.errors`, which lists the exit codes); ``onyx sync`` exits 3 when the sync was partial and
says per creator when to try again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Literal

from rich.console import Console

from onyx_adapters.cli.database import database_url
from onyx_adapters.cli.errors import EXIT_OK, EXIT_PARTIAL
from onyx_adapters.cli.sync_display import SyncProgress, print_reports, print_summary, try_again, when
from onyx_adapters.connect import store_agency_grant, store_creator_grant
from onyx_adapters.oauth_callback import obtain_grant
from onyx_adapters.runtime import Runtime
from onyx_adapters.scheduler import Scheduler, TickReport
from onyx_adapters.sql.analytics import SqlAnalytics
from onyx_core.budget import JobBudget
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import Schedule, SyncJob
from onyx_core.sync import SyncPolicy
from onyx_core.usecases import import_creators, sync_agency
from onyx_core.usecases.context import budgeted, retry_at_of

__all__ = ["add_sync_commands", "run_connect", "run_schedule", "run_sync", "tick_line"]


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
        parser.add_argument(
            "--replace",
            action="store_true",
            help="overwrite stored tokens of this account that the key ring cannot decrypt (they are lost)",
        )

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


@asynccontextmanager
async def _runtime(
    args: argparse.Namespace,
    concurrency: int = 4,
    *,
    tokens: Literal["all", "any", "none"] = "all",
    intact: bool = False,
) -> AsyncIterator[Runtime]:
    """The runtime of the command's settings, checked before any work: a permanent problem (the database away,
    corrupt, read-only or not migrated; a key ring that cannot read the stored tokens) stops the command here,
    before Fanvue is asked anything."""
    url = database_url(args.database_url)
    async with Runtime.from_settings(
        database_url=url, sync_policy=SyncPolicy(concurrency=max(1, concurrency))
    ) as runtime:
        await runtime.check(tokens=tokens, intact=intact)
        yield runtime


def run_connect(args: argparse.Namespace) -> int:
    async def connect() -> int:
        # a ring that reads none of the stored tokens is the wrong ring: stop before the browser, not after
        async with _runtime(args, tokens="none" if args.replace else "any") as runtime:
            token = await obtain_grant(runtime.oauth, login_hint=args.login_hint, timeout=args.timeout, show=_say)
            if args.connect_kind == "agency":
                grant = await store_agency_grant(
                    runtime.ctx,
                    token,
                    AgencyId(args.agency_id),
                    args.name,
                    client_options=runtime.client_options,
                    replace=args.replace,
                )
            else:
                grant = await store_creator_grant(
                    runtime.ctx, token, client_options=runtime.client_options, replace=args.replace
                )
        kind = grant.connection.kind.value
        if grant.replaced_unreadable:
            _say(f"replaced the stored tokens of {grant.connection.id}, which no configured key could decrypt")
        _say(f"connected {grant.handle} as {kind} connection {grant.connection.id} (tokens encrypted)")
        return 0

    return asyncio.run(connect())


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
                    spent: list[JobBudget] = []
                    try:
                        imported = await budgeted(ctx, import_creators(ctx, agency_id), spent)
                        console.print(f"agency {agency_id}: imported {len(imported.added)} new creator(s)")
                    except SourceUnavailableError as failure:  # the stored creators still sync
                        partial = True
                        why = f"{failure.reason.value}: {failure.detail}"
                        console.print(
                            f"agency {agency_id}: import failed ({why}); {try_again(retry_at_of(spent))}",
                            soft_wrap=True,
                        )
                async with ctx.uow() as uow:
                    creators = await uow.creators.for_agency(agency_id)
                console.print(f"agency {agency_id}: syncing {len(creators)} creator(s)")
                with SyncProgress(console, creators, args.jobs) as progress:
                    report = await sync_agency(ctx, agency_id, args.jobs, import_first=False, progress=progress)
                print_reports(report.creators, {c.id: c.handle for c in creators}, console)
                for step, why in sorted(report.failures.items()):
                    console.print(f"{step}: {why}")
                if report.partial:
                    console.print(f"agency {agency_id}: partial; {try_again(report.retry_at)}", soft_wrap=True)
                await print_summary(ctx, SqlAnalytics(runtime.engine), creators, console)
                partial = partial or report.partial
        return EXIT_PARTIAL if partial else EXIT_OK

    return asyncio.run(sync())


def tick_line(report: TickReport) -> str:
    """The line `onyx schedule` prints after a tick."""
    refreshed = 0 if report.maintenance is None else len(report.maintenance.results)
    state = "partial" if report.partial else "ok"
    if report.partial and report.retry_at is not None:
        state += f", Fanvue throttling until {when(report.retry_at)}"
    return (
        f"{report.at:%Y-%m-%d %H:%M:%S} tick: {len(report.synced)} creator(s) synced, "
        f"{refreshed} connection(s) checked, {state}"
    )


def run_schedule(args: argparse.Namespace) -> int:
    def show(report: TickReport) -> None:
        _say(tick_line(report))

    async def schedule() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still raises KeyboardInterrupt
                loop.add_signal_handler(signum, stop.set)
        # checked once here, the whole file too: a permanent problem fails now, not at every step of every tick
        async with _runtime(args, args.concurrency, intact=True) as runtime:
            scheduler = Scheduler(runtime, Schedule(tick=timedelta(seconds=args.tick)), on_tick=show)
            ran = await scheduler.run(stop=stop, ticks=args.ticks)
        _say(f"stopped after {ran} tick(s)")
        return EXIT_OK

    return asyncio.run(schedule())
