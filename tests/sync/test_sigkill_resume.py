"""S7: a sync process killed with SIGKILL at any point, then run again, ends with exactly the oracle's data.

Twenty seeded runs on one database: each starts ``sync_child.py`` (a whole agency sync in its own process),
kills it after a random delay, and checks what the dead process left behind:

* nothing is stored that the oracle does not have (no duplicate under another key, no half-written row);
* the cursor is never beyond committed data: for every cursor with a ``synced_through``, every oracle row it
  covers is in the database: for a ledger stream, the creator's rows of that stream that occurred before
  ``synced_through``; for subscriber history, the days before its day; for top spenders and tracking links, the
  creator's whole list. (The look-back re-reads the last week of an already synced stream; it adds nothing, so it
  does not enter the invariant: a cursor in progress keeps its old ``synced_through``, and everything before
  that was committed by the run that completed it.)

Then one last run completes, and the database equals the oracle: the same ledger keys (and rows) per creator, no
duplicates, the same subscriber-history days, tracking links and top-spender lists. The oracle is the same sync
run once, uninterrupted, in this process, into a fresh SQLite file.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.pool import NullPool
from sync_child import NOW, sync_once

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_sync_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.schema import ledger_entries, subscriber_days, sync_cursors, top_spenders, tracking_links

SEED = 7
RUNS = 20
CHILD = Path(__file__).with_name("sync_child.py")
KILL_AFTER = (0.5, 3.0)
"""Seconds after the start: the process imports for ~0.6 s and connects, the year's backfill then takes a few
seconds (over several killed runs) and an incremental run about one, so the kills land in start-up, connecting,
the backfill and, once it completed, the incremental runs (some of which finish before their kill)."""
REVERSAL_KINDS = frozenset({"refund", "chargeback"})

Snapshot = dict[str, Any]


@pytest.fixture
def oracle_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oracle.db'}"
    upgrade(url)
    return url


@pytest.fixture
def reader(sync_database_url: str) -> Iterator[Engine]:
    engine = create_sync_engine(sync_database_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _snapshot(engine: Engine) -> Snapshot:
    """Everything the sync stores that the oracle pins down, keyed for comparison."""
    with engine.connect() as db:
        ledger = {(r.creator_id, r.key): tuple(r) for r in db.execute(select(ledger_entries))}
        days = {(r.creator_id, r.day): (r.new, r.cancelled) for r in db.execute(select(subscriber_days))}
        links = {r.id: tuple(r) for r in db.execute(select(tracking_links))}
        spenders = {(r.scope, r.rank): tuple(r) for r in db.execute(select(top_spenders))}
        cursors = list(db.execute(select(sync_cursors)))
        duplicates = list(
            db.execute(
                select(ledger_entries.c.creator_id)
                .group_by(ledger_entries.c.creator_id)
                .having(func.count() != func.count(ledger_entries.c.key.distinct()))
            )
        )
    return {
        "ledger": ledger,
        "days": days,
        "links": links,
        "spenders": spenders,
        "cursors": cursors,
        "duplicates": duplicates,
    }


def _stream_of(row: tuple[Any, ...]) -> str:
    kind = row[ledger_entries.c.keys().index("kind")]
    return "reversals" if kind in REVERSAL_KINDS else "earnings"


def _occurred_at(row: tuple[Any, ...]) -> Any:
    return row[ledger_entries.c.keys().index("occurred_at")]


def _check_invariants(db: Snapshot, oracle: Snapshot, run: int) -> None:
    """What a killed run may leave: a subset of the oracle, and no cursor ahead of its committed rows."""
    assert db["duplicates"] == [], f"run {run}: duplicate ledger keys"
    for table in ("ledger", "days", "links", "spenders"):
        foreign = {k: v for k, v in db[table].items() if oracle[table].get(k) != v}
        assert not foreign, f"run {run}: {table} rows the oracle does not have: {list(foreign)[:3]}"
    for cursor in db["cursors"]:
        if cursor.synced_through is None:
            continue
        assert cursor.synced_through <= NOW, f"run {run}: {cursor.stream} cursor beyond the sync's end"
        if cursor.stream == "ledger_reconciliation":
            continue  # when the ledger was last compared with Fanvue's totals: it promises no rows of its own
        owed = _owed(oracle, cursor.creator_id, cursor.stream, cursor.synced_through)
        missing = owed - db[_TABLE_OF[cursor.stream]].keys()
        assert not missing, (
            f"run {run}: {cursor.creator_id} {cursor.stream} synced through {cursor.synced_through} "
            f"but {len(missing)} row(s) it covers are not stored"
        )


_TABLE_OF = {
    "earnings": "ledger",
    "reversals": "ledger",
    "subscriber_history": "days",
    "top_spenders": "spenders",
    "tracking_links": "links",
}


def _owed(oracle: Snapshot, creator: str, stream: str, synced_through: datetime) -> set[Any]:
    """The oracle's rows a cursor at ``synced_through`` says are stored: ledger rows of its stream that occurred
    before it, subscriber days before its day, and the creator's whole top-spender list and tracking links (those
    jobs fetch everything in one go)."""
    if stream in ("earnings", "reversals"):
        return {
            key
            for key, row in oracle["ledger"].items()
            if key[0] == creator and _stream_of(row) == stream and _occurred_at(row) < synced_through
        }
    if stream == "subscriber_history":
        return {key for key in oracle["days"] if key[0] == creator and key[1] < synced_through.date()}
    if stream == "top_spenders":
        return {key for key in oracle["spenders"] if key[0] == creator}
    creator_column = tracking_links.c.keys().index("creator_id")
    return {key for key, row in oracle["links"].items() if row[creator_column] == creator}


def _start(url: str, key: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own script, with our own arguments
            [sys.executable, str(CHILD), url, str(SEED), key], stdout=out, stderr=subprocess.STDOUT
        )


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)


async def test_killed_syncs_resume_to_exactly_the_oracle(
    sync_database_url: str, oracle_url: str, reader: Engine, tmp_path: Path
) -> None:
    oracle_report = await sync_once(oracle_url, SEED, FernetCipher.generate_key(), latency=0.0)
    assert not oracle_report.partial, oracle_report
    oracle_engine = create_sync_engine(oracle_url, poolclass=NullPool)
    try:
        oracle = _snapshot(oracle_engine)
    finally:
        oracle_engine.dispose()
    assert len(oracle["ledger"]) > 500
    assert any(_stream_of(row) == "reversals" for row in oracle["ledger"].values())

    key = FernetCipher.generate_key()
    log = tmp_path / "children.log"
    delays = random.Random(SEED)
    killed = 0
    rows_after_run: list[int] = []
    for run in range(RUNS):
        child = _start(sync_database_url, key, log)
        try:
            deadline = time.monotonic() + delays.uniform(*KILL_AFTER)
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                killed += 1
            else:
                assert child.returncode == 0, f"run {run} failed on its own: {log.read_text()[-3000:]}"
        finally:
            _stop(child)
        snapshot = _snapshot(reader)
        _check_invariants(snapshot, oracle, run)
        rows_after_run.append(len(snapshot["ledger"]))

    final = _start(sync_database_url, key, log)
    try:
        assert final.wait(timeout=120) == 0, log.read_text()[-3000:]
    finally:
        _stop(final)
    db = _snapshot(reader)
    assert db["duplicates"] == []
    for table in ("ledger", "days", "links", "spenders"):
        assert db[table].keys() == oracle[table].keys(), table
        assert db[table] == oracle[table], table
    per_creator = Counter(creator for creator, _ in db["ledger"])
    assert per_creator == Counter(creator for creator, _ in oracle["ledger"])
    assert all(c.window_start is None for c in db["cursors"]), "a completed sync leaves no run in progress"

    assert killed > 0, rows_after_run
