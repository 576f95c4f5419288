"""The operations routes of an agency's owners and admins (permission ``operate``), under ``/api/ops``:

- ``GET /api/ops/database``: the database's health (engine, reachable, latency of ``SELECT 1``, schema revision
  against the one this Onyx needs, the agency's row counts). No URL, no secret.
- ``GET /api/ops/connections``: the connections' health as ``GET /api/connections`` gives it (the same core use
  case), each with what operators watch besides: when its access token expires and its token version.
- ``POST /api/ops/creators/{creator_id}/stats-floor``: raise the creator's lifetime revenue to the ledger's net
  total if it is below it (core :func:`~onyx_core.usecases.stats_floor.rebuild_stats_floor`: never lowers it).
- ``POST /api/ops/creators/{creator_id}/sync``: re-sync the creator now: run ``sync_creator`` (heartbeat mode
  ``run``: 202 with the report) or queue it for ``onyx worker`` (mode ``enqueue``: 202 with the job).

A role without ``operate`` gets 403 (the guard calls the core's ``require``); another agency's creator, an unknown
one or one outside a scoped member's creators, 404 (checked before the role, so it is 404 whoever asks). The
writes are recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, PathParameter
from msgspec import Meta

from onyx_adapters.heartbeat import HeartbeatMode
from onyx_adapters.sql.leases import SqlLeases
from onyx_adapters.sql.ops import database_health
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts import AccountsDeps, Permission, Principal, record_audit, require, require_creator
from onyx_core.accounts.model import AuditAction
from onyx_core.accounts.usecases.connections import ConnectionHealth, list_connection_health
from onyx_core.ids import CreatorId
from onyx_core.ports import SourceUnavailableError
from onyx_core.schedule import SyncJob
from onyx_core.usecases import sync_creator
from onyx_core.usecases.stats_floor import rebuild_stats_floor
from onyx_web.accounts.caller import client_ip, principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.connections.routes import ConnectionView, connection_view, needed_scopes, readable
from onyx_web.errors import Problem, problem_spec
from onyx_web.ops.machine import queue_failures
from onyx_web.runtime import Web, WebRuntime

__all__ = ["OpsController"]

SYNC_HOLD = timedelta(minutes=30)
"""How long a re-sync holds the creator's lease (a process that dies mid-sync blocks re-syncs this long)."""

OPERATE = permits(Permission.OPERATE)
CreatorIdPath = Annotated[str, PathParameter(max_length=200)]

_403 = problem_spec("Your role cannot run operations (owners and admins only)")
_404 = problem_spec("No such creator in your agency")
_503 = problem_spec("Fanvue is not configured on this server, or the job queue is not reachable")


@dataclass(frozen=True, slots=True)
class DatabaseView:
    engine: str
    """``sqlite`` or ``postgresql``."""
    reachable: bool
    latency_ms: float | None
    """Milliseconds for a trivial query (``SELECT 1``), round trip included."""
    revision: str | None
    """The schema revision the database is at."""
    head: str
    """The revision this Onyx needs: ``migrated`` is whether they are the same."""
    migrated: bool
    rows: dict[str, int]
    """Your agency's rows in each main table."""


@dataclass(frozen=True, slots=True)
class OpsConnectionView:
    connection: ConnectionView
    """The connection's health, as ``GET /api/connections`` shows it."""
    token_expires_at: datetime | None
    """When the stored access token expires (refreshed before, at its next use or by token maintenance)."""
    seconds_to_expiry: float | None
    token_version: int
    """Rises by one each time the grant is refreshed or stored again."""


@dataclass(frozen=True, slots=True)
class FloorEventView:
    kind: str
    old_value: int | None
    new_value: int | None


@dataclass(frozen=True, slots=True)
class FloorView:
    creator_id: str
    metric: str
    ledger_net_cents: int | None
    """The ledger's net total in USD cents (``None``: not usable as a floor now, see ``skipped``)."""
    before: int | None
    after: int | None
    raised: bool
    skipped: str | None
    """Why no floor was merged (refunds not fetched yet, an empty ledger); ``None`` when it was."""
    events: list[FloorEventView]


JobName = Annotated[str, Meta(max_length=32)]


@dataclass(frozen=True, slots=True)
class SyncBody:
    jobs: Annotated[list[JobName], Meta(max_length=16)] | None = None
    """Which jobs (``stats``, ``ledger``, ``reconcile``, ``history``, ``top_spenders``, ``links``); default all."""


@dataclass(frozen=True, slots=True)
class SyncReportView:
    mode: str
    """``run``: the sync ran in this request."""
    creator_id: str
    jobs: list[str]
    partial: bool
    """Something failed that a later run may fix (Fanvue erred, timed out, was rate limited)."""
    failures: dict[str, str]
    """Job (or ``ledger:<stream>``) → reason, for the jobs that could not complete."""
    ledger_inserted: int
    retry_at: datetime | None


@dataclass(frozen=True, slots=True)
class SyncQueuedView:
    mode: str
    """``enqueue``: a job for ``onyx worker``."""
    creator_id: str
    jobs: list[str]
    job_id: int | None
    """The queued job; ``None`` when a sync of this creator was already waiting (it runs instead)."""


def _jobs(body: SyncBody | None) -> tuple[SyncJob, ...]:
    if body is None or body.jobs is None:
        return tuple(SyncJob)
    known = {job.value for job in SyncJob}
    unknown = sorted({name for name in body.jobs if name not in known})
    if not body.jobs or unknown:
        raise Problem(422, f"jobs: name one or more of {', '.join(sorted(known))}.")
    wanted = set(body.jobs)
    return tuple(job for job in SyncJob if job.value in wanted)


async def _creator(accounts: AccountsDeps, principal: Principal, creator_id: str) -> CreatorId:
    """The creator, if the caller's agency (and scope) has her, and the caller may run operations: the creator
    first, so that a creator outside a member's scope is 404 whatever her role (W7), then 403 for a role without
    ``operate``."""
    async with accounts.uow() as uow:
        creator = (await require_creator(principal, CreatorId(creator_id), uow.creators)).id
    require(principal, Permission.OPERATE)
    return creator


def _ops_view(health: ConnectionHealth, now: datetime) -> OpsConnectionView:
    expires = health.token_expires_at
    seconds = None if expires is None else round((expires - now).total_seconds(), 3)
    return OpsConnectionView(connection_view(health), expires, seconds, health.token_version)


class OpsController(Controller):
    path = "/api/ops"
    tags = ["operations"]  # noqa: RUF012 (Litestar's own attribute)

    @get("/database", guards=[OPERATE], responses={403: _403})
    async def database(self, request: Request[Any, Any, Any], web: Web) -> DatabaseView:
        """The database's health, and your agency's rows in each main table."""
        health = await database_health(web.engine, principal_of(request).member.agency_id)
        return DatabaseView(
            health.engine, health.reachable, health.latency_ms, health.revision, health.head, health.migrated,
            health.rows,
        )  # fmt: skip

    @get(
        "/connections",
        guards=[OPERATE],
        responses={403: _403, 503: problem_spec("Stored connections cannot be decrypted")},
    )
    async def connections(
        self, request: Request[Any, Any, Any], accounts: Accounts, web: Web
    ) -> list[OpsConnectionView]:
        """Every connection of the agency with its health, token expiry and token version."""
        now = accounts.clock.now()
        with readable():
            found = await list_connection_health(accounts, principal_of(request), needed_scopes(web))
        return [_ops_view(health, now) for health in found]

    @post("/creators/{creator_id:str}/stats-floor", status_code=200, responses={403: _403, 404: _404})
    async def stats_floor(
        self, request: Request[Any, Any, Any], creator_id: CreatorIdPath, accounts: Accounts, web: Web
    ) -> FloorView:
        """Raise the creator's lifetime revenue to the ledger's net total where it is below (never lowers it)."""
        principal = principal_of(request)
        creator = await _creator(accounts, principal, creator_id)
        done = await rebuild_stats_floor(sql_unit_of_work_factory(web.engine, web.cipher), accounts.clock, creator)
        details = {"raised": str(done.raised).lower(), "skipped": done.skipped or ""}
        await record_audit(
            accounts, principal, AuditAction.STATS_FLOOR_REBUILT, target=creator, details=details,
            ip=client_ip(request),
        )  # fmt: skip
        events = [FloorEventView(e.kind.value, e.old_value, e.new_value) for e in done.events]
        return FloorView(
            creator, done.metric, done.ledger_net, done.before, done.after, done.raised, done.skipped, events
        )

    @post(
        "/creators/{creator_id:str}/sync",
        status_code=202,
        responses={
            202: ResponseSpec(
                data_container=SyncReportView | SyncQueuedView,  # type: ignore[arg-type]
                description="The sync's report (mode run: it ran in the request), or the queued job (mode enqueue)",
                generate_examples=False,
            ),
            403: _403,
            404: _404,
            409: problem_spec("A re-sync of this creator is running already"),
            422: problem_spec("Unknown or no job names"),
            503: _503,
        },
    )
    async def sync(
        self,
        request: Request[Any, Any, Any],
        creator_id: CreatorIdPath,
        accounts: Accounts,
        web: Web,
        data: Annotated[SyncBody | None, Body()] = None,
    ) -> Response[SyncReportView | SyncQueuedView]:
        """Re-sync the creator now: 202 with the report (mode ``run``: it ran) or with the queued job (``enqueue``)."""
        principal = principal_of(request)
        creator = await _creator(accounts, principal, creator_id)
        jobs = _jobs(data)
        runtime = web.fanvue()
        names = [job.value for job in jobs]
        audit = {"jobs": ",".join(names), "mode": web.settings.heartbeat_mode}
        await record_audit(
            accounts, principal, AuditAction.CREATOR_RESYNCED, target=creator, details=audit, ip=client_ip(request)
        )
        if HeartbeatMode(web.settings.heartbeat_mode) is HeartbeatMode.ENQUEUE:
            job_id = await _enqueue(web, creator, jobs)
            return Response(SyncQueuedView(HeartbeatMode.ENQUEUE.value, creator, names, job_id), status_code=202)
        leases, now = SqlLeases(web.engine), runtime.ctx.clock.now()
        lease = await leases.acquire(f"sync:{creator}", now, now + SYNC_HOLD)
        if lease is None:
            raise Problem(409, "A re-sync of this creator is running already: wait for it.")
        report: dict[str, Any] = {"jobs": names}
        try:
            done = await sync_creator(runtime.ctx, creator, jobs)
            report["partial"] = done.partial
        except SourceUnavailableError as failure:  # no usable connection: a person must reconnect
            raise Problem(409, f"No usable Fanvue connection for this creator ({failure.reason.value}).") from None
        finally:
            end = runtime.ctx.clock.now()
            await leases.release(lease, end, end, report, {})
        view = SyncReportView(
            HeartbeatMode.RUN.value,
            creator,
            names,
            done.partial,
            {label: reason.value for label, reason in done.failures.items()},
            sum(ledger.inserted for ledger in done.ledger),
            done.retry_at,
        )
        return Response(view, status_code=202)


async def _enqueue(web: WebRuntime, creator: CreatorId, jobs: tuple[SyncJob, ...]) -> int | None:
    """Queue the sync on the job queue (PostgreSQL): the job's id, ``None`` when one is already waiting."""
    try:
        from onyx_adapters.workers import defer_sync, make_app  # noqa: PLC0415 - an optional extra

        app = make_app(web.settings.database_url)
        async with app.open_async():
            return await defer_sync(app, creator, jobs)
    except queue_failures() as failure:
        raise Problem(503, f"The job queue is not reachable ({type(failure).__name__}).") from None
