"""Creators and their live stats: what a member may read of her agency's creators, and the refreshes she may ask.

- ``GET /api/creators``: the creators she may see, each with her live stats; filtered (``q``, ``connection``,
  ``stale``), sorted (``sort``: ``name``, ``handle`` or any metric, ``-`` for descending, no value last) and paged
  by key (``limit``, ``cursor``): the body is the page's array, the next page's URL is in the ``Link`` header
  (``rel="next"``) and the number of matching creators in ``X-Total-Count``. Answers come from the response cache
  (:mod:`onyx_web.creators.state`).
- ``GET /api/creators/{creator_id}``: one creator.
- ``GET /api/creators/{creator_id}/stats``: her stats, per metric (value, observed_at, source, stale since/why,
  held drop); viewing stats older than ``ONYX_REFRESH_ON_VIEW_AFTER`` queues a refresh (the answer says so) and
  never waits for it.
- ``GET /api/creators/{creator_id}/stats/events``: provenance, newest first, paged by ``before``.
- ``POST /api/creators/{creator_id}/refresh``, ``POST /api/refresh-all``: 202 with the run (``Location``: where to
  read its progress); a run already active answers 409 with the running run's ``Location``.
- ``GET /api/refresh-runs/{run_id}``: a run's progress.

The scope rules are the core's (:mod:`onyx_core.accounts.usecases.creator_stats`): a creator of another agency,
or outside a scoped member's creator set, answers 404 exactly as an unknown id, with no data (W7).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from onyx_core.accounts import Permission
from onyx_core.accounts.usecases.creator_stats import (
    MAX_PAGE,
    CreatorQuery,
    creator_stats,
    creator_stats_events,
    list_creators_with_stats,
    query_creators,
    read_refresh_run,
    refresh_on_view,
    request_creator_refresh,
    request_refresh_all,
)
from onyx_core.ids import CreatorId
from onyx_core.refresh import RefreshAlreadyRunningError, RefreshRun, RefreshUnavailableError
from onyx_web.accounts.caller import principal_of
from onyx_web.admin.guards import permits
from onyx_web.creators.schemas import (
    CreatorStatsView,
    CreatorView,
    EventPage,
    EventView,
    OnViewView,
    RunView,
    creator_view,
    metric_views,
)
from onyx_web.creators.state import CreatorsState, creators_state
from onyx_web.errors import Problem, broken_rule, problem_spec

NO_NUL = r"^[^\x00]*$"
"""Text parameters never hold NUL: PostgreSQL refuses it in a string (a 500), so it is a 400 here."""

__all__ = ["CreatorsController", "read_run", "refresh_all"]

RUNS_PATH = "/api/refresh-runs"
MAX_ID = 2**63 - 1

_NOT_FOUND = problem_spec("No such creator that you may see")
_BAD_QUERY = problem_spec("A query that breaks a rule (unknown sort or metric, a cursor of another query)")
_REFRESH_ANSWERS = {
    403: problem_spec("Your role cannot refresh stats"),
    409: problem_spec(
        "A refresh of the same creators is running already (its run is at Location), or this server has no Fanvue "
        "app configured (no Location)"
    ),
}
UNAVAILABLE = "This server has no Fanvue app configured: nothing can be refreshed."


async def _provide_state(request: Request[Any, Any, Any]) -> CreatorsState:
    return creators_state(request)


STATE = {"stats_state": Provide(_provide_state)}
StatsState = NamedDependency[CreatorsState]
"""A handler's parameter ``stats_state: StatsState`` receives the domain's open state."""


class _CachedPage(msgspec.Struct, frozen=True):
    items: list[CreatorView]
    total: int
    next_cursor: str | None


def _run_answer(run: RefreshRun) -> Response[RunView]:
    return Response(RunView.of(run), status_code=202, headers={"Location": f"{RUNS_PATH}/{run.id}"})


def _already_running(already: RefreshAlreadyRunningError, detail: str) -> Problem:
    return Problem(409, detail, headers={"Location": f"{RUNS_PATH}/{already.running.id}"})


def _next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return f'<{request.url.path}?{urlencode([*params, ("cursor", cursor)])}>; rel="next"'


class CreatorsController(Controller):
    path = "/api/creators"
    tags = ["creators"]  # noqa: RUF012 (Litestar's own attribute)
    dependencies = STATE

    @get(
        "/",
        summary="The creators you may see, with their live stats",
        responses={422: _BAD_QUERY},
    )
    async def list_creators(
        self,
        request: Request[Any, Any, Any],
        stats_state: StatsState,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Creators per page")] = 50,
        cursor: Annotated[
            str | None,
            QueryParameter(max_length=2000, pattern=NO_NUL, description="The next page's cursor (from Link)"),
        ] = None,
        q: Annotated[
            str | None, QueryParameter(max_length=200, pattern=NO_NUL, description="Text in the handle or display name")
        ] = None,
        connection: Annotated[
            Literal["active", "needs_reauth", "revoked", "none"] | None,
            QueryParameter(description="Her own connection's status (none: she never connected)"),
        ] = None,
        stale: Annotated[bool, QueryParameter(description="Only creators with a stale metric")] = False,  # noqa: FBT002 (a query parameter)
        sort: Annotated[
            str,
            QueryParameter(
                max_length=80, description="name, handle or a metric (e.g. subscribers); '-' first: descending"
            ),
        ] = "name",
    ) -> Response[list[CreatorView]]:
        """Your agency's creators (a manager or viewer limited to some creators sees only those), each with her
        stats; the next page's URL is in the ``Link`` header, the count of matches in ``X-Total-Count``."""
        principal = principal_of(request)
        query = CreatorQuery(q or None, connection, stale, sort, limit, cursor)
        key = await stats_state.cache_key(principal, "list:" + json.dumps([sort, q, connection, stale, limit, cursor]))
        cached = await stats_state.cache.get(key)
        if cached is not None:
            page = msgspec.json.decode(cached, type=_CachedPage)
        else:
            with broken_rule("Unknown sort field or filter value, or a cursor this query did not give."):
                found = query_creators(await list_creators_with_stats(stats_state.deps.uow, principal), query)
            items = [creator_view(i.overview, i.stats, i.refreshed_at) for i in found.items]
            page = _CachedPage(items, found.total, found.next_cursor)
            await stats_state.cache.set(key, msgspec.json.encode(page))
        headers = {"X-Total-Count": str(page.total)}
        if page.next_cursor is not None:
            headers["Link"] = _next_link(request, page.next_cursor)
        return Response(page.items, headers=headers)

    @get("/{creator_id:str}", summary="One creator", responses={404: _NOT_FOUND})
    async def show_creator(
        self, request: Request[Any, Any, Any], creator_id: FromPath[str], stats_state: StatsState
    ) -> CreatorView:
        """One creator of your agency within your scope, with her stats; any other id answers 404."""
        viewed = await creator_stats(stats_state.deps.uow, principal_of(request), CreatorId(creator_id))
        return creator_view(viewed.overview, viewed.stats, viewed.refreshed_at)

    @get("/{creator_id:str}/stats", summary="One creator's live stats", responses={404: _NOT_FOUND})
    async def read_stats(
        self, request: Request[Any, Any, Any], creator_id: FromPath[str], stats_state: StatsState
    ) -> CreatorStatsView:
        """Per metric: the value (``null`` with ``missing_reason`` when Onyx has none), when and where it was
        observed, whether it is stale since when and why, and a drop held until confirmed. Stats older than the
        server's refresh-on-view age queue a refresh (``refresh.queued``) without waiting for it."""
        principal = principal_of(request)
        viewed = await creator_stats(stats_state.deps.uow, principal, CreatorId(creator_id))
        on_view = await refresh_on_view(stats_state.deps, principal, viewed)
        if on_view.queued and on_view.run is not None:
            stats_state.launch(on_view.run, [viewed.overview.creator.id])
        run = None if on_view.run is None else RunView.of(on_view.run)
        return CreatorStatsView(
            creator_id=str(viewed.overview.creator.id),
            refreshed_at=viewed.refreshed_at,
            metrics=metric_views(viewed.stats),
            refresh=OnViewView(on_view.queued, on_view.reason, run),  # type: ignore[arg-type]
        )

    @get(
        "/{creator_id:str}/stats/events",
        summary="Why her numbers are what they are (provenance)",
        responses={404: _NOT_FOUND, 422: problem_spec("An unknown metric")},
    )
    async def stats_events(
        self,
        request: Request[Any, Any, Any],
        creator_id: FromPath[str],
        stats_state: StatsState,
        metric: Annotated[
            str | None, QueryParameter(max_length=64, pattern=NO_NUL, description="Only this metric's")
        ] = None,
        before: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_ID, description="Only events older than this id")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Events per page")] = 100,
    ) -> EventPage:
        """Her stats events, newest first: each change the merge made, held back or refused, and each failed read."""
        with broken_rule("Unknown metric."):
            events = await creator_stats_events(
                stats_state.deps.uow,
                principal_of(request),
                CreatorId(creator_id),
                metric=metric,
                before=before,
                limit=limit,
            )
        views = [EventView.of(e) for e in events]
        return EventPage(views, views[-1].id if len(views) == limit else None)

    @post(
        "/{creator_id:str}/refresh",
        summary="Refresh one creator's stats",
        status_code=202,
        # no role guard: a creator she may not see answers 404 before her role is asked (the core's order)
        responses={404: _NOT_FOUND, **_REFRESH_ANSWERS},
    )
    async def refresh_creator(
        self, request: Request[Any, Any, Any], creator_id: FromPath[str], stats_state: StatsState
    ) -> Response[RunView]:
        """Queue a refresh of her stats from Fanvue; read its progress at ``Location``."""
        try:
            run = await request_creator_refresh(stats_state.deps, principal_of(request), CreatorId(creator_id))
        except RefreshAlreadyRunningError as already:
            raise _already_running(already, "A refresh of this creator is running already.") from None
        except RefreshUnavailableError:
            raise Problem(409, UNAVAILABLE) from None
        stats_state.launch(run, [CreatorId(creator_id)])
        return _run_answer(run)


@post(
    "/api/refresh-all",
    tags=["creators"],
    summary="Refresh every creator you may refresh",
    status_code=202,
    guards=[permits(Permission.REFRESH_STATS)],
    dependencies=STATE,
    responses=_REFRESH_ANSWERS,
)
async def refresh_all(request: Request[Any, Any, Any], stats_state: StatsState) -> Response[RunView]:
    """Queue a refresh of every creator you may refresh (your scope's, for a manager limited to some), a few at a
    time within Fanvue's per-creator rate buckets. One refresh-all per agency at a time: while one runs, this
    answers 409 with the running run at ``Location``."""
    try:
        run, creator_ids = await request_refresh_all(stats_state.deps, principal_of(request))
    except RefreshAlreadyRunningError as already:
        raise _already_running(already, "A refresh-all of your agency is running already.") from None
    except RefreshUnavailableError:
        # a 409, not a 503: the server works, its configuration refuses the action (and W2 allows no 5xx)
        raise Problem(409, UNAVAILABLE) from None
    stats_state.launch(run, creator_ids)
    return _run_answer(run)


@get(
    f"{RUNS_PATH}/{{run_id:str}}",
    tags=["creators"],
    summary="A refresh run's progress",
    dependencies=STATE,
    responses={404: problem_spec("No such run that you may read")},
)
async def read_run(request: Request[Any, Any, Any], run_id: FromPath[str], stats_state: StatsState) -> RunView:
    """Its state, and how many of its creators are done or failed out of its total."""
    return RunView.of(await read_refresh_run(stats_state.deps, principal_of(request), run_id))
