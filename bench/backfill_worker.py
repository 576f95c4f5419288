"""The child process of the backfill-memory case: one creator's full earnings backfill into a fresh SQLite file.

    python -m bench.backfill_worker --rows 100000 --db /tmp/x/onyx.db

Runs alone in its own process so that its peak RSS (``VmHWM``, see :func:`_peak_mb`) is the backfill's and nothing
else's. The sandbox
lives here too (it is in-process), so the peak is read twice: after the world, runtime and connection are set up
(``baseline_mb``: what the process holds before syncing anything) and after the sync (``peak_mb``). Prints one JSON
line on stdout. The sandbox's request log (its last 10,000 requests, kept for tests: about 7 MB when full) is emptied
after every page, so that it does not pass for the sync's memory.

The world is made cheap to hold: the sandbox generates each day's earnings from that day's seed when a page asks for
it and keeps nothing, so a million-row history costs the sandbox no memory; ``EARNINGS_PER_DAY`` is kept moderate
because each page regenerates the day its cursor points into.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EARNINGS_PER_DAY = 400
"""Rows per generated day: each page regenerates the cursor's day, so this is the sandbox's cost per page."""
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MAX_DAYS = 2_500
"""The history must start after ``SyncPolicy.backfill_from`` (2020-01-01), about 2,520 days before NOW."""


def world_shape(rows: int) -> tuple[int, float]:
    """(days, earnings per day) giving about ``rows`` earnings in all (the sandbox draws each day's count)."""
    days = max(1, math.ceil(rows / EARNINGS_PER_DAY))
    if days <= MAX_DAYS:
        return days, rows / days
    return MAX_DAYS, rows / MAX_DAYS


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    """This process's peak RSS. Linux's ``VmHWM`` where there is one: ``getrusage``'s ``ru_maxrss`` of a child
    starts at its parent's RSS when it was forked (the kernel keeps the high-water mark across ``exec``), so a
    child of a big benchmark runner would report the runner's size."""
    found = _status_mb("VmHWM")
    return found if found is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    found = _status_mb("VmRSS")
    return found if found is not None else float("nan")


async def backfill(
    rows: int, database: Path, around: Callable[[], AbstractContextManager[None]] = nullcontext
) -> dict[str, Any]:
    """Build the world, connect and import it, then backfill its one creator's earnings (inside ``around()``:
    the profiler's hook). Returns the figures."""
    # Imported here: the import cost belongs to the baseline either way, but the module stays cheap to import.
    from onyx_adapters.crypto import FernetCipher  # noqa: PLC0415
    from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime  # noqa: PLC0415
    from onyx_adapters.sql.migrate import upgrade  # noqa: PLC0415
    from onyx_core.ids import AgencyId, CreatorId  # noqa: PLC0415
    from onyx_core.sync import Stream, SyncPolicy  # noqa: PLC0415
    from onyx_core.usecases import SyncOutcome, import_creators, sync_ledger  # noqa: PLC0415
    from onyx_fanvue.sandbox.clock import SandboxClock  # noqa: PLC0415
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox  # noqa: PLC0415
    from onyx_fanvue.sandbox.world import WorldSpec  # noqa: PLC0415

    days, per_day = world_shape(rows)
    started = time.perf_counter()
    # No rate limit: it would only add (virtual) waiting, and this case measures memory.
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=7, creators=1, fans_per_creator=50, days=days, earnings_per_day=per_day),
        clock=SandboxClock(NOW),
        rate_limit=1_000_000_000,
    )
    creator = CreatorId(sandbox.world.creators[0].uuid)
    world_mb = _peak_mb()
    url = f"sqlite+aiosqlite:///{database}"
    upgrade(url)
    cipher = FernetCipher([FernetCipher.generate_key()])
    policy = SyncPolicy(max_pages=rows // 10 + 1_000)  # the default guard (10,000 pages) stops at 500k rows
    async with sandbox_runtime(sandbox, url, cipher, virtual_time=True, sync_policy=policy) as runtime:
        agency = AgencyId("bench-agency")
        await connect_agency(runtime, sandbox, agency, "Bench Agency")
        await import_creators(runtime.ctx, agency)
        baseline_mb, baseline_now_mb = _peak_mb(), _current_mb()
        setup_s = time.perf_counter() - started
        synced_at = time.perf_counter()

        def forget_requests(_stream: Stream, _pages: int, _rows: int) -> None:
            # The sandbox logs its last 10,000 requests for tests (about 0.7 KB each): not Onyx's memory.
            sandbox.clear_requests()

        with around():
            report = await sync_ledger(runtime.ctx, creator, Stream.EARNINGS, forget_requests)
        sync_s = time.perf_counter() - synced_at
        if report.outcome is not SyncOutcome.COMPLETED:
            raise RuntimeError(f"the backfill did not complete: {report}")
    return {
        "rows": report.inserted,
        "pages": report.pages,
        "days": days,
        "world_mb": world_mb,
        "baseline_mb": baseline_mb,
        "baseline_now_mb": baseline_now_mb,
        "peak_mb": _peak_mb(),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "end_now_mb": _current_mb(),
        "setup_s": setup_s,
        "sync_s": sync_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill_worker")
    parser.add_argument("--rows", type=int, required=True, help="about how many earnings the creator has")
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file to create")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(backfill(args.rows, args.db))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
