#!/usr/bin/env python3
"""Set up and run Onyx on a fresh machine that has only python3 (3.11+).

    python3 bootstrap.py demo    # the main job
    python3 bootstrap.py test    # the whole test suite, lint, typecheck and import contracts

Everything goes into ./.venv (created on first use); nothing is installed outside the project folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def _ensure_venv(*requirements: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Onyx needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", *requirements)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if command == "demo":
            _ensure_venv("-e", ".[all]")
            _run(BIN / "onyx", "demo", *rest)
        elif command == "test":
            _ensure_venv("nox[uv]")
            _run(BIN / "nox", "-s", "tests", "lint", "typecheck", "imports", *(["--", *rest] if rest else []))
        else:
            print(__doc__)
            return 2
    except subprocess.CalledProcessError as failed:
        return failed.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
