"""Case 10: the scale simulation. Many agencies on one PostgreSQL, synced by ``onyx worker`` processes from a
Fanvue sandbox served over loopback HTTP with 100 ms latency and Fanvue's rate buckets (200 requests / 60 s per
``client:user:creator`` key): do stats stay within 2 min and the ledger within 5 min, what does it cost in
requests, worker CPU, database CPU and connections, and where does one machine saturate?

The parts, each a real process:

- **Fanvue**: this module run as ``python -m bench.cases.scale_simulation sandbox …``: one sandbox world with
  ``agencies * per_agency`` creators and one team member per agency who is admin of exactly her agency's
  creators (Fanvue's agency endpoints answer for the caller's creators, so 200 agencies are 200 tenants with
  their own buckets); every API answer waits ``latency``; a thread adds payments at ``earnings_per_day`` per
  creator (spread over the run), so every ledger sync has something to fetch now and then. It counts the
  requests it answers (``GET /_bench/counts``).
- **The database**: a scratch PostgreSQL database, migrated with ``onyx migrate`` (schema and job queue).
- **Seeding** (in this process, through the same calls ``onyx connect agency`` and the hourly import make): per
  agency, the OAuth authorization-code flow with PKCE for its member (the sandbox approves at once with
  ``login_hint``), the grant stored encrypted, the agency's creators imported from Fanvue. No direct table
  writes.
- **Workers**: ``onyx worker --concurrency C`` processes. The first sync of every creator (the backfill of the
  sandbox's ``history_days``) is queued as ``onyx enqueue sync`` queues it; from then on only the workers'
  own minute heartbeat queues work (stats due after 2 min, ledger after 5 min: the default ``Schedule``).

Time is real: the workers keep the system clock, so the measured window is wall-clock minutes; it opens
``settle`` seconds after the first syncs have drained (the ``smoke`` size instead queues one round itself, its
window being shorter than the heartbeat's minute). Over it, every
``sample`` seconds, each creator's staleness is read from the store (stats: the newest stats read, the
``latest_at`` of its stored metrics; ledger: the earnings cursor's ``synced_through``); CPU comes from
``/proc`` (the worker processes; the PostgreSQL backends serving this database, found in ``pg_stat_activity``);
connections from ``pg_stat_activity``. Afterwards, **saturation**: for 1, 2, 4 … workers a burst of stats-only
syncs is queued and drained, giving the throughput and the CPU-seconds per creator-sync of the workers and of
the database (those per-unit costs are what docs/scaling.md extrapolates from).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from cryptography.fernet import Fernet

from bench import ledger_rows
from bench.harness import Case, Row, Size

NUMBER, TITLE = 10, "Scale simulation"
CASE_NAME = f"{NUMBER} {TITLE}"
ROOT = Path(__file__).resolve().parents[2]
LATENCY = 0.1
EARNINGS_PER_DAY = 48.0
STATS_LIMIT_S = 120.0
LEDGER_LIMIT_S = 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Params:
    agencies: int
    per_agency: int
    workers: int
    concurrency: int
    minutes: float
    sample: float
    steps: tuple[int, ...]
    burst: int
    """Creators in each saturation burst (at most all of them)."""
    history_days: int = 7
    """Days of history the sandbox world has (the first sync backfills them)."""
    settle: float = 180.0
    """Seconds between the end of the first syncs and the window: the first syncs finish over minutes, so the
    creators' stats come due again in a wave; one stats interval plus a heartbeat minute lets it spread out."""
    timeout: float = 3600.0
    """Seconds the first syncs (and each burst) may take before the run fails."""
    nudge: bool = False
    """Queue a stats + ledger sync of every creator as the window opens: a window shorter than the heartbeat's
    minute (``smoke``) has syncs to measure too."""


PARAMS: dict[Size, Params] = {
    "smoke": Params(agencies=2, per_agency=2, workers=1, concurrency=2, minutes=0.08, sample=2, steps=(1,), burst=4,
                    history_days=1, settle=0, timeout=120, nudge=True),
    "quick": Params(agencies=20, per_agency=20, workers=4, concurrency=4, minutes=3, sample=10, steps=(1, 2, 4),
                    burst=400, history_days=2),
    "full": Params(agencies=200, per_agency=20, workers=4, concurrency=4, minutes=10, sample=15, steps=(1, 2, 4),
                   burst=1000, history_days=1),
}  # fmt: skip


# ------------------------------------------------------------------------------------------- the sandbox process


def _serve_sandbox(
    agencies: int, per_agency: int, latency: float, earnings_per_day: float, days: int, seed: int
) -> None:
    """Build the world (see the module's doc), print what a client needs as one JSON line, serve until killed."""
    import uvicorn  # noqa: PLC0415 - only the sandbox process needs them

    from onyx_fanvue.sandbox.access import AccessBook  # noqa: PLC0415
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox  # noqa: PLC0415
    from onyx_fanvue.sandbox.server import bind  # noqa: PLC0415
    from onyx_fanvue.sandbox.world import TeamMember, WorldSpec  # noqa: PLC0415

    spec = WorldSpec(
        seed=seed,
        creators=agencies * per_agency,
        fans_per_creator=5,
        days=days,
        earnings_per_day=earnings_per_day,
        team_members=agencies,
    )
    sandbox = FanvueSandbox(spec=spec, latency=latency)
    world = sandbox.world
    uuids = [c.uuid for c in world.creators]
    # each member is the admin of her own agency's creators only: one Fanvue agency per Onyx agency
    world.team = tuple(
        TeamMember(m.person, is_admin=True, creator_access=tuple((u, "ADMIN") for u in uuids[i::agencies]))
        for i, m in enumerate(world.team)
    )
    sandbox.access = AccessBook(world)
    counting = _Counting(sandbox.app)
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    info = {
        "url": f"http://{host}:{port}",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "members": [m.person.handle for m in world.team],
    }
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    threading.Thread(target=_earn, args=(sandbox, uuids, earnings_per_day, counting), daemon=True).start()
    config = uvicorn.Config(counting, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def _earn(sandbox: Any, uuids: list[str], per_day: float, counting: _Counting) -> None:
    """New payments for random creators, ``per_day`` per creator on average (a Poisson stream)."""
    rng = random.Random(7)
    rate = len(uuids) * per_day / 86_400
    run = secrets.token_hex(4)
    while True:
        time.sleep(rng.expovariate(rate))
        sandbox.add_earning(
            rng.choice(uuids), gross=rng.randrange(300, 5_000), order_id=f"BENCH-{run}-{counting.earned}"
        )
        counting.earned += 1


class _Counting:
    """The sandbox's ASGI app, counting the answers it gives (by kind and status); ``GET /_bench/counts``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.earned = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_bench/counts":
            body = json.dumps({**self.counts, "earned": self.earned}).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        kind = "oauth" if path.startswith("/oauth2") else "api"

        route = f"route:{scope['method']} {_UUID.sub('{uuid}', path)}"

        async def counted(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.counts[f"{kind}:{message['status']}"] += 1
                self.counts[route] += 1
            await send(message)

        await self.app(scope, receive, counted)


# ------------------------------------------------------------------------------------------- the bench side


def _cpu_seconds(pid: int) -> float:
    """user + system CPU of ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _per_sync(requests: Counter[str], syncs: int) -> str:
    """The routes asked, per sync: ``account 1.00, chats 1.00``."""
    routes = sorted(((k.split("/")[-1], v) for k, v in requests.items() if k.startswith("route:") and v > 0),
                    key=lambda kv: -kv[1])  # fmt: skip
    return ", ".join(f"{name} {count / max(1, syncs):.2f}" for name, count in routes) or "none"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class _Meter:
    """CPU of a set of processes between :meth:`start` and :meth:`stop`, sampled so that processes that come
    and go (database backends) are counted: a process first seen after the start counts from 0."""

    baseline: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def start(self, pids: list[int]) -> None:
        self.baseline = {pid: _cpu_seconds(pid) for pid in pids}
        self.last = dict(self.baseline)

    def see(self, pids: list[int]) -> None:
        for pid in pids:
            now = _cpu_seconds(pid)
            if now > 0:
                self.last[pid] = now
            self.baseline.setdefault(pid, 0.0)

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.baseline.get(pid, 0.0) for pid in self.last)


class _Sim:
    """The processes of one run and the probes that read them."""

    def __init__(self, params: Params, db_url: str, folder: Path) -> None:
        self.params = params
        self.db_url = db_url
        self.folder = folder
        self.db_name = db_url.rsplit("/", 1)[-1]
        self.cipher_key = Fernet.generate_key().decode()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        self.sandbox, self.info = self._start_sandbox()
        self.env = self._env()
        self.probe = psycopg.connect(db_url, autocommit=True)
        self.probe_pid = self.probe.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        self.peak_connections = 0

    def _start_sandbox(self) -> tuple[subprocess.Popen[str], dict[str, Any]]:
        p = self.params
        log = (self.folder / "sandbox.log").open("w")
        self.logs.append(log)
        command = [sys.executable, "-m", "bench.cases.scale_simulation", "sandbox", str(p.agencies),
                   str(p.per_agency), str(LATENCY), str(EARNINGS_PER_DAY), str(p.history_days)]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, env=self._base_env()
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            raise RuntimeError(f"the sandbox did not start: {(self.folder / 'sandbox.log').read_text()}")
        return process, json.loads(line)

    @staticmethod
    def _base_env() -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        # the worktree's code when run from one (the venv's editable install may point at another checkout)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
        return env

    def _env(self) -> dict[str, str]:
        url = self.info["url"]
        return {
            **self._base_env(),
            "ONYX_DATABASE_URL": self.db_url,
            "ONYX_CIPHER_KEYS": self.cipher_key,
            "ONYX_FANVUE_CLIENT_ID": self.info["client_id"],
            "ONYX_FANVUE_CLIENT_SECRET": self.info["client_secret"],
            "ONYX_FANVUE_API_URL": url,
            "ONYX_FANVUE_AUTH_URL": f"{url}/oauth2",
        }

    def onyx(self, *args: str) -> str:
        """Run an ``onyx`` command to its end; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "onyx_adapters.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"onyx {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    # ------------------------------------------------------------------------- seeding and queueing

    async def _seed(self) -> int:
        """Connect every agency's member (OAuth + PKCE) and import its creators; the creators imported."""
        from pydantic import SecretStr  # noqa: PLC0415

        from onyx_adapters.connect import store_agency_grant  # noqa: PLC0415
        from onyx_adapters.oauth_callback import obtain_grant  # noqa: PLC0415
        from onyx_adapters.runtime import Runtime  # noqa: PLC0415
        from onyx_adapters.settings import OnyxSettings  # noqa: PLC0415
        from onyx_core.ids import AgencyId  # noqa: PLC0415
        from onyx_core.usecases import import_creators  # noqa: PLC0415

        settings = OnyxSettings(
            database_url=self.db_url,
            cipher_keys=SecretStr(self.cipher_key),
            fanvue_client_id=self.info["client_id"],
            fanvue_client_secret=SecretStr(self.info["client_secret"]),
            fanvue_api_url=self.info["url"],
            fanvue_auth_url=f"{self.info['url']}/oauth2",
        )
        gate = asyncio.Semaphore(8)

        def refuse(text: str) -> None:
            raise RuntimeError(f"the sandbox wanted a browser: {text}")

        async with Runtime.from_settings(settings) as runtime:

            async def connect(index: int, handle: str) -> int:
                agency = AgencyId(f"agency-{index:04d}")
                async with gate:
                    token = await obtain_grant(runtime.oauth, login_hint=handle, show=refuse)
                    await store_agency_grant(
                        runtime.ctx, token, agency, f"Agency {index}", client_options=runtime.client_options
                    )
                    return len((await import_creators(runtime.ctx, agency)).added)

            added = await asyncio.gather(*(connect(i, h) for i, h in enumerate(self.info["members"])))
        return sum(added)

    async def _enqueue(self, creators: list[str], jobs: tuple[str, ...] | None) -> None:
        """Queue a sync of each creator, as ``onyx enqueue sync`` does (``jobs``: only these)."""
        from onyx_adapters.workers import defer_sync, make_app  # noqa: PLC0415
        from onyx_core.schedule import SyncJob  # noqa: PLC0415

        wanted = tuple(SyncJob) if jobs is None else tuple(SyncJob(j) for j in jobs)
        async with make_app(self.db_url).open_async() as app:
            for creator in creators:
                await defer_sync(app, creator, wanted)

    def creators(self) -> list[str]:
        return [row[0] for row in self.probe.execute("SELECT id FROM creators ORDER BY id")]

    # ------------------------------------------------------------------------- workers

    def start_workers(self, count: int) -> None:
        for n in range(count):
            log = (self.folder / f"worker-{len(self.workers)}.log").open("w")
            self.logs.append(log)
            command = [sys.executable, "-m", "onyx_adapters.cli", "worker", "--concurrency",
                       str(self.params.concurrency), "--name", f"bench-{n}"]  # fmt: skip
            self.workers.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=log))

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.workers = []

    def close(self) -> None:
        self.stop_workers()
        self.sandbox.terminate()
        try:
            self.sandbox.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.sandbox.kill()
            self.sandbox.wait()
        if self.sandbox.stdout is not None:
            self.sandbox.stdout.close()
        self.probe.close()
        for log in self.logs:
            log.close()

    # ------------------------------------------------------------------------- probes

    def fanvue_counts(self) -> Counter[str]:
        answer = httpx.get(f"{self.info['url']}/_bench/counts", timeout=30)
        answer.raise_for_status()
        return Counter(answer.json())

    def backends(self) -> list[int]:
        """The PostgreSQL backends serving this database (the probe's own left out); tracks the peak count."""
        rows = self.probe.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,)).fetchall()
        self.peak_connections = max(self.peak_connections, len(rows))  # the probe's own connection included
        return [pid for (pid,) in rows if pid != self.probe_pid]

    def staleness(self) -> tuple[list[float], list[float]]:
        """Seconds since each creator's newest stats read and since its ledger's ``synced_through``
        (``inf``: never)."""
        now = datetime.now(UTC)
        rows = self.probe.execute(
            """
            SELECT c.id,
                   (SELECT max((s.record::jsonb ->> 'latest_at')::timestamptz) FROM creator_stats s
                     WHERE s.creator_id = c.id),
                   (SELECT k.synced_through FROM sync_cursors k WHERE k.creator_id = c.id AND k.stream = 'earnings')
              FROM creators c
            """
        ).fetchall()
        inf = float("inf")
        stats = [inf if s is None else (now - s).total_seconds() for _, s, _ in rows]
        ledger = [inf if k is None else (now - k).total_seconds() for _, _, k in rows]
        return stats, ledger

    def queued_syncs(self) -> int:
        row = self.probe.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'onyx.sync_creator' "
            "AND status IN ('todo', 'doing')"
        ).fetchone()
        return int(row[0]) if row else 0

    def synced_between(self, start: datetime, end: datetime) -> Counter[str]:
        """Creator syncs that finished in ``[start, end)``: all, and those that ran stats / the ledger."""
        rows = self.probe.execute(
            """
            SELECT j.args -> 'jobs' FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
             WHERE e.type = 'succeeded' AND j.task_name = 'onyx.sync_creator' AND e.at >= %s AND e.at < %s
            """,
            (start, end),
        ).fetchall()
        counts: Counter[str] = Counter(syncs=len(rows))
        for (jobs,) in rows:
            counts.update(job for job in jobs or () if job in ("stats", "ledger"))
        return counts

    def heartbeats(self, start: datetime, end: datetime) -> list[float]:
        """How long each heartbeat in the window took (s)."""
        rows = self.probe.execute(
            """
            SELECT extract(epoch FROM max(e.at) - min(e.at)) FROM procrastinate_events e
              JOIN procrastinate_jobs j ON j.id = e.job_id
             WHERE j.task_name = 'onyx.heartbeat' AND e.type IN ('started', 'succeeded', 'failed')
               AND e.at >= %s AND e.at < %s
             GROUP BY j.id HAVING count(*) = 2
            """,
            (start, end),
        ).fetchall()
        return [float(row[0]) for row in rows]

    def ledger_bytes_per_row(self) -> tuple[float, int]:
        row = self.probe.execute(
            "SELECT pg_total_relation_size('ledger_entries'), (SELECT count(*) FROM ledger_entries)"
        ).fetchone()
        size, count = (int(row[0]), int(row[1])) if row else (0, 0)
        return (size / count if count else 0.0), count


def _wait_until(check: Any, timeout: float, what: str, every: float = 2.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


@dataclass
class _Window:
    seconds: float
    stats: list[float]
    """Every sample's staleness of every creator's stats (s)."""
    ledger: list[float]
    requests: Counter[str]
    syncs: Counter[str]
    worker_cpu: float
    db_cpu: float
    sandbox_cpu: float
    heartbeats: list[float]
    load: tuple[float, float]
    """The machine's 1-minute load average as the window opened and as it closed."""


def _measure(sim: _Sim, seconds: float, sample: float) -> _Window:
    """The steady state over ``seconds`` of wall-clock time."""
    workers, db, box = _Meter(), _Meter(), _Meter()
    workers.start([w.pid for w in sim.workers])
    db.start(sim.backends())
    box.start([sim.sandbox.pid])
    before = sim.fanvue_counts()
    started_at, started = datetime.now(UTC), time.monotonic()
    load = os.getloadavg()[0]
    if sim.params.nudge:
        asyncio.run(sim._enqueue(sim.creators(), ("stats", "ledger")))
    stats: list[float] = []
    ledger: list[float] = []
    next_sample = started
    while (now := time.monotonic()) < started + seconds or (sim.params.nudge and sim.queued_syncs() > 0):
        db.see(sim.backends())
        if now >= next_sample:
            s, k = sim.staleness()
            stats += s
            ledger += k
            next_sample = now + sample
        time.sleep(min(1.0, max(0.1, started + seconds - time.monotonic())))
    s, k = sim.staleness()
    stats += s
    ledger += k
    db.see(sim.backends())
    workers.see([w.pid for w in sim.workers])
    box.see([sim.sandbox.pid])
    elapsed = time.monotonic() - started
    ended_at = datetime.now(UTC)
    requests = sim.fanvue_counts()
    requests.subtract(before)
    return _Window(
        elapsed, stats, ledger, requests, sim.synced_between(started_at, ended_at),
        workers.seconds, db.seconds, box.seconds, sim.heartbeats(started_at, ended_at), (load, os.getloadavg()[0]),
    )  # fmt: skip


@dataclass
class _Step:
    workers: int
    syncs: int
    seconds: float
    requests: Counter[str]
    worker_cpu: float
    db_cpu: float
    sandbox_cpu: float
    peak_connections: int


def _saturation_step(sim: _Sim, count: int, creators: list[str]) -> _Step:
    """``count`` workers drain a burst of stats-only syncs of ``creators``."""
    if len(sim.workers) != count:
        sim.stop_workers()
        sim.start_workers(count)
        time.sleep(2)  # the workers' imports and checks, outside the measured drain
    workers, db, box = _Meter(), _Meter(), _Meter()
    workers.start([w.pid for w in sim.workers])
    db.start(sim.backends())
    box.start([sim.sandbox.pid])
    sim.peak_connections = 0
    before = sim.fanvue_counts()
    started_at, started = datetime.now(UTC), time.monotonic()
    asyncio.run(sim._enqueue(creators, ("stats",)))

    def drained() -> bool:
        db.see(sim.backends())
        return sim.queued_syncs() == 0

    _wait_until(drained, sim.params.timeout, "the burst to drain", every=0.5)
    elapsed = time.monotonic() - started
    workers.see([w.pid for w in sim.workers])
    box.see([sim.sandbox.pid])
    requests = sim.fanvue_counts()
    requests.subtract(before)
    synced = sim.synced_between(started_at, datetime.now(UTC))["syncs"]
    return _Step(count, synced, elapsed, requests, workers.seconds, db.seconds, box.seconds, sim.peak_connections)


@contextmanager
def _simulation(params: Params) -> Iterator[tuple[_Sim, dict[str, float]]]:
    folder = Path(tempfile.mkdtemp(prefix="onyx-bench-scale-"))
    with ledger_rows.scratch_database("postgresql") as db, _removed(folder):
        sim = _Sim(params, db.url, folder)
        try:
            setup: dict[str, float] = {}
            started = time.monotonic()
            sim.onyx("migrate", "--database-url", db.url)
            setup["migrate_s"] = time.monotonic() - started
            started = time.monotonic()
            setup["creators"] = asyncio.run(sim._seed())
            setup["seed_s"] = time.monotonic() - started
            yield sim, setup
        except BaseException:
            for log in sorted(folder.glob("*.log")):
                sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
            raise
        finally:
            sim.close()


@contextmanager
def _removed(folder: Path) -> Iterator[None]:
    """``folder`` deleted at the end, also after a failure (its logs are printed then)."""
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(size: Size) -> list[Row]:
    p = PARAMS[size]
    with _simulation(p) as (sim, setup):
        creators = sim.creators()
        if len(creators) != p.agencies * p.per_agency:
            raise RuntimeError(f"imported {len(creators)} creators, expected {p.agencies * p.per_agency}")
        sim.start_workers(p.workers)
        started = time.monotonic()
        asyncio.run(sim._enqueue(creators, None))  # the first sync (backfill) of every creator

        def warm() -> bool:
            stats, ledger = sim.staleness()
            return all(s < float("inf") for s in stats + ledger)

        _wait_until(warm, p.timeout, "every creator's first sync", every=3)
        _wait_until(lambda: sim.queued_syncs() == 0, p.timeout, "the first syncs to drain")
        warmup = time.monotonic() - started
        time.sleep(p.settle)
        window = _measure(sim, p.minutes * 60, p.sample)
        bytes_per_row, ledger_count = sim.ledger_bytes_per_row()
        window_connections = sim.peak_connections
        burst = creators[: p.burst]
        steps = [_saturation_step(sim, count, burst) for count in p.steps]
    return _rows(size, p, setup, warmup, window, steps, bytes_per_row, ledger_count, window_connections)


def _rows(
    size: Size,
    p: Params,
    setup: dict[str, float],
    warmup: float,
    w: _Window,
    steps: list[_Step],
    bytes_per_row: float,
    ledger_count: int,
    connections: int,
) -> list[Row]:
    n = p.agencies * p.per_agency
    scale = f"{p.agencies}x{p.per_agency} creators, {p.workers} workers x {p.concurrency}"
    minutes = w.seconds / 60
    within_s = sum(s <= STATS_LIMIT_S for s in w.stats) / len(w.stats)
    within_l = sum(s <= LEDGER_LIMIT_S for s in w.ledger) / len(w.ledger)
    api = sum(v for k, v in w.requests.items() if k.startswith("api:"))
    oauth = sum(v for k, v in w.requests.items() if k.startswith("oauth:"))
    refused = w.requests.get("api:429", 0)
    syncs = max(1, w.syncs["syncs"])
    beat = f"heartbeat p50 {statistics.median(w.heartbeats):.1f} s" if w.heartbeats else "no heartbeat in the window"
    common = (
        f"{size}: {scale}, {minutes:.1f} min real time, load average {w.load[0]:.1f} -> {w.load[1]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    rows = [
        Row(CASE_NAME, f"stats staleness p99 (worst {max(w.stats):.0f} s, {within_s:.1%} of samples "
            f"<= 2 min)", _percentile(w.stats, 0.99), None, "s", None, f"worst <= {STATS_LIMIT_S:.0f} s",
            max(w.stats) <= STATS_LIMIT_S, len(w.stats),
            f"{common}; sampled every {p.sample:g} s; default Schedule (stats due after 2 min, heartbeat every "
            f"minute); warm-up (first sync of all {n}) {warmup:.0f} s; seeding {setup['seed_s']:.0f} s"),
        Row(CASE_NAME, f"ledger staleness p99 (worst {max(w.ledger):.0f} s, {within_l:.1%} of samples "
            f"<= 5 min)", _percentile(w.ledger, 0.99), None, "s", None, f"worst <= {LEDGER_LIMIT_S:.0f} s",
            max(w.ledger) <= LEDGER_LIMIT_S, len(w.ledger), f"{common}; {beat}"),
        Row(CASE_NAME, f"requests/s to Fanvue ({api / n / minutes:.2f} per creator-minute, {refused} refused 429, "
            f"{oauth} OAuth)", api / w.seconds, None, "req/s", None, "no 429", refused == 0, api,
            f"{common}; {w.syncs['syncs']} creator syncs ({w.syncs['stats']} with stats, {w.syncs['ledger']} with "
            f"the ledger), {api / syncs:.2f} requests per sync ({_per_sync(w.requests, syncs)}); sandbox latency "
            f"{LATENCY * 1000:.0f} ms"),
        Row(CASE_NAME, f"worker CPU per creator-sync (workers {w.worker_cpu / w.seconds:.0%} of a core)",
            w.worker_cpu / syncs * 1000, None, "ms", None, "measured", True, syncs,
            f"{common}; user+system CPU of the worker processes from /proc; sandbox (Fanvue) "
            f"{w.sandbox_cpu / syncs * 1000:.1f} ms/sync, not counted"),
        Row(CASE_NAME, f"database CPU per creator-sync (backends {w.db_cpu / w.seconds:.0%} of a core)",
            w.db_cpu / syncs * 1000, None, "ms", None, "measured", True, syncs,
            f"{common}; the PostgreSQL backends of the scratch database from /proc (shared background "
            "processes not counted)"),
        Row(CASE_NAME, f"database connections peak ({connections / max(1, p.workers):.1f} per worker)",
            float(connections), None, "conns", None, "measured", True, p.workers,
            f"{common}; pg_stat_activity of the scratch database (the probe's own connection included); ledger "
            f"{bytes_per_row:.0f} bytes per row over {ledger_count:,} rows (table + indexes)"),
    ]  # fmt: skip
    if w.heartbeats:  # a window shorter than a minute (smoke) may see none
        beat_p50 = statistics.median(w.heartbeats)
        rows.append(
            Row(
                CASE_NAME,
                f"heartbeat duration p50 (max {max(w.heartbeats):.1f} s; {beat_p50 / n * 1000:.1f} ms per creator)",
                beat_p50,
                None,
                "s",
                None,
                "< 60 s (the cron's minute)",
                max(w.heartbeats) < 60,
                len(w.heartbeats),
                f"{common}; the minute heartbeat reads every creator's freshness and queues the due ones",
            )
        )
    for step in steps:
        rate = step.syncs / step.seconds if step.seconds else 0.0
        per = max(1, step.syncs)
        workload = (
            f"saturation, {step.workers} worker(s): stats syncs/s (worker {step.worker_cpu / per * 1000:.1f} ms, "
            f"db {step.db_cpu / per * 1000:.1f} ms CPU per sync)"
        )
        notes = (
            f"{size}: a burst of {step.syncs} stats-only syncs drained in {step.seconds:.1f} s; workers "
            f"{step.worker_cpu / step.seconds:.0%}, db {step.db_cpu / step.seconds:.0%}, sandbox "
            f"{step.sandbox_cpu / step.seconds:.0%} of a core; requests per sync: "
            f"{_per_sync(step.requests, per)}; peak {step.peak_connections} connections"
        )
        rows.append(Row(CASE_NAME, workload, rate, None, "syncs/s", None, "measured", True, step.syncs, notes))
    return rows


def run(size: Size) -> list[Row]:
    if not ledger_rows.postgres_available():  # the job queue needs PostgreSQL
        return []
    return _run(size)


CASE = Case(NUMBER, TITLE, run)


def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cases.scale_simulation")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("sandbox", help="serve the simulation's Fanvue sandbox (prints its settings as JSON)")
    serve.add_argument("agencies", type=int)
    serve.add_argument("per_agency", type=int)
    serve.add_argument("latency", type=float)
    serve.add_argument("earnings_per_day", type=float)
    serve.add_argument("days", type=int)
    serve.add_argument("--seed", type=int, default=10)
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        _serve_sandbox(args.agencies, args.per_agency, args.latency, args.earnings_per_day, args.days, args.seed)


if __name__ == "__main__":
    _main(sys.argv[1:])
