"""Case 5: a full backfill of one creator's earnings keeps peak memory flat: bounded by the page, not the history.

Onyx: ``sync_ledger(ctx, creator, Stream.EARNINGS)`` through the real runtime (SDK client, token store, SQLite) from
the in-process sandbox, in a child process of its own (:mod:`bench.backfill_worker`), at two history sizes, M/10
and M earnings rows. The figure is the child's peak RSS at the end (Linux ``VmHWM``: ``getrusage`` in a
child reports at least its parent's RSS at the fork, see :func:`bench.backfill_worker._peak_mb`); target < 300 MB.

"Ceiling": the same child's peak RSS before the sync starts, with the sandbox's world built, the runtime open and
the agency connected and imported: what the process holds before it syncs anything (Python, the libraries, the
sandbox). The sandbox generates each day's earnings when asked and keeps none, so the world costs no memory per
row; the difference between the two figures is what the sync adds. Flat means the sync adds about the same at M as
at M/10 (the notes give both).

The sync's speed is reported in the notes only (pages per second): it is not this case's target, but it decides
how long the full size runs (about 20,000 pages for 1M rows).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.backfill_worker import backfill
from bench.harness import Case, Row, Size

NUMBER = 5
TITLE = "Backfill memory"
CASE_NAME = f"{NUMBER} {TITLE}"
LIMIT_MB = 300.0
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 3_600


@dataclass(frozen=True)
class Params:
    rows: int
    """M: the larger history; the smaller one is M/10."""


PARAMS: dict[Size, Params] = {
    "smoke": Params(rows=500),
    "quick": Params(rows=100_000),
    "full": Params(rows=1_000_000),
}


def measure(rows: int, folder: Path) -> dict[str, Any]:
    """Run the backfill of about ``rows`` earnings in a child process; its figures."""
    command = [sys.executable, "-m", "bench.backfill_worker", "--rows", str(rows), "--db", str(folder / f"{rows}.db")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the backfill child failed ({done.returncode}): {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _row(figures: dict[str, Any], smaller: dict[str, Any] | None) -> Row:
    peak, baseline = figures["peak_mb"], figures["baseline_mb"]
    added = peak - baseline
    rate = figures["pages"] / figures["sync_s"] if figures["sync_s"] > 0 else 0.0
    notes = (
        f"peak RSS (VmHWM) of the backfill child; before syncing (sandbox world + runtime + connection) it held "
        f"{baseline:.0f} MB (the world alone {figures['world_mb']:.0f} MB, mostly imports), so the sync added "
        f"{added:.1f} MB; {figures['pages']:,} pages in {figures['sync_s']:.0f} s ({rate:.0f} pages/s), SQLite"
    )
    if smaller is not None:
        smaller_added = smaller["peak_mb"] - smaller["baseline_mb"]
        notes += (
            f"; at {smaller['rows']:,} rows the sync added {smaller_added:.1f} MB: "
            f"{added - smaller_added:+.1f} MB for {figures['rows'] / max(1, smaller['rows']):.0f}x the history"
        )
    return Row(
        case=CASE_NAME,
        workload=f"full backfill of 1 creator, {figures['rows']:,} earnings ({figures['pages']:,} pages of 50)",
        onyx=peak,
        ceiling=baseline,
        unit="MB",
        ratio=peak / baseline if baseline > 0 else None,
        target=f"< {LIMIT_MB:g} MB",
        met=peak < LIMIT_MB,
        n=figures["rows"],
        notes=notes,
    )


def run(size: Size) -> list[Row]:
    rows = PARAMS[size].rows
    with tempfile.TemporaryDirectory(prefix="onyx-bench-backfill-") as folder:
        small = measure(rows // 10, Path(folder))
        large = measure(rows, Path(folder))
    return [_row(small, None), _row(large, small)]


def profile_target(size: Size, profiled: Callable[[], AbstractContextManager[None]]) -> list[str]:
    """For ``python -m bench.profile --case 5``: the M/10 backfill in this process, only the sync profiled (the
    memory figure needs the child process; where the time goes does not)."""
    rows = PARAMS[size].rows // 10
    with tempfile.TemporaryDirectory(prefix="onyx-bench-backfill-") as folder:
        figures = asyncio.run(backfill(rows, Path(folder) / "profile.db", around=profiled))
    return [f"{figures['rows']:,} rows in {figures['pages']:,} pages, {figures['sync_s']:.1f} s"]


CASE = Case(NUMBER, TITLE, run)
