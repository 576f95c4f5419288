"""An export of 1M ledger rows through a real ``onyx serve`` process keeps the server's peak RSS (VmHWM) under
300 MB: the rows are read in chunks from a server-side cursor and written to the response as they come.

The database is a SQLite file filled the fastest way SQLite has: one ``INSERT … SELECT`` over a recursive
sequence in one transaction (faster than bench/ledger_rows.py's ``executemany``, whose rows are made in Python).
The client streams the file (httpx), counts its lines and throws the bytes away. Reading the whole ledger into
memory, or building the body before sending it, takes well over 300 MB for a million rows (measured figures in
docs/exports.md)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from auth_kit import HASHER, PASSWORD
from bench.ledger_rows import AGENCY_ID, COLUMNS, BenchDatabase, seed_agency
from serve_kit import Process, free_port, onyx_env, wait_ready
from web_helpers import KEY

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_core.accounts import authenticate_session, create_api_token, create_owner, login_password
from onyx_core.accounts.model import ApiTokenScope
from onyx_core.ids import AgencyId, CreatorId

ROWS = 1_000_000
CREATORS = 10
LIMIT_BYTES = 300 * 1024 * 1024
START = datetime(2024, 1, 1, tzinfo=UTC)


LOAD = f"""
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {ROWS // CREATORS})
INSERT INTO ledger_entries ({", ".join(COLUMNS)})
SELECT c.id, 'earning:' || printf('%09d', i),
       datetime('{START:%Y-%m-%d}', '+' || (i * 60) || ' seconds') || '.' || printf('%06d', i % 1000),
       'earning', CASE i % 5 WHEN 0 THEN 'subscription' WHEN 1 THEN 'renewal' WHEN 2 THEN 'message'
                  WHEN 3 THEN 'post' ELSE 'tip' END,
       100 + i % 5000, (100 + i % 5000) * 8 / 10, 'USD', 'fan-' || (i % 20011), NULL, NULL
FROM creators AS c CROSS JOIN seq
WHERE c.agency_id = ?
ORDER BY c.id, i
"""  # noqa: S608 - constants only
"""The ledger rows, made by SQLite itself in one statement and one transaction (the rows never pass through
Python, which would take longer than inserting them), in key order per creator, so every index grows at its end.
Stored as the ORM stores them: naive UTC text with microseconds."""


def _bulk_load(path: Path) -> None:
    """``ROWS`` ledger rows for the agency's creators, without waiting for the disk (a test database need not
    survive a power cut)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MB of pages in the test process, not the server
        conn.execute("BEGIN IMMEDIATE")
        # the ledger's secondary indexes are made again after the rows, by sorting (faster than keeping them up
        # to date row by row), from their own stored definitions: the schema ends exactly as migrated
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'ledger_entries' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(LOAD, (AGENCY_ID,))
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def _owner_token(url: str) -> str:
    engine = create_engine(url)
    try:
        deps = accounts_deps(engine, FernetCipher([KEY]), hasher=HASHER)
        email = "olga@memory.test"
        await create_owner(
            deps, agency_name="", email=email, display_name="Olga", password=PASSWORD, agency_id=AgencyId(AGENCY_ID)
        )
        principal = await authenticate_session(
            deps, (await login_password(deps, email=email, password=PASSWORD)).secret
        )
        issued = await create_api_token(deps, principal, name="export", scopes=frozenset({ApiTokenScope.READ}))
        return issued.secret
    finally:
        await engine.dispose()


def _peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
def test_a_million_row_export_streams_with_the_server_under_300_mb(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    started = time.perf_counter()
    url = f"sqlite:///{tmp_path / 'onyx.db'}"
    upgrade(url)
    db = BenchDatabase("sqlite", url)
    creators = [CreatorId(f"creator-{i:02d}") for i in range(CREATORS)]
    seed_agency(db, creators)
    _bulk_load(tmp_path / "onyx.db")
    token = asyncio.run(_owner_token(url))
    loaded = time.perf_counter()

    port = free_port()
    web = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        onyx_env(database_url=url, cipher_keys=KEY),
        tmp_path / "serve.log",
    )
    try:
        web.wait_for(r"Onyx web at")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0) as http:
            wait_ready(http, web)
            at_rest = _peak_rss(web.popen.pid)
            lines = 0
            with http.stream("GET", "/api/exports/ledger", headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status_code == 200, answer.read()
                announced = int(answer.headers["x-export-rows"])
                for chunk in answer.iter_bytes():
                    lines += chunk.count(b"\n")
            peak = _peak_rss(web.popen.pid)
    finally:
        web.stop()
    exported = time.perf_counter()
    record_property("peak_rss_mb", round(peak / 2**20))
    record_property("rss_at_rest_mb", round(at_rest / 2**20))
    record_property("load_s", round(loaded - started, 1))
    record_property("export_s", round(exported - loaded, 1))
    print(  # noqa: T201 - the figures for the report (pytest -s)
        f"1M-row export: server peak RSS {peak / 2**20:.0f} MB (at rest {at_rest / 2**20:.0f} MB), "
        f"load {loaded - started:.1f} s, serve + export {exported - loaded:.1f} s"
    )
    assert announced == ROWS
    assert lines == ROWS + 1  # the header and every row
    assert peak < LIMIT_BYTES, f"the server's peak RSS was {peak / 2**20:.0f} MB"
