"""Run the benchmarks and write ``bench/results/latest.json`` and ``docs/benchmarks.md``.

    python -m bench.run                 # the quick size, every case
    python -m bench.run --size full     # the sizes the issue names (1M rows, 100 creators)
    python -m bench.run --cases 2,3     # some cases only

Nothing here fails a build: every case prints its figures, the ratio and whether the target was met.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import SIZES, Case, Row, Size, machine

ROOT = Path(__file__).resolve().parents[1]
CASE_MODULES = (
    "bench.cases.sdk_overhead",
    "bench.cases.ledger_ingest",
    "bench.cases.analytics",
    "bench.cases.refresh_all",
    "bench.cases.backfill_memory",
    "bench.cases.token_single_flight",
    "bench.cases.api_dashboard",
    "bench.cases.dashboard_page",
    "bench.cases.scale_simulation",
)


def load_cases(only: set[int] | None = None) -> list[Case]:
    cases = []
    for name in CASE_MODULES:
        try:
            case: Case = importlib.import_module(name).CASE
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue  # a case not written yet
        if only is None or case.number in only:
            cases.append(case)
    return sorted(cases, key=lambda c: c.number)


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.2f} {unit}"


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    box = meta["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Each row measures Onyx against the best possible way to do the same work on the same machine, in the",
        "same run (these machines are shared and noisy: the ratio is the figure that holds, not the times). Run",
        "them with `nox -s bench` (`-- --size full` for the issue's sizes: 1M rows, 100 creators); nothing fails",
        "the build.",
        "",
        f"Latest run: {meta['date']}, size `{meta['size']}`, {meta['seconds']:.0f} s; machine: {box['cpus']} CPUs, "
        f"{box['platform']}, Python {box['python']}, commit {box['commit']}.",
        "",
        "| # | case | workload | Onyx | ceiling | ratio | target | met | N |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {row.case.split(' ', 1)[0]} | {row.case.split(' ', 1)[-1]} | {row.workload} | "
            f"{_cell(row.onyx, row.unit)} | {_cell(row.ceiling, row.unit)} | {ratio} | {row.target} | "
            f"{'yes' if row.met else '**no**'} | {row.n:,} |"
        )
    notes = [f"- {row.case}, {row.workload}: {row.notes}" for row in rows if row.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="quick")
    parser.add_argument("--cases", default=None, help="comma-separated case numbers (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the Markdown table")
    args = parser.parse_args(argv)
    size: Size = args.size
    only = {int(c) for c in args.cases.split(",")} if args.cases else None
    started = time.perf_counter()
    rows: list[Row] = []
    for case in load_cases(only):
        print(f"== case {case.number}: {case.title} ({size})", flush=True)
        case_rows = case.run(size)
        for row in case_rows:
            ratio = "—" if row.ratio is None else f"{row.ratio:.2f}x"
            print(
                f"   {row.workload}: onyx {_cell(row.onyx, row.unit)}, ceiling {_cell(row.ceiling, row.unit)}, "
                f"ratio {ratio}, target {row.target}: {'met' if row.met else 'NOT met'} (N={row.n:,})",
                flush=True,
            )
        rows.extend(case_rows)
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "size": size,
        "seconds": time.perf_counter() - started,
        "machine": machine(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps({**meta, "rows": [r.as_dict() for r in rows]}, indent=2) + "\n")
    if size != "smoke":
        args.docs.write_text(markdown(rows, meta))
    print(f"wrote {args.out / 'latest.json'}" + ("" if size == "smoke" else f" and {args.docs}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
