"""Profile one benchmark case with pyinstrument and say where its time goes.

    python -m bench.profile --case 4                # quick size
    python -m bench.profile --case 5 --size smoke

Writes ``bench/results/profile-case-N.txt`` (``--out`` for another folder): a summary of wall time by area (the
sandbox, the SDK and httpx, storage, the core, waiting), the functions with the most self time, and pyinstrument's
call tree; prints the top of it. A case may offer ``profile_target(size, profiled)``: it sets its work up
unprofiled and runs the part worth profiling inside ``with profiled():`` (entered once), e.g. the timed refresh
only, or the backfill of the child process run in-process. Other cases are profiled whole (``run(size)``).

pyinstrument samples the main thread only: time the main thread spends waiting (for the event loop's sleeps, for the
aiosqlite worker threads, for the database) shows as waiting, not as the work done elsewhere.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bench.harness import SIZES, Size
from bench.run import CASE_MODULES, ROOT

TOP_LINES = 60
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sandbox (in-process Fanvue: Litestar app, world generation)", ("onyx_fanvue/sandbox/", "litestar/", "msgspec/")),
    ("SDK + httpx (requests, auth flow, rate budget, parsing)", ("onyx_fanvue/", "httpx/", "httpcore/", "anyio/")),
    ("pydantic (SDK models)", ("pydantic/", "pydantic_core/")),
    ("storage (SQLAlchemy, aiosqlite, psycopg, repositories)", ("sqlalchemy/", "aiosqlite/", "psycopg/", "sql/")),
    ("token crypto (Fernet)", ("cryptography/", "onyx_adapters/crypto")),
    ("Onyx core (use cases, merge rules)", ("onyx_core/",)),
    ("Onyx adapters (gateway, runtime, clients)", ("onyx_adapters/",)),
    ("benchmark code", ("bench/",)),
    ("imports and startup", ("<frozen importlib", "importlib/")),
    ("asyncio machinery", ("asyncio/", "selectors.py")),
)
WAITING = "waiting (event loop idle: sleeps, other threads, I/O)"
_IDLE_FUNCTIONS = frozenset({"epoll.poll", "select.select", "lock.acquire", "Condition.wait", "poll", "select"})


def _area(path: str, function: str) -> str:
    if function in _IDLE_FUNCTIONS:
        return WAITING
    normal = path.replace("\\", "/")
    for name, markers in AREAS:
        if any(marker in normal for marker in markers):
            return name
    return "other (stdlib, builtins)"


def _awaiting(path: str, function: str) -> str:
    """An ``[await]`` leaf: the coroutine waited, for a sleep (the sandbox's latency, a rate-limit or retry wait)
    or for whatever its frame belongs to (the database's worker thread or server, ...)."""
    if function == "sleep":
        return "awaiting a sleep (the sandbox's latency, rate-limit and retry waits)"
    return f"awaiting: {_area(path, function)}"


def areas(root: Any) -> dict[str, float]:
    """Seconds per area: each leaf's time goes to the nearest real frame's file (``[await]`` leaves: waiting)."""
    totals: dict[str, float] = defaultdict(float)

    def walk(frame: Any, owner: tuple[str, str]) -> None:
        identifier = str(getattr(frame, "identifier", ""))
        synthetic = bool(getattr(frame, "is_synthetic", False))
        if not synthetic:
            owner = (str(frame.file_path or ""), str(frame.function or ""))
        children = list(frame.children)
        if not children:
            totals[_awaiting(*owner) if "[await]" in identifier else _area(*owner)] += float(frame.time)
            return
        rest = float(frame.time) - sum(float(child.time) for child in children)
        if rest > 0:
            totals[_area(*owner)] += rest
        for child in children:
            walk(child, owner)

    walk(root, ("", ""))
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


Profiled = Callable[[], AbstractContextManager[None]]


def target_for(number: int, size: Size) -> tuple[str, Callable[[Profiled], object]]:
    """What to profile for case ``number``: its ``profile_target`` if it has one, else its whole ``run``."""
    for name in CASE_MODULES:
        module = importlib.import_module(name) if _exists(name) else None
        if module is None or module.CASE.number != number:
            continue
        label = f"{module.CASE.number} {module.CASE.title}"
        special = getattr(module, "profile_target", None)
        if special is not None:

            def targeted(profiled: Profiled, special: Any = special) -> object:
                return special(size, profiled)

            return f"{label} ({name}.profile_target)", targeted

        def whole(profiled: Profiled, module: Any = module) -> object:
            with profiled():
                return module.CASE.run(size)

        return label, whole
    raise SystemExit(f"no benchmark case {number}")


def _exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def report(title: str, size: Size, profiler: Any, rows: object) -> str:
    from pyinstrument.renderers import ConsoleRenderer  # noqa: PLC0415 - optional dependency

    session = profiler.last_session
    root = session.root_frame()
    total = float(root.time) if root is not None else 0.0
    lines = [
        f"Profile of case {title}, size {size}: {session.duration:.2f} s wall, {session.cpu_time:.2f} s CPU "
        f"(main thread sampled; {session.sample_count} samples).",
        "",
        "Where the wall time goes, by area:",
    ]
    if root is not None:
        for name, seconds in areas(root).items():
            lines.append(f"  {seconds:8.3f} s  {100 * seconds / total:5.1f}%  {name}")
    if isinstance(rows, list):
        lines += ["", "What the profiled run measured:", *(f"  {row}" for row in rows)]
    flat = profiler.output(ConsoleRenderer(flat=True, show_all=True, unicode=False, color=False, flat_time="self"))
    tree = profiler.output(ConsoleRenderer(unicode=False, color=False, show_all=False))
    lines += ["", "Functions by self time (top 40):", *flat.splitlines()[:48], "", "Call tree:", tree]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=int, required=True)
    parser.add_argument("--size", choices=SIZES, default="quick")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler  # noqa: PLC0415 - optional dependency
    except ModuleNotFoundError:
        print("pyinstrument is not installed: .venv/bin/pip install pyinstrument (nox -s bench has it)")
        return 2
    size: Size = args.size
    title, call = target_for(args.case, size)
    profiler = Profiler(interval=0.001)

    @contextmanager
    def profiled() -> Iterator[None]:
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()

    rows = call(profiled)
    if profiler.last_session is None:
        print(f"case {args.case} profiled nothing")
        return 1
    text = report(title, size, profiler, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"profile-case-{args.case}.txt"
    path.write_text(text)
    print("\n".join(text.splitlines()[:TOP_LINES]))
    print(f"... full report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
