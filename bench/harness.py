"""What every benchmark case shares: sizes, timing, result rows and the machine they were measured on.

Shared machines are noisy, so a case never reports an absolute time alone: it measures Onyx and the ceiling (the
best physically possible way to do the same work) in the same run, interleaved, and reports the ratio.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Size = Literal["smoke", "quick", "full"]
"""``smoke``: seconds, for the test suite (proves the code runs; numbers mean nothing). ``quick``: the default,
the whole suite in well under 15 minutes on 2 cores. ``full``: the sizes the issue names (1M rows, 100 creators)."""

SIZES: tuple[Size, ...] = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Row:
    """One comparison: Onyx's figure, the ceiling's, their ratio, and whether the target was met."""

    case: str
    workload: str
    onyx: float
    ceiling: float | None
    unit: str
    """``s`` (lower is better), ``rows/s`` (higher is better), ``MB`` ..."""
    ratio: float | None
    """Onyx / ceiling for times (lower is better), Onyx / ceiling for throughputs (higher is better)."""
    target: str
    met: bool
    n: int
    """How many operations or rows the figures are over."""
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Case:
    """A benchmark case: ``run(size)`` returns its rows (it may return several, e.g. one per engine)."""

    number: int
    title: str
    run: Callable[[Size], list[Row]]


def time_ratio(case: str, workload: str, onyx: float, ceiling: float, limit: float, n: int, notes: str = "") -> Row:
    """A row for two times (seconds): met when ``onyx / ceiling <= limit``."""
    ratio = onyx / ceiling if ceiling > 0 else float("inf")
    return Row(case, workload, onyx, ceiling, "s", ratio, f"<= {limit:g}x", ratio <= limit, n, notes)


def rate_ratio(case: str, workload: str, onyx: float, ceiling: float, floor: float, n: int, notes: str = "") -> Row:
    """A row for two throughputs: met when ``onyx / ceiling >= floor``."""
    ratio = onyx / ceiling if ceiling > 0 else 0.0
    return Row(case, workload, onyx, ceiling, "rows/s", ratio, f">= {floor:g}x", ratio >= floor, n, notes)


def best_of(repeats: int, call: Callable[[], object]) -> float:
    """The fastest of ``repeats`` timed calls, in seconds (the least disturbed by the machine's noise)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


async def best_of_async(repeats: int, call: Callable[[], Awaitable[object]]) -> float:
    """:func:`best_of` for a coroutine function."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        await call()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved(repeats: int, onyx: Callable[[], object], ceiling: Callable[[], object]) -> tuple[float, float]:
    """Best-of times of ``onyx`` and ``ceiling``, alternating so that both see the same machine weather."""
    best_onyx = best_ceiling = float("inf")
    for _ in range(repeats):
        best_onyx = min(best_onyx, best_of(1, onyx))
        best_ceiling = min(best_ceiling, best_of(1, ceiling))
    return best_onyx, best_ceiling


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "commit": commit,
    }
