"""The ``onyx`` command. Entry points only parse arguments and call into the library."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("onyx-fanvue")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onyx", description="Trustworthy Fanvue creator stats for agencies.")
    parser.add_argument("--version", action="version", version=f"onyx {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="walk a seeded agency through sync rounds with injected Fanvue failures",
        description="Runs the core use cases on an in-memory Fanvue and storage, injecting failures, and "
        "prints the stored stats and the events that explain them.",
    )
    demo.add_argument("--events", action="store_true", help="print every stats event, not only the notable ones")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from onyx_adapters.demo import run_demo  # noqa: PLC0415 - keep `onyx --help` fast

        return asyncio.run(run_demo(sys.stdout, all_events=args.events))
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
