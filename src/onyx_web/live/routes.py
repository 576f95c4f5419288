"""``GET /api/events``: the member's live dashboard updates as Server-Sent Events.

The stream opens with a comment and a ``retry:`` hint (milliseconds before the browser reconnects after a drop),
then carries:

- ``event: change`` with ``data: {"creator_ids": [...], "agency": false}`` when committed data of those creators
  changed (stats, ledger, subscriber days, tracking links and their costs), or ``"agency": true`` when anything of
  the agency may have changed (its own rows, or the server may have missed changes): read again what is shown.
  A member limited to some creators only hears of those creators (never of another creator's change);
- a comment (``: heartbeat``) every ``ONYX_LIVE_HEARTBEAT`` seconds (15), so proxies keep the connection open.

After ``ONYX_LIVE_STREAM_MAX`` seconds (600) the server ends the stream; the browser's ``EventSource`` reconnects
on its own (and is authenticated again). Only a client that asks for ``text/event-stream`` in ``Accept`` (as
``EventSource`` does) gets the stream; anything else gets 406 (a client reading to the end would never finish).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from onyx_core.accounts import Permission, Principal
from onyx_core.accounts.usecases.live import visible_change
from onyx_web.accounts.caller import principal_of
from onyx_web.admin.guards import permits
from onyx_web.errors import Problem, problem_spec
from onyx_web.live.state import LiveState, live_state

__all__ = ["EVENT_STREAM", "RETRY_MS", "events"]

EVENT_STREAM = "text/event-stream"
RETRY_MS = 3000
"""The reconnection delay the stream suggests to the browser."""


def asks_for_events(accept: str) -> bool:
    """Whether an ``Accept`` header names ``text/event-stream`` itself (not only ``*/*``), with a quality above 0."""
    for media_range in accept.split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind.lower() != EVENT_STREAM:
            continue
        quality = next((p.split("=", 1)[1].strip() for p in params if p.lower().startswith("q=")), "1")
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


async def _messages(live: LiveState, principal: Principal) -> AsyncIterator[ServerSentEventMessage]:
    settings = live.settings
    loop = asyncio.get_running_loop()
    ends = loop.time() + settings.live_stream_max
    async with live.stream(principal) as subscription:
        yield ServerSentEventMessage(data=None, comment="onyx live", retry=RETRY_MS)
        while (left := ends - loop.time()) > 0:
            try:
                change = await asyncio.wait_for(subscription.next_change(), min(settings.live_heartbeat, left))
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                continue
            seen = visible_change(principal, change)
            if seen is not None:
                data = {"creator_ids": sorted(seen.creator_ids), "agency": seen.agency_wide}
                yield ServerSentEventMessage(data=json.dumps(data, separators=(",", ":")), event="change")


@get(
    "/api/events",
    tags=["live"],
    summary="Live updates of your dashboard (Server-Sent Events)",
    guards=[permits(Permission.VIEW_CREATORS)],
    media_type=EVENT_STREAM,
    responses={406: problem_spec("The client did not ask for text/event-stream (an EventSource does)")},
)
async def events(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """An event stream: ``event: change`` with ``{"creator_ids": [...], "agency": true|false}`` whenever data you
    may see changed (read those creators again; ``agency``: read everything again), a heartbeat comment every 15 s,
    and a ``retry`` hint. Send ``Accept: text/event-stream``."""
    principal = principal_of(request)
    if not asks_for_events(request.headers.get("accept", "")):
        raise Problem(406, "This is an event stream: ask for it with Accept: text/event-stream.")
    return ServerSentEvent(_messages(live_state(request), principal), headers={"Cache-Control": "no-store"})
