"""``onyx worker`` and ``onyx enqueue``: the distributed runner's commands (PostgreSQL only).

Kept apart from :mod:`onyx_adapters.cli` so that ``onyx --help`` never imports the queue library.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from onyx_adapters.cli.errors import CommandError
from onyx_core.schedule import SyncJob

__all__ = ["add_worker_commands", "run_enqueue_command", "run_worker_command"]


def add_worker_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``worker`` and ``enqueue`` on ``onyx``'s sub-commands."""
    worker = commands.add_parser(
        "worker",
        help="run a sync worker on the PostgreSQL job queue (start as many as you like, on any machine)",
        description="Runs queued sync jobs until SIGINT/SIGTERM (running jobs finish first). Any worker defers "
        "the minute heartbeat, which queues every creator whose jobs are due, token maintenance and the hourly "
        "re-import; one creator's sync never runs twice at once. Needs PostgreSQL (ONYX_DATABASE_URL), "
        "ONYX_CIPHER_KEYS and the Fanvue app settings (ONYX_FANVUE_*). The queue's tables come with "
        "`onyx migrate`.",
    )
    worker.add_argument("--concurrency", type=_positive, default=4, help="jobs run at once (default: %(default)s)")
    worker.add_argument("--database-url", default=None, help="PostgreSQL URL (default: ONYX_DATABASE_URL)")
    worker.add_argument("--queue", action="append", default=None, help="only this queue (repeatable; default: all)")
    worker.add_argument("--name", default=None, help="the worker's name in logs (default: worker)")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty instead of waiting")

    enqueue = commands.add_parser(
        "enqueue",
        help="queue work for the workers now (e.g. a sync of one agency's creators)",
        description="Queues jobs on the PostgreSQL job queue. A creator whose sync is already waiting is not "
        "queued twice.",
    )
    what = enqueue.add_subparsers(dest="enqueue_command", required=True, metavar="WHAT")
    sync = what.add_parser(
        "sync",
        help="queue the sync of every creator of an agency, or of one creator",
        description="Queues one sync job per creator (the agency's stored creators with --agency).",
    )
    target = sync.add_mutually_exclusive_group(required=True)
    target.add_argument("--agency", default=None, help="every stored creator of this agency")
    target.add_argument("--creator", default=None, help="this creator (Fanvue uuid)")
    sync.add_argument(
        "--job",
        action="append",
        choices=[job.value for job in SyncJob],
        default=None,
        help="only this job (repeatable; default: all)",
    )
    sync.add_argument("--database-url", default=None, help="PostgreSQL URL (default: ONYX_DATABASE_URL)")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _postgres_url(given: str | None) -> str:
    """The command's database URL, checked; a :class:`ConfigurationError` unless it is PostgreSQL."""
    from onyx_adapters.cli.database import database_url  # noqa: PLC0415
    from onyx_adapters.settings import ConfigurationError, OnyxSettings  # noqa: PLC0415
    from onyx_adapters.sql.engine import is_sqlite  # noqa: PLC0415

    url = given or OnyxSettings().database_url
    if is_sqlite(url):
        raise ConfigurationError(
            "the job queue needs PostgreSQL, and the database is SQLite: workers share their queue through the "
            "database. Set ONYX_DATABASE_URL (or --database-url) to a postgresql:// URL, or on SQLite run the "
            "in-process scheduler, `onyx schedule`"
        )
    return database_url(url)


async def _check_queue(url: str) -> None:
    """The database is usable (see Runtime.check) and holds the job queue's tables."""
    from onyx_adapters.sql.engine import create_engine, shown_url  # noqa: PLC0415
    from onyx_adapters.sql.migrate import check_database  # noqa: PLC0415
    from onyx_adapters.workers import queue_schema_installed  # noqa: PLC0415

    engine = create_engine(url)
    try:
        await check_database(engine)
    finally:
        await engine.dispose()
    if not await asyncio.to_thread(queue_schema_installed, url):
        raise CommandError(f"no job queue in {shown_url(url)}: run `onyx migrate` first")


def run_worker_command(args: argparse.Namespace) -> int:
    """``onyx worker``: 0 after a clean stop. Settings, the database, the queue and the key ring are checked
    first, so a worker that cannot work says why at once instead of failing every job."""
    url = _postgres_url(args.database_url)
    from onyx_adapters.runtime import Runtime  # noqa: PLC0415
    from onyx_adapters.workers import run_worker  # noqa: PLC0415

    async def check() -> None:
        async with Runtime.from_settings(database_url=url) as runtime:  # the cipher and Fanvue app settings too
            await runtime.check()
        await _check_queue(url)

    asyncio.run(check())
    logging.getLogger().setLevel(logging.INFO)  # the jobs' lines; the CLI's boundary formats them
    asyncio.run(run_worker(url, concurrency=args.concurrency, queues=args.queue, name=args.name, wait=not args.burst))
    return 0


def run_enqueue_command(args: argparse.Namespace) -> int:
    """``onyx enqueue sync``: prints how many jobs were queued and how many were already waiting."""
    from onyx_adapters.sql.engine import shown_url  # noqa: PLC0415

    url = _postgres_url(args.database_url)
    asyncio.run(_check_queue(url))
    jobs = tuple(SyncJob(job) for job in args.job) if args.job else tuple(SyncJob)
    creators = asyncio.run(_creators(url, agency=args.agency, creator=args.creator))
    if not creators:
        what = f"agency {args.agency} has no imported creators" if args.agency else f"no creator {args.creator}"
        raise CommandError(f"{what} in {shown_url(url)}")
    queued, waiting = asyncio.run(_enqueue(url, creators, jobs))
    sys.stdout.write(f"queued {queued} creator sync(s); {waiting} already waiting\n")
    return 0


async def _creators(url: str, *, agency: str | None, creator: str | None) -> list[str]:
    from sqlalchemy import select  # noqa: PLC0415

    from onyx_adapters.sql.engine import create_engine  # noqa: PLC0415
    from onyx_adapters.sql.schema import creators  # noqa: PLC0415

    query = select(creators.c.id).order_by(creators.c.id)
    query = query.where(creators.c.agency_id == agency) if agency else query.where(creators.c.id == creator)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()


async def _enqueue(url: str, creators: list[str], jobs: tuple[SyncJob, ...]) -> tuple[int, int]:
    from onyx_adapters.workers import defer_sync, make_app  # noqa: PLC0415

    queued = waiting = 0
    async with make_app(url).open_async() as app:
        for creator_id in creators:
            if await defer_sync(app, creator_id, jobs) is None:
                waiting += 1
            else:
                queued += 1
    return queued, waiting
