"""Case 8: the API's dashboard endpoint over 100 creators, through the real HTTP stack, against the batched read.

Onyx: ``GET /api/analytics`` (a 30-day custom period, UTC) on ``onyx serve`` (uvicorn, in its own process), with an
owner's API token over a keep-alive ``httpx`` client: authentication, the member's scope, the agency's link costs
and chatter days, the read, building the answer and its JSON, the socket both ways. Ceiling: the same read called
directly (:class:`~onyx_adapters.sql.dashboard.SqlDashboardReader` in this process, one engine). The two alternate
request by request so both see the same machine weather; p50 and p99 of each over N requests are compared. The
figures are asserted equal (the agency's gross, net and transaction count, and every creator's gross).
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bench import ledger_rows
from bench.harness import Case, Row, Size, time_ratio
from bench.ledger_rows import AGENCY_ID, NOW, BenchDatabase, Engine
from onyx_adapters.accounts import accounts_deps
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.security import Argon2PasswordHasher
from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import authenticate_session, create_api_token, create_owner, login_password
from onyx_core.accounts.model import ApiTokenScope
from onyx_core.analytics.dashboard import AgencyDashboard, DashboardQuery
from onyx_core.analytics.periods import Period
from onyx_core.ids import AgencyId

NUMBER, TITLE = 8, "API dashboard"
CASE_NAME = f"{NUMBER} {TITLE}"
LIMIT = 1.2
TOP = 10
PERIOD = Period(NOW - timedelta(days=30), NOW)
PARAMS: dict[Size, dict[str, int]] = {
    "smoke": {"rows": 2_000, "creators": 5, "requests": 10},
    "quick": {"rows": 100_000, "creators": 100, "requests": 200},
    "full": {"rows": 1_000_000, "creators": 100, "requests": 200},
}
WARMUP = 5
PASSWORD = "bench owner passphrase"  # noqa: S105 (a scratch database's only account)  # pragma: allowlist secret


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _token(url: str, key: str) -> str:
    """The agency's first owner and her read token, made through the core (as ``onyx users`` and the API do)."""
    engine = create_engine(url)
    try:
        deps = accounts_deps(engine, FernetCipher([key]), hasher=Argon2PasswordHasher.for_tests())
        await create_owner(
            deps, agency_name="", email="bench@agency.test", display_name="Bench", password=PASSWORD,
            agency_id=AgencyId(AGENCY_ID),
        )  # fmt: skip
        issued = await login_password(deps, email="bench@agency.test", password=PASSWORD)
        principal = await authenticate_session(deps, issued.secret)
        made = await create_api_token(deps, principal, name="bench", scopes=frozenset({ApiTokenScope.READ}))
        return made.secret
    finally:
        await engine.dispose()


@contextmanager
def _served(url: str, key: str) -> Iterator[str]:
    """``onyx serve --port 0`` on ``url`` in a child process; its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONYX_")}
    env.update(ONYX_DATABASE_URL=url, ONYX_CIPHER_KEYS=key)
    child = subprocess.Popen(
        [sys.executable, "-m", "onyx_adapters.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert child.stdout is not None
    pump = threading.Thread(target=lambda: [lines.put(line) for line in child.stdout or ()], daemon=True)
    pump.start()
    try:
        base = None
        deadline = time.monotonic() + 60
        while base is None and time.monotonic() < deadline:
            try:
                found = re.search(r"(http://\S+:\d+)", lines.get(timeout=1))
            except queue.Empty:
                if child.poll() is not None:
                    break
                continue
            base = None if found is None else found.group(1)
        if base is None:
            raise RuntimeError("onyx serve did not start")
        with httpx.Client(base_url=base, timeout=10) as probe:
            while time.monotonic() < deadline and probe.get("/readyz").status_code != 200:
                time.sleep(0.1)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)
        pump.join(timeout=10)
        child.stdout.close()  # the pipe is ours to close (a ResourceWarning otherwise)


def _same(answer: dict[str, Any], direct: AgencyDashboard) -> None:
    revenue = answer["agency"]["revenue"]
    totals = direct.agency.totals
    got = (revenue["gross"]["cents"], revenue["net"]["cents"], revenue["transactions"])
    if got != (totals.gross.cents, totals.net.cents, totals.transaction_count):
        raise AssertionError(f"the API's totals {got} are not the read's")
    per_creator = {c["id"]: c["figures"]["revenue"]["gross"]["cents"] for c in answer["creators"]}
    if per_creator != {str(c): f.totals.gross.cents for c, f in direct.creators.items()}:
        raise AssertionError("the API's per-creator gross is not the read's")


def _measure(db: BenchDatabase, key: str, token: str, requests: int) -> tuple[list[float], list[float], int]:
    query = DashboardQuery(PERIOD, "UTC", top_spenders_limit=TOP)
    params = {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat(), "tz": "UTC", "top": str(TOP)}
    http_times: list[float] = []
    direct_times: list[float] = []
    with (
        _served(db.url, key) as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as api,
        asyncio.Runner() as runner,
    ):
        engine = create_engine(db.url)
        reader = SqlDashboardReader(engine)
        try:
            size = 0
            for i in range(WARMUP + requests):
                start = time.perf_counter()
                response = api.get("/api/analytics", params=params)
                http = time.perf_counter() - start
                response.raise_for_status()
                start = time.perf_counter()
                direct = runner.run(reader.read(AgencyId(AGENCY_ID), query, NOW))
                read = time.perf_counter() - start
                if i == 0:
                    _same(response.json(), direct)
                    size = len(response.content)
                if i >= WARMUP:
                    http_times.append(http)
                    direct_times.append(read)
        finally:
            runner.run(engine.dispose())
    return http_times, direct_times, size


def _run_engine(engine: Engine, size: Size) -> list[Row]:
    params = PARAMS[size]
    n, requests = params["rows"], params["requests"]
    creators = ledger_rows.creator_ids(params["creators"])
    rows = ledger_rows.entries(creators, n, seed=3, reversal_share=0.02)
    key = Fernet.generate_key().decode()
    with ledger_rows.scratch_database(engine) as db:
        ledger_rows.seed_agency(db, creators)
        ledger_rows.bulk_load(db, [ledger_rows.as_tuple(entry, engine) for entry in rows])
        del rows
        ledger_rows.analyze(db)
        token = asyncio.run(_token(db.url, key))
        http, direct, body = _measure(db, key, token, requests)
    workload = f"{engine}: {len(creators)} creators, {n:,} ledger rows, 30-day dashboard, {requests} requests"
    notes = (
        f"onyx serve (uvicorn, own process) with an API token, keep-alive client; answer {body / 1024:,.0f} KiB "
        f"of JSON; mean HTTP {statistics.fmean(http) * 1000:,.1f} ms vs read {statistics.fmean(direct) * 1000:,.1f} "
        "ms. Numbers asserted equal. The response cache is not in this path yet."
    )
    return [
        time_ratio(CASE_NAME, f"{workload}: p50, HTTP vs the batched read", _percentile(http, 0.5),
                   _percentile(direct, 0.5), LIMIT, requests, notes),
        time_ratio(CASE_NAME, f"{workload}: p99, HTTP vs the batched read", _percentile(http, 0.99),
                   _percentile(direct, 0.99), LIMIT, requests, notes),
    ]  # fmt: skip


def run(size: Size) -> list[Row]:
    engines: list[Engine] = ["postgresql", "sqlite"] if ledger_rows.postgres_available() else ["sqlite"]
    return [row for engine in engines for row in _run_engine(engine, size)]


CASE = Case(NUMBER, TITLE, run)
