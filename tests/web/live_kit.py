"""Helpers of the live-update tests: the app served by uvicorn in a thread (``web_helpers.Served``), an
event-stream reader in its own thread, and committed or rolled-back writes through the real repositories on an
engine of their own."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.ports import UnitOfWork
from onyx_core.stats import MergePolicy, Metric, Ok, merge_all

EVENTS = {"Accept": "text/event-stream"}
BOUND = 5.0
"""How long a committed change may take to reach an open stream (generous: it takes milliseconds)."""

Write = Callable[[UnitOfWork], Awaitable[None]]


@dataclass
class Stream:
    """An open ``GET /api/events``: its parsed events arrive in :attr:`events` (from a thread of its own)."""

    url: str
    headers: dict[str, str]
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    opened: threading.Event = field(default_factory=threading.Event)
    status: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Stream:
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(BOUND), "the stream did not open"
        assert self.status == 200, self.status
        first = self.events.get(timeout=BOUND)  # the opening comment and retry hint: the server subscribed
        assert first.get("retry") == "3000", first
        return self

    def _read(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30, read=None)) as http,
            http.stream("GET", self.url, headers={**EVENTS, **self.headers}) as response,
        ):
            self.status = response.status_code
            self.opened.set()
            fields: dict[str, Any] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if fields:
                        self.events.put(fields)
                    fields = {}
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                fields.setdefault("comments" if name == "" else name, value)

    def next_change(self, timeout: float = BOUND) -> dict[str, Any]:
        """The next ``change`` event's data (heartbeats skipped); fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no change event in time"
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                raise AssertionError(f"no change event within {timeout} s") from None
            if event.get("event") == "change":
                data: dict[str, Any] = json.loads(event["data"])
                return data

    def close(self) -> None:
        self._stop.set()

    def __enter__(self) -> Stream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def write(url: str, action: Write, *, commit: bool = True) -> None:
    """``action`` in a unit of work on an engine of its own, committed or rolled back."""

    async def go() -> None:
        engine = create_engine(url)
        try:
            async with sql_unit_of_work_factory(engine, FernetCipher([KEY]))() as uow:
                await action(uow)
                if commit:
                    await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(go())


def save_followers(creator: str, value: int, at: datetime | None = None) -> Write:
    """A stats save (the merge of one observation) for ``creator``."""

    async def action(uow: UnitOfWork) -> None:
        now = at or datetime.now(UTC)
        cid = CreatorId(creator)
        records = await uow.stats.get_for_update(cid)
        ok = Ok(Metric.FOLLOWERS.value, value, now, "fanvue:test")
        merged, events = merge_all(records, [ok], MergePolicy(), now)
        await uow.stats.save(cid, merged, events, now)

    return action


def insert_tip(creator: str, n: int = 1, gross: int = 1_000) -> Write:
    """A ledger insert (one tip) for ``creator``."""
    at = datetime(2026, 12, 1, 12, tzinfo=UTC) - timedelta(hours=n)

    async def action(uow: UnitOfWork) -> None:
        key = ledger_key(
            kind=EntryKind.EARNING, transaction_order_id=f"FV-live-{creator}-{n}", occurred_at=at, source=Source.TIP,
            gross_cents=gross, net_cents=gross * 8 // 10, fan_id="fan-1", reference=None,
        )  # fmt: skip
        entry = LedgerEntry(
            CreatorId(creator), key, at, Source.TIP, Money(gross), Money(gross * 8 // 10), fan_id=FanId("fan-1")
        )
        await uow.ledger.upsert([entry])

    return action
