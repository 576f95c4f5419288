"""Live updates across the adapters: the in-process fan-out (:class:`ChangeHub`, the :class:`~onyx_core.live.
ChangeFeed` of a web process), the registry through which SQLite commits of this process reach it
(:func:`attach_local`, :func:`publish_committed`), and the PostgreSQL listener (:class:`PostgresChangeListener`).

How a committed change travels (docs/live.md):

- PostgreSQL: the writer's transaction runs ``pg_notify('onyx_data', <change>)`` (:data:`CHANNEL`) next to its
  ``data_version`` bump. PostgreSQL delivers a notification only when, and once, the transaction commits, to every
  session listening, whatever process wrote. Each web process keeps one dedicated connection that ``LISTEN``\\ s
  and hands what it hears to its hub.
- SQLite has no ``NOTIFY``: the unit of work publishes its changes to the hubs of this process attached to the
  same database file after its commit; writers in other processes are seen by the web's periodic check of the
  counters (:mod:`onyx_web.live.state`).

Subscribers are asyncio queues, bounded: a subscriber that falls behind loses its queued changes for one
agency-wide change ("read everything again"), so a slow client never holds unbounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import make_url

from onyx_adapters.sql.engine import async_url, sqlite_file
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.live import ChangeFeed, ChangeSubscription, DataChange, decode_change, merge_changes

__all__ = [
    "CHANNEL",
    "ChangeHub",
    "Committed",
    "PostgresChangeListener",
    "attach_local",
    "libpq_url",
    "publish_committed",
]

CHANNEL = "onyx_data"
"""The PostgreSQL ``NOTIFY`` channel of committed dashboard data changes."""
APPLICATION_NAME = "onyx-live"
"""The listener connection's ``application_name`` (visible in ``pg_stat_activity``)."""
QUEUE_SIZE = 64
"""Changes a subscriber may have waiting before they collapse into one agency-wide change."""

logger = logging.getLogger("onyx_adapters.live")


@dataclass(frozen=True, slots=True)
class Committed:
    """A change a SQLite unit of work of this process committed, with the data counters its bump left."""

    change: DataChange
    creator_versions: Mapping[str, int]
    agency_version: int | None = None


class _Subscription:
    """One subscriber: a bounded queue on its own event loop."""

    def __init__(self, agency_id: AgencyId, maxsize: int) -> None:
        self.agency_id = agency_id
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[DataChange] = asyncio.Queue(maxsize)

    async def next_change(self) -> DataChange:
        return await self._queue.get()

    def deliver(self, change: DataChange) -> None:
        """Queue ``change`` from any thread (a commit may run on another event loop than the subscriber's)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._offer(change)
            return
        with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self._offer, change)

    def _offer(self, change: DataChange) -> None:
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            # fallen behind: what it missed becomes one "read everything again"
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(DataChange(self.agency_id, agency_wide=True))


class ChangeHub:
    """The in-process fan-out of changes to subscribers, by agency (thread-safe: publish from any thread)."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._subscribers: dict[AgencyId, set[_Subscription]] = {}
        self._heard: dict[AgencyId, tuple[int, dict[CreatorId, int]]] = {}

    def heard(self, committed: Committed) -> None:
        """Publish a change committed in this process, and remember the counters it left (see :meth:`take_heard`)."""
        agency_id = committed.change.agency_id
        with self._lock:
            if agency_id in self._subscribers:
                agency, creators = self._heard.get(agency_id, (0, {}))
                if committed.agency_version is not None:
                    agency = max(agency, committed.agency_version)
                for creator_id, version in committed.creator_versions.items():
                    creators[CreatorId(creator_id)] = max(creators.get(CreatorId(creator_id), 0), version)
                self._heard[agency_id] = (agency, creators)
        self.publish(committed.change)

    def take_heard(self, agency_id: AgencyId) -> tuple[int, dict[CreatorId, int]]:
        """The highest counters of the agency that commits of this process announced since the last call (the
        check of the counters treats them as known: those writes were announced already)."""
        with self._lock:
            return self._heard.pop(agency_id, (0, {}))

    def publish(self, change: DataChange) -> None:
        if change.empty:
            return
        with self._lock:
            targets = list(self._subscribers.get(change.agency_id, ()))
        for subscription in targets:
            subscription.deliver(change)

    def publish_everywhere(self) -> None:
        """An agency-wide change to every subscribed agency: changes may have been missed (a listener reconnected)."""
        for agency_id in self.agencies():
            self.publish(DataChange(agency_id, agency_wide=True))

    def agencies(self) -> set[AgencyId]:
        """The agencies with at least one subscriber now."""
        with self._lock:
            return set(self._subscribers)

    def subscribers(self, agency_id: AgencyId) -> int:
        with self._lock:
            return len(self._subscribers.get(agency_id, ()))

    @asynccontextmanager
    async def subscribe(self, agency_id: AgencyId) -> AsyncIterator[ChangeSubscription]:
        subscription = _Subscription(agency_id, self._queue_size)
        with self._lock:
            self._subscribers.setdefault(agency_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                remaining = self._subscribers.get(agency_id, set())
                remaining.discard(subscription)
                if not remaining:
                    self._subscribers.pop(agency_id, None)
                    self._heard.pop(agency_id, None)


if TYPE_CHECKING:  # never runs: mypy proves the hub implements the core's port

    def _implements_port(hub: ChangeHub) -> ChangeFeed:
        return hub


# ----------------------------------------------------------------------------- SQLite: commits of this process

_local_lock = threading.Lock()
_local: dict[Path, weakref.WeakSet[ChangeHub]] = {}


def _local_key(url: str) -> Path | None:
    path = sqlite_file(url)
    return None if path is None else path.resolve()


@contextlib.contextmanager
def attach_local(url: str, hub: ChangeHub) -> Iterator[None]:
    """While the block runs, commits of this process to the SQLite database of ``url`` are published to ``hub``
    (nothing for another engine or in-memory SQLite, whose data no other connection sees)."""
    key = _local_key(url)
    if key is None:
        yield
        return
    with _local_lock:
        _local.setdefault(key, weakref.WeakSet()).add(hub)
    try:
        yield
    finally:
        with _local_lock:
            hubs = _local.get(key)
            if hubs is not None:
                hubs.discard(hub)
                if not hubs:
                    del _local[key]


def publish_committed(url: str, committed: Iterable[Committed]) -> None:
    """Publish what a unit of work on the SQLite database of ``url`` just committed to the hubs attached to it."""
    key = _local_key(url)
    if key is None:
        return
    with _local_lock:
        hubs = list(_local.get(key, ()))
    if not hubs:
        return
    for one in _merged(committed):
        for hub in hubs:
            hub.heard(one)


def _merged(committed: Iterable[Committed]) -> list[Committed]:
    """One per agency: the union of its changes, the highest counters."""
    by_agency: dict[AgencyId, list[Committed]] = {}
    for one in committed:
        by_agency.setdefault(one.change.agency_id, []).append(one)
    merged: list[Committed] = []
    for group in by_agency.values():
        (change,) = merge_changes(c.change for c in group)
        creators: dict[str, int] = {}
        for one in group:
            for creator_id, version in one.creator_versions.items():
                creators[creator_id] = max(creators.get(creator_id, 0), version)
        agencies = [c.agency_version for c in group if c.agency_version is not None]
        merged.append(Committed(change, creators, max(agencies) if agencies else None))
    return merged


# ----------------------------------------------------------------------------- PostgreSQL: LISTEN


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg) takes it: the same database, no SQLAlchemy driver name."""
    return make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresChangeListener:
    """One dedicated connection that ``LISTEN``\\ s on :data:`CHANNEL` and hands each change to ``hub``.

    When the connection drops it reconnects with a growing delay (``backoff`` doubling up to ``max_backoff``)
    and, once listening again, publishes an agency-wide change to every subscribed agency: notifications sent
    while it was away are lost. ``idle_check`` seconds without a notification run a ``SELECT 1`` so that a dead
    connection is noticed."""

    def __init__(
        self,
        url: str,
        hub: ChangeHub,
        *,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        idle_check: float = 30.0,
    ) -> None:
        self._conninfo = libpq_url(url)
        self._hub = hub
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._idle_check = idle_check
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while the connection listens (tests wait for it)."""
        self.connections = 0
        """How many times it has connected and listened."""
        self.failures = 0
        """How many times connecting or listening failed."""
        self._tried = asyncio.Event()

    async def start(self) -> None:
        """Start listening in the background; returns once listening, or after the first failure (the listener
        keeps trying on its own)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="onyx-live-listener")
        waiter = asyncio.ensure_future(self._tried.wait())
        await asyncio.wait({waiter, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = self._backoff
        while True:
            before = self.connections
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                self.listening.clear()
                self.failures += 1
                self._tried.set()
                if self.connections > before:  # it had listened: the next try waits the shortest delay
                    delay = self._backoff
                # the error's class only: a connection error's text may quote the connection string
                logger.warning("live listener lost its connection (%s); again in %.1f s", type(error).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, application_name=APPLICATION_NAME)
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connections += 1
            self.listening.set()
            self._tried.set()
            if self.connections > 1 or self.failures:
                self._hub.publish_everywhere()  # what was sent while it was away is lost: everyone reads again
            while True:
                async for notification in conn.notifies(timeout=self._idle_check):
                    if notification.channel == CHANNEL:
                        change = decode_change(notification.payload)
                        if change is not None:
                            self._hub.publish(change)
                await conn.execute("SELECT 1")  # quiet for a while: is the connection still there?
