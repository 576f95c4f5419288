"""Helpers of the export tests: ledger entries, stats events and Fanvue top-spender lists stored through the SQL
repositories (what a sync stores), the repository's own rows to compare an export with, the audit log's export
entries, and an export's body parsed back (CSV or JSON) into typed rows."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from auth_kit import Env
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.accounts.model import AuditAction, AuditEntry
from onyx_core.catalog import RankedSpender
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ledger import LedgerEntry
from onyx_core.stats.events import StatsEvent

T = TypeVar("T")

INTEGER_COLUMNS = {
    "gross_cents",
    "net_cents",
    "transactions",
    "reversals",
    "rank",
    "id",
    "old_value",
    "new_value",
}
INSTANT_COLUMNS = {"occurred_at", "at", "recorded_at", "last_paid_at"}


def _run(env: Env, action: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(env.url)
        try:
            async with SqlUnitOfWork(engine, FernetCipher([KEY])) as uow:
                result = await action(uow)
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def store_ledger(env: Env, entries: Sequence[LedgerEntry]) -> None:
    async def store(uow: SqlUnitOfWork) -> None:
        await uow.ledger.upsert(entries)

    _run(env, store)


def ledger_rows(env: Env, creator_id: str) -> list[LedgerEntry]:
    async def read(uow: SqlUnitOfWork) -> list[LedgerEntry]:
        return await uow.ledger.entries(CreatorId(creator_id))

    return _run(env, read)


def store_events(env: Env, creator_id: str, events: Sequence[StatsEvent], recorded_at: datetime) -> None:
    async def store(uow: SqlUnitOfWork) -> None:
        await uow.stats.save(CreatorId(creator_id), {}, events, recorded_at)

    _run(env, store)


def stored_events(env: Env, creator_id: str) -> list[StatsEvent]:
    async def read(uow: SqlUnitOfWork) -> list[StatsEvent]:
        return await uow.stats.events(CreatorId(creator_id))

    return _run(env, read)


def store_spenders(env: Env, creator_id: str, spenders: Sequence[RankedSpender], as_of: datetime) -> None:
    async def store(uow: SqlUnitOfWork) -> None:
        await uow.top_spenders.replace(creator_id, list(spenders), as_of)

    _run(env, store)


def export_audit(env: Env, agency_id: str) -> list[AuditEntry]:
    """The agency's export entries, newest first."""

    async def go() -> list[AuditEntry]:
        engine = create_engine(env.url)
        try:
            async with env.deps(engine).uow() as uow:
                entries = await uow.audit.for_agency(AgencyId(agency_id), limit=1000, before_id=None)
        finally:
            await engine.dispose()
        return [e for e in entries if e.action is AuditAction.EXPORT]

    return asyncio.run(go())


def _typed(column: str, value: Any, *, empty_is_null: bool = False) -> Any:
    if value is None or (empty_is_null and value == ""):
        return None
    if column in INTEGER_COLUMNS:
        return int(value)
    if column in INSTANT_COLUMNS:
        return datetime.fromisoformat(value)
    return value


def parse_csv(body: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows (typed: ints, aware instants, ``None`` for an empty cell: CSV cannot tell an empty
    text from a NULL)."""
    reader = csv.reader(io.StringIO(body, newline=""))
    header = next(reader)
    return header, [{c: _typed(c, v, empty_is_null=True) for c, v in zip(header, row, strict=True)} for row in reader]


def parse_json(body: str) -> list[dict[str, Any]]:
    return [{c: _typed(c, v) for c, v in row.items()} for row in json.loads(body)]
