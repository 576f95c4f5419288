"""The distributed runner (``onyx worker``): the core's sync use cases as jobs of a PostgreSQL queue.

`procrastinate <https://procrastinate.readthedocs.io/>`_ keeps the queue in the Onyx database itself, so any
number of worker processes on any number of machines share it with no broker. Two of its locks carry Onyx's rules:

* ``lock`` ``creator:<id>``: no two jobs holding the same lock run at once, so one creator's sync never runs
  twice concurrently (two runs would page the same cursor and race on it);
* ``queueing_lock`` ``creator:<id>``: at most one job per creator waits in the queue, so deferring a creator that
  is already waiting is a no-op (:func:`defer_sync` answers ``None``), however often the heartbeat fires.

The periodic ``heartbeat`` task (every minute, deferred once per minute across all workers) asks the core what is
due (:func:`~onyx_core.usecases.due_work` with a :class:`~onyx_core.schedule.Schedule`) and only defers jobs.

Failures of Fanvue are not errors here: the use cases report them (``SourceUnavailableError`` outcomes, partial
ledgers) and the next heartbeat retries what is still due. Unexpected exceptions (the database went away, a bug)
fail the job and procrastinate retries it with an exponential backoff.

Every worker process builds one :class:`~onyx_adapters.runtime.Runtime` from the settings on its first job and
keeps it (SDK clients, rate budget, engine) until it stops. Logs name creators, jobs and outcomes, never tokens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job, JobDeferrer
from procrastinate.retry import BaseRetryStrategy, RetryDecision, RetryStrategy
from procrastinate.schema import SchemaManager
from procrastinate.types import JSONValue

from onyx_adapters.crypto import CipherKeyError
from onyx_adapters.runtime import ConfigurationError, Runtime
from onyx_adapters.sql.engine import parse_database_url
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import Schedule, SyncJob, due_jobs, starts_interval
from onyx_core.usecases import (
    Context,
    MaintenanceOutcome,
    creator_freshness,
    due_work,
    import_creators,
    maintain_tokens,
    record_agency_top_spenders,
    record_recent_chatter_days,
    sync_creator,
)
from onyx_fanvue.redaction import install_log_filter

__all__ = [
    "AGENCY_TOP_SPENDERS",
    "HEARTBEAT",
    "IMPORT_CREATORS",
    "MAINTAIN_TOKENS",
    "PRUNE_QUEUE",
    "SYNC_CREATOR",
    "HeartbeatReport",
    "RuntimeFactory",
    "RuntimeProvider",
    "apply_queue_schema",
    "conninfo",
    "defer_due_work",
    "defer_import",
    "defer_maintenance",
    "defer_sync",
    "make_app",
    "queue_schema_installed",
    "run_worker",
    "runtime_from_settings",
]

log = logging.getLogger("onyx.workers")
install_log_filter("onyx.workers")  # secrets out of every line, whatever an error says

SYNC_CREATOR = "onyx.sync_creator"
MAINTAIN_TOKENS = "onyx.maintain_tokens"
IMPORT_CREATORS = "onyx.import_creators"
AGENCY_TOP_SPENDERS = "onyx.agency_top_spenders"
HEARTBEAT = "onyx.heartbeat"

HEARTBEAT_CRON = "* * * * *"
"""Every minute: :attr:`Schedule.tick <onyx_core.schedule.Schedule.tick>`'s default."""

PRUNE_QUEUE = "onyx.prune_queue"
PRUNE_CRON = "17 * * * *"
KEEP_SUCCEEDED_HOURS = 24
KEEP_FAILED_HOURS = 7 * 24

# The heartbeat and token maintenance jump the queue: a long backfill must not delay what keeps the rest fresh.
HEARTBEAT_PRIORITY = 10
MAINTENANCE_PRIORITY = 5

RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)
"""Unexpected exceptions: retried after 2, 4, 8, 16 and 32 s, then the job is failed (the next heartbeat defers
the creator again while its jobs are due)."""

NEVER_RETRIED: tuple[type[BaseException], ...] = (NotFoundError, DomainValueError, ConfigurationError, CipherKeyError)
"""Exceptions a rerun cannot fix: the creator or agency does not exist, a setting is missing."""

RuntimeFactory = Callable[[], AbstractAsyncContextManager[Runtime]]
"""Opens the runtime a worker process runs its jobs with (:func:`runtime_from_settings` in production)."""


def conninfo(database_url: str) -> str:
    """A libpq connection string (URI) for a PostgreSQL URL as Onyx reads them (``postgres://``,
    ``postgresql+psycopg://…``: :func:`~onyx_adapters.sql.engine.parse_database_url`). Raises
    :class:`ConfigurationError` for any other database (the queue needs PostgreSQL) or an unusable URL."""
    url = parse_database_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"the job queue needs PostgreSQL, not {url.get_backend_name()} (set ONYX_DATABASE_URL to a "
            "postgresql:// URL; on SQLite run the in-process scheduler, `onyx schedule`, instead)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def runtime_from_settings(database_url: str) -> AbstractAsyncContextManager[Runtime]:
    """A runtime on ``database_url`` with the cipher keys and Fanvue app of :class:`OnyxSettings`."""
    return Runtime.from_settings(database_url=database_url)


class RuntimeProvider:
    """One :class:`Runtime` per worker process: opened by the first job that needs it, shared by the jobs
    running concurrently (one rate budget, one engine pool), closed by :meth:`aclose` when the worker stops."""

    def __init__(self, factory: RuntimeFactory) -> None:
        self._factory = factory
        self._stack: AsyncExitStack | None = None
        self._runtime: Runtime | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> Runtime:
        async with self._opening:
            if self._runtime is None:
                stack = AsyncExitStack()
                self._runtime = await stack.enter_async_context(self._factory())
                self._stack = stack
            return self._runtime

    async def aclose(self) -> None:
        stack, self._stack, self._runtime = self._stack, None, None
        if stack is not None:
            await stack.aclose()


class _UnlessHopeless(BaseRetryStrategy):
    """:data:`RETRY`, except for :data:`NEVER_RETRIED` exceptions."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, NEVER_RETRIED):
            return None
        return RETRY.get_retry_decision(exception=exception, job=job)


def make_app(
    database_url: str, *, runtime: RuntimeProvider | None = None, schedule: Schedule | None = None
) -> procrastinate.App:
    """The queue on ``database_url`` (PostgreSQL) with Onyx's tasks. ``runtime`` runs the jobs (default: one
    built from the settings on first use); ``schedule`` is what the heartbeat defers by. Open the app
    (``async with app.open_async()``) before deferring; :func:`run_worker` does it for a worker."""
    provider = runtime or RuntimeProvider(lambda: runtime_from_settings(database_url))
    every = schedule or Schedule()
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)))
    retry = _UnlessHopeless()

    @app.task(name=SYNC_CREATOR, pass_context=True, retry=retry)
    async def sync_creator_task(
        context: procrastinate.JobContext, creator_id: str, jobs: list[str], *, only_due: bool = False
    ) -> dict[str, Any]:
        return await _sync_creator(provider, every, context, CreatorId(creator_id), jobs, only_due=only_due)

    @app.task(name=MAINTAIN_TOKENS, pass_context=True, retry=retry, priority=MAINTENANCE_PRIORITY)
    async def maintain_tokens_task(context: procrastinate.JobContext) -> dict[str, int]:
        runtime = await provider.get()
        report = await maintain_tokens(runtime.ctx, runtime.clients)
        counts = {outcome.value: report.count(outcome) for outcome in MaintenanceOutcome}
        for result in report.results:
            if result.outcome in (MaintenanceOutcome.NEEDS_REAUTH, MaintenanceOutcome.FAILED):
                log.warning("maintenance: connection %s %s (%s)", result.connection_id, result.outcome, result.detail)
        log.info("maintenance job %s: %s", context.job.id, counts)
        return counts

    @app.task(name=IMPORT_CREATORS, pass_context=True, retry=retry)
    async def import_creators_task(context: procrastinate.JobContext, agency_id: str) -> dict[str, Any]:
        runtime = await provider.get()
        try:
            report = await import_creators(runtime.ctx, AgencyId(agency_id))
        except SourceUnavailableError as failure:
            log.warning("import of agency %s: Fanvue unavailable (%s)", agency_id, failure.reason)
            return {"agency": agency_id, "failure": failure.reason.value}
        log.info(
            "import job %s, agency %s: %d listed, %d added, %d updated, %d conflicts",
            context.job.id,
            agency_id,
            report.listed,
            len(report.added),
            len(report.updated),
            len(report.conflicts),
        )
        return {"agency": agency_id, "listed": report.listed, "added": len(report.added)}

    @app.task(name=AGENCY_TOP_SPENDERS, pass_context=True, retry=retry)
    async def agency_top_spenders_task(context: procrastinate.JobContext, agency_id: str) -> dict[str, Any]:
        # the agency-wide snapshots: the combined top spenders and the chatter leaderboard's last two UTC days,
        # each failing on its own (a refused leaderboard stores nothing and leaves the ranking stored)
        runtime = await provider.get()
        answer: dict[str, Any] = {"agency": agency_id}
        try:
            report = await record_agency_top_spenders(runtime.ctx, AgencyId(agency_id))
        except SourceUnavailableError as failure:
            log.warning("agency top spenders of %s: Fanvue unavailable (%s)", agency_id, failure.reason)
            answer["failure"] = failure.reason.value
        else:
            log.info("agency top spenders job %s, agency %s: %d rows", context.job.id, agency_id, report.rows)
            answer["rows"] = report.rows
        try:
            chatters = await record_recent_chatter_days(runtime.ctx, AgencyId(agency_id))
        except SourceUnavailableError as failure:
            log.warning("chatter days of %s: Fanvue unavailable (%s)", agency_id, failure.reason)
            answer["chatter_failure"] = failure.reason.value
        else:
            log.info("chatter days job %s, agency %s: %d rows", context.job.id, agency_id, chatters.rows)
            answer["chatter_rows"] = chatters.rows
        return answer

    @app.periodic(cron=PRUNE_CRON, periodic_id="prune")
    @app.task(name=PRUNE_QUEUE, retry=False, lock="prune", queueing_lock="prune")
    async def prune_queue_task(timestamp: int) -> None:
        # finished jobs (and their events) are kept a while for inspection, then dropped: the table stays small
        manager = app.job_manager
        await manager.delete_old_jobs(nb_hours=KEEP_SUCCEEDED_HOURS)
        await manager.delete_old_jobs(
            nb_hours=KEEP_FAILED_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
        )
        log.info("pruned finished jobs of the queue (tick %d)", timestamp)

    @app.periodic(cron=HEARTBEAT_CRON, periodic_id="heartbeat")
    @app.task(name=HEARTBEAT, retry=False, lock="heartbeat", queueing_lock="heartbeat", priority=HEARTBEAT_PRIORITY)
    async def heartbeat_task(timestamp: int) -> dict[str, int]:
        # no retry: the next minute's heartbeat is the retry
        report = await defer_due_work(app, (await provider.get()).ctx, every, timestamp=timestamp)
        return report.summary()

    return app


async def _sync_creator(
    provider: RuntimeProvider,
    schedule: Schedule,
    context: procrastinate.JobContext,
    creator_id: CreatorId,
    names: list[str],
    *,
    only_due: bool,
) -> dict[str, Any]:
    job_id, worker = context.job.id, context.worker_name
    try:
        wanted = [SyncJob(name) for name in names]
    except ValueError:
        log.error("sync job %s, creator %s: unknown jobs %s (known: %s)", job_id, creator_id, names, list(SyncJob))
        return {"creator": creator_id, "error": "unknown job"}
    runtime = await provider.get()
    ctx = runtime.ctx
    if only_due:
        # deferred by the heartbeat: a sync that ran while this job waited for the lock may have done the work
        still_due = set(due_jobs(schedule, await creator_freshness(ctx, creator_id), ctx.clock.now()))
        wanted = [job for job in wanted if job in still_due]
    if not wanted:
        log.info("sync job %s on %s, creator %s: nothing due any more", job_id, worker, creator_id)
        return {"creator": creator_id, "inserted": 0, "partial": False, "failures": {}}
    log.info("sync job %s on %s, creator %s: %s", job_id, worker, creator_id, [job.value for job in wanted])

    def progress(creator_id: CreatorId, job: SyncJob, summary: str, *, done: bool) -> None:
        # a line per finished job; ledger pages (not ``done``) only when debugging
        level = logging.INFO if done else logging.DEBUG
        log.log(level, "sync job %s, creator %s: %s: %s", job_id, creator_id, job, summary)

    try:
        report = await sync_creator(ctx, creator_id, wanted, progress)
    except SourceUnavailableError as failure:  # no usable connection at all: a person must reconnect
        log.warning("sync job %s, creator %s: Fanvue unavailable (%s)", job_id, creator_id, failure.reason)
        return {"creator": creator_id, "failure": failure.reason.value}
    inserted = sum(ledger.inserted for ledger in report.ledger)
    failures = {label: reason.value for label, reason in report.failures.items()}
    log.info(
        "sync job %s, creator %s: done, ledger +%d, partial=%s, failures=%s",
        job_id,
        creator_id,
        inserted,
        report.partial,
        failures or "none",
    )
    return {"creator": creator_id, "inserted": inserted, "partial": report.partial, "failures": failures}


def _creator_lock(creator_id: str) -> str:
    return f"creator:{creator_id}"


async def _defer(deferrer: JobDeferrer, **task_kwargs: JSONValue) -> int | None:
    try:
        job_id = await deferrer.defer_async(**task_kwargs)
    except AlreadyEnqueued:
        return None
    return job_id


async def defer_sync(
    app: procrastinate.App, creator_id: str, jobs: Iterable[SyncJob] = tuple(SyncJob), *, only_due: bool = False
) -> int | None:
    """Queue a sync of ``creator_id``: the new job's id, or ``None`` when one is already waiting (it will run
    instead; a creator's jobs never run two at a time). ``only_due``: the job runs only those of ``jobs`` still
    due when it starts (the heartbeat's jobs)."""
    lock = _creator_lock(creator_id)
    deferrer = app.configure_task(SYNC_CREATOR, lock=lock, queueing_lock=lock)
    wanted = {SyncJob(job) for job in jobs}
    names: list[JSONValue] = [job.value for job in SyncJob if job in wanted]  # once each, in run order
    return await _defer(deferrer, creator_id=creator_id, jobs=names, only_due=only_due)


async def defer_maintenance(app: procrastinate.App) -> int | None:
    """Queue token maintenance (``None``: already waiting)."""
    deferrer = app.configure_task(
        MAINTAIN_TOKENS, lock="maintenance", queueing_lock="maintenance", priority=MAINTENANCE_PRIORITY
    )
    return await _defer(deferrer)


async def defer_import(app: procrastinate.App, agency_id: str) -> int | None:
    """Queue the re-import of ``agency_id``'s creators and then its agency-wide top spenders (``None``: the
    import is already waiting)."""
    lock = f"agency:{agency_id}"
    job_id = await _defer(app.configure_task(IMPORT_CREATORS, lock=lock, queueing_lock=lock), agency_id=agency_id)
    top = app.configure_task(AGENCY_TOP_SPENDERS, lock=lock, queueing_lock=f"agency-top-spenders:{agency_id}")
    await _defer(top, agency_id=agency_id)
    return job_id


@dataclass(frozen=True, slots=True)
class HeartbeatReport:
    """What one heartbeat deferred. ``waiting``: due creators whose sync was already queued."""

    deferred: dict[CreatorId, tuple[SyncJob, ...]]
    waiting: tuple[CreatorId, ...]
    maintenance: bool
    """Token maintenance was due at this tick (and is queued)."""
    imports: tuple[AgencyId, ...]
    """Agencies whose re-import was due at this tick (and is queued)."""

    def summary(self) -> dict[str, int]:
        return {
            "deferred": len(self.deferred),
            "waiting": len(self.waiting),
            "maintenance": int(self.maintenance),
            "imports": len(self.imports),
        }


QUEUE_CONCURRENCY = 3
"""Sync jobs the heartbeat queues at once: the job queue's pool holds 4 connections, one stays for the worker's jobs."""


async def defer_due_work(
    app: procrastinate.App, ctx: Context, schedule: Schedule, *, timestamp: int
) -> HeartbeatReport:
    """The heartbeat: defer a sync of every creator with jobs due now (the core decides what is due), token
    maintenance and the agencies' re-import when their interval starts at ``timestamp``."""
    deferred: dict[CreatorId, tuple[SyncJob, ...]] = {}
    waiting: list[CreatorId] = []
    due = await due_work(ctx, schedule)
    gate = asyncio.Semaphore(QUEUE_CONCURRENCY)

    async def queue(creator_id: CreatorId, jobs: tuple[SyncJob, ...]) -> int | None:
        async with gate:
            return await defer_sync(app, creator_id, jobs, only_due=True)

    # One round trip per creator (each has its own queueing lock), a few at a time: one after the other, a tick of
    # 400 creators took 8 s on a loaded machine and would outlast its minute at about 3,000 (docs/scaling.md).
    job_ids = await asyncio.gather(*(queue(creator_id, jobs) for creator_id, jobs in due))
    for (creator_id, jobs), job_id in zip(due, job_ids, strict=True):
        if job_id is None:
            waiting.append(creator_id)
        else:
            deferred[creator_id] = jobs
    maintenance = starts_interval(timestamp, schedule.maintenance_every, schedule.tick)
    if maintenance:
        await defer_maintenance(app)
    imports: tuple[AgencyId, ...] = ()
    if starts_interval(timestamp, schedule.import_every, schedule.tick):
        async with ctx.uow() as uow:
            imports = tuple(agency.id for agency in await uow.agencies.list())
        for agency_id in imports:
            await defer_import(app, agency_id)
    report = HeartbeatReport(deferred, tuple(waiting), maintenance, imports)
    log.info("heartbeat %d: %s", timestamp, report.summary())
    return report


_SCHEMA_LOCK = 0x6F6E79785F71  # "onyx_q": serialises concurrent installs (two workers starting at once)


def queue_schema_installed(database_url: str) -> bool:
    """Whether procrastinate's tables exist in ``database_url``."""
    with psycopg.connect(conninfo(database_url)) as connection:
        row = connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    return bool(row and row[0])


def apply_queue_schema(database_url: str) -> bool:
    """Install procrastinate's schema (tables, functions, triggers) in ``database_url`` unless it is there.
    Returns whether it was installed now. Safe to run concurrently and repeatedly (``onyx migrate`` does)."""
    with psycopg.connect(conninfo(database_url)) as connection:  # one transaction: all of it or nothing
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if row and row[0]:
            return False
        connection.execute(SchemaManager.get_schema())
    log.info("installed the job queue schema (procrastinate %s)", procrastinate.__version__)
    return True


async def run_worker(
    database_url: str,
    *,
    concurrency: int = 1,
    queues: Iterable[str] | None = None,
    name: str | None = None,
    wait: bool = True,
    runtime: RuntimeFactory | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM (``wait``) or until the queue is empty (not ``wait``): at most
    ``concurrency`` jobs at once, from ``queues`` (default: all). Running jobs finish before it returns."""
    provider = RuntimeProvider(runtime or (lambda: runtime_from_settings(database_url)))
    app = make_app(database_url, runtime=provider)
    try:
        options: WorkerOptions = {"concurrency": concurrency, "name": name or "worker", "wait": wait}
        if queues:
            options["queues"] = list(queues)
        async with app.open_async():
            await app.run_worker_async(**options)
    finally:
        await provider.aclose()
